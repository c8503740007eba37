"""Tenders: a buyer opens one for a territory, with its value, social-value weighting, the
outcomes it seeks, its bid deadline, where the contract is delivered and, when it has one,
its Find a Tender notice (OCID and link).

Tenders are public (as contract notices are); the SPOs bidding for them are not, until
award (:mod:`procurement.visibility`): before the bid deadline the buyer learns only how
many bids are in (:func:`bids_in`). After award it follows the delivery
(:func:`deliveries`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import cast
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action, Target
from accounts.users import User
from geo.errors import InvalidInputError, NotFoundError
from geo.geocode import Geocoder
from procurement.records import DeliveryRecord, TenderRecord, TenderSummary
from procurement.visibility import Viewer, spo_filter
from registry.themes import check_outcomes

# Government guidance (PPN 002, which replaced PPN 06/20 in February 2025) asks for social
# value to weigh at least 10 % of the award.
MIN_WEIGHTING_PCT = 10.0
# An Open Contracting ID: "ocds-", the publisher's six-character prefix, then its own id
# (Find a Tender's look like "ocds-h6vhtk-0abc12").
OCID = re.compile(r"^ocds-[a-z0-9]{6}-[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")


@dataclass(frozen=True)
class TenderSpec:
    """A tender as its buyer describes it, before it is checked and opened."""

    title: str
    territory_code: str
    contract_value_gbp: float
    social_value_weighting_pct: float
    outcomes: list[str]
    bid_deadline: datetime
    contract_start: date
    delivery_postcodes: list[str] = field(default_factory=list)
    ocid: str | None = None
    notice_url: str | None = None


def open_tender(conn: Connection, user: User, spec: TenderSpec, geocoder: Geocoder) -> int:
    """Open a tender for one of the buyer's territories; returns its id.

    Parameters
    ----------
    conn
        The connection (the tender is written in its transaction).
    user
        A buyer lead of a buyer of ``spec.territory_code``.
    spec
        The tender: its contract value in pounds, social-value weighting in percent (at
        least :data:`MIN_WEIGHTING_PCT`), a bid deadline in the future, the contract's start
        on or after it, delivery postcodes inside the territory, and the Find a Tender OCID
        and notice link (https) when there is one (else an OCID of this platform's is
        given).
    geocoder
        Places the delivery postcodes.

    Raises
    ------
    PermissionDeniedError
        ``user`` may not open a tender for the territory.
    InvalidInputError
        Anything wrong with ``spec``; every problem is named at once.
    """
    permissions.require(user, Action.OPEN_TENDER, Target(territory=spec.territory_code))
    problems = []
    if not spec.title.strip():
        problems.append("title is empty")
    if not spec.contract_value_gbp > 0:
        problems.append("contract value must be more than £0")
    if not MIN_WEIGHTING_PCT <= spec.social_value_weighting_pct <= 100:
        problems.append(
            f"social value weighting must be between {MIN_WEIGHTING_PCT:g} % and 100 % "
            "(PPN 002, which replaced PPN 06/20 in February 2025, asks for at least 10 %)"
        )
    ocid = (spec.ocid or "").strip() or None
    if ocid is not None and not OCID.match(ocid):
        problems.append(
            f"{ocid!r} is not an OCID: it starts with ocds-, then the publisher's six-letter "
            "prefix (Find a Tender's look like ocds-h6vhtk-0abc12); leave it empty if there "
            "is none"
        )
    notice_url = (spec.notice_url or "").strip() or None
    if notice_url is not None:
        parts = urlsplit(notice_url)
        if parts.scheme != "https" or not parts.netloc or len(notice_url) > 2_000:
            problems.append(
                "the notice link must be a web address starting https:// (the notice on "
                "Find a Tender); leave it empty if there is none"
            )
    outcomes: list[str] = []
    try:
        outcomes = check_outcomes(spec.outcomes)
    except InvalidInputError as exc:
        problems.append(str(exc))
    deadline = (
        spec.bid_deadline if spec.bid_deadline.tzinfo else spec.bid_deadline.replace(tzinfo=UTC)
    )
    if deadline <= datetime.now(UTC):
        problems.append("the bid deadline has already passed")
    if spec.contract_start < deadline.date():
        problems.append("the contract cannot start before the bid deadline")
    if problems:
        raise InvalidInputError("; ".join(problems))

    placed = (
        geocoder.geocode(pd.Series(spec.delivery_postcodes, dtype=object))
        if (spec.delivery_postcodes)
        else None
    )
    if placed is not None:
        bad = [
            f"{pc}: {err}"
            for pc, err in zip(spec.delivery_postcodes, placed["error"], strict=True)
            if err
        ]
        outside = [
            pc
            for pc, code in zip(spec.delivery_postcodes, placed["territory_code"], strict=True)
            if isinstance(code, str) and code != spec.territory_code
        ]
        if bad or outside:
            raise InvalidInputError(
                "; ".join(
                    bad + [f"{pc} is outside territory {spec.territory_code}" for pc in outside]
                )
            )
    tender_id: int = conn.execute(
        text(
            """
            INSERT INTO tender (buyer_id, territory_code, title, contract_value_gbp,
                social_value_weighting_pct, outcomes, bid_deadline, contract_start, ocid,
                notice_url, created_by)
            VALUES (:buyer, :territory, :title, :value, :weighting, :outcomes, :deadline,
                    :start, :ocid, :notice_url, :user)
            RETURNING id
            """
        ),
        {
            "buyer": user.organisation_id,
            "territory": spec.territory_code,
            "title": spec.title.strip(),
            "value": spec.contract_value_gbp,
            "weighting": spec.social_value_weighting_pct,
            "outcomes": outcomes,
            "deadline": deadline,
            "start": spec.contract_start,
            "ocid": ocid,
            "notice_url": notice_url,
            "user": user.id,
        },
    ).scalar_one()
    if ocid is None:
        conn.execute(
            text("UPDATE tender SET ocid = :ocid WHERE id = :id"),
            {"ocid": f"ocds-dualimpact-{tender_id}", "id": tender_id},
        )
    if placed is not None:
        for postcode, row in zip(spec.delivery_postcodes, placed.itertuples(), strict=True):
            conn.execute(
                text(
                    "INSERT INTO tender_location (tender_id, label, geom)"
                    " VALUES (:id, :label, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
                ),
                {
                    "id": tender_id,
                    "label": row.postcode or postcode,
                    "lon": row.lon,
                    "lat": row.lat,
                },
            )
    return tender_id


def get_tender(conn: Connection, tender_id: int) -> TenderRecord:
    """A tender in full, with its buyer and delivery locations (public, as contract
    notices are; the lifecycle's checks read the tender from here too).

    Raises
    ------
    NotFoundError
        There is no such tender.
    """
    found = _tenders(conn, "t.id = :id", {"id": tender_id})
    if not found:
        raise NotFoundError(f"no tender with id {tender_id}")
    return found[0]


def list_tenders(conn: Connection, territory: str | None = None) -> list[TenderSummary]:
    """Tenders (of one territory, or all), latest bid deadline first."""
    found = _tenders(
        conn,
        "CAST(:territory AS text) IS NULL OR t.territory_code = :territory",
        {"territory": territory},
    )
    return [_summary(tender) for tender in found]


def buyer_tenders(conn: Connection, user: User) -> list[TenderRecord]:
    """The tenders of ``user``'s organisation, in full, latest bid deadline first."""
    return _tenders(conn, "t.buyer_id = :buyer", {"buyer": user.organisation_id})


def bids_in(conn: Connection, user: User, tender_id: int) -> int:
    """How many bids are in for the tender: SPOs submitted and not withdrawn. The count is
    all a buyer learns before the bid deadline (the bids are sealed until then).

    Raises
    ------
    NotFoundError
        There is no such tender.
    PermissionDeniedError
        ``user`` does not work for the tender's buyer (as one who may score its bids).
    """
    tender = get_tender(conn, tender_id)
    permissions.require(
        user,
        Action.SCORE_SPO,
        Target(buyer_id=tender["buyer_id"], territory=tender["territory_code"]),
    )
    count: int = conn.execute(
        text(
            "SELECT count(*) FROM spo WHERE tender_id = :id AND submitted_at IS NOT NULL"
            " AND status <> 'withdrawn'"
        ),
        {"id": tender_id},
    ).scalar_one()
    return count


def deliveries(conn: Connection, viewer: Viewer, tender_id: int) -> list[DeliveryRecord]:
    """The deliveries claimed against the tender's SPOs that ``viewer`` may see (the
    awarded one for everyone; :func:`procurement.visibility.spo_filter`), oldest first."""
    condition, params = spo_filter(viewer)
    rows = conn.execute(
        text(
            f"""
            SELECT d.id, c.spo_id, c.id AS commitment_id, a.name AS activity, c.what,
                   d.money_paid_gbp::float8 AS money_paid_gbp,
                   d.hours_given::float8 AS hours_given, d.people_reached, d.evidence_links,
                   d.note, d.created_at AS claimed_at, u.name AS claimed_by,
                   d.provider_status, d.provider_note, d.signed_off_by IS NOT NULL AS signed_off
            FROM spo_delivery d JOIN spo_commitment c ON c.id = d.commitment_id
            JOIN spo s ON s.id = c.spo_id JOIN tender t ON t.id = s.tender_id
            JOIN activity a ON a.id = c.activity_id
            LEFT JOIN app_user u ON u.id = d.claimed_by
            WHERE t.id = :tender AND {condition}
            ORDER BY d.created_at, d.id
            """
        ),
        {"tender": tender_id, **params},
    ).mappings()
    return [cast(DeliveryRecord, dict(row)) for row in rows]


def _tenders(conn: Connection, condition: str, params: dict[str, object]) -> list[TenderRecord]:
    """The tenders where the SQL ``condition`` holds (on ``tender t``), latest bid deadline
    first: every read of tenders goes through this one column list."""
    rows = conn.execute(
        text(
            f"""
            SELECT t.id, t.title, t.territory_code, t.contract_value_gbp::float8 AS
                   contract_value_gbp, t.social_value_weighting_pct::float8 AS
                   social_value_weighting_pct, t.outcomes, t.bid_deadline, t.contract_start,
                   t.ocid, t.notice_url, t.buyer_id, o.name AS buyer, o.buyer_kind,
                   coalesce(json_agg(json_build_object('label', l.label, 'lat', ST_Y(l.geom),
                       'lon', ST_X(l.geom))) FILTER (WHERE l.id IS NOT NULL), '[]')
                       AS delivery_locations
            FROM tender t JOIN organisation o ON o.id = t.buyer_id
            LEFT JOIN tender_location l ON l.tender_id = t.id
            WHERE ({condition}) GROUP BY t.id, o.id
            ORDER BY t.bid_deadline DESC, t.id
            """
        ),
        params,
    ).mappings()
    return [cast(TenderRecord, dict(row)) for row in rows]


def _summary(tender: TenderRecord) -> TenderSummary:
    """The listed columns of a tender, in the listing's order."""
    return {
        "id": tender["id"],
        "title": tender["title"],
        "territory_code": tender["territory_code"],
        "contract_value_gbp": tender["contract_value_gbp"],
        "bid_deadline": tender["bid_deadline"],
        "buyer": tender["buyer"],
        "ocid": tender["ocid"],
        "notice_url": tender["notice_url"],
    }
