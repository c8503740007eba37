"""An SPO commits only to eligible, current activities, unless the tender's buyer lead
allows another one with a reason (issue 12, part 5): on draft, edit, submit and award,
through HTTP; allowances are append-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli.procurement import tender_app
from tests.api.helpers import (
    Accounts,
    World,
    close_bidding,
    commitment,
    set_ineligible,
    tender_body,
)

SCHOOL = "core education: a school, not a dual-impact programme"
REASON = "The club runs its youth sessions from this school's sports hall."


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _tender(client: TestClient, accounts: Accounts) -> int:
    body = tender_body()
    tender: int = _ok(
        client.post("/tenders", json=body, headers=accounts.headers("tvp_lead")), 201
    )["id"]
    return tender


def _draft(client: TestClient, accounts: Accounts, tender: int, activity: int) -> Any:
    return client.post(
        f"/tenders/{tender}/spos",
        json={"summary": "Our SPO", "commitments": [commitment(activity)]},
        headers=accounts.headers("supplier_a"),
    )


def _allow(
    client: TestClient,
    accounts: Accounts,
    tender: int,
    activity: int,
    who: str = "tvp_lead",
    **body: Any,
) -> Any:
    return client.post(
        f"/tenders/{tender}/allowances",
        json={"activity_id": activity, "reason": REASON, **body},
        headers=accounts.headers(who),
    )


def test_an_ineligible_activity_is_refused_until_the_buyer_lead_allows_it(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    tender = _tender(client, accounts)

    refused = _draft(client, accounts, tender, world.food_bank)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert f"activity {world.food_bank} 'Oxford city food bank' is ineligible ({SCHOOL})" in detail
    assert "unless the tender's buyer (Thames Valley Police) allows it" in detail

    allowed = _ok(_allow(client, accounts, tender, world.food_bank), 201)
    assert allowed["activity"] == "Oxford city food bank"
    assert allowed["eligibility"] == "ineligible" and allowed["reason"] == REASON
    assert allowed["allowed_by"] == "tvp_lead"

    spo = _ok(_draft(client, accounts, tender, world.food_bank), 201)
    (committed,) = spo["commitments"]
    assert committed["eligibility"] == "ineligible"
    assert committed["allowance"] == f"allowed by the buyer: {REASON}"
    submitted = _ok(
        client.post(f"/spos/{spo['id']}/submit", headers=accounts.headers("supplier_a"))
    )
    assert submitted["status"] == "submitted"

    # The bidding supplier and the buyer see the allowance; another supplier does not.
    for who in ("supplier_a", "tvp_lead", "admin"):
        listed = _ok(client.get(f"/tenders/{tender}/allowances", headers=accounts.headers(who)))
        assert [a["activity_id"] for a in listed["allowances"]] == [world.food_bank]
    other = client.get(f"/tenders/{tender}/allowances", headers=accounts.headers("supplier_b"))
    assert other.status_code == 403 and "suppliers bidding" in other.json()["detail"]
    assert client.get(f"/tenders/{tender}/allowances").status_code == 401

    # The allowance is the tender's: another tender still refuses the activity.
    assert _draft(client, accounts, _tender(client, accounts), world.food_bank).status_code == 422


def test_an_activity_that_is_not_yet_reviewed_is_refused_when_commitments_are_edited(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    tender = _tender(client, accounts)
    spo = _ok(_draft(client, accounts, tender, world.youth_club), 201)["id"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'needs_review', eligibility_categories = '{}',"
                " eligibility_reason = 'no dual-impact programme named' WHERE id = :id"
            ),
            {"id": world.refuge},
        )
    edited = client.put(
        f"/spos/{spo}/commitments",
        json={"commitments": [commitment(world.refuge)]},
        headers=accounts.headers("supplier_a"),
    )
    assert edited.status_code == 422
    assert (
        f'activity {world.refuge} "Women\'s refuge" has not been found eligible (it needs '
        "review: no dual-impact programme named)" in edited.json()["detail"]
    )


def test_eligibility_is_checked_again_at_submission_and_award(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    supplier, lead = accounts.headers("supplier_a"), accounts.headers("tvp_lead")
    tender = _tender(client, accounts)
    spo = _ok(_draft(client, accounts, tender, world.youth_club), 201)["id"]
    with engine.begin() as conn:
        set_ineligible(conn, world.youth_club, SCHOOL)
    refused = client.post(f"/spos/{spo}/submit", headers=supplier)
    assert refused.status_code == 422
    assert "the SPO cannot be submitted" in refused.json()["detail"]
    assert "'Cowley youth football' is ineligible" in refused.json()["detail"]

    _ok(_allow(client, accounts, tender, world.youth_club), 201)
    _ok(client.post(f"/spos/{spo}/submit", headers=supplier))
    close_bidding(engine, tender)
    _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))

    # Decided ineligible after submission, without an allowance: the buyer cannot award.
    second = _tender(client, accounts)
    bid = _ok(_draft(client, accounts, second, world.food_bank), 201)["id"]
    _ok(client.post(f"/spos/{bid}/submit", headers=supplier))
    close_bidding(engine, second)
    _ok(client.post(f"/spos/{bid}/score", json={}, headers=lead))
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    award = client.post(f"/spos/{bid}/award", headers=lead)
    assert award.status_code == 422
    assert "the SPO cannot be awarded" in award.json()["detail"]
    _ok(_allow(client, accounts, second, world.food_bank), 201)
    assert _ok(client.post(f"/spos/{bid}/award", headers=lead))["status"] == "awarded"

    # The public register says which activity the buyer allowed, and why.
    (entry,) = _ok(client.get("/register"))["spos"]
    assert entry["spo_id"] == bid
    assert entry["allowances"] == [f"Oxford city food bank: allowed by the buyer: {REASON}"]


def test_a_lapsed_activity_is_refused_too(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    claimed = datetime(datetime.now(UTC).year - 5, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:  # claimed five years ago and not heard of since
        conn.execute(
            text("UPDATE activity SET verification = 'claimed', claimed_at = :at WHERE id = :id"),
            {"at": claimed, "id": world.youth_club},
        )
    tender = _tender(client, accounts)
    refused = _draft(client, accounts, tender, world.youth_club)
    assert refused.status_code == 422
    assert (
        f"'Cowley youth football' has lapsed (not confirmed since {claimed:%d %b %Y})"
        in refused.json()["detail"]
    )
    _ok(_allow(client, accounts, tender, world.youth_club), 201)
    assert (
        _ok(_draft(client, accounts, tender, world.youth_club), 201)["commitments"][0]["allowance"]
        == f"allowed by the buyer: {REASON}"
    )


@pytest.mark.parametrize(
    ("who", "body", "status", "says"),
    [
        ("tvp_lead", {"reason": "   "}, 422, "give a reason"),
        ("tvp_lead", {"reason": "ok"}, 422, "give a reason"),
        ("tvp_evaluator", {}, 403, "only a buyer lead at the tender's buyer"),
        ("met_lead", {}, 403, "Metropolitan Police is not the tender's buyer"),
        ("supplier_a", {}, 403, "you are a supplier"),
        ("provider", {}, 403, "you are a provider"),
        (None, {}, 401, "sign in"),
    ],
)
def test_only_the_tenders_buyer_lead_allows_and_only_with_a_reason(
    client: TestClient,
    accounts: Accounts,
    world: World,
    engine: Engine,
    who: str | None,
    body: dict[str, str],
    status: int,
    says: str,
) -> None:
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    tender = _tender(client, accounts)
    response = client.post(
        f"/tenders/{tender}/allowances",
        json={"activity_id": world.food_bank, "reason": REASON, **body},
        headers=accounts.headers(who),
    )
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM eligibility_allowance")).scalar() == 0


def test_an_allowance_is_for_an_activity_that_needs_one_and_is_made_once(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    tender = _tender(client, accounts)
    needless = _allow(client, accounts, tender, world.youth_club)
    assert needless.status_code == 409 and "without an allowance" in needless.json()["detail"]
    assert _allow(client, accounts, tender, 2**31 - 1).status_code == 404
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    _ok(_allow(client, accounts, tender, world.food_bank), 201)
    again = _allow(client, accounts, tender, world.food_bank, reason="A different reason now.")
    assert again.status_code == 409
    assert f"by tvp_lead on {datetime.now(UTC):%d %b %Y}: {REASON}" in again.json()["detail"]


def test_allowances_are_append_only(
    client: TestClient, accounts: Accounts, world: World, engine: Engine, app_database_url: str
) -> None:
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    tender = _tender(client, accounts)
    allowance = _ok(_allow(client, accounts, tender, world.food_bank), 201)["id"]
    for statement in (
        "UPDATE eligibility_allowance SET reason = 'edited' WHERE id = :id",
        "DELETE FROM eligibility_allowance WHERE id = :id",
    ):
        with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"id": allowance})
        app = create_engine(app_database_url)
        try:
            with app.begin() as conn, pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text(statement), {"id": allowance})
        finally:
            app.dispose()
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT reason FROM eligibility_allowance WHERE id = :id"), {"id": allowance}
            ).scalar_one()
            == REASON
        )


def test_the_buyer_lead_allows_from_the_command_line(
    client: TestClient, accounts: Accounts, world: World, engine: Engine, cli_env: None
) -> None:
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, SCHOOL)
    tender = _tender(client, accounts)
    runner = CliRunner()
    allow = [str(tender), str(world.food_bank), "--reason", REASON, "--as"]
    refused = runner.invoke(tender_app, ["allow", *allow, "tvp_evaluator@example.org"])
    assert refused.exit_code != 0 and "only a buyer lead" in str(refused.exception)
    done = runner.invoke(tender_app, ["allow", *allow, "tvp_lead@example.org"])
    assert done.exit_code == 0, done.output
    assert f"Tender {tender} allows activity {world.food_bank}" in done.output
    listed = runner.invoke(
        tender_app, ["allowances", str(tender), "--as", "tvp_lead@example.org", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    assert f'"reason": "{REASON}"' in listed.output
    assert _draft(client, accounts, tender, world.food_bank).status_code == 201
