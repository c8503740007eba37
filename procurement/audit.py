"""The audit trail: append-only, hash-chained per SPO.

Every state change, score, variation, delivery claim and confirmation of an SPO is an event
(who, when, from → to, reason, details). Each event's hash covers its content and the
previous event's hash, so changing or removing any event breaks every hash after it:
:func:`verify` recomputes the chain and names the first broken link. The table itself
refuses UPDATE and DELETE (a trigger), so tampering needs a superuser switching that off,
and is then still detected.

Callers hold the SPO's row lock (``SELECT ... FOR UPDATE``) when appending, so events of one
SPO are numbered without gaps or races.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, text

from procurement.records import AuditEventRecord

GENESIS = "0" * 64


def append(
    conn: Connection,
    spo_id: int,
    actor_id: int | None,
    action: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: dict[str, object] | None = None,
) -> str:
    """Add an event to the SPO's chain and return its hash."""
    last = conn.execute(
        text("SELECT seq, hash FROM audit_event WHERE spo_id = :id ORDER BY seq DESC LIMIT 1"),
        {"id": spo_id},
    ).one_or_none()
    event = {
        "spo_id": spo_id,
        "seq": (last.seq + 1) if last else 1,
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "payload": json.loads(json.dumps(payload or {}, default=str)),
    }
    prev = last.hash if last else GENESIS
    digest = _hash(event, prev)
    conn.execute(
        text(
            """
            INSERT INTO audit_event (spo_id, seq, at, actor_id, action, from_state, to_state,
                                     reason, payload, prev_hash, hash)
            VALUES (:spo_id, :seq, :at, :actor_id, :action, :from_state, :to_state, :reason,
                    CAST(:payload AS jsonb), :prev, :hash)
            """
        ),
        {**event, "payload": json.dumps(event["payload"]), "prev": prev, "hash": digest},
    )
    return digest


def verify(conn: Connection, spo_id: int | None = None) -> list[str]:
    """Problems found in the chains (of one SPO, or all): empty when intact."""
    rows = conn.execute(
        text(
            """
            SELECT spo_id, seq, at, actor_id, action, from_state, to_state, reason, payload,
                   prev_hash, hash
            FROM audit_event WHERE (CAST(:id AS int) IS NULL OR spo_id = :id)
            ORDER BY spo_id, seq
            """
        ),
        {"id": spo_id},
    ).mappings()
    problems: list[str] = []
    expected: dict[int, tuple[int, str]] = {}
    for row in rows:
        spo, seq = row["spo_id"], row["seq"]
        want_seq, want_prev = expected.get(spo, (1, GENESIS))
        if seq != want_seq:
            problems.append(f"SPO {spo}: event {want_seq} is missing (found {seq})")
        if row["prev_hash"] != want_prev:
            problems.append(f"SPO {spo}, event {seq}: does not follow the event before it")
        event = {
            "spo_id": spo,
            "seq": seq,
            "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": row["actor_id"],
            "action": row["action"],
            "from_state": row["from_state"],
            "to_state": row["to_state"],
            "reason": row["reason"],
            "payload": row["payload"],
        }
        if _hash(event, row["prev_hash"]) != row["hash"]:
            problems.append(f"SPO {spo}, event {seq} ({row['action']}): content was changed")
        expected[spo] = (seq + 1, row["hash"])
    return problems


def events(conn: Connection, spo_id: int) -> list[AuditEventRecord]:
    """The SPO's events in order (callers check the reader may see the SPO)."""
    rows = conn.execute(
        text(
            """
            SELECT e.seq, e.at, u.name AS actor, e.action, e.from_state, e.to_state, e.reason,
                   e.payload, e.hash
            FROM audit_event e LEFT JOIN app_user u ON u.id = e.actor_id
            WHERE e.spo_id = :id ORDER BY e.seq
            """
        ),
        {"id": spo_id},
    ).mappings()
    return [cast(AuditEventRecord, dict(row)) for row in rows]


def _hash(event: dict[str, object], prev: str) -> str:
    """The event's hash: SHA-256 of the previous hash and the event's canonical JSON."""
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + body).encode()).hexdigest()
