"""Database helpers the test fixtures share."""

from __future__ import annotations

from sqlalchemy import Engine, text


def wipe(engine: Engine, *tables: str) -> None:
    """Empty ``tables`` and everything that refers to them, append-only audit tables
    included: their triggers are switched off for this transaction only (superuser)."""
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
