"""The audit trail: append-only, hash-chained per SPO, anchored by keyed checkpoints.

Every state change, score, variation, delivery claim and confirmation of an SPO is an event
(who, when, from → to, reason, details). Each event's hash covers its content and the
previous event's hash, so changing or removing any event breaks every hash after it. The
tables refuse UPDATE, DELETE and TRUNCATE (triggers), so tampering needs a superuser
switching them off. What a hash chain alone cannot show (its end cut off, the whole chain
deleted, or a rewrite with every hash recomputed) the checkpoints show: each new head is
MACed with a key kept outside the database (:mod:`procurement.anchor`). :func:`verify`
checks both and names each problem's SPO and event.

Callers hold the SPO's row lock (``SELECT ... FOR UPDATE``) when appending, so events of one
SPO are numbered without gaps or races.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, RowMapping, text

from procurement import anchor
from procurement.records import AuditCheckpoint, AuditEventRecord

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
    """Add an event to the SPO's chain, checkpoint the new head, and return its hash.

    Parameters
    ----------
    conn
        The connection whose transaction holds the SPO's row lock.
    spo_id
        The SPO.
    actor_id
        Who acted (``app_user``), or None for the platform itself.
    action
        What happened ("submitted", "delivery claimed", ...).
    from_state, to_state
        The SPO's state before and after, for a state change.
    reason, payload
        Why, and the details, as recorded.
    """
    last = conn.execute(
        text("SELECT seq, hash FROM audit_event WHERE spo_id = :id ORDER BY seq DESC LIMIT 1"),
        {"id": spo_id},
    ).one_or_none()
    seq = (last.seq + 1) if last else 1
    event = {
        "spo_id": spo_id,
        "seq": seq,
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "payload": json.loads(json.dumps(payload or {}, default=str)),
    }
    prev = last.hash if last else GENESIS
    digest = event_hash(event, prev)
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
    anchor.write(conn, anchor.AuditKey.installed(), spo_id, seq, digest)
    return digest


def verify(conn: Connection, spo_id: int | None = None) -> list[str]:
    """Check the chains against their hashes, their checkpoints and their SPOs' states.

    Parameters
    ----------
    conn
        Any connection.
    spo_id
        Check this SPO only (default: every SPO).

    Returns
    -------
    list of str
        The problems found, empty when the trail is intact. Each names the SPO and, where
        there is one, the event: an event changed, missing or out of order; a chain cut at
        its end, deleted whole (every SPO has at least its "drafted" event) or rewritten
        with recomputed hashes; a checkpoint missing, forged or made with another key; an
        SPO whose state is not the one its chain last recorded.
    """
    rows = conn.execute(
        text(
            """
            SELECT coalesce(s.id, ek.owner) AS spo, s.status, ek.*
            FROM (SELECT id, status FROM spo WHERE CAST(:id AS int) IS NULL OR id = :id) s
            FULL JOIN (
                SELECT coalesce(e.spo_id, k.spo_id) AS owner, e.spo_id, e.seq, e.at,
                       e.actor_id, e.action, e.from_state, e.to_state, e.reason, e.payload,
                       e.prev_hash, e.hash, k.seq AS mark_seq, k.head_hash AS mark_head,
                       k.mac AS mark_mac, k.key_id AS mark_key, k.at AS mark_at
                FROM (SELECT * FROM audit_event
                      WHERE CAST(:id AS int) IS NULL OR spo_id = :id) e
                FULL JOIN (SELECT * FROM audit_checkpoint
                           WHERE CAST(:id AS int) IS NULL OR spo_id = :id) k
                    ON k.spo_id = e.spo_id AND k.seq = e.seq
            ) ek ON ek.owner = s.id
            ORDER BY 1, coalesce(ek.seq, ek.mark_seq)
            """
        ),
        {"id": spo_id},
    ).mappings()
    # One statement, so one snapshot: an event appended meanwhile (with its checkpoint)
    # is seen whole or not at all.
    states: dict[int, str | None] = {}
    chains: dict[int, list[RowMapping]] = {}
    marks: dict[int, dict[int, AuditCheckpoint]] = {}
    for row in rows:
        spo = row["spo"]
        states[spo] = row["status"]
        chain = chains.setdefault(spo, [])
        if row["seq"] is not None:
            chain.append(row)
        if row["mark_seq"] is not None:
            marks.setdefault(spo, {})[row["mark_seq"]] = {
                "spo_id": spo,
                "seq": row["mark_seq"],
                "head_hash": row["mark_head"],
                "mac": row["mark_mac"],
                "key_id": row["mark_key"],
                "at": row["mark_at"],
            }
    key = anchor.AuditKey.installed()
    problems: list[str] = []
    for spo, chain in chains.items():
        status = states[spo]
        if not chain:
            if status is not None:
                problems.append(f"SPO {spo}: its audit chain was deleted (it has no events)")
            continue
        problems += _links(spo, chain) + _anchoring(spo, chain, marks.get(spo, {}), key)
        if status is None:
            problems.append(f"SPO {spo}: it has audit events but the SPO itself was deleted")
        else:
            problems += _state(spo, status, chain)
    return problems


def _links(spo: int, chain: list[RowMapping]) -> list[str]:
    """Problems of the hash chain itself: events missing, out of order or changed."""
    problems = []
    want_seq, want_prev = 1, GENESIS
    for row in chain:
        seq = row["seq"]
        if seq != want_seq:
            problems.append(f"SPO {spo}: event {want_seq} is missing (found {seq})")
        if row["prev_hash"] != want_prev:
            problems.append(f"SPO {spo}, event {seq}: does not follow the event before it")
        if event_hash(event_of(row), row["prev_hash"]) != row["hash"]:
            problems.append(f"SPO {spo}, event {seq} ({row['action']}): content was changed")
        want_seq, want_prev = seq + 1, row["hash"]
    return problems


def _anchoring(
    spo: int, chain: list[RowMapping], marks: dict[int, AuditCheckpoint], key: anchor.AuditKey
) -> list[str]:
    """Problems against the checkpoints: every event has one, made with ``key``, for the
    event's hash; none lies beyond the chain's end."""
    problems = []
    for row in chain:
        where = f"SPO {spo}, event {row['seq']} ({row['action']})"
        mark = marks.get(row["seq"])
        if mark is None:
            problems.append(f"{where}: has no checkpoint")
        elif mark["key_id"] != key.key_id:
            problems.append(
                f"{where}: its checkpoint was made with key {mark['key_id']}, not this"
                f" installation's key ({key.key_id}): verify with that key"
                " (DUALIMPACT_AUDIT_KEY)"
            )
        elif not key.signs(mark):
            problems.append(
                f"{where}: its checkpoint's MAC does not match (forged, or made with another key)"
            )
        elif mark["head_hash"] != row["hash"]:
            problems.append(f"{where}: does not match its checkpoint: the chain was rewritten")
    end = chain[-1]["seq"]
    beyond = [seq for seq, mark in marks.items() if seq > end and key.signs(mark)]
    forged = sorted(seq for seq, mark in marks.items() if seq > end and not key.signs(mark))
    if beyond:
        problems.append(
            f"SPO {spo}: the chain ends at event {end} but its checkpoint covers event"
            f" {max(beyond)}: events after {end} were deleted"
        )
    problems += [
        f"SPO {spo}: the checkpoint of event {seq} beyond the chain's end is not genuine"
        for seq in forged
    ]
    return problems


def _state(spo: int, status: str, chain: list[RowMapping]) -> list[str]:
    """The SPO's state must be the one its chain's last state change recorded."""
    moves = [row for row in chain if row["to_state"] is not None]
    if not moves:
        return [f"SPO {spo}: it is {status}, but its chain records no state change"]
    last = moves[-1]
    if last["to_state"] == status:
        return []
    return [
        f"SPO {spo}: it is {status}, but its chain's last state change (event {last['seq']})"
        f" made it {last['to_state']}"
    ]


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


def event_of(row: RowMapping) -> dict[str, object]:
    """The content an event's hash covers, from its stored row."""
    return {
        "spo_id": row["spo_id"],
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "action": row["action"],
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "reason": row["reason"],
        "payload": row["payload"],
    }


def event_hash(event: dict[str, object], prev: str) -> str:
    """The event's hash: SHA-256 of the previous hash and the event's canonical JSON (the
    algorithm is public: anyone can recompute a chain, only the key holder can
    checkpoint one)."""
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + body).encode()).hexdigest()
