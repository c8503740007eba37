"""Boundary generations in the database: record, compare and make current.

A generation (territories, need areas or postcodes) is identified by its kind and vintage;
its content hash tells whether a reload would change anything.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection, text


class Generation(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def vintage(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def licence(self) -> str: ...


def lock(conn: Connection, job: str) -> None:
    """Serialise concurrent loads of the same kind for the rest of the transaction."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:job))"), {"job": f"dualimpact.{job}"})


def current(conn: Connection) -> dict[str, tuple[str, str]]:
    """``kind → (vintage, content hash)`` of the current generation of each kind."""
    rows = conn.execute(
        text("SELECT kind, vintage, content_sha256 FROM boundary_set WHERE is_current")
    ).all()
    return {kind: (vintage, sha) for kind, vintage, sha in rows}


def is_current(conn: Connection, generation: Generation, sha: str) -> bool:
    """Whether ``generation`` with this content is already the current one of its kind."""
    return current(conn).get(generation.kind) == (generation.vintage, sha)


def upsert(conn: Connection, generation: Generation, sha: str, count: int) -> int:
    """Record ``generation`` (new, or its new content) and return its id."""
    set_id: int = conn.execute(
        text(
            """
            INSERT INTO boundary_set
                (kind, name, vintage, source, licence, content_sha256, feature_count, is_current)
            VALUES (:kind, :name, :vintage, :source, :licence, :sha, :count, false)
            ON CONFLICT (kind, vintage) DO UPDATE SET
                name = EXCLUDED.name, source = EXCLUDED.source, licence = EXCLUDED.licence,
                content_sha256 = EXCLUDED.content_sha256,
                feature_count = EXCLUDED.feature_count, loaded_at = now()
            RETURNING id
            """
        ),
        {
            "kind": generation.kind,
            "name": generation.name,
            "vintage": generation.vintage,
            "source": generation.source,
            "licence": generation.licence,
            "sha": sha,
            "count": count,
        },
    ).scalar_one()
    return set_id


def make_current(conn: Connection, kind: str, set_id: int) -> None:
    # Two statements: the one-current-per-kind unique index is checked row by row.
    params = {"kind": kind, "set_id": set_id}
    conn.execute(
        text("UPDATE boundary_set SET is_current = false WHERE kind = :kind AND id <> :set_id"),
        params,
    )
    conn.execute(text("UPDATE boundary_set SET is_current = true WHERE id = :set_id"), params)


def retire(conn: Connection, kind: str) -> None:
    """No generation of ``kind`` is current any more (it was built on older boundaries)."""
    conn.execute(
        text("UPDATE boundary_set SET is_current = false WHERE kind = :kind"), {"kind": kind}
    )
