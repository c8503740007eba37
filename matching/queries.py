"""The SQL of the matching domain: candidates by index-assisted nearest-neighbour search,
territory activities, supplier sites and weight profiles.

Activities are read through the view ``activity_placed`` and, by default, only its
*trusted* rows (eligible dual-impact activities whose verification has not lapsed); pass
``include_all=True`` to see every open activity. Every row carries its verification state
(``eligibility``, ``eligibility_categories``, ``verification``, ``evidence_level``,
``fresh_on``, ``located_at``, ``delivery_site_count``) so that whoever reads a result can
see how far to trust it.

Candidates are measured to an activity's *nearest* delivery place (view
``activity_location``: each delivery site, else the activity's own point). They come from
``CROSS JOIN LATERAL (... ORDER BY l.geom::geography <-> o.geog LIMIT n)``: the origin is
a constant inside the lateral query, so PostGIS walks the GiST indexes (``ix_activity_geog``
on the activities' own points) in distance order (true metres on the sphere) instead of
measuring every place. Written as a plain join the same ``<->`` cannot use the index
(about 200x slower); ``tests/test_matching_sql.py`` checks the plan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import NotFoundError
from matching.profiles import STANDARD, WeightProfile


@dataclass(frozen=True)
class Origin:
    """Where value would flow from: a supplier site, a postcode or a delivery location."""

    label: str
    lat: float
    lon: float


_FACTS = """
    p.id AS activity_id, p.name, p.themes, p.status, p.closing_date,
    p.funding_gap::float8 AS funding_gap, p.annual_running_cost::float8 AS annual_running_cost,
    p.people_reached_per_year, p.evidence_links, p.grant_count, p.last_award_year,
    p.safeguarding, p.service_radius_m, p.eligibility, p.eligibility_categories,
    p.eligibility_reason, p.verification, p.evidence_level, p.fresh_on, p.delivery_site_count
"""
# The activity at its first delivery site (else its own point).
_PLACED_COLUMNS = f"""{_FACTS},
    ST_AsBinary(p.service_area) AS service_area_wkb, p.lon, p.lat, p.postcode, p.located_at
"""

# An activity may be a candidate: open, in the territory, serving one of the outcomes asked
# for (when any), eligible unless all are asked for. Trusted rows are a subset of eligible
# ones; the lapsed are removed after the walk (the view works out lapsing).
_USABLE = """
    a.status <> 'closed'
    AND (:include_all OR a.eligibility = 'eligible')
    AND (cardinality(CAST(:outcomes AS varchar[])) = 0
         OR a.themes && CAST(:outcomes AS varchar[]))
"""
_ORIGIN = "ST_SetSRID(ST_MakePoint(o.lon, o.lat), 4326)::geography"

# The places of view ``activity_location`` spelled as two walks, so that each can use its
# index: the activities' own points (those with no delivery site) along ix_activity_geog,
# and the delivery sites of the territory (few, hand-entered: sorted). An activity is kept
# at its nearest place.
CANDIDATES_SQL = f"""
    SELECT o.label AS origin, {_FACTS}, ST_AsBinary(c.service_area) AS service_area_wkb,
           ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.postcode, c.located_at, c.distance_m
    FROM unnest(CAST(:labels AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]))
         WITH ORDINALITY AS o(label, lon, lat, n)
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (w.activity_id) w.*
        FROM (
            (SELECT a.id AS activity_id, a.location_basis AS located_at, a.postcode,
                    a.service_area, a.geom, a.geom::geography <-> {_ORIGIN} AS distance_m
             FROM activity a
             WHERE a.territory_id = :territory_id AND {_USABLE}
               AND NOT EXISTS (SELECT 1 FROM delivery_site d WHERE d.activity_id = a.id)
             ORDER BY a.geom::geography <-> {_ORIGIN}
             LIMIT :per_origin)
            UNION ALL
            (SELECT d.activity_id, 'delivery_site', d.postcode, d.service_area, d.geom,
                    d.geom::geography <-> {_ORIGIN}
             FROM delivery_site d JOIN activity a ON a.id = d.activity_id
             WHERE d.territory_id = :territory_id AND {_USABLE}
             ORDER BY d.geom::geography <-> {_ORIGIN}
             LIMIT :per_origin)
        ) w
        ORDER BY w.activity_id, w.distance_m
    ) c
    JOIN activity_placed p ON p.id = c.activity_id
    WHERE c.distance_m <= :cutoff_m AND (:include_all OR p.trusted)
    ORDER BY o.n, c.distance_m, c.activity_id
