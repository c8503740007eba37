"""An API over the test database, with a cast of organisations and people.

Accounts are made once per module (password hashing is deliberately slow); activities,
tenders and SPOs are made afresh for every test so tests never share a ledger.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from accounts.users import create_organisation, create_user
from api.app import create_app
from boundaries.gazetteer import PostcodeLoadReport
from geo.settings import Settings
from registry.records import register_activity
from tests.api.helpers import MET, PASSWORD, SECRET, TVP, Accounts, World, set_eligible
from tests.db import wipe

# persona → (organisation, kind, buyer kind, territories, role)
CAST: dict[str, tuple[str, str, str | None, tuple[str, ...], str]] = {
    "tvp_lead": ("Thames Valley Police", "buyer", "police", (TVP,), "buyer_lead"),
    "tvp_evaluator": ("Thames Valley Police", "buyer", "police", (TVP,), "buyer_evaluator"),
    "met_lead": ("Metropolitan Police", "buyer", "police", (MET,), "buyer_lead"),
    "supplier_a": ("Acme Facilities Ltd", "supplier", None, (), "supplier"),
    "supplier_b": ("Beta Construction Ltd", "supplier", None, (), "supplier"),
    "provider": ("Oxford Youth Trust", "provider", None, (), "provider"),
    "other_provider": ("Reading Food Aid", "provider", None, (), "provider"),
    "analyst": ("Thames Valley Police", "buyer", "police", (TVP,), "analyst"),
    "admin": ("Dual Impact platform", "operator", None, (), "admin"),
}


@pytest.fixture(scope="module")
def accounts(engine: Engine, postcodes: PostcodeLoadReport) -> Accounts:
    wipe(engine, "activity", "supplier_site", "organisation")
    with engine.begin() as conn:
        users, organisations = {}, {}
        for persona, (org, kind, buyer_kind, territories, role) in CAST.items():
            organisations[persona] = create_organisation(
                conn, kind, org, buyer_kind=buyer_kind, territories=territories
            )
            users[persona] = create_user(
                conn, f"{persona}@example.org", persona, PASSWORD, organisations[persona], role
            )
    return Accounts(users, organisations)


# Test data written for these tests (not real organisations): dual-impact activities, each
# with the category the eligibility rules should find for it.
ACTIVITIES = {
    "youth_club": ("Cowley youth football", "OX4 1AA", 10_000, "provider", "youth_diversion"),
    "food_bank": (
        "Oxford city food bank",
        "OX1 1DP",
        50_000,
        "other_provider",
        "hardship_food_debt",
    ),
    "refuge": ("Women's refuge", "OX4 3QJ", 20_000, "provider", "domestic_sexual_abuse"),
    "london_club": (
        "Islington boxing club for young people",
        "EC1A 1BB",
        5_000,
        "provider",
        "youth_diversion",
    ),
}


@pytest.fixture
def world(engine: Engine, accounts: Accounts) -> World:
    ids = {}
    wipe(engine, "tender", "activity")
    with engine.begin() as conn:
        for key, (name, postcode, gap, owner, category) in ACTIVITIES.items():
            registered = register_activity(
                conn,
                {
                    "name": name,
                    "postcode": postcode,
                    "funding_gap": gap,
                    "people_reached_per_year": 120,
                    "annual_running_cost": gap * 3,
                    "safeguarding": key == "refuge",
                },
                source="test",
            )
            conn.execute(
                text("UPDATE activity SET provider_id = :p WHERE id = :id"),
                {"p": accounts.organisations[owner], "id": registered.activity_id},
            )
            set_eligible(conn, registered.activity_id, category)
            ids[key] = registered.activity_id
    return World(**ids)


@pytest.fixture(scope="module")
def app(app_database_url: str) -> FastAPI:
    """The app as it is deployed: connected as the least-privileged app role."""
    return create_app(
        Settings(
            database_url=app_database_url,
            secret_key=SECRET,
            map_tiles="none",
        )
    )


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on loopback, for truly concurrent requests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    httpx.get(f"{url}/health", timeout=10).raise_for_status()
    yield url
    server.should_exit = True
    thread.join(timeout=10)
