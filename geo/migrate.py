"""Run the Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from geo.db import make_engine
from geo.settings import normalise_database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Leave PostGIS's own schemas and tables out of autogenerate comparisons."""
    if type_ == "schema":
        return name in (None, "public")
    if type_ == "table":
        return name != "spatial_ref_sys"
    return True


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation treats % specially; URLs may carry %-escaped passwords.
    config.set_main_option("sqlalchemy.url", normalise_database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (creating the PostGIS extension first)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def revision(url: str, message: str, versions: Path | None = None) -> Path:
    """Write a new migration that Alembic autogenerates by comparing the database at
    ``url`` (at head) with every package's declared tables; returns its path.

    ``versions`` writes it elsewhere than ``geo/migrations/versions`` (for a dry run). Read
    and edit it before committing: autogenerate does not see views, triggers or functions.
    """
    config = alembic_config(url)
    if versions is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join([str(MIGRATIONS / "versions"), str(versions)])
        )
    script = command.revision(
        config,
        message,
        autogenerate=True,
        version_path=None if versions is None else str(versions),
    )
    if script is None or isinstance(script, list):
        raise RuntimeError("Alembic wrote no single revision")
    return Path(script.path)


def head() -> str:
    """The newest revision the migrations define (what ``upgrade`` reaches by default)."""
    revision = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations under {MIGRATIONS}")
    return revision


def current(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
