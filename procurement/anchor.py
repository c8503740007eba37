"""Checkpoints that anchor each SPO's audit chain to a key kept outside the database.

The hash chain (:mod:`procurement.audit`) shows any event changed in place, but someone
with the database's own powers could cut events off its end, delete a whole chain, or
rewrite it and recompute every hash. So each event also gets a checkpoint: an HMAC-SHA256
of (SPO, event number, head hash) under the installation's audit key
(:meth:`geo.settings.Settings.audit_mac_key`), which the database never holds. Without the
key a checkpoint cannot be made or moved; :func:`procurement.audit.verify` checks every
chain against its checkpoints, and the public register publishes each awarded SPO's latest
one, so a copy exists outside the database too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, text

from geo.settings import get_settings
from procurement.records import AuditCheckpoint


@dataclass(frozen=True)
class AuditKey:
    """The secret that makes checkpoints, and the short fingerprint that names it."""

    secret: bytes

    @classmethod
    def installed(cls) -> AuditKey:
        """This installation's key (``DUALIMPACT_AUDIT_KEY``, or ``.dualimpact/audit_key``)."""
        return cls(get_settings().audit_mac_key().encode())

    @property
    def key_id(self) -> str:
        """16 hex digits naming the key (a hash of it: it reveals nothing of the key)."""
        return hashlib.sha256(b"dualimpact audit key\0" + self.secret).hexdigest()[:16]

    def mac(self, spo_id: int, seq: int, head_hash: str) -> str:
        """The checkpoint's MAC: HMAC-SHA256 of ``"{spo_id}:{seq}:{head_hash}"`` (hex)."""
        message = f"{spo_id}:{seq}:{head_hash}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def signs(self, checkpoint: AuditCheckpoint) -> bool:
        """Whether ``checkpoint`` was made with this key for what it says."""
        want = self.mac(checkpoint["spo_id"], checkpoint["seq"], checkpoint["head_hash"])
        return checkpoint["key_id"] == self.key_id and hmac.compare_digest(want, checkpoint["mac"])


def write(conn: Connection, key: AuditKey, spo_id: int, seq: int, head_hash: str) -> None:
    """Checkpoint the SPO's chain at its new head.

    Parameters
    ----------
    conn
        The connection whose transaction holds the SPO's row lock (and the new event).
    key
        The installation's audit key.
    spo_id
        The SPO.
    seq
        The head event's number in the SPO's chain.
    head_hash
        The head event's hash (64 hex digits).
    """
    conn.execute(
        text(
            "INSERT INTO audit_checkpoint (spo_id, seq, head_hash, mac, key_id)"
            " VALUES (:spo, :seq, :head, :mac, :key_id)"
        ),
        {
            "spo": spo_id,
            "seq": seq,
            "head": head_hash,
            "mac": key.mac(spo_id, seq, head_hash),
            "key_id": key.key_id,
        },
    )


def latest(conn: Connection, spo_ids: list[int]) -> dict[int, AuditCheckpoint]:
    """Each SPO's latest checkpoint (its chain's head when it was last changed).

    Parameters
    ----------
    conn
        Any connection.
    spo_ids
        The SPOs wanted.

    Returns
    -------
    dict
        SPO id → its latest checkpoint; SPOs with none are left out.
    """
    rows = conn.execute(
        text(
            "SELECT DISTINCT ON (spo_id) spo_id, seq, head_hash, mac, key_id, at"
            " FROM audit_checkpoint WHERE spo_id = ANY(:ids) ORDER BY spo_id, seq DESC"
        ),
        {"ids": spo_ids},
    ).mappings()
    return {row["spo_id"]: cast(AuditCheckpoint, dict(row)) for row in rows}
