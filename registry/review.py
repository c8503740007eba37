"""A community team's review queue: the activities of its territories nobody has vouched
for yet (listed or claimed) or that have lapsed, most useful to review first, with the
automatic eligibility reasoning beside each.

Read from the view ``activity_placed``, so the verification state is the effective one
(a claimed or verified record not heard of for the lapse period reads ``lapsed``). Closed
activities are left out: there is nothing to verify about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple, TypedDict, cast

from sqlalchemy import Connection, text

from geo.errors import InvalidInputError
from registry.privacy import redact_record
from registry.tables import ELIGIBILITY

# Verification states that wait for a community team (``verified`` is done).
WAITING = ("listed", "claimed", "lapsed")
PAGE_SIZE = 50
# Most useful first: records the rules could not decide, then records a provider has
# claimed (ready to verify), then lapsed ones, then listed eligible ones; found ineligible
# last.
_ORDER = """
    CASE WHEN a.eligibility = 'needs_review' THEN 0
         WHEN a.verification = 'claimed' AND a.eligibility = 'eligible' THEN 1
         WHEN a.verification = 'lapsed' AND a.eligibility = 'eligible' THEN 2
         WHEN a.eligibility = 'eligible' THEN 3
         ELSE 4 END
"""
_WHERE = """
    FROM activity_placed a
    LEFT JOIN need_area n ON n.id = a.need_area_id
    WHERE a.territory_code = ANY(:territories)
      AND a.verification = ANY(:waiting)
      AND a.status <> 'closed'
      AND (CAST(:eligibility AS text) IS NULL OR a.eligibility = :eligibility)
      AND (CAST(:search AS text) IS NULL
           OR position(lower(CAST(:search AS text)) IN lower(a.name)) > 0)
"""


class QueueItem(TypedDict):
    """One activity waiting for review: who runs it, where (territory, need area and
    postcode; for a safeguarded service only the postcode district, no need area), its
    state on the verification ladder and its eligibility as the rules (or a person,
    ``eligibility_source = 'decision'``) found it, with the reason."""

    id: int
    name: str
    provider_name: str | None
    territory_code: str
    territory_name: str
    need_area_name: str | None
    postcode: str | None
    status: str
    closing_date: date | None
    verification: str
    evidence_level: int | None
    eligibility: str
    eligibility_categories: list[str]
    eligibility_reason: str | None
    eligibility_source: str
    safeguarding: bool


class Queue(NamedTuple):
    """One page of the queue and how many activities wait in all (with those filters)."""

    items: list[QueueItem]
    total: int


def review_queue(
    conn: Connection,
    territories: Sequence[str],
    *,
    eligibility: str | None = None,
    search: str | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> Queue:
    """The activities of ``territories`` waiting for a community team, most useful first.

    Parameters
    ----------
    conn
        A connection to the registry.
    territories
        Territory codes (``E23000029``): the team's.
    eligibility
        Only activities with this eligibility (``eligible``, ``needs_review``,
        ``ineligible``), or ``None`` for all.
    search
        Only activities whose name holds this text (any case), or ``None``.
    limit, offset
        The page: at most ``limit`` activities after the first ``offset``.

    Returns
    -------
    Queue
        The page's activities (records needing a decision first, then claimed, lapsed and
        listed eligible ones, ineligible last; by name within each) and the total.

    Raises
    ------
    InvalidInputError
        An unknown eligibility.
    """
    if eligibility is not None and eligibility not in ELIGIBILITY:
        raise InvalidInputError(
            f"eligibility {eligibility!r} must be one of {', '.join(ELIGIBILITY)}"
        )
    params = {
        "territories": list(territories),
        "waiting": list(WAITING),
        "eligibility": eligibility,
        "search": search.strip() if search and search.strip() else None,
    }
    total = conn.execute(text(f"SELECT count(*) {_WHERE}"), params).scalar_one()
    rows = conn.execute(
        text(
            f"""
            SELECT a.id, a.name, a.provider_name, a.territory_code, a.territory_name,
                   CASE WHEN a.safeguarding THEN NULL ELSE n.name END AS need_area_name,
                   a.postcode, a.status, a.closing_date,
                   a.verification, a.evidence_level, a.eligibility,
                   a.eligibility_categories, a.eligibility_reason, a.eligibility_source,
                   a.safeguarding
            {_WHERE}
            ORDER BY {_ORDER}, lower(a.name), a.id
            LIMIT :limit OFFSET :offset
            """
        ),
        {**params, "limit": limit, "offset": offset},
    ).mappings()
    items = [
        cast(
            QueueItem,
            redact_record({**row, "eligibility_categories": list(row["eligibility_categories"])}),
        )
        for row in rows
    ]
    return Queue(items, int(total))
