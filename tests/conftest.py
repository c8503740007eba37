"""Test fixtures: a real PostgreSQL + PostGIS database per test session.

The database comes from the same settings as the platform (``DATABASE_URL`` or the
project's local cluster started by ``make test``). A test database is created and dropped
by pytest-postgresql's janitor; the schema is built by the real migrations and the real
geography is loaded once. If the server is unreachable the session errors: database tests
never skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL, make_url

from boundaries.gazetteer import PostcodeLoadReport, load_postcodes
from boundaries.sources import need_areas_2019, postcodes_2025, territories_2023
from boundaries.store import LoadReport, load_geography
from geo import migrate, roles
from geo.db import DatabaseUnavailableError, check_connection, make_engine
from geo.metadata import append_only_tables, domain_metadata
from geo.settings import Settings, get_settings
from registry import activities, suppliers
from registry.importer import run_import
from tests.db import wipe


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def data_dir(settings: Settings) -> Path:
    return settings.require_data_dir()


def _janitor(server: URL, name: str) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.username or "postgres",
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        dbname=name,
        password=server.password,
    )


@pytest.fixture(scope="session")
def server_url(settings: Settings) -> URL:
    """The configured server as a superuser (it creates the test databases); the run stops
    at once, with the next step, if it is down."""
    engine = make_engine(settings.admin_url or settings.owner_url)
    try:
        check_connection(engine)
    except DatabaseUnavailableError as exc:
        pytest.exit(f"{exc} (`make test` does both.)", returncode=3)
    finally:
        engine.dispose()
    return make_url(settings.admin_url or settings.owner_url)


@pytest.fixture(scope="session")
def database_url(server_url: URL, settings: Settings) -> Iterator[str]:
    """A test database, migrated as the owner role with the app role's grants, as
    `dualimpact db start` and `db upgrade` make one; dropped at the end of the session.
    The URL is the superuser's (fixtures wipe tables through the audit triggers)."""
    name = f"dualimpact_test_{os.getpid()}"
    with _janitor(server_url, name):
        url = server_url.set(database=name).render_as_string(hide_password=False)
        owner, app = _role_urls(settings, name)
        if settings.admin_url:
            roles.prepare(url, owner, app)
        migrate.upgrade(owner)
        roles.apply_grants(owner, app, append_only_tables(domain_metadata()))
        yield url


@pytest.fixture(scope="session")
def app_database_url(database_url: str, settings: Settings) -> str:
    """The test database as the web app connects to it: the app role, which owns nothing
    and may only insert into the audit tables."""
    return _role_urls(settings, str(make_url(database_url).database))[1]


def _role_urls(settings: Settings, database: str) -> tuple[str, str]:
    """The owner's and the app's URLs of ``database`` (the same server)."""
    owner, app = (
        make_url(url).set(database=database).render_as_string(hide_password=False)
        for url in (settings.owner_url, settings.sqlalchemy_url)
    )
    return owner, app


@pytest.fixture
def empty_database_url(server_url: URL, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all, for migration tests and isolated loads."""
    name = f"dualimpact_empty_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    with _janitor(server_url, name):
        yield server_url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def geography(engine: Engine, data_dir: Path) -> LoadReport:
    """The real 45 territories and 42,619 need areas, loaded once per session."""
    return load_geography(engine, territories_2023(data_dir), need_areas_2019(data_dir))


@pytest.fixture(scope="session")
def postcodes(engine: Engine, geography: LoadReport, data_dir: Path) -> PostcodeLoadReport:
    """The real postcode gazetteer (2.7 M postcodes), loaded once per session."""
    return load_postcodes(engine, postcodes_2025(data_dir))


@pytest.fixture
def registry(engine: Engine, postcodes: PostcodeLoadReport) -> Engine:
    """The test database with an empty registry (no organisations, activities, sites)."""
    wipe(engine, "activity", "supplier_site", "organisation")
    return engine


@pytest.fixture
def conn(engine: Engine, geography: LoadReport) -> Iterator[Connection]:
    """A connection whose writes are rolled back when the test ends."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, geography: LoadReport
) -> Iterator[None]:
    """Point the CLI's settings at the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def demo_data(engine: Engine, postcodes: PostcodeLoadReport, settings: Settings) -> Engine:
    """The shared activities and supplier sites, imported as `dualimpact load` does."""
    wipe(engine, "activity", "supplier_site", "organisation")
    data = settings.require_data_dir()
    for file in (
        data / "activities" / "activity_organisations.csv",
        data / "activities" / "raw" / "grants_360giving_flat.csv",
    ):
        run_import(engine, activities.SPEC, file)
    for file in (
        data / "suppliers" / "supplier_sites_ocds.csv",
        data / "suppliers" / "supplier_sites_more.csv",
    ):
        run_import(engine, suppliers.SPEC, file)
    return engine
