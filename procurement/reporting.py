"""Public reporting of awarded SPOs: the register and Procurement Act KPIs (the register as
OCDS releases: :mod:`procurement.ocds`).

Only awarded SPOs (awarded, delivering, completed) ever appear here: these functions read
through the public condition of :mod:`procurement.visibility`, so a bid before award, or a
losing bid, cannot reach them. "Delivered" counts only what the activity's provider
confirmed; what the supplier claimed but the provider has not confirmed is shown apart.
Each awarded SPO carries its audit chain's latest checkpoint (:mod:`procurement.anchor`),
so every copy of the register anchors the trail outside the database.
"""

from __future__ import annotations

from typing import cast

import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import NotFoundError
from matching.valuation import HOUR_VALUE_GBP
from procurement import anchor
from procurement.records import RegisterEntry
from procurement.visibility import ANONYMOUS, spo_filter


def register(
    conn: Connection, territory: str | None = None, *, limit: int | None = None, offset: int = 0
) -> list[RegisterEntry]:
    """Awarded SPOs with their buyer, supplier, activities (and which of them the tender's
    buyer allowed though the register does not trust them, with the reason), committed and
    delivered value (pounds) and their audit chain's latest checkpoint, newest award first
    (a page of them when ``limit`` is given)."""
    public, _ = spo_filter(ANONYMOUS)
    rows = conn.execute(
        text(
            f"""
            WITH page AS (
                SELECT s.id FROM spo s JOIN tender t ON t.id = s.tender_id
                WHERE {public}
                  AND (CAST(:territory AS text) IS NULL OR t.territory_code = :territory)
                ORDER BY s.awarded_at DESC, s.id LIMIT :limit OFFSET :offset
            )
            SELECT s.id AS spo_id, s.status, s.awarded_at, t.id AS tender_id, t.title AS tender,
                   t.ocid, t.territory_code, b.name AS buyer, b.buyer_kind, o.name AS supplier,
                   coalesce(sum(c.value_gbp), 0)::float8 AS committed_gbp,
                   coalesce(sum(dv.confirmed_gbp), 0)::float8 AS delivered_gbp,
                   coalesce(sum(dv.claimed_gbp), 0)::float8 AS claimed_gbp,
                   coalesce(sum(dv.people), 0)::int AS people_reached,
                   array_agg(DISTINCT a.name ORDER BY a.name) AS activities,
                   coalesce(array_agg(DISTINCT a.name || ': allowed by the buyer: ' || al.reason)
                       FILTER (WHERE al.reason IS NOT NULL), '{{}}') AS allowances
            FROM page JOIN spo s ON s.id = page.id JOIN tender t ON t.id = s.tender_id
            JOIN organisation b ON b.id = t.buyer_id JOIN organisation o ON o.id = s.supplier_id
            JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
            LEFT JOIN LATERAL (
                SELECT e.reason FROM eligibility_allowance e
                JOIN activity_placed p ON p.id = e.activity_id
                WHERE e.tender_id = t.id AND e.activity_id = c.activity_id AND NOT p.trusted
            ) al ON true
            LEFT JOIN LATERAL (
                SELECT sum(d.money_paid_gbp + d.hours_given * :hour) FILTER (WHERE
                           d.provider_status = 'confirmed') AS confirmed_gbp,
                       sum(d.money_paid_gbp + d.hours_given * :hour) AS claimed_gbp,
                       sum(d.people_reached) FILTER (WHERE d.provider_status = 'confirmed')
                           AS people
                FROM spo_delivery d WHERE d.commitment_id = c.id
            ) dv ON true
            GROUP BY s.id, t.id, b.id, o.id
            ORDER BY s.awarded_at DESC, s.id
            """
        ),
        {"territory": territory, "hour": HOUR_VALUE_GBP, "limit": limit, "offset": offset},
    ).mappings()
    entries = [dict(row) for row in rows]
    heads = anchor.latest(conn, [entry["spo_id"] for entry in entries])
    return [
        cast(RegisterEntry, {**entry, "checkpoint": heads.get(entry["spo_id"])})
        for entry in entries
    ]


def register_size(conn: Connection, territory: str | None = None) -> int:
    """How many SPOs the public register holds (in a territory)."""
    public, _ = spo_filter(ANONYMOUS)
    return int(
        conn.execute(
            text(
                f"SELECT count(*) FROM spo s JOIN tender t ON t.id = s.tender_id WHERE {public}"
                " AND (CAST(:territory AS text) IS NULL OR t.territory_code = :territory)"
            ),
            {"territory": territory},
        ).scalar_one()
    )


def kpis(conn: Connection, spo_id: int) -> pd.DataFrame:
    """An awarded SPO's commitments as contract KPIs with delivery against each, for the
    Procurement Act's contract performance notices (at least three KPIs for contracts over
    £5m, reported at least every 12 months)."""
    frame = kpis_of(conn, [spo_id]).drop(columns="spo_id")
    if frame.empty:
        raise NotFoundError(f"no awarded SPO with id {spo_id}")
    return frame


