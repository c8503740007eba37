"""Schemathesis: requests generated from the OpenAPI schema never cause a server error,
whoever sends them."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from geo.settings import Settings
from tests.api.helpers import Accounts, World

SENDERS = (None, "tvp_lead", "supplier_a")
# The schema is the app's own; requests go to the live server over loopback.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schema.parametrize()
@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_request_causes_a_server_error(
    case: schemathesis.Case, live_url: str, accounts: Accounts, world: World
) -> None:
    for sender in SENDERS:
        response = case.call(base_url=live_url, headers=accounts.headers(sender))
        assert response.status_code < 500, (
            sender,
            case.method,
            case.formatted_path,
            response.text[:500],
        )
