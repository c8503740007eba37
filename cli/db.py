"""``dualimpact db``: the database the platform runs on."""

from __future__ import annotations

import typer

from cli.common import console, open_engine
from geo import migrate
from geo.db import describe, ensure_database
from geo.localdb import resolve_cluster
from geo.settings import get_settings

app = typer.Typer(
    help="Start, upgrade and inspect the PostgreSQL + PostGIS database.", no_args_is_help=True
)


@app.command()
def start() -> None:
    """Make sure a database is there: the project's own local cluster, or DATABASE_URL's.

    Without DATABASE_URL this creates (first time) and starts a private PostgreSQL cluster
    under .dualimpact/pgdata, as the `postgres` user when run as root. With DATABASE_URL it
    only checks the server and creates the named database if it is missing.
    """
    settings = get_settings()
    if settings.database_url is None:
        cluster = resolve_cluster(settings.local_db_dir, settings.local_port)
        started = cluster.start()
        state = "started" if started else "already running"
        console.print(f"Local cluster {state}: {cluster.data_dir} (port {cluster.port})")
    created = ensure_database(settings.sqlalchemy_url)
    if created:
        console.print(f"Created database {describe(settings.sqlalchemy_url)}")
    with open_engine(settings):
        console.print(f"Database ready: {describe(settings.sqlalchemy_url)}")


@app.command()
def stop() -> None:
    """Stop the project's own local cluster (does nothing when DATABASE_URL is set)."""
    settings = get_settings()
    if settings.database_url is not None:
        console.print("DATABASE_URL is set: that server is not ours to stop.")
        return
    cluster = resolve_cluster(settings.local_db_dir, settings.local_port)
    console.print("Stopped." if cluster.stop() else "The local cluster was not running.")


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the schema migrations (creates the PostGIS extension first)."""
    settings = get_settings()
    with open_engine(settings):
        migrate.upgrade(settings.sqlalchemy_url, revision)
    console.print(f"Schema at {migrate.current(settings.sqlalchemy_url)}.")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Roll the schema back to REVISION (``base`` drops every table of the platform)."""
    settings = get_settings()
    with open_engine(settings):
        migrate.downgrade(settings.sqlalchemy_url, revision)
    console.print(f"Schema at {migrate.current(settings.sqlalchemy_url) or 'base'}.")


@app.command()
def url() -> None:
    """Print the database URL in use (password hidden)."""
    print(describe(get_settings().sqlalchemy_url))
