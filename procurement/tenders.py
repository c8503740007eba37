"""Tenders: a buyer opens one for a territory, with its value, social-value weighting, the
outcomes it seeks, its bid deadline and where the contract is delivered.

Tenders are public (as contract notices are); the SPOs bidding for them are not, until
award (:mod:`procurement.visibility`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from accounts.users import User, require_role
from geo.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from geo.geocode import Geocoder
from registry.themes import VOCABULARY

# Government guidance (PPN 06/20) asks for social value to weigh at least 10 % of the award.
MIN_WEIGHTING_PCT = 10.0


@dataclass(frozen=True)
class TenderSpec:
    title: str
    territory_code: str
    contract_value_gbp: float
    social_value_weighting_pct: float
    outcomes: list[str]
    bid_deadline: datetime
    contract_start: date
    delivery_postcodes: list[str] = field(default_factory=list)


def open_tender(conn: Connection, user: User, spec: TenderSpec, geocoder: Geocoder) -> int:
    """Open a tender for one of the buyer's territories; returns its id."""
    require_role(user, ["buyer_lead"], "open a tender")
    if spec.territory_code not in user.territories:
        raise PermissionDeniedError(
            f"{user.organisation_name} does not buy for territory {spec.territory_code} "
            f"(it buys for {', '.join(user.territories) or 'no territory yet'})"
        )
    problems = []
    if not spec.title.strip():
        problems.append("title is empty")
    if not spec.contract_value_gbp > 0:
        problems.append("contract value must be more than £0")
    if not MIN_WEIGHTING_PCT <= spec.social_value_weighting_pct <= 100:
        problems.append(
            f"social value weighting must be between {MIN_WEIGHTING_PCT:g} % and 100 % "
            "(PPN 06/20 asks for at least 10 %)"
        )
    unknown = [o for o in spec.outcomes if o not in VOCABULARY]
    if unknown:
        problems.append(f"unknown outcome(s) {', '.join(unknown)}; use: {', '.join(VOCABULARY)}")
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
                social_value_weighting_pct, outcomes, bid_deadline, contract_start, created_by)
            VALUES (:buyer, :territory, :title, :value, :weighting, :outcomes, :deadline,
                    :start, :user)
            RETURNING id
            """
        ),
        {
            "buyer": user.organisation_id,
            "territory": spec.territory_code,
            "title": spec.title.strip(),
            "value": spec.contract_value_gbp,
            "weighting": spec.social_value_weighting_pct,
            "outcomes": spec.outcomes,
            "deadline": deadline,
            "start": spec.contract_start,
            "user": user.id,
        },
    ).scalar_one()
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


def get_tender(conn: Connection, tender_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            text(
                """
            SELECT t.id, t.title, t.territory_code, t.contract_value_gbp::float8 AS
                   contract_value_gbp, t.social_value_weighting_pct::float8 AS
                   social_value_weighting_pct, t.outcomes, t.bid_deadline, t.contract_start,
                   t.ocid, t.buyer_id, o.name AS buyer, o.buyer_kind,
                   coalesce(json_agg(json_build_object('label', l.label, 'lat', ST_Y(l.geom),
                       'lon', ST_X(l.geom))) FILTER (WHERE l.id IS NOT NULL), '[]')
                       AS delivery_locations
            FROM tender t JOIN organisation o ON o.id = t.buyer_id
            LEFT JOIN tender_location l ON l.tender_id = t.id
            WHERE t.id = :id GROUP BY t.id, o.id
            """
            ),
            {"id": tender_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no tender with id {tender_id}")
    return dict(row)


def list_tenders(conn: Connection, territory: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """
            SELECT t.id, t.title, t.territory_code, t.contract_value_gbp::float8 AS
                   contract_value_gbp, t.bid_deadline, o.name AS buyer
            FROM tender t JOIN organisation o ON o.id = t.buyer_id
            WHERE CAST(:territory AS text) IS NULL OR t.territory_code = :territory
            ORDER BY t.bid_deadline DESC, t.id
            """
        ),
        {"territory": territory},
    ).mappings()
    return [dict(row) for row in rows]
