"""The public collections of features that standard GIS clients read (OGC API – Features
items, Mapbox Vector Tiles, GeoPackage and GeoParquet downloads), and the SQL behind them.

Seven collections: the current territories, the need areas (their LSOA polygon where one is
loaded, else their point), coverage by need area (the same shapes with their need, reach and
gap: the small-area choropleth), coverage hexagons (need areas gathered on H3 cells, from
the national coverage report), activities (the trusted ones unless ``include_all``), supplier
sites and the lines of awarded SPOs (supplier site → activity). Each is one SQL "source"
(a ``SELECT`` of ``id``, ``geom`` in EPSG:4326 and property columns) that every output
reads, so a list, a tile and a download can never disagree about what is public:

* SPO links read through :func:`procurement.visibility.spo_filter` for an anonymous viewer,
  so a draft, submitted or losing bid is in no collection, tile or download;
* safeguarded activities keep no point (and no line reaches them) and show their postcode
  district only, as :mod:`registry.privacy` prescribes.

Tiles are built by PostGIS (``ST_TileEnvelope``, ``ST_AsMVTGeom``, ``ST_AsMVT``) in the
WebMercatorQuad tile matrix set; properties travel as ``jsonb``, which ``ST_AsMVT``
expands into tile attributes. Coverage is computed in Python, so the hexagons reach the
same SQL as arrays (H3 cells as hexadecimal strings, as GIS tools name them; need-area
codes joined to their shapes).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, RowMapping, text

from geo import hexes
from geo.attribution import ACTIVITIES, GEOGRAPHY, SUPPLIERS
from geo.errors import InvalidInputError, NotFoundError
from maps import render
from maps.report import CoverageReport
from procurement.visibility import ANONYMOUS, spo_filter

Bbox = tuple[float, float, float, float]  # west, south, east, north (degrees, EPSG:4326)
MAX_ZOOM = 18  # WebMercatorQuad levels served, 0..MAX_ZOOM
TILE_EXTENT = 4096  # tile coordinate units across a tile (the MVT default)
TILE_BUFFER = 64  # units drawn beyond a tile's edge, so strokes join across tiles


@dataclass(frozen=True)
class Collection:
    """One collection: its id (also the vector-tile layer name), what it holds, the
    geometry its features have and the licences its data come under."""

    id: str
    title: str
    description: str
    geometry: str  # GeoJSON geometry type, "Geometry" when mixed
    attribution: str


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "territories",
            "Territories",
            "Police force areas (England and Wales) and their Scottish and Northern Irish "
            "equivalents: code, name, nation, force, area (km²).",
            "MultiPolygon",
            GEOGRAPHY,
        ),
        Collection(
            "need_areas",
            "Need areas",
            "Small areas (LSOA, Data Zone, SOA) with population and deprivation (UK decile, 1 "
            "= most deprived): LSOA polygons in England and Wales where loaded, points "
            "elsewhere.",
            "Geometry",
            GEOGRAPHY,
        ),
        Collection(
            "coverage_areas",
            "Coverage by need area",
            "Each need area with its coverage: need (0-1), reach (0-1), gap index (0 = fully "
            "served, 1 = high need and nothing within reach) and people, from the trusted "
            "activities unless include=all; LSOA polygons in England and Wales, points in "
            "Scotland and Northern Ireland (no polygons in the open data).",
            "Geometry",
            f"{GEOGRAPHY} {ACTIVITIES}",
        ),
        Collection(
            "coverage_hexagons",
            "Coverage hexagons",
            "Need areas gathered on H3 cells (resolution 7, about 5 km²; `h3` is the cell's "
            "hexadecimal name): population, population-weighted need (0-1), reach (0-1) and "
            "gap index (0 = fully served, 1 = high need and nothing within reach), from the "
            "trusted activities unless include=all.",
            "Polygon",
            f"{GEOGRAPHY} {ACTIVITIES}",
        ),
        Collection(
            "activities",
            "Activities",
            "Community activities: the trusted ones (eligible, verification not lapsed) "
            "unless include=all, each with its trust. Safeguarded activities have no point "
            "and a postcode district only.",
            "Point",
            ACTIVITIES,
        ),
        Collection(
            "supplier_sites",
            "Supplier sites",
            "Where suppliers to public contracts have sites: supplier, site, postcode, employees.",
            "Point",
            SUPPLIERS,
        ),
        Collection(
            "awarded_spo_links",
            "Awarded SPO links",
            "Each commitment of an awarded Social Purchase Order as a line from the "
            "supplier's nearest site to the activity it backs, with its value (£). Bids "
            "before award never appear; a line to a safeguarded activity has no geometry.",
            "LineString",
            f"{SUPPLIERS} {ACTIVITIES}",
        ),
    )
}

_TERRITORIES = """
    SELECT code AS id, code, name, nation, force_name, area_km2, geom FROM current_territory
