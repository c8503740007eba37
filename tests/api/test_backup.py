"""`dualimpact db backup` and `db restore`: a restore is whole, and its audit trail verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app as cli
from geo.db import make_engine
from geo.settings import get_settings
from tests.api.helpers import Accounts, World, close_bidding, commitment, tender_body


def _counts(url: str) -> dict[str, int]:
    """Rows in every table of the database's public schema."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ).scalars()
            return {
                table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in list(tables)
            }
    finally:
        engine.dispose()


def _dualimpact(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str]:
    """Run the command line against the database at ``url``."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def _delivering_spo(client: TestClient, accounts: Accounts, world: World) -> int:
    """An awarded SPO with a confirmed, signed-off delivery (nine audit events)."""
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    body = {"commitments": [commitment(world.youth_club, 2_000)]}
    spo = client.post(f"/tenders/{tender}/spos", json=body, headers=supplier).json()["id"]
    assert client.post(f"/spos/{spo}/submit", headers=supplier).status_code == 200
    close_bidding(client, tender)
    assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 200
    awarded = client.post(f"/spos/{spo}/award", headers=lead).json()
    claim = client.post(
        f"/commitments/{awarded['commitments'][0]['id']}/deliveries",
        json={"money_paid_gbp": 800},
        headers=supplier,
    ).json()["delivery"]
    provider = accounts.headers("provider")
    assert client.post(f"/deliveries/{claim}/confirm", json={}, headers=provider).is_success
    assert client.post(f"/deliveries/{claim}/sign-off", headers=lead).is_success
    return int(spo)


def test_a_backup_restores_whole_with_a_clean_audit_trail(
    client: TestClient,
    accounts: Accounts,
    world: World,
    engine: Engine,
    database_url: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    spos = [_delivering_spo(client, accounts, world) for _ in range(2)]
    before = _counts(database_url)
    assert before["audit_event"] == before["audit_checkpoint"] > 0
    assert before["postcode_unit"] > 2_000_000 and before["need_area"] > 40_000

    dump = tmp_path / "nightly.dump"
    code, output = _dualimpact(monkeypatch, database_url, "db", "backup", str(dump))
    assert code == 0, output
    assert dump.read_bytes()[:5] == b"PGDMP" and "Backed up" in output

    # Restored into an empty database: every table, every row, and the chains verify.
    code, output = _dualimpact(monkeypatch, empty_database_url, "db", "restore", str(dump))
    assert code == 0, output
    assert "the audit trail verifies" in output
    assert _counts(empty_database_url) == before

    # A database that holds anything is not overwritten unless asked ...
    target = make_engine(empty_database_url)
    try:
        with target.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("DELETE FROM audit_event WHERE spo_id = :id"), {"id": spos[0]})
            conn.execute(text("CREATE TABLE scratch (id int)"))
    finally:
        target.dispose()
    code, output = _dualimpact(monkeypatch, empty_database_url, "db", "restore", str(dump))
    assert code == 2 and "--force" in output and "not empty" in output
    damaged = _counts(empty_database_url)
    assert "scratch" in damaged and damaged["audit_event"] < before["audit_event"]

    # ... and then it is wiped and restored whole, into a clean schema.
    code, output = _dualimpact(
        monkeypatch, empty_database_url, "db", "restore", str(dump), "--force"
    )
    assert code == 0, output
    assert "the audit trail verifies" in output
    assert _counts(empty_database_url) == before


def test_restore_refuses_a_file_that_is_not_a_backup(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a dump")
    code, output = _dualimpact(monkeypatch, database_url, "db", "restore", str(junk))
    assert code == 2 and "not a pg_dump custom-format archive" in output
    code, output = _dualimpact(
        monkeypatch, database_url, "db", "backup", str(tmp_path / "missing" / "x.dump")
    )
    assert code == 2 and "does not exist" in output