"""


def territory_id(conn: Connection, code: str) -> int:
    """The id of a current territory, or a clear error naming the code."""
    found = conn.execute(
        text("SELECT id FROM current_territory WHERE code = :code"),
        {"code": code},
    ).scalar()
    if found is None:
        raise NotFoundError(f"unknown territory {code!r} (codes look like E23000029)")
    return int(found)


def candidates(
    conn: Connection,
    origins: Sequence[Origin],
    territory: str,
    *,
    per_origin: int,
    cutoff_m: float,
    outcomes: Sequence[str] = (),
    include_all: bool = False,
) -> pd.DataFrame:
    """The nearest open activities of ``territory`` to each origin, within ``cutoff_m``
    metres of their nearest delivery place, nearest first.

    Each row is one (origin, activity) pair, placed at the activity's delivery place
    nearest that origin (``lon``, ``lat``, ``located_at``, ``service_area``). Only activities
    serving at least one of ``outcomes`` (theme slugs) when any are given, and only trusted
    ones unless ``include_all``. Up to ``per_origin`` places are walked per origin, so an
    activity with several delivery sites, or a lapsed one dropped after the walk, can leave
    fewer activities than that.
    """
    frame = pd.read_sql(
        text(CANDIDATES_SQL),
        conn,
        params={
            "labels": [o.label for o in origins],
            "lons": [o.lon for o in origins],
            "lats": [o.lat for o in origins],
            "territory_id": territory_id(conn, territory),
            "per_origin": per_origin,
            "cutoff_m": cutoff_m,
            "outcomes": list(outcomes),
            "include_all": include_all,
        },
    )
    return _with_areas(frame)


def territory_activities(
    conn: Connection, territory: str, *, include_all: bool = False
) -> pd.DataFrame:
    """Every open activity of a territory (for territory-wide rankings), trusted ones only
    unless ``include_all``, each at its first delivery site (else its own point)."""
    frame = _open_activities(conn, territory, include_all=include_all)
    frame.insert(0, "origin", "")
    frame["distance_m"] = float("nan")
    return frame


def _open_activities(conn: Connection, territory: str, *, include_all: bool) -> pd.DataFrame:
    """A territory's open activities, with their point and area served."""
    frame = pd.read_sql(
        text(
            f"SELECT {_PLACED_COLUMNS} FROM activity_placed p"
            " WHERE p.territory_id = :territory_id AND p.status <> 'closed'"
            " AND (:include_all OR p.trusted) ORDER BY p.id"
        ),
        conn,
        params={"territory_id": territory_id(conn, territory), "include_all": include_all},
    )
    return _with_areas(frame)


def supplier_origins(conn: Connection, supplier_id: int) -> tuple[str, list[Origin], list[str]]:
    """A supplier's name, its sites as origins, and the territories they lie in."""
    rows = conn.execute(
        text(
            """
            SELECT s.supplier_name AS supplier, s.name AS site, s.lat, s.lon,
                   s.territory_code AS territory
            FROM supplier_site_placed s
            WHERE s.supplier_id = :id
            ORDER BY s.id
            """
        ),
        {"id": supplier_id},
    ).all()
    if not rows:
        raise NotFoundError(f"no supplier with id {supplier_id}, or it has no sites")
    origins = [Origin(f"your {row.site} site", row.lat, row.lon) for row in rows]
    territories = sorted({row.territory for row in rows})
    return rows[0].supplier, origins, territories


def profile_for(conn: Connection, territory: str) -> WeightProfile:
    """The territory's own weight profile, or the published standard one."""
    row = conn.execute(
        text("SELECT * FROM weight_profile WHERE territory_code = :code"), {"code": territory}
    ).one_or_none()
    if row is None:
        return STANDARD
    return WeightProfile(
        name=row.name,
        version=row.version,
        weights=dict(row.weights),
        proximity_scale_m=row.proximity_scale_m,
        proximity_cutoff_m=row.proximity_cutoff_m,
        default_service_radius_m=row.default_service_radius_m,
    )


def default_radii(conn: Connection) -> dict[str, float]:
    """Each territory with its own profile: the radius (metres) assumed for an activity
    that gives no area served (territories not listed use the standard profile's)."""
    rows = conn.execute(
        text("SELECT territory_code, default_service_radius_m FROM weight_profile")
    ).all()
    return {row.territory_code: float(row.default_service_radius_m) for row in rows}


def save_profile(conn: Connection, territory: str, profile: WeightProfile) -> None:
    """Set (or replace) a territory's weight profile."""
    territory_id(conn, territory)
    conn.execute(
        text(
            """
            INSERT INTO weight_profile (territory_code, name, version, weights,
                proximity_scale_m, proximity_cutoff_m, default_service_radius_m)
            VALUES (:code, :name, :version, CAST(:weights AS jsonb), :scale, :cutoff, :radius)
            ON CONFLICT (territory_code) DO UPDATE SET
                name = EXCLUDED.name, version = EXCLUDED.version, weights = EXCLUDED.weights,
                proximity_scale_m = EXCLUDED.proximity_scale_m,
                proximity_cutoff_m = EXCLUDED.proximity_cutoff_m,
                default_service_radius_m = EXCLUDED.default_service_radius_m,
                updated_at = now()
            """
        ),
        {
            "code": territory,
            "name": profile.name,
            "version": profile.version,
            "weights": json.dumps(dict(profile.weights)),
            "scale": profile.proximity_scale_m,
            "cutoff": profile.proximity_cutoff_m,
            "radius": profile.default_service_radius_m,
        },
    )


def reset_profile(conn: Connection, territory: str) -> None:
    """Hand a territory back to the standard profile."""
    territory_id(conn, territory)
    conn.execute(
        text("DELETE FROM weight_profile WHERE territory_code = :code"), {"code": territory}
    )


def _with_areas(frame: pd.DataFrame) -> pd.DataFrame:
    """Decode the service areas (WKB, EPSG:4326) into shapely geometries."""
    areas = frame.pop("service_area_wkb")
    frame["service_area"] = gpd.GeoSeries.from_wkb(
        [bytes(a) if a is not None else None for a in areas], crs=4326
    ).to_numpy()
    return frame
