"""Engine creation and connection checks (PostgreSQL + PostGIS over psycopg 3)."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from geo.errors import DualImpactError
from geo.settings import get_settings, normalise_database_url

# A server that accepts the TCP connection but never answers (hung, or behind a broken
# network) fails the connection after this long instead of holding the caller for minutes.
CONNECT_TIMEOUT_S = 10

# SQLSTATEs meaning the server cannot be used at all: connection failures (class 08),
# shutting down, crashed or starting up (57P01-57P03), no connection slots left (53300).
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


# The session setting the read models take the lapse period (years) from.
LAPSE_SETTING = "dualimpact.lapse_years"


class DatabaseUnavailableError(DualImpactError):
    """The configured database cannot be reached; the message says what to do next."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """One engine per process; callers dispose of it when done.

    Connections are pinged before use unless ``pool_pre_ping=False`` is passed, and give
    up connecting after :data:`CONNECT_TIMEOUT_S` seconds unless the URL (or
    ``connect_args``) sets its own ``connect_timeout``. Each session carries the lapse
    period (``dualimpact.lapse_years``, from :attr:`Settings.lapse_years`), which the
    ``activity_placed`` view reads to tell a lapsed record.
    """
    kwargs.setdefault("pool_pre_ping", True)
    normalised = normalise_database_url(url)
    connect_args = {
        # JIT compiling costs seconds on the read models' small queries (3.4 s of 4.4 s
        # reading every activity) and saves nothing: off for the platform's sessions.
        "options": f"-c jit=off -c {LAPSE_SETTING}={get_settings().lapse_years}",
        **kwargs.pop("connect_args", {}),
    }
    if "connect_timeout" not in make_url(normalised).query:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, **connect_args}
    return create_engine(normalised, connect_args=connect_args, **kwargs)


def outage(exc: DBAPIError) -> Literal["unreachable", "busy"]:
    """Why the database could not serve a request that failed with ``exc``.

    ``"unreachable"``: no connection could be made, or the one in use was lost (the server
    stopped, restarted or dropped it). ``"busy"``: the server answered but could not finish
    (a lock or statement timeout, a deadlock, a serialisation failure).
    """
    state = getattr(exc.orig, "sqlstate", None)
    if exc.connection_invalidated or state is None or state.startswith(_UNREACHABLE_STATES):
        return "unreachable"
    return "busy"


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
