"""Small areas as areas: the LSOA polygons of England and Wales loaded beside the need
areas, read back (simplified on request), and used to place a point in its exact LSOA."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Connection, Engine, text

from boundaries import repository
from boundaries.frames import NeedAreaShapes
from boundaries.gazetteer import PostcodeLoadReport
from boundaries.locate import NEED_AREA_SNAP_M
from boundaries.read import read_need_area_shapes
from boundaries.sources import need_areas_2019, territories_2023
from boundaries.store import LoadReport, load_geography
from geo import attribution
from geo.errors import DataFileError, InvalidInputError

THAMES_VALLEY = "E23000029"

# B98 0AW (Redditch): inside LSOA Redditch 007C, but nearer to the representative point of
# Redditch 005D, which the nearest-point rule used to give it.
REDDITCH = {"lat": 52.29946, "lon": -1.90181}
REDDITCH_LSOA, REDDITCH_NEAREST_POINT = "E01032266", "E01032278"
# EX39 4AA (Westward Ho!): on the shore, about 48 m outside every clipped LSOA polygon.
SHORE = {"lat": 51.01618, "lon": -4.20259}
SHORE_LSOA = "E01020277"  # Torridge 004A
EDINBURGH = {"lat": 55.95, "lon": -3.19}
# TD12 4EN, by the Tweed: in the Scottish territory, 959 m from the nearest English LSOA.
BY_THE_TWEED = {"lat": 55.65603, "lon": -2.26176}


def test_every_english_and_welsh_need_area_has_its_polygon(
    conn: Connection, geography: LoadReport
) -> None:
    assert geography.need_area_shapes == 34_753
    by_nation: dict[str, int] = dict(
        conn.execute(
            text(
                """
                SELECT n.nation, count(*) FROM need_area_shape s
                JOIN current_need_area n ON n.id = s.need_area_id
                WHERE ST_IsValid(s.geom) AND ST_SRID(s.geom) = 4326
                  AND GeometryType(s.geom) = 'MULTIPOLYGON'
                GROUP BY n.nation
                """
            )
        ).all()
    )
    assert by_nation == {"England": 32_844, "Wales": 1_909}


def test_shapes_of_a_territory_are_its_need_areas_polygons(conn: Connection) -> None:
    shapes = repository.need_area_shapes(conn, THAMES_VALLEY)
    expected = conn.execute(
        text("SELECT count(*) FROM current_need_area WHERE territory_code = :code"),
        {"code": THAMES_VALLEY},
    ).scalar_one()
    NeedAreaShapes.validate(shapes)
    assert list(shapes.columns) == ["area_code", "name", "geometry"]
    assert shapes.crs.to_epsg() == 4326
    assert len(shapes) == expected > 1_000
    assert shapes["area_code"].is_monotonic_increasing
    assert set(shapes.geom_type) == {"MultiPolygon"}
    assert shapes.set_index("area_code").loc["E01028521", "name"] == "Oxford 008A"


def test_shapes_are_simplified_in_metres_keeping_topology(conn: Connection) -> None:
    full = repository.need_area_shapes(conn, THAMES_VALLEY)
    simple = repository.need_area_shapes(conn, THAMES_VALLEY, tolerance_m=50.0)
    assert simple["area_code"].tolist() == full["area_code"].tolist()
    vertices = shapely.get_num_coordinates(simple.geometry.to_numpy()).sum()
    assert vertices < 0.6 * shapely.get_num_coordinates(full.geometry.to_numpy()).sum()
    assert simple.is_valid.all() and set(simple.geom_type) == {"MultiPolygon"}
    area = simple.to_crs(27700).area.sum() / full.to_crs(27700).area.sum()
    assert area == pytest.approx(1.0, abs=0.01)


def test_scotland_has_no_shapes_and_bad_tolerances_are_named(conn: Connection) -> None:
    scotland = repository.need_area_shapes(conn, "S23000009")
    assert scotland.empty and list(scotland.columns) == ["area_code", "name", "geometry"]
    assert len(repository.need_area_shapes(conn)) == 34_753
    with pytest.raises(InvalidInputError, match="tolerance_m must be 0 or more metres"):
        repository.need_area_shapes(conn, tolerance_m=-5)


def test_a_point_goes_to_the_lsoa_that_holds_it_not_the_nearest_point(
    conn: Connection,
) -> None:
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    holder = conn.execute(
        text(
            f"""
            SELECT n.code FROM need_area_shape s JOIN current_need_area n
              ON n.id = s.need_area_id WHERE ST_Covers(s.geom, {point})
            """
        ),
        REDDITCH,
    ).scalar_one()
    nearest_point = conn.execute(
        text(
            f"""
            SELECT code FROM current_need_area
            ORDER BY ST_Transform(geom, 27700) <-> ST_Transform({point}, 27700) LIMIT 1
            """
        ),
        REDDITCH,
    ).scalar_one()
    assert (holder, nearest_point) == (REDDITCH_LSOA, REDDITCH_NEAREST_POINT)

    placed = repository.locator(conn).locate([REDDITCH["lat"]], [REDDITCH["lon"]]).iloc[0]
    assert placed["need_area_code"] == REDDITCH_LSOA
    assert placed["need_area_name"] == "Redditch 007C"
    assert placed["need_area_method"] == "polygon"
    assert placed["need_area_distance_m"] == 0


def test_a_point_off_the_clipped_coast_goes_to_the_nearest_polygon(conn: Connection) -> None:
    covered = conn.execute(
        text(
            """
            SELECT count(*) FROM need_area_shape
            WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            """
        ),
        SHORE,
    ).scalar_one()
    assert covered == 0
    placed = repository.locator(conn).locate([SHORE["lat"]], [SHORE["lon"]]).iloc[0]
    assert placed["need_area_code"] == SHORE_LSOA
    assert placed["need_area_method"] == "nearest_polygon"
    assert 0 < placed["need_area_distance_m"] < NEED_AREA_SNAP_M


def test_scottish_points_still_go_to_the_nearest_point(conn: Connection) -> None:
    located = repository.locator(conn).locate(
        [EDINBURGH["lat"], BY_THE_TWEED["lat"]], [EDINBURGH["lon"], BY_THE_TWEED["lon"]]
    )
    for (_, placed), where in zip(located.iterrows(), (EDINBURGH, BY_THE_TWEED), strict=True):
        nearest = conn.execute(
            text(
                """
                SELECT code FROM current_need_area WHERE territory_code = 'S23000009'
                ORDER BY ST_Transform(geom, 27700)
                     <-> ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700)
                LIMIT 1
                """
            ),
            where,
        ).scalar_one()
        assert placed["territory_code"] == "S23000009"
        assert placed["need_area_method"] == "nearest_point"
        assert placed["need_area_code"] == nearest


def test_the_gazetteer_places_postcodes_in_their_lsoa(
    engine: Engine, postcodes: PostcodeLoadReport
) -> None:
    with engine.connect() as conn:
        rows: dict[str, str] = dict(
            conn.execute(
                text(
                    """
                    SELECT p.postcode, n.code || ' ' || p.need_area_method
                    FROM postcode_unit p JOIN need_area n ON n.id = p.need_area_id
                    WHERE p.postcode IN ('B98 0AW', 'EX39 4AA', 'TD12 4EN')
                    """
                )
            ).all()
        )
        methods: dict[str | None, int] = dict(
            conn.execute(
                text("SELECT need_area_method, count(*) FROM postcode_unit GROUP BY 1")
            ).all()
        )
    assert rows["B98 0AW"] == f"{REDDITCH_LSOA} polygon"
    assert rows["EX39 4AA"] == f"{SHORE_LSOA} nearest_polygon"
    assert rows["TD12 4EN"].startswith("S01") and rows["TD12 4EN"].endswith("nearest_point")
    assert methods["polygon"] > 2_300_000  # nine in ten postcodes are in England and Wales
    assert methods["nearest_polygon"] < 5_000


def test_invalid_polygons_are_repaired_and_counted(tmp_path: Path) -> None:
    bow_tie = Polygon([(-1.26, 51.75), (-1.25, 51.76), (-1.25, 51.75), (-1.26, 51.76)])
    square = Polygon([(-1.2, 51.7), (-1.19, 51.7), (-1.19, 51.71), (-1.2, 51.71)])
    path = tmp_path / "shapes.parquet"
    gpd.GeoDataFrame(
        {"area_code": ["E01000002", "E01000001"]}, geometry=[bow_tie, square], crs=4326
    ).to_parquet(path)
    shapes, repaired = read_need_area_shapes(path)
    assert repaired == 1
    assert shapes["code"].tolist() == ["E01000001", "E01000002"]
    assert shapes.is_valid.all()
    assert all(isinstance(g, MultiPolygon) for g in shapes.geometry)


def test_a_polygon_without_a_need_area_stops_the_load(
    engine: Engine, geography: LoadReport, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "shapes.parquet"
    square = Polygon([(-1.2, 51.7), (-1.19, 51.7), (-1.19, 51.71), (-1.2, 51.71)])
    gpd.GeoDataFrame({"area_code": ["E01999999"]}, geometry=[square], crs=4326).to_parquet(path)
    need_areas = replace(need_areas_2019(data_dir), shapes=path)
    with pytest.raises(DataFileError, match=r"1 polygon\(s\) have no need area.*E01999999"):
        load_geography(engine, territories_2023(data_dir), need_areas)


def test_the_polygons_are_credited() -> None:
    assert "GeoJSON UK Boundary Data by Martin Chorley" in attribution.GEOGRAPHY
    assert "© Crown copyright and database right 2016" in attribution.GEOGRAPHY
