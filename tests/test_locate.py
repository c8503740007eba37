"""Point location, pure and in memory: hand-built territories with known answers, and the
real territories cross-checked against geopandas.sjoin."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, box

from boundaries.locate import UNPLACED, Locator, TerritoryIndex, parse_coordinates
from boundaries.read import read_territories
from geo.crs import from_bng, to_bng

# Two 10 km squares on the British grid near Oxford, sharing the edge x = 460 000.
WEST = box(450_000, 200_000, 460_000, 210_000)
EAST = box(460_000, 200_000, 470_000, 210_000)


def _squares(order: tuple[str, str] = ("B", "A")) -> gpd.GeoDataFrame:
    shapes = {"A": WEST, "B": EAST}
    frame = gpd.GeoDataFrame(
        {"code": list(order), "name": [f"Territory {c}" for c in order]},
        geometry=[MultiPolygon([shapes[c]]) for c in order],
        crs="EPSG:27700",
    )
    return frame.to_crs("EPSG:4326")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = from_bng([x], [y])
    return float(lon[0]), float(lat[0])


@pytest.fixture(scope="module")
def squares() -> TerritoryIndex:
    return TerritoryIndex(_squares())


def test_points_inside_each_square(squares: TerritoryIndex) -> None:
    lon, lat = zip(_lonlat(455_000, 205_000), _lonlat(465_000, 205_000), strict=True)
    result = squares.assign(lon, lat)
    assert list(squares.codes[result.index]) == ["A", "B"]
    assert list(result.method) == ["contains", "contains"]


def test_point_just_outside_is_snapped_to_the_nearest_within_2km(squares: TerritoryIndex) -> None:
    lon, lat = zip(_lonlat(471_000, 205_000), _lonlat(475_000, 205_000), strict=True)
    result = squares.assign(lon, lat)
    assert result.index[0] != UNPLACED
    assert squares.codes[result.index[0]] == "B"
    assert result.method[0] == "nearest"
    assert result.distance_m[0] == pytest.approx(1_000, abs=5)
    assert result.index[1] == UNPLACED  # 5 km out: at sea, not placed


def test_point_on_a_shared_edge_goes_to_the_lowest_code_and_is_flagged(
    squares: TerritoryIndex,
) -> None:
    # The edge x = 460 000 is a straight line on the grid, curved slightly in lon/lat: take
    # a point on the edge of the reprojected polygons themselves.
    west = _squares().set_index("code").geometry["A"]
    corner = np.asarray(west.geoms[0].exterior.coords)
    lon, lat = corner[np.argmax(corner[:, 0])]
    result = squares.assign([lon], [lat])
    assert squares.codes[result.index[0]] == "A"
    assert result.method[0] == "boundary"


def test_the_answer_does_not_depend_on_input_order() -> None:
    forward, backward = TerritoryIndex(_squares(("A", "B"))), TerritoryIndex(_squares(("B", "A")))
    rng = np.random.default_rng(7)
    x = rng.uniform(449_000, 471_000, 2_000)
    y = rng.uniform(199_000, 211_000, 2_000)
    lon, lat = from_bng(x, y)
    a, b = forward.assign(lon, lat), backward.assign(lon, lat)
    assert np.array_equal(forward.codes[a.index], backward.codes[b.index])
    assert np.array_equal(a.method, b.method)


def test_nan_coordinates_stay_unplaced(squares: TerritoryIndex) -> None:
    result = squares.assign([np.nan], [np.nan])
    assert result.index[0] == UNPLACED
    assert result.method[0] is None


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ("abc", "-1.2", "lat 'abc' is not a number"),
        ("51.7", "", "lon is missing"),
        (None, None, "lat is missing"),
        ("95", "0", "lat 95 is out of range (-90 to 90)"),
        ("51", "190", "lon 190 is out of range (-180 to 180)"),
        ("48.85", "2.35", "is outside the UK"),
        ("-1.258", "51.752", "are lat and lon swapped?"),
        ("inf", "0", "lat 'inf' is not a number"),
    ],
)
def test_bad_coordinates_are_named(lat: object, lon: object, message: str) -> None:
    _, _, error = parse_coordinates([lat], [lon])
    assert message in error[0]


def test_good_coordinates_have_no_error() -> None:
    lat, lon, error = parse_coordinates(["51.752", 55.95], [" -1.258 ", -3.19])
    assert list(error) == ["", ""]
    assert lat.tolist() == [51.752, 55.95]
    assert lon.tolist() == [-1.258, -3.19]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
)
def test_any_input_gives_a_number_pair_or_a_reason(lat: object, lon: object) -> None:
    lat_a, lon_a, error = parse_coordinates([lat], [lon])
    if error[0] == "":
        assert np.isfinite(lat_a[0]) and np.isfinite(lon_a[0])
        assert 49.8 <= lat_a[0] <= 61.0 and -8.8 <= lon_a[0] <= 2.0
    else:
        assert isinstance(error[0], str) and error[0]


@pytest.fixture(scope="module")
def real_territories(data_dir: Path) -> gpd.GeoDataFrame:
    return read_territories(data_dir / "geography" / "territories.geojson")


def test_real_postcodes_agree_with_geopandas_sjoin(
    real_territories: gpd.GeoDataFrame, data_dir: Path
) -> None:
    postcodes = pd.read_parquet(
        data_dir / "geography" / "postcodes.parquet", columns=["lat", "lon"]
    )
    sample = postcodes.sample(50_000, random_state=1).reset_index(drop=True)
    index = TerritoryIndex(real_territories)
    ours = index.assign(sample["lon"], sample["lat"])

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(sample["lon"], sample["lat"]), crs=4326)
    joined = gpd.sjoin(points, real_territories[["code", "geometry"]], predicate="within")
    reference = joined["code"].groupby(level=0).first().reindex(sample.index)

    inside = reference.notna()
    assert (index.codes[ours.index[inside]] == reference[inside]).all()
    assert (ours.method[inside] == "contains").all()
    # Points sjoin cannot place are off the generalised coast: snapped or left at sea.
    assert set(ours.method[~inside]) <= {"nearest", "boundary", None}


def test_locator_fills_every_column_and_keeps_order(
    real_territories: gpd.GeoDataFrame,
) -> None:
    x, y = to_bng([-1.258, -3.19], [51.752, 55.95])
    need = gpd.GeoDataFrame(
        {
            "code": ["N1", "N2"],
            "name": ["Oxford test", "Edinburgh test"],
            "uk_imd_decile": [3, 7],
            "territory_code": ["E23000029", "S23000009"],
        },
        geometry=gpd.points_from_xy(x, y, crs="EPSG:27700"),
    ).to_crs(4326)
    located = Locator.from_frames(real_territories, need).locate(
        [55.95, "x", 51.752], [-3.19, 0, -1.258]
    )
    assert located["need_area_code"].fillna("").tolist() == ["N2", "", "N1"]
    assert located["need_area_uk_decile"].tolist()[::2] == [7, 3]
    assert located["error"].tolist()[1] == "lat 'x' is not a number"


def test_midpoint_of_a_real_shared_edge_goes_to_the_lower_code(
    real_territories: gpd.GeoDataFrame,
) -> None:
    # A segment of the edge between the Metropolitan Police (E23000001) and Thames Valley
    # (E23000029) near Heathrow. In floating point its midpoint is inside Thames Valley
    # only, so a plain point-in-polygon test gave it the higher code.
    start, end = np.array([-0.49924, 51.48856]), np.array([-0.49011, 51.49463])
    lon, lat = (start + end) / 2
    territories = real_territories.set_index("code").geometry
    for code in ("E23000001", "E23000029"):
        assert territories[code].boundary.distance(LineString([start, end])) == 0
    assert list(shapely.contains_xy(territories[["E23000001", "E23000029"]], lon, lat)) == [
        False,
        True,
    ]
    index = TerritoryIndex(real_territories)
    result = index.assign([lon], [lat])
    assert index.codes[result.index[0]] == "E23000001"
    assert result.method[0] == "boundary"
    # The same from the other side of the edge, a hair's breadth inside each territory.
    normal = np.array([end[1] - start[1], start[0] - end[0]]) * 1e-9
    near = index.assign([lon + normal[0], lon - normal[0]], [lat + normal[1], lat - normal[1]])
    assert list(index.codes[near.index]) == ["E23000001", "E23000001"]


def test_points_off_a_shared_edge_go_to_the_lower_code() -> None:
    # Just outside both squares where their edge meets the outer boundary: within the edge
    # tolerance of both, so the lower code, whichever is a femtometre nearer.
    index = TerritoryIndex(_squares())
    lon, lat = _lonlat(460_000, 199_999.99)
    result = index.assign([lon], [lat])
    assert index.codes[result.index[0]] == "A"
    assert result.method[0] == "boundary"
