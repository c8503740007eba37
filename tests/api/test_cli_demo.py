"""The demo's people: one per role, in organisations labelled fictional, one kept
password, made once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from accounts.users import check_password
from cli.main import app
from tests.api.helpers import Accounts

runner = CliRunner()


@pytest.mark.usefixtures("cli_env")
def test_users_demo_adds_one_person_per_role_once(
    engine: Engine, accounts: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUALIMPACT_LOCAL_DB_DIR", str(tmp_path / "pgdata"))
    first = runner.invoke(app, ["users", "demo"])
    assert first.exit_code == 0, first.output
    password = (tmp_path / "demo_password").read_text()
    assert password in first.stdout and "provider@demo.invalid" in first.stdout
    again = runner.invoke(app, ["users", "demo"])
    assert again.exit_code == 0, again.output
    with engine.connect() as conn:
        people = conn.execute(
            text(
                "SELECT u.email, u.role, o.name FROM app_user u"
                " JOIN organisation o ON o.id = u.organisation_id"
                " WHERE u.email LIKE '%@demo.invalid' ORDER BY u.role"
            )
        ).all()
        assert check_password(conn, "community@demo.invalid", password).failure is None
    assert sorted(p.role for p in people) == sorted(
        ["admin", "buyer_evaluator", "buyer_lead", "community", "provider", "supplier"]
    )
    assert all("fictional" in p.name for p in people if p.role != "admin")
