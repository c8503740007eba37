"""Read the current territories and need areas back from PostGIS.

The SQL of the boundaries domain lives here; callers get GeoDataFrames (EPSG:4326) or
DataFrames, never rows.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from boundaries.locate import Locator
from geo.errors import InvalidInputError, NotFoundError, NotLoadedError

_NOT_LOADED = "No {what} loaded yet: run `dualimpact load geography` (or `make demo`) first."


def territories(conn: Connection) -> gpd.GeoDataFrame:
    """The current territories: code, name, nation, force_name, area_km2, geometry
    (EPSG:4326); contract :class:`boundaries.frames.Territories`."""
    return _current(
        conn,
        "territories",
        "SELECT code, name, nation, force_name, area_km2, geom FROM current_territory",
    )


def need_areas(conn: Connection) -> gpd.GeoDataFrame:
    """The current need areas with deprivation and the territory each was assigned to
    (points, EPSG:4326); contract :class:`boundaries.frames.NeedAreas`."""
    return _current(
        conn,
        "need areas",
        """
        SELECT code, name, nation, population, uk_imd_score, uk_imd_rank, uk_imd_decile,
               national_imd_score, national_imd_decile, territory_code, territory_method, geom
        FROM current_need_area
        """,
    )


def need_area_shapes(
    conn: Connection, territory: str | None = None, *, tolerance_m: float = 0.0
) -> gpd.GeoDataFrame:
    """The polygons of the current need areas that have one (LSOA 2011 in England and
    Wales; Scotland and Northern Ireland have points only), ordered by code.

    Parameters
    ----------
    conn
        An open connection.
    territory
        A territory code (``E23000029``): only the need areas assigned to it. ``None``: all.
    tolerance_m
        Simplify each polygon by this many metres in British National Grid (EPSG:27700),
        keeping its topology valid; ``0`` keeps the polygons as loaded.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``area_code``, ``name`` and ``geometry`` (MultiPolygon, EPSG:4326); empty
        when no polygons are loaded or the territory has none.
    """
    if tolerance_m < 0:
        raise InvalidInputError(f"tolerance_m must be 0 or more metres, not {tolerance_m:g}")
    shape = (
        "ST_Multi(ST_Transform(ST_SimplifyPreserveTopology("
        "ST_Transform(s.geom, 27700), :tolerance), 4326))"
        if tolerance_m > 0
        else "s.geom"
    )
    rows = conn.execute(
        text(
            f"""
            SELECT n.code, n.name, ST_AsBinary({shape})
            FROM current_need_area n
            JOIN need_area_shape s ON s.need_area_id = n.id
            WHERE CAST(:territory AS text) IS NULL OR n.territory_code = :territory
            ORDER BY n.code
            """
        ),
        {"territory": territory, "tolerance": tolerance_m},
    ).all()
    # Binary WKB parsed by shapely in one call: three times faster than read_postgis's hex.
    codes, names, wkb = zip(*rows, strict=True) if rows else ((), (), ())
    return gpd.GeoDataFrame(
        {"area_code": list(codes), "name": list(names)},
        geometry=gpd.GeoSeries(shapely.from_wkb(np.asarray(wkb, dtype=object)), crs=4326),
    )


def _current(conn: Connection, what: str, query: str) -> gpd.GeoDataFrame:
    """Rows of a current-generation view, ordered by code, or a clear "load it" error."""
    frame = gpd.read_postgis(text(f"{query} ORDER BY code"), conn, geom_col="geom")
    if frame.empty:
        raise NotLoadedError(_NOT_LOADED.format(what=what))
    return frame.rename_geometry("geometry")


def current_ids(conn: Connection) -> dict[str, dict[str, int]]:
    """``{"territory": {code: id}, "need_area": {code: id}}`` of the current generations
    (the rows a newly placed record points at)."""
    rows = conn.execute(
        text(
            """
            SELECT 'territory', code, id FROM current_territory
            UNION ALL
            SELECT 'need_area', code, id FROM current_need_area
            """
        )
    ).all()
    ids: dict[str, dict[str, int]] = {"territory": {}, "need_area": {}}
    for kind, code, id_ in rows:
        ids[kind][code] = id_
    return ids


# The last locator built, keyed by the database and the boundary generations it was built
# from: reading the 34,753 need-area polygons takes seconds, and they change only when a
# load writes a generation (which always sets its ``loaded_at``).
_LOCATORS: dict[tuple[Any, ...], Locator] = {}


def locator(conn: Connection) -> Locator:
    """A point locator over the current territories, need areas and need-area polygons
    (built once per process for each set of current boundary generations)."""
    generations = conn.execute(
        text(
            """
            SELECT current_database(), array_agg(id || ':' || content_sha256 || ':' || loaded_at
                                                 ORDER BY kind)
            FROM boundary_set WHERE is_current AND kind IN ('territory', 'need_area')
            """
        )
    ).one()
    signature = (generations[0], tuple(generations[1] or ()))
    found = _LOCATORS.get(signature)
    if found is None:
        found = Locator.from_frames(territories(conn), need_areas(conn), need_area_shapes(conn))
        _LOCATORS.clear()
        _LOCATORS[signature] = found
    return found


def boundary_sets(conn: Connection) -> pd.DataFrame:
    """Every loaded generation with its source, vintage and whether it is current."""
    return pd.read_sql(
        text(
            """
            SELECT kind, vintage, name, source, licence, feature_count, is_current, loaded_at
            FROM boundary_set ORDER BY kind, loaded_at
            """
        ),
        conn,
    )


def territories_overview(conn: Connection) -> pd.DataFrame:
    """One row per territory, as a procurement lead reads it.

    ``deprived_share`` is the share of the territory's population living in need areas of
    the UK's most-deprived 20 % (UK composite index, population-weighted deciles 1-2): use
    it to compare territories across nations. ``national_deprived_share`` is the same on
    the nation's own index (IMD, WIMD, SIMD, NIMDM deciles 1-2), shown beside it because the
    UK index rates Northern Ireland far more deprived than its own index does.
    """
    frame = pd.read_sql(
        text(
            """
            WITH need AS (
                SELECT n.territory_id, n.population, n.uk_imd_decile, n.national_imd_decile
                FROM current_need_area n
            )
            SELECT t.code, t.name, t.nation, t.area_km2,
                   coalesce(sum(need.population), 0)::bigint AS population,
                   count(need.*) AS need_areas,
                   sum(need.population) FILTER (WHERE need.uk_imd_decile <= 2)::float8
                       / nullif(sum(need.population), 0) AS deprived_share,
                   sum(need.population) FILTER (WHERE need.national_imd_decile <= 2)::float8
                       / nullif(sum(need.population), 0) AS national_deprived_share
            FROM current_territory t
            LEFT JOIN need ON need.territory_id = t.id
            GROUP BY t.id, t.code, t.name, t.nation, t.area_km2
            ORDER BY t.name
            """
        ),
        conn,
    )
    if frame.empty:
        raise NotLoadedError(_NOT_LOADED.format(what="territories"))
    shares = ["deprived_share", "national_deprived_share"]
    frame[shares] = frame[shares].fillna(0.0)
    return frame


class TerritoryOutline(TypedDict):
    """A territory's boundary as a GeoJSON geometry (lon/lat, EPSG:4326) and its bounding
    box ``[west, south, east, north]`` in degrees."""

    geometry: dict[str, Any]
    bbox: list[float]


def territory_name(conn: Connection, code: str) -> str:
    """A current territory's name for people ("Thames Valley" for E23000029); the code
    itself when no current territory has it."""
    name = conn.execute(
        text("SELECT name FROM current_territory WHERE code = :code"), {"code": code}
    ).scalar_one_or_none()
    return str(name) if name is not None else code


def territory_outline(conn: Connection, code: str, tolerance_m: float = 200.0) -> TerritoryOutline:
    """A current territory's boundary as GeoJSON, simplified in British National Grid
    metres (200 m keeps a territory well under 100 kB), with its bounding box."""
    row = conn.execute(
        text(
            """
            SELECT ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(
                       ST_Transform(t.geom, 27700), :tolerance), 4326), 5) AS outline,
                   ST_XMin(t.geom) AS west, ST_YMin(t.geom) AS south,
                   ST_XMax(t.geom) AS east, ST_YMax(t.geom) AS north
            FROM current_territory t
            WHERE t.code = :code
            """
        ),
        {"code": code, "tolerance": tolerance_m},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"unknown territory {code!r} (codes look like E23000029)")
    return TerritoryOutline(
        geometry=json.loads(row.outline),
        bbox=[round(v, 5) for v in (row.west, row.south, row.east, row.north)],
    )


def territory_outlines(conn: Connection, tolerance_m: float = 500.0) -> gpd.GeoDataFrame:
    """Every current territory's boundary simplified in British National Grid metres, for
    national maps (500 m keeps all 45 to a few hundred kB of GeoJSON)."""
    return gpd.read_postgis(
        text(
            """
            SELECT t.code, t.name, ST_Transform(ST_SimplifyPreserveTopology(
                       ST_Transform(t.geom, 27700), :tolerance), 4326) AS geom
            FROM current_territory t
            ORDER BY t.code
            """
        ),
        conn,
        geom_col="geom",
        params={"tolerance": tolerance_m},
    ).rename_geometry("geometry")