def kpis_of(conn: Connection, spo_ids: list[int]) -> pd.DataFrame:
    """KPI rows of the awarded SPOs among ``spo_ids``, one query for all of them.

    Parameters
    ----------
    conn
        Any connection.
    spo_ids
        The SPOs wanted; those not awarded (not public) are left out.

    Returns
    -------
    pandas.DataFrame
        One row per commitment: ``spo_id``, ``kpi_id`` (the commitment), the KPI, its
        ``target``, ``delivered_confirmed`` and ``claimed`` in ``unit`` (pounds, hours or
        jobs), ``progress`` (confirmed / target) and the people reached.
    """
    public, _ = spo_filter(ANONYMOUS)
    frame = pd.read_sql(
        text(
            f"""
            SELECT s.id AS spo_id, t.ocid, t.title AS contract, o.name AS supplier, c.id AS kpi_id,
                   c.what AS kpi, c.kind, c.quantity::float8 AS target,
                   CASE c.kind WHEN 'money' THEN 'GBP' WHEN 'in_kind' THEN 'GBP (value)'
                        WHEN 'volunteer_hours' THEN 'hours' ELSE 'jobs' END AS unit,
                   c.by_when AS due, a.name AS activity, c.where_text AS "where",
                   c.for_whom,
                   coalesce(sum(CASE c.kind WHEN 'volunteer_hours' THEN d.hours_given
                                     ELSE d.money_paid_gbp END)
                            FILTER (WHERE d.provider_status = 'confirmed'), 0)::float8
                       AS delivered_confirmed,
                   coalesce(sum(CASE c.kind WHEN 'volunteer_hours' THEN d.hours_given
                                     ELSE d.money_paid_gbp END), 0)::float8 AS claimed,
                   coalesce(sum(d.people_reached) FILTER (WHERE d.provider_status =
                       'confirmed'), 0)::int AS people_reached,
                   count(d.id) FILTER (WHERE d.signed_off_by IS NOT NULL) AS signed_off
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id
            JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
            LEFT JOIN spo_delivery d ON d.commitment_id = c.id
            WHERE s.id = ANY(:ids) AND {public}
            GROUP BY s.id, t.id, o.id, c.id, a.id ORDER BY s.id, c.id
            """
        ),
        conn,
        params={"ids": spo_ids},
    )
    frame["progress"] = (frame["delivered_confirmed"] / frame["target"]).round(4)
    return frame


def value_by_territory(conn: Connection) -> pd.DataFrame:
    """Committed and delivered (provider-confirmed) value of awarded SPOs per territory."""
    public, _ = spo_filter(ANONYMOUS)
    return pd.read_sql(
        text(
            f"""
            SELECT t.territory_code, coalesce(sum(c.value_gbp), 0)::float8 AS committed_gbp,
                   coalesce(sum((SELECT sum(d.money_paid_gbp + d.hours_given * :hour)
                                 FROM spo_delivery d WHERE d.commitment_id = c.id
                                   AND d.provider_status = 'confirmed')), 0)::float8
                       AS delivered_gbp
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN spo_commitment c ON c.spo_id = s.id
            WHERE {public} GROUP BY t.territory_code
            """
        ),
        conn,
        params={"hour": HOUR_VALUE_GBP},
    )


def awarded_links(conn: Connection, territory: str | None = None) -> pd.DataFrame:
    """Awarded SPO commitments as lines: each activity, and the supplier's site nearest to
    it (callers redact safeguarded activities' points before drawing them)."""
    public, _ = spo_filter(ANONYMOUS)
    return pd.read_sql(
        text(
            f"""
            SELECT s.id AS spo_id, o.name AS supplier, a.id AS activity_id,
                   a.name AS activity, a.safeguarding, c.value_gbp::float8 AS value_gbp,
                   ST_Y(a.geom) AS lat, ST_X(a.geom) AS lon,
                   site.lat AS site_lat, site.lon AS site_lon, site.name AS site
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id
            JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
            LEFT JOIN LATERAL (
                SELECT ss.name, ST_Y(ss.geom) AS lat, ST_X(ss.geom) AS lon
                FROM supplier_site ss WHERE ss.supplier_id = s.supplier_id
                ORDER BY ss.geom <-> a.geom LIMIT 1
            ) site ON true
            WHERE {public}
              AND (CAST(:territory AS text) IS NULL OR t.territory_code = :territory)
            ORDER BY s.id, a.id
            """
        ),
        conn,
        params={"territory": territory},
    )


def awarded_commitments(conn: Connection, territory: str | None = None) -> pd.DataFrame:
    """Each activity that an awarded SPO backs (public), with what the SPO commits to it
    and the facts an impact estimate needs."""
    public, _ = spo_filter(ANONYMOUS)
    return pd.read_sql(
        text(
            f"""
            SELECT a.id AS activity_id, a.name, a.themes, a.people_reached_per_year,
                   s.id AS spo_id, o.name AS supplier, sum(c.value_gbp)::float8 AS committed_gbp
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id
            JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
            WHERE {public}
              AND (CAST(:territory AS text) IS NULL OR t.territory_code = :territory)
            GROUP BY a.id, s.id, o.id ORDER BY s.id, a.id
            """
        ),
        conn,
        params={"territory": territory},
    )
