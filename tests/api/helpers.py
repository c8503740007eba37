"""Shared pieces of the API tests: the cast, the world they act in, request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from accounts import tokens
from accounts.users import create_organisation, create_user

SECRET = "test-signing-key-not-for-production-0123456789"
PASSWORD = "correct horse battery staple"
TVP, MET = "E23000029", "E23000001"


@dataclass
class Accounts:
    users: dict[str, int]
    organisations: dict[str, int]

    def headers(self, persona: str | None) -> dict[str, str]:
        if persona is None:
            return {}
        token = tokens.issue(self.users[persona], SECRET, 30)
        return {"Authorization": f"Bearer {token}"}


# More of the cast, for the role matrix: an analyst in each kind of organisation, and a
# second buyer (a council) buying for the same territory as Thames Valley Police.
# persona → (organisation, kind, buyer kind, territories, role)
MORE_CAST: dict[str, tuple[str, str, str | None, tuple[str, ...], str]] = {
    "supplier_analyst": ("Acme Facilities Ltd", "supplier", None, (), "analyst"),
    "provider_analyst": ("Oxford Youth Trust", "provider", None, (), "analyst"),
    "operator_analyst": ("Dual Impact platform", "operator", None, (), "analyst"),
    "council_lead": ("Oxfordshire County Council", "buyer", "council", (TVP,), "buyer_lead"),
    "council_evaluator": (
        "Oxfordshire County Council",
        "buyer",
        "council",
        (TVP,),
        "buyer_evaluator",
    ),
}


def with_more_cast(engine: Engine, accounts: Accounts) -> Accounts:
    """``accounts`` and the people of :data:`MORE_CAST` (an organisation already there, found
    by its name, is joined rather than made again)."""
    users, organisations = dict(accounts.users), dict(accounts.organisations)
    with engine.begin() as conn:
        for persona, (org, kind, buyer_kind, territories, role) in MORE_CAST.items():
            organisation = create_organisation(
                conn, kind, org, buyer_kind=buyer_kind, territories=territories
            )
            email = f"{persona}@example.org"
            users[persona] = create_user(conn, email, persona, PASSWORD, organisation, role)
            organisations[persona] = organisation
    return Accounts(users, organisations)


def set_eligible(conn: Connection, activity_id: int, category: str) -> None:
    """Test set-up: record the activity as eligible in ``category``, as the eligibility
    rules (:func:`registry.eligibility.assess`) find a dual-impact activity of that name.
    Written here too so the procurement tests do not depend on the rules' wording."""
    conn.execute(
        text(
            "UPDATE activity SET eligibility = 'eligible', eligibility_categories = :categories,"
            " eligibility_reason = :reason WHERE id = :id"
        ),
        {"categories": [category], "reason": f"test set-up: {category}", "id": activity_id},
    )


def set_ineligible(conn: Connection, activity_id: int, reason: str) -> None:
    """Test set-up: record the activity as ineligible, for ``reason``."""
    conn.execute(
        text(
            "UPDATE activity SET eligibility = 'ineligible', eligibility_categories = '{}',"
            " eligibility_reason = :reason WHERE id = :id"
        ),
        {"reason": reason, "id": activity_id},
    )


@dataclass(frozen=True)
class World:
    youth_club: int  # TVP, gap £10,000, run by "provider"
    food_bank: int  # TVP, gap £50,000, run by "other_provider"
    refuge: int  # TVP, safeguarded, gap £20,000
    london_club: int  # Met, gap £5,000


def tender_body(territory: str = TVP, **changes: Any) -> dict[str, Any]:
    start = date.today() + timedelta(days=30)
    return {
        "title": "Custody cleaning 2027-2030",
        "territory_code": territory,
        "contract_value_gbp": 2_000_000,
        "social_value_weighting_pct": 15,
        "outcomes": ["youth", "food_poverty"],
        "bid_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "contract_start": start.isoformat(),
        "delivery_postcodes": ["OX4 1YA"] if territory == TVP else ["SW1A 1AA"],
        **changes,
    }


def commitment(activity_id: int, quantity: float = 4_000, **changes: Any) -> dict[str, Any]:
    return {
        "activity_id": activity_id,
        "kind": "money",
        "quantity": quantity,
        "what": "Pay for a season of coached sessions and kit",
        "where": "Cowley Marsh recreation ground, Oxford",
        "for_whom": "Young people aged 11-17 in Cowley and Blackbird Leys",
        "by_when": (date.today() + timedelta(days=200)).isoformat(),
        **changes,
    }


def close_bidding(where: Engine | Connection | TestClient, tender_id: int) -> None:
    """Test set-up: move the tender's bid deadline a minute into the past, as if bidding
    had closed, so its buyer may read and score the sealed bids. ``where`` is an engine, a
    connection (in its transaction) or the test client (through its app's engine)."""
    change = text("UPDATE tender SET bid_deadline = now() - interval '1 minute' WHERE id = :id")
    if isinstance(where, Connection):
        where.execute(change, {"id": tender_id})
        return
    engine = where if isinstance(where, Engine) else cast(FastAPI, where.app).state.engine
    with engine.begin() as conn:
        conn.execute(change, {"id": tender_id})


def scored_secret_bid(
    client: TestClient,
    engine: Engine,
    lead: dict[str, str],
    supplier: dict[str, str],
    activity_id: int,
) -> int:
    """A new tender and a bid on it summarised "SECRET-BID" (£3,000 to ``activity_id``),
    submitted, bidding closed and scored but not awarded: the SPO's id."""
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    body = {"summary": "SECRET-BID", "commitments": [commitment(activity_id, 3_000)]}
    spo = client.post(f"/tenders/{tender}/spos", json=body, headers=supplier).json()["id"]
    assert client.post(f"/spos/{spo}/submit", headers=supplier).status_code == 200
    close_bidding(engine, tender)
    assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 200
    return int(spo)
