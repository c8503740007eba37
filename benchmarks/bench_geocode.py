"""Bulk geocoding: a 1,000,000-row CSV of real postcodes, end to end.

The input is a synthetic workload built from real postcodes (clearly labelled, written to a
temporary folder): messy case and spacing, 1 % impossible postcodes, 1 % unknown units
(sector fallback). Both paths read the CSV, normalise, look up, place in a territory and
need area, and write a CSV; both start from the gazetteer already in memory (its one-off
load is reported apart).

Ours: Arrow CSV in and out, vectorised normalisation, integer postcode keys, binary search,
territory and need area pre-assigned at load time. Baseline: pandas ``read_csv``, string
normalisation, a ``merge`` on the postcode text, then ``geopandas.sjoin`` for the territory
and ``sjoin_nearest`` (EPSG:27700) for the need area, then ``to_csv``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from benchmarks.common import Comparison, connection, postcodes, timed
from boundaries import repository
from boundaries.gazetteer import read_gazetteer
from geo.crs import BNG
from geo.geocode import Geocoder
from geo.geocode_csv import geocode_table, read_texts, write_csv
from geo.settings import Settings

ROWS = 1_000_000


def _workload(data_dir: Path, folder: Path) -> Path:
    real = postcodes(data_dir, ["postcode"])
    rng = np.random.default_rng(42)
    picked = real["postcode"].to_numpy()[rng.integers(0, len(real), ROWS)]
    messy = pd.Series(picked, dtype=object)
    lower = rng.random(ROWS) < 0.5
    messy[lower] = messy[lower].str.lower()
    squashed = rng.random(ROWS) < 0.3
    messy[squashed] = messy[squashed].str.replace(" ", "", regex=False)
    messy[rng.random(ROWS) < 0.01] = "QQ1 1AA"
    unknown = rng.random(ROWS) < 0.01
    messy[unknown] = messy[unknown].str[:-2] + "ZZ"
    path = folder / "postcodes_1m.csv"
    pd.DataFrame({"id": np.arange(ROWS), "postcode": messy}).to_csv(path, index=False)
    return path


def run(settings: Settings, repeat: int = 1) -> list[Comparison]:
    with connection(settings.owner_url) as conn:
        started = time.perf_counter()
        gazetteer = read_gazetteer(conn)
        gazetteer_s = time.perf_counter() - started
        locator = repository.locator(conn)
        territories = repository.territories(conn)
        need_areas = repository.need_areas(conn)
        units = pd.read_sql("SELECT postcode, lon, lat FROM postcode_unit", conn)
    geocoder = Geocoder(gazetteer, locator)

    with tempfile.TemporaryDirectory() as folder:
        source = _workload(settings.require_data_dir(), Path(folder))
        ours_out, naive_out = Path(folder) / "ours.csv", Path(folder) / "naive.csv"

        def arrow_path() -> None:
            write_csv(geocode_table(read_texts(source), geocoder), ours_out)

        def pandas_path() -> None:
            frame = pd.read_csv(source, dtype=str, keep_default_na=False)
            compact = frame["postcode"].str.upper().str.replace(" ", "", regex=False)
            frame["key"] = compact.str[:-3] + " " + compact.str[-3:]
            merged = frame.merge(
                units, left_on="key", right_on="postcode", how="left", suffixes=("", "_g")
            )
            points = gpd.GeoDataFrame(
                merged, geometry=gpd.points_from_xy(merged["lon"], merged["lat"]), crs=4326
            )
            placed = gpd.sjoin(
                points, territories[["code", "geometry"]], how="left", predicate="within"
            ).rename(columns={"code": "territory_code"})
            placed = placed.drop(columns="index_right").to_crs(BNG)
            nearest = gpd.sjoin_nearest(
                placed,
                need_areas[["code", "geometry"]]
                .to_crs(BNG)
                .rename(columns={"code": "need_area_code"}),
                how="left",
            )
            nearest.drop(columns="geometry").to_csv(naive_out, index=False)

        ours, _ = timed("arrow + int keys + pre-placed gazetteer", arrow_path, repeat)
        naive, _ = timed("pandas merge + sjoin + sjoin_nearest", pandas_path, repeat)
        placed = pd.read_csv(ours_out, usecols=["precision", "error"], dtype=str)
    precision = placed["precision"].value_counts().to_dict()
    note = (
        f"synthetic rows from real postcodes; gazetteer loaded once in {gazetteer_s:.1f} s "
        f"(not timed in either path); precision {precision}; "
        f"{int(placed['error'].notna().sum()):,} rows with an error"
    )
    return [Comparison("bulk geocode: 1 M-row CSV end to end", ROWS, "rows", ours, naive, note)]
