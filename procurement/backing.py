"""What backs each activity: how many SPOs (counted only among the SPOs the viewer may
see, so a count never reveals a bid before award); for a provider's own pages, its
activities with what awarded SPOs commit to them, each awarded commitment and the
deliveries suppliers reported against it (public from award on, so never a bid)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypedDict, cast

from sqlalchemy import Connection, text

from procurement.visibility import ANONYMOUS, Viewer, spo_filter


def backing_counts(conn: Connection, viewer: Viewer, activity_ids: Sequence[int]) -> dict[int, int]:
    """Activity id → number of visible SPOs with a commitment to it (absent when none)."""
    if not activity_ids:
        return {}
    condition, params = spo_filter(viewer)
    rows = conn.execute(
        text(
            f"""
            SELECT c.activity_id, count(DISTINCT s.id)
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN tender t ON t.id = s.tender_id
            WHERE c.activity_id = ANY(:ids) AND s.status NOT IN ('withdrawn', 'lapsed')
              AND {condition}
            GROUP BY c.activity_id
            """
        ),
        {"ids": list(activity_ids), **params},
    ).all()
    return {activity_id: count for activity_id, count in rows}  # noqa: C416


class ProviderActivity(TypedDict):
    """One of a provider organisation's activities as its own page lists it: where it
    stands (status, closing date, verification, eligibility) and money in pounds a year,
    with what awarded (public) SPOs commit to it."""

    id: int
    name: str
    postcode: str | None
    territory_code: str
    territory_name: str | None
    status: str
    closing_date: date | None
    funding_gap: float | None
    verification: str
    evidence_level: int | None
    eligibility: str
    eligibility_categories: list[str]
    eligibility_reason: str | None
    committed_gbp: float


class ListedActivity(TypedDict):
    """An activity no provider has taken over yet (listed, or lapsed), as a provider's
    search finds it to claim it."""

    id: int
    name: str
    provider_name: str | None
    postcode: str | None
    territory_name: str | None
    verification: str
    status: str


class Backing(TypedDict):
    """What one awarded (public) SPO commits to an activity: the tender and its buyer, the
    supplier, the commitment (``quantity`` in pounds or hours as ``kind`` says, its value in
    pounds) and what the provider has confirmed as delivered against it (pounds)."""

    spo_id: int
    commitment_id: int
    tender: str
    buyer: str
    supplier: str
    status: str
    kind: str
    quantity: float
    value_gbp: float
    what: str
    by_when: date
    delivered_gbp: float


class ReportedDelivery(TypedDict):
    """A delivery a supplier reported against an awarded commitment to an activity: what
    it claims (pounds paid, hours given, people reached, links), who reported it and when,
    and the provider's answer (``pending``, ``confirmed``, ``disputed``) and the buyer's
    sign-off."""

    id: int
    spo_id: int
    supplier: str
    claimed_by: str
    created_at: datetime
    money_paid_gbp: float
    hours_given: float
    people_reached: int
    evidence_links: list[str]
    note: str | None
    provider_status: str
    provider_note: str | None
    signed_off: bool


def provider_activities(conn: Connection, organisation_id: int) -> list[ProviderActivity]:
    """The activities whose provider is organisation ``organisation_id``, by name, each
    with the pounds awarded SPOs commit to it (never a bid before award)."""
    public, _ = spo_filter(ANONYMOUS)
    rows = conn.execute(
        text(
            f"""
            SELECT a.id, a.name, a.postcode, a.territory_code, a.territory_name, a.status,
                   a.closing_date, a.funding_gap::float8 AS funding_gap, a.verification,
                   a.evidence_level, a.eligibility, a.eligibility_categories,
                   a.eligibility_reason,
                   coalesce((SELECT sum(c.value_gbp) FROM spo_commitment c
                             JOIN spo s ON s.id = c.spo_id JOIN tender t ON t.id = s.tender_id
                             WHERE c.activity_id = a.id AND {public}), 0)::float8
                       AS committed_gbp
            FROM activity_placed a WHERE a.provider_id = :organisation
            ORDER BY lower(a.name), a.id
            """
        ),
        {"organisation": organisation_id},
    ).mappings()
    return [cast(ProviderActivity, dict(row)) for row in rows]


def listed_activities(
    conn: Connection, words: str, postcode: str | None = None, limit: int = 20
) -> list[ListedActivity]:
    """Activities a provider may claim (listed or lapsed) whose name holds ``words``
    (case ignored), optionally at a postcode starting with ``postcode``; by name, at most
    ``limit``."""
    pattern = "%" + words.strip().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    place = (postcode or "").strip().upper().replace(" ", "")
    rows = conn.execute(
        text(
            """
            SELECT a.id, a.name, a.provider_name, a.postcode, a.territory_name,
                   a.verification, a.status
            FROM activity_placed a
            WHERE a.verification IN ('listed', 'lapsed') AND a.name ILIKE :pattern
              AND (:place = '' OR replace(a.postcode, ' ', '') LIKE :place || '%')
            ORDER BY lower(a.name), a.id LIMIT :limit
            """
        ),
        {"pattern": pattern + "%", "place": place, "limit": limit},
    ).mappings()
    return [cast(ListedActivity, dict(row)) for row in rows]


def awarded_backing(conn: Connection, activity_id: int) -> list[Backing]:
    """The awarded (public) SPOs' commitments to the activity, newest award first; a bid
    before award never appears."""
    public, _ = spo_filter(ANONYMOUS)
    rows = conn.execute(
        text(
            f"""
            SELECT s.id AS spo_id, c.id AS commitment_id, t.title AS tender, b.name AS buyer,
                   o.name AS supplier, s.status, c.kind, c.quantity::float8 AS quantity,
                   c.value_gbp::float8 AS value_gbp, c.what, c.by_when,
                   coalesce((SELECT sum(d.money_paid_gbp) FROM spo_delivery d
                             WHERE d.commitment_id = c.id
                               AND d.provider_status = 'confirmed'), 0)::float8
                       AS delivered_gbp
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN tender t ON t.id = s.tender_id JOIN organisation b ON b.id = t.buyer_id
            JOIN organisation o ON o.id = s.supplier_id
            WHERE c.activity_id = :activity AND {public}
            ORDER BY s.awarded_at DESC, c.id
            """
        ),
        {"activity": activity_id},
    ).mappings()
    return [cast(Backing, dict(row)) for row in rows]


def reported_deliveries(conn: Connection, activity_id: int) -> list[ReportedDelivery]:
    """Deliveries suppliers reported against awarded commitments to the activity, the
    ones waiting for the provider's answer first, then newest first."""
    public, _ = spo_filter(ANONYMOUS)
    rows = conn.execute(
        text(
            f"""
            SELECT d.id, s.id AS spo_id, o.name AS supplier, u.name AS claimed_by,
                   d.created_at, d.money_paid_gbp::float8 AS money_paid_gbp,
                   d.hours_given::float8 AS hours_given, d.people_reached, d.evidence_links,
                   d.note, d.provider_status, d.provider_note,
                   d.signed_off_by IS NOT NULL AS signed_off
            FROM spo_delivery d JOIN spo_commitment c ON c.id = d.commitment_id
            JOIN spo s ON s.id = c.spo_id JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id JOIN app_user u ON u.id = d.claimed_by
            WHERE c.activity_id = :activity AND {public}
            ORDER BY d.provider_status <> 'pending', d.created_at DESC, d.id DESC
            """
        ),
        {"activity": activity_id},
    ).mappings()
    return [cast(ReportedDelivery, dict(row)) for row in rows]
