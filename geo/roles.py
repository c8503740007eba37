"""Database roles with least privilege.

Three roles touch the database:

* a **superuser** (the cluster's ``postgres``) creates the database, the other two roles
  and the PostGIS extension, and nothing else;
* the **owner** (:data:`OWNER_ROLE`) owns the schema: migrations, bulk loads and the
  command line run as it;
* the **app** (:data:`APP_ROLE`) is what the web server connects as. It owns nothing, may
  read and write the domain tables, may only INSERT into (and read) the append-only audit
  tables (:func:`geo.metadata.append_only_tables`), and so can neither rewrite the audit
  trail nor switch its triggers off.

Passwords are generated once per installation and kept outside the database, beside the
token signing key (:class:`geo.settings.Settings`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from geo.db import ensure_database, make_engine
from geo.settings import APP_ROLE, OWNER_ROLE

__all__ = [
    "APP_ROLE",
    "OWNER_ROLE",
    "adopt_schema",
    "apply_grants",
    "ensure_role",
    "grant_app",
    "prepare",
]


def ensure_role(conn: Connection, name: str, password: str) -> bool:
    """Create the login role ``name`` with ``password``, or reset the password of the one
    there; returns True when it was created. ``conn`` is a superuser's (or CREATEROLE)."""
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()
    verb = "ALTER" if exists else "CREATE"
    statement = conn.execute(
        text(
            f"SELECT format('{verb} ROLE %I LOGIN PASSWORD %L', CAST(:n AS text), CAST(:p AS text))"
        ),
        {"n": name, "p": password},
    ).scalar_one()
    conn.execute(text(statement))
    return not exists


def grant_app(conn: Connection, app_role: str, append_only: Iterable[str]) -> None:
    """Give ``app_role`` what the web app needs and nothing more, on every table of the
    ``public`` schema as it stands (run after each migration, as the owner).

    Reads and writes on the domain tables; only INSERT and SELECT on the ``append_only``
    tables and on ``alembic_version`` only SELECT; no TRUNCATE, no ownership, so no
    ALTER TABLE ... DISABLE TRIGGER.
    """
    role = conn.execute(text("SELECT quote_ident(:r)"), {"r": app_role}).scalar_one()
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    conn.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    )
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    for table in [*append_only, "alembic_version"]:
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    conn.execute(text(f"REVOKE INSERT ON alembic_version FROM {role}"))


def adopt_schema(conn: Connection, owner: str) -> int:
    """Make ``owner`` the owner of the database and of every table, view, sequence and
    function of the ``public`` schema that is not part of an extension (PostGIS keeps its
    own); returns how many objects changed hands. Run as a superuser, once, on a database
    made before the roles existed (everything then belonged to the superuser)."""
    role = conn.execute(text("SELECT quote_ident(:r)"), {"r": owner}).scalar_one()
    conn.execute(text(f"ALTER DATABASE {_current_database(conn)} OWNER TO {role}"))
    objects = conn.execute(
        text(
            """
            SELECT format('ALTER %s %s OWNER TO %I',
                          CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE'
                                         ELSE 'TABLE' END,
                          c.oid::regclass, CAST(:owner AS text))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
              AND pg_get_userbyid(c.relowner) <> :owner
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                              AND d.deptype = 'e')
              AND NOT (c.relkind = 'S' AND EXISTS (
                  SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
            UNION ALL
            SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure,
                          CAST(:owner AS text))
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :owner
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                              AND d.deptype = 'e')
            """
        ),
        {"owner": owner},
    ).scalars()
    changed = 0
    for statement in objects:
        conn.execute(text(statement))
        changed += 1
    return changed


def _current_database(conn: Connection) -> str:
    return str(conn.execute(text("SELECT quote_ident(current_database())")).scalar_one())


def prepare(admin_url: str, owner_url: str, app_url: str) -> None:
    """As a superuser (``admin_url``, naming the platform's database): create the database
    if missing, the owner and app roles with the passwords their URLs carry, PostGIS (not
    a trusted extension), and hand every existing object to the owner."""
    ensure_database(admin_url)
    owner, app = make_url(owner_url), make_url(app_url)
    # Passwords travel as parameters: keep them out of error messages and logs.
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT", hide_parameters=True)
    try:
        with engine.connect() as conn:
            for url in {owner.username: owner, app.username: app}.values():
                if url.username and url.password:
                    ensure_role(conn, url.username, str(url.password))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            if owner.username:
                adopt_schema(conn, owner.username)
    finally:
        engine.dispose()


def apply_grants(owner_url: str, app_url: str, append_only: Iterable[str]) -> bool:
    """After the migrations, as the owner: give the app's role (named in ``app_url``) its
    privileges (:func:`grant_app`). Returns False when the app connects as the owner itself
    (a one-role deployment: nothing to grant, and nothing protects the audit trail)."""
    app_role = make_url(app_url).username
    if not app_role or app_role == make_url(owner_url).username:
        return False
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            grant_app(conn, app_role, append_only)
    finally:
        engine.dispose()
    return True
