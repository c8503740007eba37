"""``dualimpact db``: the database the platform runs on."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import console, open_engine
from cli.procurement import report_audit
from geo import backup as archive
from geo import migrate, roles
from geo.db import describe, ensure_database
from geo.localdb import LocalCluster, resolve_cluster
from geo.metadata import append_only_tables, domain_metadata
from geo.settings import LOCAL_SUPERUSER, Settings, get_settings

app = typer.Typer(
    help="Start, upgrade, inspect, back up and restore the PostgreSQL + PostGIS database.",
    no_args_is_help=True,
)


@app.command()
def start() -> None:
    """Make sure a database is there: the project's own local cluster, or DATABASE_URL's.

    Without DATABASE_URL this creates (first time) and starts a private PostgreSQL cluster
    under .dualimpact/pgdata (as the `postgres` user when run as root), where every
    connection needs a password (kept in .dualimpact/). As a superuser it then creates the
    database, the owner and app roles (least privilege: see geo/roles.py) and PostGIS. With
    DATABASE_URL the same is done through DUALIMPACT_ADMIN_DATABASE_URL when given;
    otherwise the database is only created if the connecting role may.
    """
    settings = get_settings()
    if settings.database_url is None:
        cluster = _cluster(settings)
        started = cluster.start()
        state = "started" if started else "already running"
        console.print(f"Local cluster {state}: {cluster.data_dir} (port {cluster.port})")
    _prepare(settings)
    with open_engine(settings):
        console.print(f"Database ready: {describe(settings.owner_url)}")


def _cluster(settings: Settings) -> LocalCluster:
    return resolve_cluster(
        settings.local_db_dir, settings.local_port, settings.local_password(LOCAL_SUPERUSER)
    )


@app.command()
def stop() -> None:
    """Stop the project's own local cluster (does nothing when DATABASE_URL is set)."""
    settings = get_settings()
    if settings.database_url is not None:
        console.print("DATABASE_URL is set: that server is not ours to stop.")
        return
    cluster = _cluster(settings)
    console.print("Stopped." if cluster.stop() else "The local cluster was not running.")


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the schema migrations, creating the database first if the server has none.

    The PostGIS extension is created before the first migration.
    """
    settings = get_settings()
    _prepare(settings)
    with open_engine(settings):
        migrate.upgrade(settings.owner_url, revision)
        granted = roles.apply_grants(
            settings.owner_url, settings.sqlalchemy_url, append_only_tables(domain_metadata())
        )
    console.print(f"Schema at {migrate.current(settings.owner_url)}.")
    if not granted:
        console.print(
            "The web app connects as the schema's owner: give it a role of its own "
            "(DATABASE_URL) and the owner's to DUALIMPACT_OWNER_DATABASE_URL, so that it "
            "cannot rewrite the audit trail."
        )


@app.command()
def backup(
    file: Path = typer.Argument(..., help="The backup file to write (pg_dump custom format)."),
) -> None:
    """Back up the whole database to FILE (pg_dump custom format).

    Uses the client programs of the server's own version; FILE is replaced only by a
    complete backup. The audit key and the token key are not in the database: keep them
    apart, as safely.
    """
    settings = get_settings()
    with open_engine(settings):
        size = archive.backup(settings.owner_url, file)
    console.print(
        f"Backed up {describe(settings.owner_url)} to {file} ({size / 1e6:,.1f} MB).",
        highlight=False,
    )


@app.command()
def restore(
    file: Path = typer.Argument(..., help="A backup made by `dualimpact db backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace everything in a database that already holds tables."
    ),
) -> None:
    """Restore FILE (made by `db backup`), then verify the audit trail.

    The database is created if missing, and restored in one transaction: if anything
    fails, nothing changes. A database that already holds tables is refused unless
    --force; with it, its schema is emptied first, so the result is exactly the backup.
    Stop the web app while restoring. Exit status 1 if the audit trail does not verify
    (with this installation's audit key).
    """
    settings = get_settings()
    url = settings.admin_url or settings.owner_url  # restoring re-creates PostGIS
    restored = archive.restore(url, file, force=force)
    schema, head = migrate.current(url), migrate.head()
    console.print(
        f"Restored {file} into {describe(url)}{' (created)' if restored.created else ''}: "
        f"{restored.tables} tables, schema at {schema}.",
        highlight=False,
    )
    if schema != head:
        console.print(
            f"This version of the platform expects schema {head}: run `dualimpact db upgrade`,"
            " then `dualimpact audit verify`."
        )
        return
    with open_engine(settings) as engine:
        report_audit(engine)


def _prepare(settings: Settings) -> None:
    """The database, its roles and PostGIS, as a superuser when one is known; otherwise
    only the database, if the owner's role may create it (and say so)."""
    if settings.admin_url:
        roles.prepare(settings.admin_url, settings.owner_url, settings.sqlalchemy_url)
    elif ensure_database(settings.owner_url):
        console.print(f"Created database {describe(settings.owner_url)}", highlight=False)


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Roll the schema back to REVISION (``base`` drops every table of the platform)."""
    settings = get_settings()
    with open_engine(settings):
        migrate.downgrade(settings.owner_url, revision)
    console.print(f"Schema at {migrate.current(settings.owner_url) or 'base'}.")


@app.command()
def revision(message: str = typer.Argument(..., help="What the migration changes.")) -> None:
    """Autogenerate a migration from the tables each package declares (its ``tables``
    module) against the database at head; read and edit it before committing."""
    settings = get_settings()
    with open_engine(settings):
        path = migrate.revision(settings.owner_url, message)
    console.print(f"Wrote {path}: check it (views and triggers are not autogenerated).")


@app.command()
def url() -> None:
    """Print the database URL in use (password hidden)."""
    print(describe(get_settings().sqlalchemy_url))
