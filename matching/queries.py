"""The SQL of the matching domain: candidates by index-assisted nearest-neighbour search,
territory activities, supplier sites and weight profiles.

Candidates come from ``CROSS JOIN LATERAL (... ORDER BY a.geom::geography <-> o.geog
LIMIT n)``: the origin is a constant inside the lateral query, so PostGIS walks the GiST
index ``ix_activity_geog`` in distance order (true metres on the sphere) instead of
measuring every activity. Written as a plain join the same ``<->`` cannot use the index
(about 200× slower); ``tests/test_matching_sql.py`` checks the plan.
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


_ACTIVITY_COLUMNS = """
    a.id AS activity_id, a.name, a.themes, a.status, a.closing_date,
    a.funding_gap::float8 AS funding_gap, a.annual_running_cost::float8 AS annual_running_cost,
    a.people_reached_per_year, a.evidence_links, a.grant_count, a.last_award_year,
    a.safeguarding, a.service_radius_m, ST_AsBinary(a.service_area) AS service_area_wkb,
    ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat, a.postcode
"""

CANDIDATES_SQL = f"""
    SELECT o.label AS origin, c.*
    FROM unnest(CAST(:labels AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]))
         AS o(label, lon, lat)
    CROSS JOIN LATERAL (
        SELECT {_ACTIVITY_COLUMNS},
               a.geom::geography
                   <-> ST_SetSRID(ST_MakePoint(o.lon, o.lat), 4326)::geography AS distance_m
        FROM activity a
        WHERE a.territory_id = :territory_id AND a.status <> 'closed'
        ORDER BY a.geom::geography <-> ST_SetSRID(ST_MakePoint(o.lon, o.lat), 4326)::geography
        LIMIT :per_origin
    ) c
    WHERE c.distance_m <= :cutoff_m
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
) -> pd.DataFrame:
    """The nearest open activities of ``territory`` to each origin, within the cut-off."""
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
        },
    )
    return _with_areas(frame)


def territory_activities(conn: Connection, territory: str) -> pd.DataFrame:
    """Every open activity of a territory (for territory-wide rankings)."""
    frame = _open_activities(conn, territory)
    frame.insert(0, "origin", "")
    frame["distance_m"] = float("nan")
    return frame


def _open_activities(conn: Connection, territory: str, condition: str = "TRUE") -> pd.DataFrame:
    """A territory's open activities meeting ``condition`` (SQL on ``a``), with their
    point and area served."""
    frame = pd.read_sql(
        text(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activity a WHERE a.territory_id = :territory_id"
            f" AND a.status <> 'closed' AND {condition} ORDER BY a.id"
        ),
        conn,
        params={"territory_id": territory_id(conn, territory)},
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


def fundable_activities(conn: Connection, territory: str) -> pd.DataFrame:
    """The territory's open activities with a known funding gap above zero (what an
    allocation can fund), with their point and area served."""
    return _open_activities(conn, territory, "a.funding_gap > 0")
