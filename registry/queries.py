"""Read and change registry records: the SQL of the registry domain lives here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple, TypedDict, cast

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import InvalidInputError, NotFoundError
from geo.jsonable import jsonable
from registry.fields import MAX_AMOUNT, MAX_WHOLE
from registry.history import record_event
from registry.tables import ACTIVITY_STATUSES
from registry.themes import VOCABULARY, classify

# Every query reads the read model ``activity_placed`` (migrations 0005, 0007), which joins an
# activity to its provider, territory and need area once, and places it at its first
# delivery site when it has one.

# How far an activity can be trusted, as every reader returns it (migration 0007): its
# eligibility (with its dual-impact categories, or the reason it is not eligible) and
# whether the rules or a person decided it, its effective place on the verification ladder
# (a claimed or verified record not heard of for the lapse period reads ``lapsed``), its
# evidence level (Nesta Standards of Evidence 1-5), the date it was last heard of and
# whether that is within the lapse period, how many delivery sites it has and whether it is
# trusted (eligible and not lapsed). Readers add ``located_at``: what the point they give
# is (``delivery_site``, ``delivery`` or ``registered_office``).
# The columns of how far an activity can be trusted that every reader of activities (here,
# matching, exports) hands on.
TRUST_COLUMNS = [
    "eligibility",
    "eligibility_categories",
    "eligibility_reason",
    "verification",
    "evidence_level",
    "fresh_on",
    "located_at",
    "delivery_site_count",
]
_TRUST = """
    a.eligibility, a.eligibility_categories, a.eligibility_reason, a.eligibility_source,
    a.verification, a.evidence_level, a.fresh_on, a.fresh, a.delivery_site_count, a.trusted
"""

_ACTIVITIES = f"""
    SELECT a.id, a.source_key, a.name, a.description, a.themes, a.themes_source,
           a.provider_key, a.provider_name, a.postcode, a.address, a.lat, a.lon,
           a.location_precision, a.territory_code, a.territory_name, a.need_area_code,
           a.uk_imd_decile, a.status, a.closing_date, a.funding_gap, a.annual_running_cost,
           a.people_reached_per_year, a.service_radius_m / 1000.0 AS service_radius_km,
           a.evidence_links, a.safeguarding, a.grant_count, a.grant_total_gbp,
           a.last_award_year, a.funders, a.source, {_TRUST}, a.located_at, a.geom
    FROM activity_placed a
