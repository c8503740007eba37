"""Engine creation and connection checks (PostgreSQL + PostGIS over psycopg 3)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from geo.errors import DualImpactError
from geo.settings import normalise_database_url


class DatabaseUnavailableError(DualImpactError):
    """The configured database cannot be reached; the message says what to do next."""


def make_engine(url: str, **kwargs: object) -> Engine:
    """One engine per process; callers dispose of it when done."""
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(normalise_database_url(url), **kwargs)


def describe(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(normalise_database_url(url)).render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailableError` with a next step when the server is not there."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"Cannot connect to {describe(engine.url.render_as_string(hide_password=False))}: "
            f"{exc.orig}. Start the project's own cluster with `dualimpact db start`, "
            "or set DATABASE_URL to a running PostgreSQL with PostGIS."
        ) from exc


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` when the server has no such database.

    Returns True when it was created. Needs a role allowed to CREATE DATABASE.
    """
    target = make_url(normalise_database_url(url))
    name = target.database
    if not name:
        raise ValueError(f"{describe(url)} names no database")
    maintenance = make_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        check_connection(maintenance)
        with maintenance.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        maintenance.dispose()
