"""Which activities an SPO may commit to: eligible, current ones, or those the tender's
buyer has allowed.

An SPO backs *proven local dual-impact activities*: the register's ``trusted`` ones
(eligible and not lapsed, view ``activity_placed``). A tender's buyer lead may let the SPOs
bidding for its tender commit to another activity (ineligible, not yet reviewed, or
lapsed) as an *override*, with a reason for the record
(:data:`accounts.permissions.PERMISSIONS`, ``ALLOW_INELIGIBLE``). An allowance is per
tender and activity, kept in the append-only ``eligibility_allowance`` table (never
changed or withdrawn); SPO commands check commitments against it
(:func:`unallowed`) when a draft is written or edited, when it is submitted and when it is
awarded.

Allowances are seen by the tender's buyer, the suppliers bidding for it and the
platform's admins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action, Target
from accounts.users import User
from geo.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from procurement.records import AllowanceRecord
from procurement.tenders import get_tender
from procurement.visibility import Viewer

# The shortest reason an override is recorded with (a sentence at least), in characters.
MIN_REASON_CHARS = 10


def allow(
    conn: Connection, user: User, tender_id: int, activity_id: int, reason: str
) -> AllowanceRecord:
    """Let the SPOs bidding for a tender commit to an activity the register does not trust.

    Parameters
    ----------
    conn
        The connection whose transaction records the allowance.
    user
        Who allows it: a buyer lead at the tender's buyer.
    tender_id
        The tender.
    activity_id
        The activity (ineligible, needing review, or lapsed).
    reason
        Why, for the record (a sentence at least).

    Returns
    -------
    AllowanceRecord
        The allowance as recorded.

    Raises
    ------
    NotFoundError
        No such tender or activity.
    PermissionDeniedError
        ``user`` is not a buyer lead at the tender's buyer.
    InvalidInputError
        No reason (or a blank or one-word one).
    ConflictError
        The activity needs no allowance (it is eligible and current), or the tender
        already allows it.
    """
    tender = get_tender(conn, tender_id)
    permissions.require(
        user,
        Action.ALLOW_INELIGIBLE,
        Target(buyer_id=tender["buyer_id"], territory=tender["territory_code"]),
    )
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise InvalidInputError(
            f"allowing SPOs for tender {tender_id} to commit to activity {activity_id} is an "
            "override: give a reason (a sentence at least) for the record"
        )
    standing = (
        conn.execute(
            text("SELECT name, trusted FROM activity_placed WHERE id = :id"), {"id": activity_id}
        )
        .mappings()
        .one_or_none()
    )
    if standing is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    if standing["trusted"]:
        raise ConflictError(
            f"activity {activity_id} {standing['name']!r} is eligible and current: SPOs may "
            "commit to it without an allowance"
        )
    allowance_id = conn.execute(
        text(
            """
            INSERT INTO eligibility_allowance (tender_id, activity_id, allowed_by, reason)
            VALUES (:tender, :activity, :user, :reason)
            ON CONFLICT (tender_id, activity_id) DO NOTHING RETURNING id
            """
        ),
        {"tender": tender_id, "activity": activity_id, "user": user.id, "reason": reason.strip()},
    ).scalar()
    if allowance_id is None:
        (earlier,) = _allowances(
            conn,
            "e.tender_id = :tender AND e.activity_id = :activity",
            {"tender": tender_id, "activity": activity_id},
        )
        raise ConflictError(
            f"tender {tender_id} already allows activity {activity_id} (by "
            f"{earlier['allowed_by']} on {earlier['at']:%d %b %Y}: {earlier['reason']}); "
            "allowances are never changed"
        )
    (recorded,) = _allowances(conn, "e.id = :id", {"id": allowance_id})
    return recorded


def allowances(conn: Connection, viewer: Viewer, tender_id: int) -> list[AllowanceRecord]:
    """The activities a tender allows its SPOs to commit to though the register does not
    trust them, oldest first: for the tender's buyer, the suppliers bidding for it (an SPO
    of theirs for the tender, in any state) and the platform's admins.

    Raises
    ------
    NotFoundError
        No such tender.
    PermissionDeniedError
        ``viewer`` is none of those.
    """
    tender = get_tender(conn, tender_id)
    bidding = viewer.organisation_id is not None and (
        conn.execute(
            text("SELECT 1 FROM spo WHERE tender_id = :tender AND supplier_id = :org LIMIT 1"),
            {"tender": tender_id, "org": viewer.organisation_id},
        ).first()
        is not None
    )
    if not (viewer.admin or viewer.organisation_id == tender["buyer_id"] or bidding):
        raise PermissionDeniedError(
            f"only the tender's buyer ({tender['buyer']}), the suppliers bidding for tender "
            f"{tender_id} and the platform's admins can see its allowances"
        )
    return _allowances(conn, "e.tender_id = :tender", {"tender": tender_id})


def unallowed(conn: Connection, tender_id: int, activity_ids: Sequence[int]) -> list[str]:
    """Why an SPO for the tender may not commit to some of these activities: one problem
    for each that is not eligible or has lapsed and that the tender does not allow (empty
    when it may commit to all of them; unknown ids are the caller's to report).

    Each problem names the activity, its eligibility and reason or its lapse, and what to
    do next.
    """
    rows = conn.execute(
        text(
            """
            SELECT p.id, p.name, p.eligibility, p.eligibility_reason, p.verification,
                   p.fresh_on, o.name AS buyer
            FROM activity_placed p
            JOIN tender t ON t.id = :tender JOIN organisation o ON o.id = t.buyer_id
            WHERE p.id = ANY(:ids) AND NOT p.trusted
              AND NOT EXISTS (SELECT 1 FROM eligibility_allowance e
                              WHERE e.tender_id = :tender AND e.activity_id = p.id)
            ORDER BY p.id
            """
        ),
        {"tender": tender_id, "ids": sorted(set(activity_ids))},
    ).mappings()
    problems = []
    for row in rows:
        standing = []
        if row["eligibility"] == "ineligible":
            standing.append(f"is ineligible ({row['eligibility_reason']})")
        elif row["eligibility"] == "needs_review":
            why = f": {row['eligibility_reason']}" if row["eligibility_reason"] else ""
            standing.append(f"has not been found eligible (it needs review{why})")
        if row["verification"] == "lapsed":
            since = f"since {row['fresh_on']:%d %b %Y}" if row["fresh_on"] else "ever"
            standing.append(f"has lapsed (not confirmed {since})")
        problems.append(
            f"activity {row['id']} {row['name']!r} {' and '.join(standing)}: an SPO commits "
            f"only to eligible, current activities unless the tender's buyer "
            f"({row['buyer']}) allows it for tender {tender_id}, with a reason; ask them, "
            "or commit to an eligible activity"
        )
    return problems


def _allowances(
    conn: Connection, condition: str, params: dict[str, object]
) -> list[AllowanceRecord]:
    """The allowances where the SQL ``condition`` holds (on ``eligibility_allowance e``),
    oldest first, with the activity's standing now: every read goes through this one
    column list."""
    rows = conn.execute(
        text(
            f"""
            SELECT e.id, e.tender_id, e.activity_id, p.name AS activity, p.eligibility,
                   p.eligibility_reason, p.verification, e.reason, u.name AS allowed_by, e.at
            FROM eligibility_allowance e JOIN activity_placed p ON p.id = e.activity_id
            JOIN app_user u ON u.id = e.allowed_by
            WHERE {condition} ORDER BY e.at, e.id
            """
        ),
        params,
    ).mappings()
    return [cast(AllowanceRecord, dict(row)) for row in rows]
