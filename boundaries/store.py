"""Write boundary generations to PostGIS: all or nothing, and idempotent.

``load_geography`` validates both files in memory first, then writes territories, their
subdivided pieces and the need areas (each assigned to a territory of the same load) in
one transaction. A failure at any step leaves the previous load as it was. Reloading the
same files is a no-op; reloading changed files updates rows in place (stable ids).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import shapely
from sqlalchemy import Connection, Engine, text

from boundaries import generations
from boundaries.locate import UNPLACED, TerritoryIndex
from boundaries.read import (
    file_sha256,
    read_need_area_shapes,
    read_need_areas,
    read_territories,
)
from boundaries.sources import BoundaryGeneration
from geo.bulk import copy_rows
from geo.errors import DataFileError

Step = Callable[[str], None]
# Re-places what depends on the boundaries (activities, sites...) inside the same
# transaction, before boundaries that no longer exist are removed. Returns how many moved.
Replace = Callable[[Connection], int]

# Pieces of at most this many vertices keep PostGIS point-in-polygon fast (MapIt's trick).
SUBDIVIDE_MAX_VERTICES = 256


@dataclass(frozen=True)
class LoadReport:
    territories: int
    territory_pieces: int
    need_areas: int
    need_areas_snapped: int
    unchanged: bool
    replaced: int = 0
    # Need areas with a polygon, and how many polygons were invalid and repaired.
    need_area_shapes: int = 0
    need_area_shapes_repaired: int = 0


def load_geography(
    engine: Engine,
    territories: BoundaryGeneration,
    need_areas: BoundaryGeneration,
    *,
    force: bool = False,
    step: Step = lambda _: None,
    replace: Replace = lambda _: 0,
) -> LoadReport:
    """Load one territory generation and one need-area generation, in one transaction.

    When the boundaries change, ``replace`` re-places the records that point at them, and
    the postcode gazetteer (placed against the old boundaries) stops being current until
    ``dualimpact load postcodes`` places it again.
    """
    step("Reading territories")
    territory_frame = read_territories(territories.path)
    territory_sha = file_sha256(territories.path)
    step("Reading need areas")
    need_frame = read_need_areas(need_areas.path)
    shapes, repaired = _read_shapes(need_areas, need_frame)
    # The need-area assignment depends on the territories, so their hash is part of it.
    need_digest = file_sha256(need_areas.path) + territory_sha
    if need_areas.shapes is not None:
        need_digest += file_sha256(need_areas.shapes)
    need_sha = hashlib.sha256(need_digest.encode()).hexdigest()

    step("Placing need areas in territories")
    index = TerritoryIndex(territory_frame)
    assignment = index.assign(need_frame.geometry.x, need_frame.geometry.y)
    unplaced = assignment.index == UNPLACED
    if unplaced.any():
        codes = ", ".join(need_frame.loc[unplaced, "code"].head(10))
        raise DataFileError(
            need_areas.path,
            f"{int(unplaced.sum())} need areas lie in no territory within "
            f"{index.max_snap_m:g} m ({codes})",
        )
    need_frame["territory_code"] = index.codes[assignment.index]
    need_frame["territory_method"] = assignment.method

    with engine.begin() as conn:
        generations.lock(conn, "load_geography")
        same = generations.is_current(conn, territories, territory_sha) and generations.is_current(
            conn, need_areas, need_sha
        )
        if same and not force:
            return _report(conn, unchanged=True, snapped=0)

        step("Writing territories")
        territory_set = generations.upsert(conn, territories, territory_sha, len(territory_frame))
        _write_territories(conn, territory_set, territory_frame)
        step("Subdividing territories for indexed lookups")
        _write_pieces(conn, territory_set)
        step("Writing need areas")
        need_set = generations.upsert(conn, need_areas, need_sha, len(need_frame))
        _write_need_areas(conn, need_set, territory_set, need_frame)
        step("Writing need-area polygons")
        _write_shapes(conn, need_set, shapes)
        generations.make_current(conn, territories.kind, territory_set)
        generations.make_current(conn, need_areas.kind, need_set)
        if not same:  # a forced reload of the same boundaries keeps the gazetteer valid
            generations.retire(conn, "postcode")
        step("Re-placing records on the new boundaries")
        replaced = replace(conn)
        _delete_stale(conn, need_set, territory_set)
        snapped = int((need_frame["territory_method"] != "contains").sum())
        return _report(conn, unchanged=False, snapped=snapped, replaced=replaced, repaired=repaired)


def _read_shapes(
    generation: BoundaryGeneration, need_frame: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame | None, int]:
    """The generation's polygons (or None when it has none) and how many were repaired;
    every polygon must belong to a need area of the same load."""
    if generation.shapes is None:
        return None, 0
    shapes, repaired = read_need_area_shapes(generation.shapes)
    unknown = shapes.loc[~shapes["code"].isin(need_frame["code"]), "code"]
    if not unknown.empty:
        raise DataFileError(
            generation.shapes,
            f"{len(unknown)} polygon(s) have no need area in {generation.path.name} "
            f"({', '.join(unknown.head(10))})",
        )
    return shapes, repaired


def _write_territories(conn: Connection, set_id: int, frame: gpd.GeoDataFrame) -> None:
    conn.execute(
        text(
            """
            CREATE TEMP TABLE territory_in (
                code text, name text, nation text, force_name text, area_km2 float8, wkb bytea
            ) ON COMMIT DROP
            """
        )
    )
    rows = zip(
        frame["code"],
        frame["name"],
        frame["nation"],
        frame["force_name"],
        frame["area_km2"],
        shapely.to_wkb(frame.geometry.to_numpy()),
        strict=True,
    )
    copy_rows(conn, "territory_in", rows)
    conn.execute(
        text(
            """
            INSERT INTO territory (boundary_set_id, code, name, nation, force_name, area_km2, geom)
            SELECT :set_id, code, name, nation, force_name, area_km2,
                   ST_Multi(ST_GeomFromWKB(wkb, 4326))
            FROM territory_in
            ON CONFLICT (boundary_set_id, code) DO UPDATE SET
                name = EXCLUDED.name, nation = EXCLUDED.nation,
                force_name = EXCLUDED.force_name, area_km2 = EXCLUDED.area_km2,
                geom = EXCLUDED.geom
            """
        ),
        {"set_id": set_id},
    )


def _write_pieces(conn: Connection, set_id: int) -> None:
    params = {"set_id": set_id, "max_vertices": SUBDIVIDE_MAX_VERTICES}
    conn.execute(
        text(
            """
            DELETE FROM territory_piece p USING territory t
            WHERE p.territory_id = t.id AND t.boundary_set_id = :set_id
            """
        ),
        params,
    )
    conn.execute(
        text(
            """
            INSERT INTO territory_piece (territory_id, geom)
            SELECT id, ST_Subdivide(geom, :max_vertices)
            FROM territory WHERE boundary_set_id = :set_id
            """
        ),
        params,
    )


def _write_need_areas(
    conn: Connection, set_id: int, territory_set: int, frame: gpd.GeoDataFrame
) -> None:
    conn.execute(
        text(
            """
            CREATE TEMP TABLE need_area_in (
                code text, name text, nation text, population int, uk_imd_score float8,
                uk_imd_rank float8, uk_imd_decile int, national_imd_score float8,
                national_imd_decile int, point_method text, lon float8, lat float8,
                territory_code text, territory_method text
            ) ON COMMIT DROP
            """
        )
    )
    columns = [
        "code",
        "name",
        "nation",
        "population",
        "uk_imd_score",
        "uk_imd_rank",
        "uk_imd_decile",
        "national_imd_score",
        "national_imd_decile",
        "point_method",
    ]
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    values["lon"] = frame.geometry.x
    values["lat"] = frame.geometry.y
    values["territory_code"] = frame["territory_code"]
    values["territory_method"] = frame["territory_method"]
    copy_rows(conn, "need_area_in", values.itertuples(index=False, name=None))
    conn.execute(
        text(
            """
            INSERT INTO need_area (
                boundary_set_id, code, name, nation, population, uk_imd_score, uk_imd_rank,
                uk_imd_decile, national_imd_score, national_imd_decile, point_method, geom,
                territory_id, territory_method)
            SELECT :set_id, i.code, i.name, i.nation, i.population, i.uk_imd_score,
                   i.uk_imd_rank, i.uk_imd_decile, i.national_imd_score, i.national_imd_decile,
                   i.point_method, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326), t.id,
                   i.territory_method
            FROM need_area_in i
            JOIN territory t ON t.code = i.territory_code AND t.boundary_set_id = :territory_set
            ON CONFLICT (boundary_set_id, code) DO UPDATE SET
                name = EXCLUDED.name, nation = EXCLUDED.nation, population = EXCLUDED.population,
                uk_imd_score = EXCLUDED.uk_imd_score, uk_imd_rank = EXCLUDED.uk_imd_rank,
                uk_imd_decile = EXCLUDED.uk_imd_decile,
                national_imd_score = EXCLUDED.national_imd_score,
                national_imd_decile = EXCLUDED.national_imd_decile,
                point_method = EXCLUDED.point_method, geom = EXCLUDED.geom,
                territory_id = EXCLUDED.territory_id,
                territory_method = EXCLUDED.territory_method
            """
        ),
        {"set_id": set_id, "territory_set": territory_set},
    )


def _write_shapes(conn: Connection, set_id: int, shapes: gpd.GeoDataFrame | None) -> None:
    """Replace the generation's need-area polygons (a bulk COPY of WKB)."""
    conn.execute(
        text(
            """
            DELETE FROM need_area_shape s USING need_area n
            WHERE s.need_area_id = n.id AND n.boundary_set_id = :set_id
            """
        ),
        {"set_id": set_id},
    )
    if shapes is None:
        return
    conn.execute(text("CREATE TEMP TABLE need_area_shape_in (code text, wkb bytea) ON COMMIT DROP"))
    wkb = shapely.to_wkb(shapes.geometry.to_numpy())
    copy_rows(conn, "need_area_shape_in", zip(shapes["code"], wkb, strict=True))
    conn.execute(
        text(
            """
            INSERT INTO need_area_shape (need_area_id, geom)
            SELECT n.id, ST_GeomFromWKB(i.wkb, 4326)
            FROM need_area_shape_in i
            JOIN need_area n ON n.code = i.code AND n.boundary_set_id = :set_id
            """
        ),
        {"set_id": set_id},
    )


