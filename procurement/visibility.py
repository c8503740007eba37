"""Who may see an SPO. One rule, used by every list, search, GeoJSON, map, export and
count: before award an SPO is visible only to its supplier and, once the tender's bid
deadline has passed (bids are sealed until then), to the tender's buyer, who never sees a
bid that was not submitted (a draft); from award on it is public. Losing bids are never
published. The platform's admins see everything (to operate it); analysts see what their
organisation sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from accounts.users import User
from procurement.states import PUBLIC

PUBLIC_SQL = "({spo}.status IN (" + ", ".join(f"'{s}'" for s in PUBLIC) + "))"
# A bid its tender's buyer may read: submitted (never a draft), and bidding closed.
OPENED_SQL = "({spo}.submitted_at IS NOT NULL AND {tender}.bid_deadline <= now())"


@dataclass(frozen=True)
class Viewer:
    organisation_id: int | None = None
    admin: bool = False

    @classmethod
    def of(cls, user: User | None) -> Viewer:
        if user is None:
            return cls()
        return cls(organisation_id=user.organisation_id, admin=user.role == "admin")


ANONYMOUS = Viewer()


def spo_filter(viewer: Viewer, spo: str = "s", tender: str = "t") -> tuple[str, dict[str, int]]:
    """A SQL condition (and its parameters) true for the SPOs ``viewer`` may see.

    The query must alias the SPO table ``spo`` and its tender ``tender``. The supplier
    sees its own SPOs; the tender's buyer sees the submitted ones from the bid deadline on
    (:data:`OPENED_SQL`: bids are sealed until then, and drafts are never shown); everyone
    sees awarded ones.
    """
    public = PUBLIC_SQL.format(spo=spo)
    if viewer.admin:
        return "TRUE", {}
    if viewer.organisation_id is None:
        return public, {}
    opened = OPENED_SQL.format(spo=spo, tender=tender)
    own = f"({spo}.supplier_id = :viewer_org OR ({tender}.buyer_id = :viewer_org AND {opened}))"
    return f"({public} OR {own})", {"viewer_org": viewer.organisation_id}


def evaluation_open(bid_deadline: datetime, now: datetime | None = None) -> bool:
    """Whether a tender's bids may be read (and scored): its bid deadline has passed.

    Parameters
    ----------
    bid_deadline
        The tender's bid deadline (timezone-aware; a naive one is taken as UTC).
    now
        The moment to judge at (default: now, UTC).
    """
    deadline = bid_deadline if bid_deadline.tzinfo else bid_deadline.replace(tzinfo=UTC)
    return deadline <= (now or datetime.now(UTC))


def sealed_message(bid_deadline: datetime) -> str:
    """What a buyer is told when it asks for a bid before the deadline."""
    deadline = bid_deadline if bid_deadline.tzinfo else bid_deadline.replace(tzinfo=UTC)
    return (
        f"bids are sealed until {deadline.astimezone(UTC):%d %b %Y %H:%M} UTC: "
        "evaluation opens then"
    )
