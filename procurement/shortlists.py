"""A supplier's shortlist: the activities it is considering for its SPOs, found near one
of its sites (or a postcode) with the finder, kept per organisation until removed.

A shortlist is private to its supplier: every read and write is scoped to the signed-in
person's own organisation, and only a supplier may keep one (the same permission as
drafting an SPO, which the shortlist prepares). Listing an activity here promises nothing:
value is promised only by an SPO's commitments, checked by the capacity ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action
from accounts.users import User
from geo.errors import NotFoundError


@dataclass(frozen=True)
class SupplierSite:
    """One of a supplier's own sites (a depot, an office) with its postcode, if known."""

    id: int
    name: str
    postcode: str | None
    territory_name: str


@dataclass(frozen=True)
class ShortlistEntry:
    """An activity on a supplier's shortlist, with its standing in the register.

    ``funding_gap`` is in pounds a year (``None``: not recorded); ``site`` names the site
    it was found for (``None``: for the supplier's bids in general).
    """

    id: int
    activity_id: int
    activity: str
    territory_code: str
    territory_name: str
    funding_gap: float | None
    status: str
    eligibility: str
    verification: str
    trusted: bool
    site: str | None
    note: str | None


def sites(conn: Connection, user: User) -> list[SupplierSite]:
    """The sites of ``user``'s own organisation, by name (none for other organisations'
    people, who have no sites of their own)."""
    rows = conn.execute(
        text(
            "SELECT id, name, postcode, territory_name FROM supplier_site_placed"
            " WHERE supplier_id = :org ORDER BY name, id"
        ),
        {"org": user.organisation_id},
    )
    return [SupplierSite(row.id, row.name, row.postcode, row.territory_name) for row in rows]


def site(conn: Connection, user: User, site_id: int) -> SupplierSite:
    """One of ``user``'s organisation's sites.

    Raises
    ------
    NotFoundError
        No such site, or it belongs to another organisation (not revealed which).
    """
    for found in sites(conn, user):
        if found.id == site_id:
            return found
    raise NotFoundError(f"no site with id {site_id} among {user.organisation_name}'s sites")


def entries(conn: Connection, user: User) -> list[ShortlistEntry]:
    """``user``'s organisation's shortlist, newest first."""
    rows = conn.execute(
        text(
            """
            SELECT l.id, l.activity_id, a.name AS activity, a.territory_code, a.territory_name,
                   a.funding_gap::float8 AS funding_gap, a.status, a.eligibility,
                   a.verification, a.trusted, s.name AS site, l.note
            FROM shortlist l JOIN activity_placed a ON a.id = l.activity_id
            LEFT JOIN supplier_site s ON s.id = l.site_id
            WHERE l.supplier_id = :org ORDER BY l.created_at DESC, l.id DESC
            """
        ),
        {"org": user.organisation_id},
    ).mappings()
    return [ShortlistEntry(**row) for row in rows]


def add(
    conn: Connection,
    user: User,
    activity_id: int,
    *,
    site_id: int | None = None,
    note: str | None = None,
) -> int:
    """Put an activity on ``user``'s organisation's shortlist (for one of its sites, if
    given); adding it again changes nothing. Returns the entry's id.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not a supplier.
    NotFoundError
        No such activity, or the site is not one of the organisation's.
    """
    permissions.require(user, Action.DRAFT_SPO)
    if site_id is not None:
        site(conn, user, site_id)
    known = conn.execute(
        text("SELECT 1 FROM activity WHERE id = :id"), {"id": activity_id}
    ).scalar()
    if known is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    entry_id: int = conn.execute(
        text(
            """
            INSERT INTO shortlist (supplier_id, activity_id, site_id, note, added_by)
            VALUES (:org, :activity, :site, :note, :user)
            ON CONFLICT ON CONSTRAINT uq_shortlist DO UPDATE SET note = shortlist.note
            RETURNING id
            """
        ),
        {
            "org": user.organisation_id,
            "activity": activity_id,
            "site": site_id,
            "note": (note or "").strip() or None,
            "user": user.id,
        },
    ).scalar_one()
    return entry_id


def remove(conn: Connection, user: User, entry_id: int) -> str:
    """Take an entry off ``user``'s organisation's shortlist; returns the activity's name.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not a supplier.
    NotFoundError
        No such entry on this organisation's shortlist (another's is not revealed).
    """
    permissions.require(user, Action.DRAFT_SPO)
    name: str | None = conn.execute(
        text(
            "DELETE FROM shortlist l USING activity a WHERE l.id = :id"
            " AND l.supplier_id = :org AND a.id = l.activity_id RETURNING a.name"
        ),
        {"id": entry_id, "org": user.organisation_id},
    ).scalar()
    if name is None:
        raise NotFoundError(f"no entry {entry_id} on {user.organisation_name}'s shortlist")
    return name
