"""The Alembic migrations: up and down on an empty database, and in step with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.main import app as cli
from geo import migrate
from geo.db import describe, make_engine
from geo.metadata import domain_metadata
from geo.settings import get_settings

# The models are the reference: the migrations must build exactly their tables and indexes.
METADATA = domain_metadata()
TABLES = set(METADATA.tables)
GIST_INDEXES = {
    index.name
    for table in METADATA.tables.values()
    for index in table.indexes
    if index.dialect_options["postgresql"].get("using") == "gist"
}


# The read models every package queries instead of repeating joins (migrations 0005, 0007).
VIEWS = {
    "current_territory",
    "current_need_area",
    "activity_placed",
    "activity_location",
    "supplier_site_placed",
}


def _views(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_view_names()) - {"geography_columns", "geometry_columns"}
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def test_migrations_run_up_and_down_on_an_empty_database(empty_database_url: str) -> None:
    assert migrate.current(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) == TABLES
    assert _views(empty_database_url) == VIEWS
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")
        ).scalar()
        gist = (
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert set(gist) == GIST_INDEXES

    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()
    assert _views(empty_database_url) == set()
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) == TABLES


def test_autogenerate_finds_nothing_to_do_at_head(database_url: str, tmp_path: Path) -> None:
    written = migrate.revision(database_url, "nothing changed", versions=tmp_path)
    assert written.parent == tmp_path
    body = written.read_text()
    assert "op." not in body.replace("op.f(", "")  # no operation: declared == migrated


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": migrate.include_name, "compare_type": True}
            )
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_db_upgrade_creates_a_database_that_does_not_exist_yet(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_url(empty_database_url)
    server = make_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{target.database}"'))
    finally:
        server.dispose()
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"Created database {describe(empty_database_url)}" in result.stdout
    assert migrate.current(empty_database_url) == migrate.head()
    assert _tables(empty_database_url) == TABLES