"""
_NEED_AREAS = """
    SELECT n.code AS id, n.code, n.name, n.nation, n.population, n.uk_imd_decile,
           n.uk_imd_score, n.territory_code,
           CASE WHEN s.geom IS NULL THEN 'point' ELSE 'polygon' END AS drawn_as,
           coalesce(s.geom, n.geom) AS geom
    FROM current_need_area n LEFT JOIN need_area_shape s ON s.need_area_id = n.id
"""
_ACTIVITIES = """
    SELECT a.id, a.name, a.provider_name AS provider, array_to_string(a.themes, ', ') AS themes,
           a.status, CAST(a.closing_date AS text) AS closing_date, a.territory_code,
           CASE WHEN a.safeguarding THEN split_part(a.postcode, ' ', 1) ELSE a.postcode END
               AS postcode,
           a.funding_gap::float8 AS funding_gap, a.people_reached_per_year,
           a.eligibility, array_to_string(a.eligibility_categories, ', ') AS categories,
           a.verification, a.evidence_level, a.trusted, a.safeguarding AS location_withheld,
           CASE WHEN a.safeguarding THEN NULL ELSE a.geom END AS geom
    FROM activity_placed a
    WHERE (a.trusted OR CAST(:include_all AS boolean))
"""
_SUPPLIER_SITES = """
    SELECT s.id, s.name AS site, s.supplier_name AS supplier, s.postcode, s.employees,
           s.territory_code, s.geom
    FROM supplier_site_placed s
"""
_PUBLIC_SPO, _ = spo_filter(ANONYMOUS)
_AWARDED_SPO_LINKS = f"""
    SELECT c.id, s.id AS spo_id, s.status, t.territory_code, o.name AS supplier,
           site.name AS site, a.id AS activity_id, a.name AS activity,
           c.value_gbp::float8 AS value_gbp, a.safeguarding AS location_withheld,
           CASE WHEN a.safeguarding THEN NULL ELSE ST_MakeLine(site.geom, a.geom) END AS geom
    FROM spo s JOIN tender t ON t.id = s.tender_id
    JOIN organisation o ON o.id = s.supplier_id
    JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
    LEFT JOIN LATERAL (
        SELECT ss.name, ss.geom FROM supplier_site ss WHERE ss.supplier_id = s.supplier_id
        ORDER BY ss.geom <-> a.geom LIMIT 1
    ) site ON true
    WHERE {_PUBLIC_SPO}
"""
_HEXAGONS = """
    SELECT u.id, u.id AS h3, u.population, u.need, u.reach, u.gap_index, u.need_areas,
           ST_SetSRID(ST_GeomFromGeoJSON(u.outline), 4326) AS geom
    FROM unnest(CAST(:h3 AS text[]), CAST(:outline AS text[]), CAST(:population AS int[]),
                CAST(:need AS float8[]), CAST(:reach AS float8[]), CAST(:gap AS float8[]),
                CAST(:areas AS int[]))
         AS u(id, outline, population, need, reach, gap_index, need_areas)
"""
_COVERAGE_AREAS = """
    SELECT n.code AS id, n.code, n.name, n.territory_code, n.population,
           u.need, u.reach, u.gap_index,
           CASE WHEN s.geom IS NULL THEN 'point' ELSE 'polygon' END AS drawn_as,
           coalesce(s.geom, n.geom) AS geom
    FROM unnest(CAST(:code AS text[]), CAST(:need AS float8[]), CAST(:reach AS float8[]),
                CAST(:gap AS float8[])) AS u(code, need, reach, gap_index)
    JOIN current_need_area n ON n.code = u.code
    LEFT JOIN need_area_shape s ON s.need_area_id = n.id
"""
_SOURCES = {
    "territories": _TERRITORIES,
    "need_areas": _NEED_AREAS,
    "coverage_areas": _COVERAGE_AREAS,
    "coverage_hexagons": _HEXAGONS,
    "activities": _ACTIVITIES,
    "supplier_sites": _SUPPLIER_SITES,
    "awarded_spo_links": _AWARDED_SPO_LINKS,
}


@dataclass(frozen=True)
class Source:
    """A collection's ``SELECT`` and its parameters (see the module docstring)."""

    sql: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of features (GeoJSON Feature dicts) and how many match in all."""

    features: list[dict[str, Any]]
    matched: int


def collection(collection_id: str) -> Collection:
    """The collection called ``collection_id``, or a :class:`NotFoundError` naming them."""
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFoundError(
            f"no collection {collection_id!r}; the collections are: {', '.join(COLLECTIONS)}"
        )
    return found


@dataclass(frozen=True)
class _Hexagons:
    """A report's hexagons as columns: properties, outlines (GeoJSON text) and centres."""

    report: CoverageReport
    columns: dict[str, list[Any]]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]


