"""Bootstrapping people from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from tests.api.helpers import Accounts

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
