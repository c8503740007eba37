"""Back the database up to one file, and restore it whole (``pg_dump`` custom format).

A backup is written beside its final name and renamed into place only when ``pg_dump``
has finished, so a file with the backup's name is always a complete one. A restore runs
in one transaction: the database's schema is emptied and the archive restored into it,
owners and privileges included, and if anything fails (a damaged archive, a role the
backup names missing on this server) nothing changes. It refuses a database that already
holds tables unless asked to replace them. Restoring re-creates PostGIS, so it connects as
a role allowed to (a superuser).

The client programs are those of the server's major version (:func:`geo.localdb.client_bin`),
connected with the platform's own settings (the password, if any, passed in the
environment, never on the command line). Keys kept outside the database (the token key,
the audit key) are not in a backup: keep them apart, as safely.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.db import describe, ensure_database, make_engine
from geo.errors import ConflictError, DualImpactError, InvalidInputError
from geo.localdb import client_bin
from geo.settings import normalise_database_url

# The first bytes of every pg_dump custom-format archive.
ARCHIVE_MAGIC = b"PGDMP"
# Run before the archive, in its transaction: the schema as a new database has it.
CLEAN_SCHEMA = """
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
COMMENT ON SCHEMA public IS 'standard public schema';
"""
CHUNK_BYTES = 1 << 20


class BackupError(DualImpactError):
    """pg_dump or the restore failed; the message carries what PostgreSQL said."""


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    created: bool  # the database did not exist and was created
    tables: int  # tables in the restored database


def backup(url: str, path: Path) -> int:
    """Write the whole database at ``url`` to ``path`` (pg_dump custom format).

    Parameters
    ----------
    url
        The database (any SQLAlchemy or libpq ``postgresql://`` URL).
    path
        The backup file; an existing file is replaced only once the new backup is complete.

    Returns
    -------
    int
        The backup's size in bytes.

    Raises
    ------
    InvalidInputError
        ``path``'s folder does not exist, or ``path`` is a folder.
    BackupError
        pg_dump failed (its message says why); no file is left behind.
    """
    if not path.parent.is_dir():
        raise InvalidInputError(
            f"cannot write {path}: the folder {path.parent} does not exist (create it first)"
        )
    if path.is_dir():
        raise InvalidInputError(f"cannot write {path}: it is a folder; name a file in it")
    dsn, env = _libpq(url)
    pg_dump = client_bin("pg_dump", _server_major(url))
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        partial = Path(f.name)
    try:
        dump = subprocess.run(
            [pg_dump, "--format=custom", f"--file={partial}", dsn],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if dump.returncode != 0:
            raise BackupError(f"pg_dump could not back up {describe(url)}: {dump.stderr.strip()}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def restore(url: str, path: Path, *, force: bool = False) -> Restored:
    """Restore the backup at ``path`` into the database at ``url``, creating it if needed.

    Parameters
    ----------
    url
        The database to restore into.
    path
        A backup made by :func:`backup` (``pg_dump --format=custom``).
    force
        Replace everything in a database that already holds tables.

    Returns
    -------
    Restored
        Whether the database was created, and how many tables it now holds.

    Raises
    ------
    InvalidInputError
        ``path`` is missing or not a pg_dump custom-format archive.
    ConflictError
        The database holds tables and ``force`` is not set (nothing was changed).
    BackupError
        The restore failed; it ran in one transaction, so the database is as it was.
    """
    if not _is_archive(path):
        raise InvalidInputError(
            f"{path} is not a pg_dump custom-format archive (make one with "
            "`dualimpact db backup FILE`)"
        )
    created = ensure_database(url)
    held = _tables(url)
    if held and not force:
        raise ConflictError(
            f"database {describe(url)} is not empty: it holds {len(held)} tables "
            f"({', '.join(held[:3])}{', ...' if len(held) > 3 else ''}). Restoring replaces "
            "all of it: add --force to do so, or restore into a new database"
        )
    _replay(url, path)
    return Restored(created, len(_tables(url)))


def _is_archive(path: Path) -> bool:
    """Whether ``path`` is a file that starts as a pg_dump custom-format archive does."""
    if not path.is_file():
        return False
    with path.open("rb") as archive:
        return archive.read(len(ARCHIVE_MAGIC)) == ARCHIVE_MAGIC


def _replay(url: str, path: Path) -> None:
    """Empty the schema and restore the archive in one psql transaction, committed only
    when pg_restore has read the whole archive without error."""
    dsn, env = _libpq(url)
    major = _server_major(url)
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as sql_errors:
        script = subprocess.Popen(
            [client_bin("pg_restore", major), "--file=-", str(path)],
            stdout=subprocess.PIPE,
            stderr=script_errors,
        )
        psql = subprocess.Popen(
            [client_bin("psql", major), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=sql_errors,
            env=env,
        )
        assert script.stdout is not None  # both were opened as pipes above
        assert psql.stdin is not None
        try:
            with suppress(BrokenPipeError):  # psql stopped at an error (in sql_errors)
                psql.stdin.write(b"BEGIN;\n" + CLEAN_SCHEMA.encode())
                _pump(script.stdout, psql.stdin)
                if script.wait() == 0:
                    psql.stdin.write(b"COMMIT;\nANALYZE;\n")
        finally:
            script.stdout.close()  # pg_restore, if still writing, stops
            with suppress(BrokenPipeError):
                psql.stdin.close()  # without COMMIT, psql ends and the server rolls back
            script.wait()
            psql.wait()
        if script.returncode != 0 or psql.returncode != 0:
            said = _tail(sql_errors) if psql.returncode != 0 else _tail(script_errors)
            raise BackupError(
                f"the restore into {describe(url)} failed and was rolled back (nothing "
                f"changed): {said}"
            )


def _pump(source: IO[bytes], sink: IO[bytes]) -> None:
    """Copy ``source`` into ``sink`` until it ends."""
    while chunk := source.read(CHUNK_BYTES):
        sink.write(chunk)


def _tail(stream: IO[bytes], lines: int = 5) -> str:
    """The last lines a program wrote to ``stream``."""
    stream.seek(0)
    return " ".join(stream.read().decode(errors="replace").strip().splitlines()[-lines:])


def _tables(url: str) -> list[str]:
    """The tables the database holds (not counting the ones PostGIS brings)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        """
                        SELECT c.relname FROM pg_class c
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relkind IN ('r', 'p')
                          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                          AND n.nspname NOT LIKE 'pg\\_%'
                          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                          WHERE d.objid = c.oid AND d.deptype = 'e')
                        ORDER BY c.relname
                        """
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def _server_major(url: str) -> int:
    """The major version of the server holding ``url`` (15 for 15.x)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000
    finally:
        engine.dispose()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI for ``url`` (password left out) and the environment that
    carries the password."""
    parsed = make_url(normalise_database_url(url))
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    dsn = parsed.set(drivername="postgresql", password=None)
    return dsn.render_as_string(hide_password=False), env