_HEXAGONS_CACHE: dict[bool, _Hexagons] = {}  # the latest report of each kind (trusted, all)
_HEXAGONS_LOCK = threading.Lock()
# How far (degrees) a resolution-7 cell reaches beyond its centre, with room to spare.
_CELL_REACH_DEG = 0.05


def _hexagons(report: CoverageReport) -> _Hexagons:
    """The report's need areas gathered on H3 cells (:func:`maps.render.need_hexagons`),
    built once per report (about half a second nationally)."""
    with _HEXAGONS_LOCK:
        cached = _HEXAGONS_CACHE.get(report.include_all)
        if cached is not None and cached.report is report:
            return cached
    cells = render.need_hexagons(report.areas)
    lat, lon = hexes.centres(cells["cell"])
    built = _Hexagons(
        report,
        {
            "h3": [hexes.label(int(c)) for c in cells["cell"]],
            "outline": [
                json.dumps({"type": "Polygon", "coordinates": [hexes.outline(int(c))]})
                for c in cells["cell"]
            ],
            "population": cells["population"].astype(int).tolist(),
            "need": cells["need"].astype(float).tolist(),
            "reach": cells["reach"].astype(float).tolist(),
            "gap": cells["gap_index"].astype(float).tolist(),
            "areas": cells["need_areas"].astype(int).tolist(),
        },
        lat,
        lon,
    )
    with _HEXAGONS_LOCK:
        _HEXAGONS_CACHE[report.include_all] = built
    return built


def hexagon_arrays(report: CoverageReport, near: Bbox | None = None) -> dict[str, list[Any]]:
    """The arrays the hexagon source unnests: every cell, or only those whose centre is
    within a cell's reach of ``near`` (a box in degrees; the SQL still tests each
    outline), so a tile sends PostGIS a few cells, not the whole UK."""
    built = _hexagons(report)
    if near is None:
        return built.columns
    west, south, east, north = near
    keep = np.flatnonzero(
        (built.lon >= west - _CELL_REACH_DEG)
        & (built.lon <= east + _CELL_REACH_DEG)
        & (built.lat >= south - _CELL_REACH_DEG)
        & (built.lat <= north + _CELL_REACH_DEG)
    )
    return {name: [values[i] for i in keep] for name, values in built.columns.items()}


# How far (degrees) a small area reaches beyond its representative point, with room to
# spare (the largest rural LSOAs are some 20 km across).
_AREA_REACH_DEG = 0.25


def coverage_area_arrays(report: CoverageReport, near: Bbox | None = None) -> dict[str, list[Any]]:
    """The arrays the coverage-by-area source unnests (code, need, reach, gap): every need
    area, or only those whose point is within an area's reach of ``near`` (a box in
    degrees; the SQL still tests each shape)."""
    areas = report.areas
    if near is not None:
        west, south, east, north = near
        areas = areas[
            areas["lon"].between(west - _AREA_REACH_DEG, east + _AREA_REACH_DEG)
            & areas["lat"].between(south - _AREA_REACH_DEG, north + _AREA_REACH_DEG)
        ]
    return {
        "code": areas["code"].astype(str).tolist(),
        "need": areas["need"].astype(float).tolist(),
        "reach": areas["reach"].astype(float).tolist(),
        "gap": areas["gap"].astype(float).tolist(),
    }


def source(
    collection_id: str,
    coverage: Callable[[], CoverageReport],
    *,
    include_all: bool = False,
    near: Bbox | None = None,
) -> Source:
    """The source of a collection; ``coverage`` is called only for the coverage
    collections (it may take a second), ``include_all`` widens activities from the
    trusted ones to all, ``near`` (a box in degrees) lets the coverage collections leave
    out cells and areas far from it."""
    collection(collection_id)
    params: dict[str, Any] = {}
    if collection_id == "coverage_hexagons":
        params = hexagon_arrays(coverage(), near)
    elif collection_id == "coverage_areas":
        params = coverage_area_arrays(coverage(), near)
    elif collection_id == "activities":
        params = {"include_all": include_all}
    return Source(_SOURCES[collection_id], params)


def tile_bounds(z: int, x: int, y: int) -> Bbox:
    """The box (degrees: west, south, east, north) of WebMercatorQuad tile ``z/x/y``."""
    check_tile(z, x, y)
    n = 2**z

    def latitude(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360.0 - 180.0, latitude(y + 1), (x + 1) / n * 360.0 - 180.0, latitude(y))


