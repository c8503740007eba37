"""Findings 2 and 3 of the security review: a read-only analyst could rewrite a draft SPO,
and any buyer's staff in a territory could change an activity's funding gap (a capacity
ledger input) or clear its safeguarding flag, unaudited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from accounts import permissions
from accounts.permissions import PERMISSIONS, Action, Target
from accounts.users import User
from cli.main import app as cli
from geo.errors import PermissionDeniedError
from procurement import states
from tests.api.helpers import (
    Accounts,
    World,
    close_bidding,
    commitment,
    tender_body,
    with_more_cast,
)

OVERRIDE_REASON = "The provider's new budget shows a smaller shortfall for next year"


@pytest.fixture(scope="module")
def everyone(engine: Engine, accounts: Accounts) -> Accounts:
    return with_more_cast(engine, accounts)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _activity(engine: Engine, activity_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT funding_gap::float8 AS gap, safeguarding FROM activity WHERE id = :id"),
            {"id": activity_id},
        ).one()
    return {"funding_gap": row.gap, "safeguarding": row.safeguarding}


def _events(engine: Engine, activity_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor_id, action, changes, reason FROM activity_event"
                " WHERE activity_id = :id ORDER BY id"
            ),
            {"id": activity_id},
        ).mappings()
        return [dict(row) for row in rows]


def _awarded(client: TestClient, everyone: Accounts, activity_id: int, quantity: float) -> int:
    """An SPO of supplier_a promising ``quantity`` pounds to the activity, awarded."""
    lead, supplier = everyone.headers("tvp_lead"), everyone.headers("supplier_a")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    body = {"commitments": [commitment(activity_id, quantity)]}
    spo = _ok(client.post(f"/tenders/{tender}/spos", json=body, headers=supplier), 201)["id"]
    _ok(client.post(f"/spos/{spo}/submit", headers=supplier))
    close_bidding(client, tender)
    _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))
    _ok(client.post(f"/spos/{spo}/award", headers=lead))
    return int(spo)


def test_a_supplier_analyst_cannot_rewrite_its_organisations_draft(
    client: TestClient, everyone: Accounts, world: World
) -> None:
    lead, supplier = everyone.headers("tvp_lead"), everyone.headers("supplier_a")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    body = {"commitments": [commitment(world.youth_club, 4_000)]}
    spo = _ok(client.post(f"/tenders/{tender}/spos", json=body, headers=supplier), 201)["id"]

    analyst = everyone.headers("supplier_analyst")
    assert _ok(client.get(f"/spos/{spo}", headers=analyst))["status"] == "draft"  # may read
    rewrite = {"commitments": [commitment(world.youth_club, 1)]}
    refused = client.put(f"/spos/{spo}/commitments", json=rewrite, headers=analyst)
    assert refused.status_code == 403, refused.text
    assert "analyst at Acme Facilities Ltd" in refused.json()["detail"]
    for path in (f"/spos/{spo}/submit", f"/spos/{spo}/withdraw"):
        assert client.post(path, json={"reason": "x"}, headers=analyst).status_code == 403
    (kept,) = _ok(client.get(f"/spos/{spo}", headers=supplier))["commitments"]
    assert kept["quantity"] == 4_000
    assert [
        e["action"] for e in _ok(client.get(f"/spos/{spo}/audit", headers=supplier))["events"]
    ] == ["drafted"]


def test_another_buyers_evaluator_cannot_change_the_gap_or_clear_safeguarding(
    client: TestClient, everyone: Accounts, world: World, engine: Engine
) -> None:
    for persona in ("council_evaluator", "tvp_evaluator"):
        headers = everyone.headers(persona)
        gap = client.patch(
            f"/activities/{world.youth_club}", json={"funding_gap": 0}, headers=headers
        )
        assert gap.status_code == 403, (persona, gap.text)
        assert "own provider" in gap.json()["detail"]
        cleared = client.patch(
            f"/activities/{world.refuge}", json={"safeguarding": False}, headers=headers
        )
        assert cleared.status_code == 403, (persona, cleared.text)
    assert _activity(engine, world.youth_club) == {"funding_gap": 10_000, "safeguarding": False}
    assert _activity(engine, world.refuge) == {"funding_gap": 20_000, "safeguarding": True}
    assert _events(engine, world.youth_club) == _events(engine, world.refuge) == []

    # Buyers' staff of the territory still look after the rest of the record, audited,
    # and may make a place safer (never less safe).
    council = everyone.headers("council_evaluator")
    _ok(
        client.patch(
            f"/activities/{world.youth_club}",
            json={"people_reached_per_year": 150, "safeguarding": True},
            headers=council,
        )
    )
    (event,) = _events(engine, world.youth_club)
    assert event["actor_id"] == everyone.users["council_evaluator"]
    assert event["changes"] == {
        "people_reached_per_year": [120, 150],
        "safeguarding": [False, True],
    }


def test_a_refused_clear_leaves_the_refuge_hidden_from_the_public(
    client: TestClient, everyone: Accounts, world: World
) -> None:
    refused = client.patch(
        f"/activities/{world.refuge}",
        json={"safeguarding": False},
        headers=everyone.headers("council_lead"),
    )
    assert refused.status_code == 403
    emptied = client.patch(
        f"/activities/{world.refuge}",
        json={"safeguarding": None},
        headers=everyone.headers("council_lead"),
    )
    assert emptied.status_code == 422 and "cannot be empty" in emptied.json()["detail"]
    feature = _ok(client.get(f"/activities/{world.refuge}"))
    assert feature["geometry"] is None
    assert feature["properties"]["postcode"] == "OX4"
    listed = _ok(client.get("/activities?territory=E23000029"))["features"]
    (refuge,) = [f for f in listed if f["id"] == world.refuge]
    assert refuge["geometry"] is None and refuge["properties"]["postcode"] == "OX4"
    near = _ok(client.get("/activities/nearby?postcode=OX4%203QJ&radius_km=2"))["features"]
    (nearby,) = [f for f in near if f["id"] == world.refuge]
    assert nearby["geometry"] is None and nearby["properties"]["distance_m"] >= 1_000
    # Nor does the public see who tried, or who changed anything.
    assert client.get(f"/activities/{world.refuge}/history").status_code == 401


def test_a_buyer_lead_override_below_awarded_commitments_is_refused(
    client: TestClient, everyone: Accounts, world: World, engine: Engine
) -> None:
    spo = _awarded(client, everyone, world.youth_club, 5_000)
    path = f"/activities/{world.youth_club}"
    for persona in ("council_lead", "tvp_lead"):
        headers = everyone.headers(persona)
        bare = client.patch(path, json={"funding_gap": 8_000}, headers=headers)
        assert bare.status_code == 422 and "reason" in bare.json()["detail"], bare.text
        below = client.patch(
            path, json={"funding_gap": 0, "reason": OVERRIDE_REASON}, headers=headers
        )
        assert below.status_code == 409, below.text
        assert "£5,000" in below.json()["detail"]
    # The provider cannot go below the promises either (it would vary them first).
    provider = client.patch(path, json={"funding_gap": 4_000}, headers=everyone.headers("provider"))
    assert provider.status_code == 409, provider.text
    assert _activity(engine, world.youth_club)["funding_gap"] == 10_000
    assert _events(engine, world.youth_club) == []

    # An override that keeps the promises is stored, with who, why and from what to what.
    _ok(
        client.patch(
            path,
            json={"funding_gap": 6_000, "reason": OVERRIDE_REASON},
            headers=everyone.headers("council_lead"),
        )
    )
    (event,) = _events(engine, world.youth_club)
    assert event["action"] == "funding gap override" and event["reason"] == OVERRIDE_REASON
    assert event["changes"] == {"funding_gap": [10_000, 6_000]}
    assert event["actor_id"] == everyone.users["council_lead"]

    # The ledger never shows a negative remainder.
    (line,) = _ok(client.get(f"/spos/{spo}/ledger"))["activities"]
    assert line["funding_gap"] == 6_000 and line["remaining_gbp"] >= 0


def test_the_provider_clears_safeguarding_and_the_change_is_in_the_history(
    client: TestClient, everyone: Accounts, world: World, engine: Engine
) -> None:
    path = f"/activities/{world.refuge}"
    _ok(client.patch(path, json={"safeguarding": False}, headers=everyone.headers("provider")))
    (event,) = _events(engine, world.refuge)
    assert event["actor_id"] == everyone.users["provider"]
    assert event["changes"] == {"safeguarding": [True, False]}

    for reader in ("provider", "provider_analyst", "tvp_lead", "council_evaluator", "admin"):
        (entry,) = _ok(client.get(f"{path}/history", headers=everyone.headers(reader)))["events"]
        assert entry["changes"] == {"safeguarding": [True, False]}, reader
        assert entry["actor"] == "provider" and entry["organisation"] == "Oxford Youth Trust"
    for outsider in ("other_provider", "met_lead", "supplier_a", "operator_analyst"):
        refused = client.get(f"{path}/history", headers=everyone.headers(outsider))
        assert refused.status_code == 403, outsider


def test_registering_a_record_again_cannot_change_the_gap_behind_the_rules(
    client: TestClient, everyone: Accounts, world: World, engine: Engine
) -> None:
    record = {"name": "Rose Hill homework club", "postcode": "OX4 4XP", "funding_gap": 8_000}
    council = everyone.headers("council_evaluator")
    created = _ok(client.post("/activities", json=record, headers=council), 201)
    assert created["created"] is True and created["properties"]["funding_gap"] == 8_000
    again = client.post("/activities", json={**record, "funding_gap": 0}, headers=council)
    assert again.status_code == 403, again.text
    assert _activity(engine, created["id"])["funding_gap"] == 8_000
    # Sending the same record again changes nothing, and is fine.
    assert _ok(client.post("/activities", json=record, headers=council), 201)["created"] is False


def test_the_state_machine_names_the_same_roles_as_the_permissions_table() -> None:
    moves = {
        Action.SUBMIT_SPO: [(states.DRAFT, states.SUBMITTED)],
        Action.WITHDRAW_SPO: [
            (states.DRAFT, states.WITHDRAWN),
            (states.SUBMITTED, states.WITHDRAWN),
        ],
        Action.SCORE_SPO: [(states.SUBMITTED, states.SCORED)],
        Action.AWARD_SPO: [(states.SCORED, states.AWARDED)],
        Action.COMPLETE_SPO: [(states.DELIVERING, states.COMPLETED)],
    }
    for action, pairs in moves.items():
        for pair in pairs:
            assert states.TRANSITIONS[pair] == set(PERMISSIONS[action]), (action, pair)


def test_the_command_line_cannot_set_a_gap_below_awarded_commitments_either(
    client: TestClient, everyone: Accounts, world: World, engine: Engine, cli_env: None
) -> None:
    _awarded(client, everyone, world.youth_club, 5_000)
    refused = CliRunner().invoke(
        cli, ["activities", "update", str(world.youth_club), "--funding-gap", "1000"]
    )
    assert refused.exit_code == 2, refused.output
    assert "£5,000" in refused.output
    assert _activity(engine, world.youth_club)["funding_gap"] == 10_000


def test_territory_rules_look_at_the_kind_of_organisation_not_only_its_territories() -> None:
    """A buyer's territories are where it buys, a community team's where it works: an
    analyst reads an activity's history under the rule of their own kind of organisation
    (the table, read without a database: nothing here is stored)."""
    target = Target(territory="E23000029")

    def analyst(kind: str) -> User:
        return User(1, "a@example.org", "A", "analyst", 1, kind, "Org", ("E23000029",))

    for kind in ("buyer", "community"):
        assert permissions.require(analyst(kind), Action.READ_ACTIVITY_HISTORY, target)
    with pytest.raises(PermissionDeniedError, match="Org is not a community team"):
        permissions.require(
            User(1, "a@example.org", "A", "community", 1, "buyer", "Org", ("E23000029",)),
            Action.VERIFY_ACTIVITY,
            target,
        )
    with pytest.raises(PermissionDeniedError, match="Org is not a buyer"):
        permissions.require(
            User(1, "a@example.org", "A", "buyer_lead", 1, "community", "Org", ("E23000029",)),
            Action.OPEN_TENDER,
            target,
        )