def _delete_stale(conn: Connection, need_set: int, territory_set: int) -> None:
    """Drop need areas and territories of these generations that the new files no longer
    have (the records that pointed at them were re-placed first)."""
    conn.execute(
        text(
            """
            DELETE FROM need_area n WHERE n.boundary_set_id = :set_id
              AND NOT EXISTS (SELECT 1 FROM need_area_in i WHERE i.code = n.code)
            """
        ),
        {"set_id": need_set},
    )
    conn.execute(
        text(
            """
            DELETE FROM territory t WHERE t.boundary_set_id = :set_id
              AND NOT EXISTS (SELECT 1 FROM territory_in i WHERE i.code = t.code)
            """
        ),
        {"set_id": territory_set},
    )


def _report(
    conn: Connection, *, unchanged: bool, snapped: int, replaced: int = 0, repaired: int = 0
) -> LoadReport:
    counts = conn.execute(
        text(
            """
            SELECT
              (SELECT count(*) FROM current_territory),
              (SELECT count(*) FROM territory_piece p
                 JOIN current_territory t ON t.id = p.territory_id),
              (SELECT count(*) FROM current_need_area),
              (SELECT count(*) FROM need_area_shape s
                 JOIN current_need_area n ON n.id = s.need_area_id)
            """
        )
    ).one()
    return LoadReport(
        territories=counts[0],
        territory_pieces=counts[1],
        need_areas=counts[2],
        need_areas_snapped=snapped,
        unchanged=unchanged,
        replaced=replaced,
        need_area_shapes=counts[3],
        need_area_shapes_repaired=repaired,
    )
