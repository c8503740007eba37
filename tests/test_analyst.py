"""The analysts' API (maps.analyst) on the real shared data: points in as GeoDataFrames in
any CRS or as lat/lon, results out as GeoDataFrames with reasons, H3 cells named by their
hexadecimal strings at every boundary (the API too), and maps that need no network."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from geo import hexes
from geo.errors import InvalidInputError
from geo.settings import Settings
from maps import analyst

TERRITORY = "E23000029"  # Thames Valley
RESOLUTION = 7
# A script or stylesheet the page would fetch from elsewhere (a CDN): blank offline.
FETCHED = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def points(demo_data: Engine) -> gpd.GeoDataFrame:
    """The trusted activities with a point, as the analysts' API gives them."""
    return analyst.activities(demo_data).dropna(subset=["lat"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def sites(demo_data: Engine) -> gpd.GeoDataFrame:
    return analyst.supplier_sites(demo_data, TERRITORY).head(6).reset_index(drop=True)


def _in_bng(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same places in British National Grid metres, with no lat/lon columns."""
    return frame.drop(columns=["lat", "lon"]).to_crs("EPSG:27700")


def _is_cell_name(value: object) -> bool:
    return isinstance(value, str) and bool(h3.is_valid_cell(value))


def test_density_takes_a_geodataframe_in_british_national_grid(
    points: gpd.GeoDataFrame,
) -> None:
    from_lat_lon = analyst.density(pd.DataFrame(points.drop(columns="geometry")), RESOLUTION)
    from_bng = analyst.density(_in_bng(points), RESOLUTION)
    assert len(from_bng) > 10 and from_bng["count"].sum() == len(points)
    pd.testing.assert_frame_equal(
        pd.DataFrame(from_bng.drop(columns="geometry")),
        pd.DataFrame(from_lat_lon.drop(columns="geometry")),
    )
    assert from_bng.crs == "EPSG:4326"


def test_density_and_hot_spots_name_cells_by_hex_strings(points: gpd.GeoDataFrame) -> None:
    counts = analyst.density(points, RESOLUTION)
    assert "cell" not in counts.columns and pd.api.types.is_string_dtype(counts["h3"])
    assert all(_is_cell_name(c) for c in counts["h3"])
    by_hand = pd.Series(
        [
            h3.latlng_to_cell(a, b, RESOLUTION)
            for a, b in zip(points["lat"], points["lon"], strict=True)
        ]
    ).value_counts()  # h3's own string API, independent of geo.hexes
    assert dict(zip(counts["h3"], counts["count"], strict=True)) == by_hand.to_dict()
    spots = analyst.hot_spots(counts)
    assert "cell" not in spots.columns and all(_is_cell_name(c) for c in spots["h3"])
    assert set(counts["h3"]) <= set(spots["h3"])  # with their empty neighbours
    for frame in (counts, spots):  # no int64 cell leaks, under any name
        integers = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])]
        assert set(integers) <= {"count"} and frame["count"].max() < 10**6
    assert spots.crs == "EPSG:4326" and spots.geometry.geom_type.eq("Polygon").all()


def test_hot_spots_name_a_value_that_is_not_a_cell() -> None:
    bad = pd.DataFrame({"h3": ["87195da49ffffff", "not-a-cell"], "count": [3, 4]})
    with pytest.raises(InvalidInputError, match="'not-a-cell' is not an H3 cell"):
        analyst.hot_spots(bad)
    with pytest.raises(InvalidInputError, match="'h3' column"):
        analyst.hot_spots(pd.DataFrame({"cell": [1], "count": [3]}))


def test_hex_names_round_trip_through_the_int64_cells() -> None:
    cells = hexes.cells([51.75, 55.95], [-1.26, -3.19], RESOLUTION)
    names = hexes.labels(cells)
    assert names == [h3.latlng_to_cell(51.75, -1.26, 7), h3.latlng_to_cell(55.95, -3.19, 7)]
    assert hexes.from_labels(names).tolist() == cells.tolist()


def test_points_without_a_place_or_a_crs_are_refused_by_name(
    demo_data: Engine, points: gpd.GeoDataFrame
) -> None:
    no_crs = _in_bng(points).set_crs(None, allow_override=True)
    with pytest.raises(InvalidInputError, match="no CRS"):
        analyst.density(no_crs, RESOLUTION)
    with pytest.raises(InvalidInputError, match="'lat' and 'lon'"):
        analyst.density(pd.DataFrame({"name": ["x"]}), RESOLUTION)
    with pytest.raises(InvalidInputError, match="no CRS"):
        analyst.recommend_for_sites(demo_data, no_crs.assign(site_id=1), TERRITORY)


def test_recommend_for_sites_takes_a_geodataframe_in_any_crs(
    demo_data: Engine, sites: gpd.GeoDataFrame
) -> None:
    from_lat_lon = analyst.recommend_for_sites(
        demo_data, pd.DataFrame(sites.drop(columns="geometry")), TERRITORY, top=3
    )
    from_bng = analyst.recommend_for_sites(demo_data, _in_bng(sites), TERRITORY, top=3)
    assert len(from_bng) == 3 * len(sites)
    key = ["site_id", "rank", "activity_id"]
    assert from_bng[key].equals(from_lat_lon[key])
    assert from_bng["distance_m"].to_numpy() == pytest.approx(from_lat_lon["distance_m"], abs=0.01)


def test_recommend_for_sites_gives_each_activity_its_point_and_reasons(
    demo_data: Engine, sites: gpd.GeoDataFrame, points: gpd.GeoDataFrame
) -> None:
    ranked = analyst.recommend_for_sites(demo_data, _in_bng(sites), TERRITORY, top=3)
    assert isinstance(ranked, gpd.GeoDataFrame) and ranked.crs == "EPSG:4326"
    placed = ranked[~ranked["safeguarding"]]
    assert not placed.empty and placed.geometry.geom_type.eq("Point").all()
    truth = points.set_index("id")
    for row in placed.itertuples():
        if row.activity_id in truth.index:  # placed at its nearest delivery site otherwise
            assert row.geometry.distance(truth.loc[row.activity_id, "geometry"]) < 1e-6
    site_names = dict(zip(sites["site_id"], sites["site"], strict=True))
    for row in ranked.itertuples():
        assert row.reason.startswith(("within ", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"))
        assert f"from {site_names[row.site_id]}" in row.reason
        assert "deprivation" in row.reason or "most-deprived" in row.reason
    assert (ranked.groupby("site_id")["total"].diff().dropna() <= 0).all()  # best first
    hidden = ranked[ranked["safeguarding"]]
    assert hidden.geometry.isna().all() and (hidden["distance_m"] % 1000 == 0).all()


def test_recommend_for_sites_names_sites_it_cannot_place(
    demo_data: Engine, sites: gpd.GeoDataFrame
) -> None:
    unplaced = pd.DataFrame(sites.drop(columns="geometry")).assign(lat=np.nan)
    with pytest.raises(InvalidInputError, match="sites with no place"):
        analyst.recommend_for_sites(demo_data, unplaced, TERRITORY)
    with pytest.raises(InvalidInputError, match="'site_id'"):
        analyst.recommend_for_sites(demo_data, sites.drop(columns="site_id"), TERRITORY)


def test_the_hot_spot_map_needs_no_network(points: gpd.GeoDataFrame) -> None:
    spots = analyst.hot_spots(analyst.density(points, 6))
    html = analyst.hot_spot_map(spots, tiles=None).get_root().render()
    assert FETCHED.findall(html) == []
    assert "L.map(" in html and "Open Government Licence" in html
    assert "hot spot" in html or "no significant cluster" in html


@pytest.fixture(scope="module")
def client(app_database_url: str, demo_data: Engine) -> Iterator[TestClient]:
    settings = Settings(database_url=app_database_url, secret_key="x" * 32, map_tiles="none")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_density_api_names_cells_by_hex_strings_in_every_format(client: TestClient) -> None:
    query = "/coverage/density?territory=E23000029&resolution=7&hot_spots=true"
    rows = client.get(query).json()["rows"]
    assert rows and all(_is_cell_name(r["h3"]) and "cell" not in r for r in rows)
    table = list(csv.DictReader(io.StringIO(client.get(f"{query}&format=csv").text)))
    assert [r["h3"] for r in table] == [r["h3"] for r in rows]
    features = client.get(f"{query}&format=geojson").json()["features"]
    assert [f["properties"]["h3"] for f in features] == [r["h3"] for r in rows]