"""


def _listing(
    *,
    include_all: bool,
    territory: str | None = None,
    theme: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[str, dict[str, object]]:
    """The ``WHERE`` clause (over ``activity_placed a``) and parameters of a listing: trusted
    activities only (eligible and not lapsed) unless ``include_all``, optionally one
    territory's (code), one theme's, or those in a lon/lat box (degrees, EPSG:4326: west,
    south, east, north)."""
    west, south, east, north = bbox if bbox else (None, None, None, None)
    where = """
        WHERE (CAST(:include_all AS boolean) OR a.trusted)
          AND (CAST(:territory AS text) IS NULL OR a.territory_code = :territory)
          AND (CAST(:theme AS text) IS NULL OR a.themes @> ARRAY[CAST(:theme AS varchar)])
          AND (CAST(:west AS float8) IS NULL
               OR a.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
    """
    params: dict[str, object] = {
        "include_all": include_all,
        "territory": territory,
        "theme": theme,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
    }
    return where, params


def activities(
    conn: Connection, territory: str | None = None, *, include_all: bool = False
) -> gpd.GeoDataFrame:
    """Activities (all territories, or one's, by code) as points in EPSG:4326, ordered by id.

    Parameters
    ----------
    conn
        A connection to the registry.
    territory
        A territory code (``E23000029``), or ``None`` for every territory.
    include_all
        ``False`` (the default): only trusted activities, eligible and not lapsed, as
        rankings, maps and matching use them. ``True``: every stored activity.

    Returns
    -------
    gpd.GeoDataFrame
        One row per activity (:class:`registry.frames.Activities`), with its eligibility,
        verification, evidence level, freshness, what its point is (``located_at``) and
        how many delivery sites it has; money in pounds, ``service_radius_km`` in
        kilometres.
    """
    where, params = _listing(include_all=include_all, territory=territory)
    return gpd.read_postgis(
        text(f"{_ACTIVITIES} {where} ORDER BY a.id"), conn, geom_col="geom", params=params
    )


def counts_by_territory(conn: Connection, *, include_all: bool = False) -> pd.DataFrame:
    """Activities and supplier sites per current territory code.

    An activity counts in the territory it is placed in (its first delivery site's, else
    its own point's); only trusted activities (eligible, not lapsed) unless
    ``include_all``.
    """
    return pd.read_sql(
        text(
            """
            SELECT t.code, coalesce(a.n, 0) AS activities, coalesce(s.n, 0) AS supplier_sites
            FROM current_territory t
            LEFT JOIN (
                SELECT a.territory_id, count(*) AS n FROM activity_placed a
                WHERE CAST(:include_all AS boolean) OR a.trusted GROUP BY a.territory_id
            ) a ON a.territory_id = t.id
            LEFT JOIN (
                SELECT territory_id, count(*) AS n FROM supplier_site GROUP BY territory_id
            ) s ON s.territory_id = t.id
            """
        ),
        conn,
        params={"include_all": include_all},
    )


class LoadedCounts(NamedTuple):
    """How much is loaded: current territories, activities, supplier sites."""

    territories: int
    activities: int
    supplier_sites: int


def loaded_counts(conn: Connection) -> LoadedCounts:
    """How many current territories, activities and supplier sites are stored: what has been
    loaded, so every activity counts, trusted or not."""
    row = conn.execute(
        text(
            """
            SELECT (SELECT count(*) FROM current_territory),
                   (SELECT count(*) FROM activity),
                   (SELECT count(*) FROM supplier_site)
            """
        )
    ).one()
    return LoadedCounts(*row)


def set_themes(conn: Connection, activity_id: int, themes: list[str] | None) -> list[str]:
    """Override an activity's themes, or (``None``) hand them back to the classifier.

    Returns the themes now stored.
    """
    row = conn.execute(
        text("SELECT name, description FROM activity WHERE id = :id FOR UPDATE"),
        {"id": activity_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    if themes is None:
        chosen, source = (
            classify(pd.Series([f"{row.name} {row.description or ''}"]))[0],
            "classifier",
        )
    else:
        unknown = [t for t in themes if t not in VOCABULARY]
        if unknown:
            raise InvalidInputError(
                f"unknown theme(s) {', '.join(unknown)}; use: {', '.join(VOCABULARY)}"
            )
        chosen, source = sorted(set(themes), key=VOCABULARY.index), "override"
    conn.execute(
        text(
            "UPDATE activity SET themes = :themes, themes_source = :source, updated_at = now()"
            " WHERE id = :id"
        ),
        {"themes": chosen, "source": source, "id": activity_id},
    )
    return list(chosen)


UPDATABLE = {
    "people_reached_per_year": "people reached per year",
    "annual_running_cost": "annual running cost (£)",
    "funding_gap": "funding gap (£)",
    "status": "status (active, at_risk, closed)",
    "closing_date": "closing date",
    "service_radius_m": "radius served (m)",
    "safeguarding": "safeguarding flag",
    "themes": "themes",
}

# A change as the activity's history records it: field → [before, after], as JSON values.
Changes = dict[str, list[Any]]


def update_activity(
    conn: Connection,
    activity_id: int,
    changes: Mapping[str, object],
    *,
    actor_id: int | None = None,
    action: str = "updated",
    reason: str | None = None,
) -> Changes:
    """Change an activity's figures, status, flags or themes, and record what changed.

    Values are checked here with a clear message, and again by the table's constraints.
    Who may make the change is decided by the caller (:mod:`accounts.stewardship`,
    :mod:`procurement.activity_changes`); whatever it alters is written to the activity's
    history (``activity_event``): who, from what to what, and why.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change (the activity's row is locked).
    activity_id
        The activity.
    changes
        New values by a name of :data:`UPDATABLE`: money in pounds a year,
        ``service_radius_m`` in metres, ``themes`` a list of themes (``None`` hands them
        back to the classifier, as :func:`set_themes`).
    actor_id
        Who makes the change (an ``app_user`` id; ``None`` from the command line).
    action, reason
        What the history calls the change ("updated", "funding gap override"...), and why.

    Returns
    -------
    Changes
        Each field whose value changed, with its value before and after (empty when
        nothing changed: then nothing is written or recorded).
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInputError(f"cannot change {', '.join(sorted(unknown))} this way")
    limits = {
        "people_reached_per_year": MAX_WHOLE,
        "annual_running_cost": MAX_AMOUNT,
        "funding_gap": MAX_AMOUNT,
        "service_radius_m": 1_000_000.0,
    }
    for name, ceiling in limits.items():
        value = changes.get(name)
        if value is None:
            continue
        number = float(value)  # type: ignore[arg-type]
        floor_ok = number > 0 if name == "service_radius_m" else number >= 0
        if not (math.isfinite(number) and floor_ok and number <= ceiling):
            least = "more than zero" if name == "service_radius_m" else "zero or more"
            raise InvalidInputError(
                f"{UPDATABLE[name]} must be {least} and at most {ceiling:,.0f} (got {value})"
            )
    empty = [
        UPDATABLE[name]
        for name in ("status", "safeguarding")
        if name in changes and changes[name] is None
    ]
    if empty:
        raise InvalidInputError(f"{' and '.join(empty)} cannot be empty: give a value")
    status = changes.get("status")
    if status is not None and status not in ACTIVITY_STATUSES:
        raise InvalidInputError(f"status {status!r} must be active, at_risk or closed")
    current = (
        conn.execute(
            text(f"SELECT {', '.join(UPDATABLE)} FROM activity WHERE id = :id FOR UPDATE"),
            {"id": activity_id},
        )
        .mappings()
        .one_or_none()
    )
    if current is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    final_status = status or current["status"]
    final_closing = changes.get("closing_date", current["closing_date"])
    if final_status == "at_risk" and final_closing is None:
        raise InvalidInputError("an at-risk activity needs a closing date (--closing-date)")
    figures = {name: value for name, value in changes.items() if name != "themes"}
    stored = dict(figures)
    if "themes" in changes:
        stored["themes"] = set_themes(conn, activity_id, cast(list[str] | None, changes["themes"]))
    before, after = jsonable({name: current[name] for name in changes}), jsonable(stored)
    changed: Changes = {
        name: [before[name], after[name]] for name in changes if before[name] != after[name]
    }
    altered = {name: value for name, value in figures.items() if name in changed}
    if altered:
        assignments = ", ".join(f"{name} = :{name}" for name in altered)
        conn.execute(
            text(f"UPDATE activity SET {assignments}, updated_at = now() WHERE id = :id"),
            {**altered, "id": activity_id},
        )
    if changed:
        record_event(conn, activity_id, actor_id, action, changed, reason)
    return changed


class ActivityFacts(TypedDict):
    """What an impact estimate needs to know of an activity."""

    activity_id: int
    name: str
    themes: list[str]
    people_reached_per_year: int | None


class NearbyActivity(TypedDict):
    """An open activity near a point (:func:`nearby`); money in pounds, distance in metres
    on the sphere to its nearest place of delivery, whose point (lon/lat degrees,
    EPSG:4326), postcode, territory, need area and kind (``located_at``) it gives."""

    id: int
    name: str
    description: str | None
    themes: list[str]
    status: str
    closing_date: date | None
    funding_gap: float | None
    people_reached_per_year: int | None
    safeguarding: bool
    postcode: str | None
    address: str | None
    territory_code: str
    need_area_code: str | None
    provider_name: str | None
    source_key: str
    lat: float
    lon: float
    distance_m: float
    eligibility: str
    eligibility_categories: list[str]
    eligibility_reason: str | None
    eligibility_source: str
    verification: str
    evidence_level: int | None
    fresh_on: date | None
    fresh: bool
    delivery_site_count: int
    trusted: bool
    located_at: str


def activity_facts(conn: Connection, activity_id: int) -> ActivityFacts:
    """What an impact estimate needs: id, name, themes, people reached per year (of any
    activity, trusted or not: one asked for by id is always readable)."""
    row = conn.execute(
        text("SELECT id, name, themes, people_reached_per_year FROM activity WHERE id = :id"),
        {"id": activity_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    return ActivityFacts(
        activity_id=row.id,
        name=row.name,
        themes=list(row.themes),
        people_reached_per_year=row.people_reached_per_year,
    )


_PUBLIC_ACTIVITY = f"""
    SELECT a.id, a.name, a.description, a.themes, a.status, a.closing_date,
           a.funding_gap::float8 AS funding_gap, a.annual_running_cost::float8 AS
           annual_running_cost, a.people_reached_per_year, a.evidence_links, a.safeguarding,
           a.postcode, a.address, a.location_precision, a.territory_code, a.need_area_code,
           a.uk_imd_decile, a.provider_name, a.provider_key, a.source_key, a.lat, a.lon,
           {_TRUST}, a.located_at
    FROM activity_placed a
"""


def activity_page(
    conn: Connection,
    *,
    territory: str | None = None,
    theme: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
    include_all: bool = False,
) -> tuple[pd.DataFrame, int]:
    """One page of activities (by territory code, theme, lon/lat box in degrees: west,
    south, east, north) and how many match; trusted activities only (eligible, not lapsed)
    unless ``include_all``. Each row says how far it can be trusted (eligibility,
    verification, evidence level, freshness, ``located_at``, delivery sites)."""
    where, params = _listing(include_all=include_all, territory=territory, theme=theme, bbox=bbox)
    total = conn.execute(
        text(f"SELECT count(*) FROM activity_placed a {where}"),
        params,
    ).scalar_one()
    frame = pd.read_sql(
        text(f"{_PUBLIC_ACTIVITY} {where} ORDER BY a.id LIMIT :limit OFFSET :offset"),
        conn,
        params={**params, "limit": limit, "offset": offset},
    )
    return frame, int(total)


def nearby(
    conn: Connection,
    lat: float,
    lon: float,
    radius_m: float,
    limit: int = 100,
    *,
    include_all: bool = False,
) -> list[NearbyActivity]:
    """Open activities delivered within ``radius_m`` metres of a point, nearest first.

    Distance is measured on the sphere to the activity's nearest place of delivery (view
    ``activity_location``: each of its delivery sites, else its own point), and the record
    gives that place's postcode, point, territory and need area. Records, not a frame: the
    API serves this on every request.

    Parameters
    ----------
    conn
        A connection to the registry.
    lat, lon
        The origin, degrees (EPSG:4326).
    radius_m
        How far to look, metres.
    limit
        At most this many activities.
    include_all
        ``False`` (the default): only trusted activities (eligible, not lapsed).
    """
    rows = conn.execute(
        text(
            f"""
            WITH origin AS (
                SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS geog
            ), place AS (
                SELECT DISTINCT ON (l.activity_id) l.activity_id, l.delivery_site_id,
                       l.located_at, l.postcode, l.territory_id, l.need_area_id, l.geom,
                       ST_Distance(l.geom::geography, o_.geog) AS distance_m
                FROM origin o_
                JOIN activity_location l ON ST_DWithin(l.geom::geography, o_.geog, :radius)
                ORDER BY l.activity_id, distance_m, l.delivery_site_id
            )
            SELECT a.id, a.name, a.description, a.themes, a.status, a.closing_date,
                   a.funding_gap::float8 AS funding_gap, a.people_reached_per_year,
                   a.safeguarding, p.postcode,
                   CASE WHEN p.delivery_site_id IS NULL THEN a.address ELSE d.address END
                       AS address,
                   t.code AS territory_code, n.code AS need_area_code, a.provider_name,
                   a.source_key, ST_Y(p.geom) AS lat, ST_X(p.geom) AS lon, p.distance_m,
                   {_TRUST}, p.located_at
            FROM place p
            JOIN activity_placed a ON a.id = p.activity_id
            JOIN territory t ON t.id = p.territory_id
            LEFT JOIN need_area n ON n.id = p.need_area_id
            LEFT JOIN delivery_site d ON d.id = p.delivery_site_id
            WHERE a.status <> 'closed' AND (CAST(:include_all AS boolean) OR a.trusted)
            ORDER BY p.distance_m, a.id LIMIT :limit
            """
        ),
        {"lat": lat, "lon": lon, "radius": radius_m, "limit": limit, "include_all": include_all},
    ).mappings()
    return [cast(NearbyActivity, dict(row)) for row in rows]


def activity(conn: Connection, activity_id: int) -> pd.DataFrame:
    """One activity (a one-row frame), or not found. A single activity is always readable,
    trusted or not: its row says how far it can be trusted (eligibility, verification,
    evidence level, freshness, ``located_at``, delivery sites)."""
    frame = pd.read_sql(
        text(f"{_PUBLIC_ACTIVITY} WHERE a.id = :id"), conn, params={"id": activity_id}
    )
    if frame.empty:
        raise NotFoundError(f"no activity with id {activity_id}")
    return frame


def activity_owner(conn: Connection, activity_id: int) -> tuple[int | None, str]:
    """The activity's provider organisation and territory code (for permission checks)."""
    row = conn.execute(
        text("SELECT provider_id, territory_code AS code FROM activity_placed WHERE id = :id"),
        {"id": activity_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    return row.provider_id, row.code


def add_evidence(conn: Connection, activity_id: int, url: str) -> None:
    conn.execute(
        text(
            "UPDATE activity SET evidence_links = ARRAY(SELECT DISTINCT unnest(evidence_links"
            " || ARRAY[CAST(:url AS varchar)])), updated_at = now() WHERE id = :id"
        ),
        {"url": url, "id": activity_id},
    )
