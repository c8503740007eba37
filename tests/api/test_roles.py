"""Who may do what: each write (and a private read) tried by every kind of user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Accounts, World, commitment, tender_body

PERSONAS = [
    None,
    "supplier_a",
    "supplier_b",
    "tvp_lead",
    "tvp_evaluator",
    "met_lead",
    "provider",
    "analyst",
    "admin",
]


@dataclass(frozen=True)
class Action:
    method: str
    path: Callable[[dict[str, int]], str]
    body: Callable[[dict[str, int]], dict[str, Any] | None]
    allowed: frozenset[str]
    stage: str  # how far to take an SPO first: none, draft, submitted, scored


def _stage(client: TestClient, accounts: Accounts, world: World, stage: str) -> dict[str, int]:
    ids = {"youth_club": world.youth_club}
    lead = accounts.headers("tvp_lead")
    ids["tender"] = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    if stage == "none":
        return ids
    supplier = accounts.headers("supplier_a")
    body = {"summary": "bid", "commitments": [commitment(world.youth_club)]}
    ids["spo"] = client.post(f"/tenders/{ids['tender']}/spos", json=body, headers=supplier).json()[
        "id"
    ]
    if stage in ("submitted", "scored"):
        assert client.post(f"/spos/{ids['spo']}/submit", headers=supplier).status_code == 200
    if stage == "scored":
        assert client.post(f"/spos/{ids['spo']}/score", json={}, headers=lead).status_code == 200
    return ids


ACTIONS = {
    "open tender": Action(
        "POST", lambda i: "/tenders", lambda i: tender_body(), frozenset({"tvp_lead"}), "none"
    ),
    "draft SPO": Action(
        "POST",
        lambda i: f"/tenders/{i['tender']}/spos",
        lambda i: {"commitments": [commitment(i["youth_club"])]},
        frozenset({"supplier_a", "supplier_b"}),
        "none",
    ),
    "read draft": Action(
        "GET",
        lambda i: f"/spos/{i['spo']}",
        lambda i: None,
        frozenset({"supplier_a", "tvp_lead", "tvp_evaluator", "analyst", "admin"}),
        "draft",
    ),
    "edit draft": Action(
        "PUT",
        lambda i: f"/spos/{i['spo']}/commitments",
        lambda i: {"commitments": [commitment(i["youth_club"], 100)]},
        frozenset({"supplier_a"}),
        "draft",
    ),
    "submit": Action(
        "POST",
        lambda i: f"/spos/{i['spo']}/submit",
        lambda i: None,
        frozenset({"supplier_a"}),
        "draft",
    ),
    "score": Action(
        "POST",
        lambda i: f"/spos/{i['spo']}/score",
        lambda i: {},
        frozenset({"tvp_lead", "tvp_evaluator"}),
        "submitted",
    ),
    "award": Action(
        "POST",
        lambda i: f"/spos/{i['spo']}/award",
        lambda i: None,
        frozenset({"tvp_lead"}),
        "scored",
    ),
    "withdraw": Action(
        "POST",
        lambda i: f"/spos/{i['spo']}/withdraw",
        lambda i: {"reason": "changed our mind"},
        frozenset({"supplier_a"}),
        "submitted",
    ),
    "update activity": Action(
        "PATCH",
        lambda i: f"/activities/{i['youth_club']}",
        lambda i: {"people_reached_per_year": 150},
        frozenset({"provider", "tvp_lead", "tvp_evaluator", "admin"}),
        "none",
    ),
    "add evidence": Action(
        "POST",
        lambda i: f"/activities/{i['youth_club']}/evidence",
        lambda i: {"url": "https://example.org/report.pdf"},
        frozenset({"provider", "tvp_lead", "tvp_evaluator", "admin"}),
        "none",
    ),
    "add organisation": Action(
        "POST",
        lambda i: "/organisations",
        lambda i: {"kind": "supplier", "name": "New Co Ltd"},
        frozenset({"admin"}),
        "none",
    ),
}


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_endpoint_matrix(
    client: TestClient, accounts: Accounts, world: World, action: str, persona: str | None
) -> None:
    spec = ACTIONS[action]
    ids = _stage(client, accounts, world, spec.stage)
    body = spec.body(ids)
    response = client.request(
        spec.method, spec.path(ids), json=body, headers=accounts.headers(persona)
    )
    if persona in spec.allowed:
        assert response.status_code in (200, 201), response.text
    elif persona is None and spec.method == "GET":
        assert response.status_code == 404, response.text  # reads are public, bids are not
    elif persona is None:
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        # Refused (403), or not even shown to exist (404) when the reader may not see it.
        assert response.status_code in (403, 404), response.text
        assert response.json()["detail"]