def check_bbox(bbox: Bbox) -> Bbox:
    """``bbox`` if it is a box in degrees (west < east, south < north), else an
    :class:`InvalidInputError` saying what is wrong."""
    west, south, east, north = bbox
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInputError(
            f"bbox {','.join(map(str, bbox))} must be west,south,east,north in degrees with "
            "west < east and south < north, within -180..180 and -90..90"
        )
    return bbox


def _where(bbox: Bbox | None) -> tuple[str, dict[str, float]]:
    if bbox is None:
        return "", {}
    west, south, east, north = check_bbox(bbox)
    where = "WHERE src.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
    return where, {"west": west, "south": south, "east": east, "north": north}


def _feature(row: RowMapping) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": None if row["geometry"] is None else json.loads(row["geometry"]),
        "properties": row["properties"],
    }


_FEATURES = """
    WITH src AS ({sql})
    SELECT src.id, ST_AsGeoJSON(src.geom, 6) AS geometry,
           to_jsonb(src) - 'geom' - 'id' AS properties
    FROM src {where}
"""


def items(
    conn: Connection, found: Source, *, bbox: Bbox | None = None, limit: int = 10, offset: int = 0
) -> Page:
    """A page of a source's features (ordered by id), optionally those whose geometry's
    box meets ``bbox``, and how many match."""
    where, box = _where(bbox)
    params = {**found.params, **box}
    matched = conn.execute(
        text(f"WITH src AS ({found.sql}) SELECT count(*) FROM src {where}"), params
    ).scalar_one()
    rows = conn.execute(
        text(_FEATURES.format(sql=found.sql, where=where) + " ORDER BY src.id LIMIT :l OFFSET :o"),
        {**params, "l": limit, "o": offset},
    ).mappings()
    return Page([_feature(row) for row in rows], int(matched))


def item(conn: Connection, found: Source, feature_id: str) -> dict[str, Any]:
    """One feature by its id (as text), or a :class:`NotFoundError`."""
    row = (
        conn.execute(
            text(_FEATURES.format(sql=found.sql, where="WHERE CAST(src.id AS text) = :fid")),
            {**found.params, "fid": feature_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no feature {feature_id!r} in this collection")
    return _feature(row)


def extent(conn: Connection, found: Source) -> Bbox | None:
    """The box (degrees) around a source's geometries, None when it has none."""
    row = conn.execute(
        text(
            f"""
            WITH src AS ({found.sql}), box AS (SELECT ST_Extent(src.geom) AS b FROM src)
            SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM box WHERE b IS NOT NULL
            """
        ),
        dict(found.params),
    ).first()
    return None if row is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def frame(conn: Connection, found: Source, *, bbox: Bbox | None = None) -> gpd.GeoDataFrame:
    """Every feature of a source (or those meeting ``bbox``) as a GeoDataFrame in
    EPSG:4326, for downloads."""
    where, box = _where(bbox)
    out = gpd.read_postgis(
        text(f"WITH src AS ({found.sql}) SELECT * FROM src {where} ORDER BY src.id"),
        conn,
        geom_col="geom",
        params={**found.params, **box},
        crs="EPSG:4326",
    )
    return out.rename_geometry("geometry")


def check_tile(z: int, x: int, y: int) -> None:
    """A :class:`InvalidInputError` unless (z, x, y) is a WebMercatorQuad tile we serve."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInputError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInputError(f"tile {x}/{y} does not exist at zoom {z} (0..{2**z - 1})")


def tile(conn: Connection, collection_id: str, found: Source, z: int, x: int, y: int) -> bytes:
    """A Mapbox Vector Tile (protobuf bytes; empty when nothing is there) of the source's
    features in WebMercatorQuad tile ``z/x/y``: one layer named after the collection, each
    feature's properties and ``id`` as attributes."""
    check_tile(z, x, y)
    data = conn.execute(
        text(
            f"""
            WITH src AS ({found.sql}), bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env),
            tile AS (
                SELECT to_jsonb(src) - 'geom' AS properties,
                       ST_AsMVTGeom(ST_Transform(src.geom, 3857), bounds.env,
                                    {TILE_EXTENT}, {TILE_BUFFER}, true) AS geom
                FROM src, bounds
                WHERE src.geom && ST_Transform(bounds.env, 4326)
            )
            SELECT ST_AsMVT(tile, :layer, {TILE_EXTENT}, 'geom') FROM tile
            WHERE tile.geom IS NOT NULL
            """
        ),
        {**found.params, "z": z, "x": x, "y": y, "layer": collection_id},
    ).scalar_one()
    return bytes(data or b"")
