"""What a supplier sees of its own SPO while it builds and delivers it, besides the score
(which :func:`procurement.spos.assess` computes exactly as the buyer's scoring does): what
is left of an activity's funding gap for an amount being typed, and the delivery it has
claimed with the provider's answer.

Read-only: nothing here changes anything (the commands are in :mod:`procurement.spos`
and :mod:`procurement.delivery`). Every function first finds the SPO through
:func:`procurement.lifecycle.find_spo`, so an SPO the reader may not see is "not found".
The gap left counts only awarded SPOs' promises (public) and this SPO's own, never
another bid's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from accounts.users import User
from geo.errors import InvalidInputError, NotFoundError
from procurement import ledger, spos
from procurement.lifecycle import find_spo
from procurement.tables import COMMITMENT_KINDS


@dataclass(frozen=True)
class GapLeft:
    """An activity's funding gap against what an SPO would promise it, in pounds.

    ``gap`` is ``None`` when no gap is recorded (nothing can be promised then);
    ``firm`` is promised by awarded SPOs (public); ``elsewhere_in_spo`` by this SPO's
    other saved commitments to the activity; ``asked`` is the amount being typed, valued
    as the ledger values it (volunteer hours at the hourly value, jobs at £0).
    """

    activity_id: int
    activity: str
    gap: float | None
    firm: float
    elsewhere_in_spo: float
    asked: float

    @property
    def available(self) -> float | None:
        """What awarded SPOs and this SPO's other commitments leave of the gap."""
        if self.gap is None:
            return None
        return self.gap - self.firm - self.elsewhere_in_spo

    @property
    def left(self) -> float | None:
        """What would remain of the gap with ``asked`` promised too (negative: over)."""
        available = self.available
        return None if available is None else available - self.asked

    @property
    def over(self) -> bool:
        """Whether the amount asked is more than the gap has left (or no gap is recorded
        and value is asked), so saving or submitting it would be refused."""
        left = self.left
        return (left is None and self.asked > 0) or (left is not None and left < -0.005)


def gap_left(
    conn: Connection,
    user: User,
    spo_id: int,
    activity_id: int,
    kind: str,
    quantity: float,
) -> GapLeft:
    """What would be left of ``activity_id``'s funding gap if the SPO promised it
    ``quantity`` of ``kind`` besides its saved commitments.

    Raises
    ------
    NotFoundError
        No such SPO (or ``user`` may not see it), or no such activity.
    InvalidInputError
        ``kind`` is not a commitment kind.
    """
    find_spo(conn, spo_id, user)
    if kind not in COMMITMENT_KINDS:
        raise InvalidInputError(f"kind {kind!r} must be one of {', '.join(COMMITMENT_KINDS)}")
    found = list(ledger.exposure(conn, [activity_id], excluding_spo=spo_id).itertuples())
    if not found:
        raise NotFoundError(f"no activity with id {activity_id}")
    row = found[0]
    elsewhere = conn.execute(
        text(
            "SELECT coalesce(sum(value_gbp), 0)::float8 FROM spo_commitment WHERE spo_id = :spo"
            " AND activity_id = :activity"
        ),
        {"spo": spo_id, "activity": activity_id},
    ).scalar_one()
    asked = spos.value_gbp(kind, quantity) if math.isfinite(quantity) and quantity > 0 else 0.0
    gap = None if row.funding_gap is None or math.isnan(row.funding_gap) else row.funding_gap
    return GapLeft(activity_id, row.name, gap, row.firm_gbp, elsewhere, asked)


@dataclass(frozen=True)
class DeliveryClaim:
    """One delivery the supplier reported against a commitment and where it stands:
    ``provider_status`` is pending, confirmed or disputed (with the provider's note);
    ``signed_off`` once the buyer has signed it off. Money in pounds, hours in hours."""

    id: int
    commitment_id: int
    money_paid_gbp: float
    hours_given: float
    people_reached: int
    evidence_links: list[str]
    note: str | None
    claimed_at: datetime
    provider_status: str
    provider_note: str | None
    signed_off: bool


def claims(conn: Connection, user: User, spo_id: int) -> list[DeliveryClaim]:
    """Every delivery claimed against the SPO's commitments, oldest first.

    Raises
    ------
    NotFoundError
        No such SPO, or ``user`` may not see it.
    """
    find_spo(conn, spo_id, user)
    rows = conn.execute(
        text(
            """
            SELECT d.id, d.commitment_id, d.money_paid_gbp::float8 AS money_paid_gbp,
                   d.hours_given::float8 AS hours_given, d.people_reached, d.evidence_links,
                   d.note, d.created_at AS claimed_at, d.provider_status, d.provider_note,
                   d.signed_off_by IS NOT NULL AS signed_off
            FROM spo_delivery d JOIN spo_commitment c ON c.id = d.commitment_id
            WHERE c.spo_id = :spo ORDER BY d.id
            """
        ),
        {"spo": spo_id},
    ).mappings()
    return [DeliveryClaim(**row) for row in rows]
