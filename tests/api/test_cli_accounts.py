"""Bootstrapping people, and people acting on the verification ladder, from the command
line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from accounts.users import create_organisation, create_user
from cli.main import app
from tests.api.helpers import PASSWORD, TVP, Accounts, World

runner = CliRunner()


@pytest.mark.usefixtures("cli_env")
def test_users_create_bootstraps_an_admin_who_can_sign_in(
    engine: Engine, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUALIMPACT_PASSWORD", "a long enough password")
    result = runner.invoke(app, ["users", "create", "--email", "Root@Example.org"])
    assert result.exit_code == 0, result.output
    assert "added to Dual Impact platform (operator)" in result.stdout
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT role, password_hash FROM app_user WHERE email = 'root@example.org'")
        ).one()
    assert row.role == "admin" and row.password_hash.startswith("$argon2")

    again = runner.invoke(app, ["users", "create", "--email", "root@example.org"])
    assert again.exit_code == 2 and "already exists" in again.stderr
    monkeypatch.setenv("DUALIMPACT_PASSWORD", "short")
    weak = runner.invoke(app, ["users", "create", "--email", "x@example.org"])
    assert weak.exit_code == 2 and "at least 12 characters" in weak.stderr
    wrong_role = runner.invoke(
        app, ["users", "create", "--email", "y@example.org", "--role", "supplier"]
    )
    assert wrong_role.exit_code == 2


def test_serve_explains_itself() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "OpenAPI docs at /docs" in result.stdout


@pytest.mark.usefixtures("cli_env")
def test_the_ladder_from_the_command_line_acts_as_a_named_user(
    engine: Engine, accounts: Accounts, world: World
) -> None:
    with engine.begin() as conn:
        team = create_organisation(
            conn, "community", "Oxfordshire Community Foundation", territories=(TVP,)
        )
        create_user(conn, "team@example.org", "Sam Team", PASSWORD, team, "community")
    club = str(world.youth_club)

    claimed = runner.invoke(app, ["activities", "claim", club, "--as", "provider@example.org"])
    assert claimed.exit_code == 0, claimed.output
    assert "claimed (the record already names Oxford Youth Trust" in claimed.stdout
    refused = runner.invoke(
        app,
        ["activities", "verify", club, "--level", "2", "--as", "provider@example.org"],
    )
    assert refused.exit_code == 2
    assert "only a community" in refused.stderr
    nobody = runner.invoke(app, ["activities", "lapse", club, "--reason", "x", "--as", "no@x.org"])
    assert nobody.exit_code == 2 and "no active user with email no@x.org" in nobody.stderr

    link = "https://example.org/cowley-report.pdf"
    verify = ["activities", "verify", club, "--level", "2", "--link", link]
    verified = runner.invoke(app, [*verify, "--as", "team@example.org"])
    assert verified.exit_code == 0, verified.output
    assert "verification: verified (evidence level 2)" in verified.stdout
    why = "Adults' five-a-side league: no youth programme"
    decide = ["activities", "decide", club, "--eligibility", "ineligible", "--reason", why]
    decided = runner.invoke(app, [*decide, "--as", "team@example.org"])
    assert decided.exit_code == 0, decided.output

    food_bank = str(world.food_bank)  # Reading Food Aid's: no identifier proves a claim
    asked = runner.invoke(app, ["activities", "claim", food_bank, "--as", "provider@example.org"])
    assert asked.exit_code == 0 and "waits for an admin's approval" in asked.stdout
    admin = ["--as", "admin@example.org"]
    waiting = json.loads(runner.invoke(app, ["activities", "claims", "--json", *admin]).stdout)
    assert [(w["activity_id"], w["organisation"]) for w in waiting] == [
        (world.food_bank, "Oxford Youth Trust")
    ]
    approve = ["activities", "approve-claim", food_bank, "--provider-id"]
    provider_org = str(accounts.organisations["provider"])
    approved = runner.invoke(app, [*approve, provider_org, *admin])
    assert approved.exit_code == 0 and "provider: Oxford Youth Trust" in approved.stdout

    shown = runner.invoke(app, ["activities", "show", club, "--json"])
    state = json.loads(shown.stdout)
    assert (state["verification"], state["eligibility"], state["eligibility_source"]) == (
        "verified",
        "ineligible",
        "decision",
    )
    assert state["eligibility_reason"] == why and not state["trusted"]
    with engine.connect() as conn:
        actors = conn.execute(
            text(
                "SELECT e.action, u.email FROM activity_event e JOIN app_user u"
                " ON u.id = e.actor_id WHERE e.activity_id = :id ORDER BY e.id"
            ),
            {"id": world.youth_club},
        ).all()
    assert [tuple(row) for row in actors] == [
        ("claimed", "provider@example.org"),
        ("verified", "team@example.org"),
        ("eligibility_decided", "team@example.org"),
    ]
