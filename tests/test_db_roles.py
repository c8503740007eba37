"""Least privilege (finding 5): the web app's role owns nothing and cannot rewrite, remove
or switch off the audit trail; the project's own cluster lets no one in without a
password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from boundaries.store import LoadReport
from geo.db import make_engine
from geo.localdb import resolve_cluster
from geo.metadata import append_only_tables, domain_metadata
from geo.roles import APP_ROLE
from geo.settings import LOCAL_SUPERUSER, Settings

TAMPERING = [
    "DELETE FROM {table}",
    "UPDATE {table} SET id = id",
    "TRUNCATE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "DROP TABLE {table}",
]


@pytest.fixture
def as_app(app_database_url: str, geography: LoadReport) -> Iterator[Connection]:
    """A connection as the web app's role, rolled back at the end."""
    engine = make_engine(app_database_url)
    with engine.connect() as conn:
        yield conn
        conn.rollback()
    engine.dispose()


def test_the_app_connects_as_its_own_role_and_owns_nothing(as_app: Connection) -> None:
    assert as_app.execute(text("SELECT current_user")).scalar_one() == APP_ROLE
    owned = as_app.execute(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
        )
    ).scalar_one()
    assert owned == 0
    superuser = as_app.execute(
        text(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles"
            " WHERE rolname = current_user"
        )
    ).scalar_one()
    assert superuser is False


@pytest.mark.parametrize("statement", TAMPERING)
@pytest.mark.parametrize("table", append_only_tables(domain_metadata()))
def test_the_app_cannot_tamper_with_an_audit_table(
    as_app: Connection, table: str, statement: str
) -> None:
    with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
        as_app.execute(text(statement.format(table=table)))
    as_app.rollback()


def test_the_app_cannot_switch_triggers_off_for_its_session(as_app: Connection) -> None:
    with pytest.raises(ProgrammingError, match="permission denied"):
        as_app.execute(text("SET session_replication_role = replica"))


def test_the_app_may_still_write_what_it_needs(as_app: Connection) -> None:
    as_app.execute(
        text("INSERT INTO login_event (email, ok, reason) VALUES ('x@example.org', false, 't')")
    )
    assert as_app.execute(text("SELECT count(*) FROM login_event")).scalar_one() >= 1
    as_app.execute(text("UPDATE activity SET funding_gap = funding_gap WHERE false"))


def test_the_local_cluster_refuses_connections_without_the_password(
    settings: Settings,
) -> None:
    if settings.database_url is not None:
        pytest.skip("DATABASE_URL names another server: its authentication is not ours")
    cluster = resolve_cluster(
        settings.local_db_dir, settings.local_port, settings.local_password(LOCAL_SUPERUSER)
    )
    assert "trust" not in [
        line.split()[-1]
        for line in cluster.hba_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for role in (LOCAL_SUPERUSER, APP_ROLE):
        local = make_url(settings.local_url(role))
        no_password = URL.create(
            local.drivername, username=role, host=local.host, port=local.port, database="postgres"
        )
        engine = make_engine(no_password.render_as_string(hide_password=False))
        try:
            with pytest.raises(OperationalError, match="password"), engine.connect():
                pass
        finally:
            engine.dispose()
