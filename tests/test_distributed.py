"""The national batch jobs on a local dask cluster give the single-machine numbers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from sqlalchemy import Engine

from boundaries.gazetteer import PostcodeLoadReport, gazetteer_for
from geo.geocode import Geocoder
from maps import coverage, density, distributed, queries


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def national(engine: Engine, postcodes: PostcodeLoadReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real need areas, and 5,000 synthetic activities (test data) at real need-area
    points, some backed, with varied capacity and radius."""
    with engine.connect() as conn:
        areas = queries.need_areas(conn)
    rng = np.random.default_rng(5)
    at = areas.sample(5_000, random_state=5, replace=True).reset_index(drop=True)
    activities = pd.DataFrame(
        {
            "activity_id": np.arange(5_000),
            "x": at["x"] + rng.normal(0, 500, 5_000),
            "y": at["y"] + rng.normal(0, 500, 5_000),
            "lon": at["lon"],
            "lat": at["lat"],
            "capacity": rng.integers(10, 500, 5_000).astype(float),
            "radius_m": rng.uniform(500, 6_000, 5_000),
            "backed": rng.random(5_000) < 0.2,
        }
    )
    return areas, activities


def test_distributed_coverage_equals_the_single_machine_path(
    client: Client, national: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    areas, activities = national
    single = coverage.area_coverage(areas, activities)
    spread = distributed.area_coverage(client, areas, activities, npartitions=6)
    for column in ("access", "access_backed", "reach", "reach_backed", "gap", "gap_people"):
        assert spread[column].to_numpy() == pytest.approx(single[column].to_numpy()), column
    assert (spread["backed_in_reach"] == single["backed_in_reach"]).all()


def test_distributed_h3_counts_equal_the_single_machine_counts(
    client: Client, national: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    areas, _ = national
    for resolution in (6, 8):
        single = density.density(areas, resolution)[["cell", "count"]]
        spread = distributed.h3_counts(client, areas, resolution, npartitions=5)
        assert spread.equals(single)


def test_distributed_geocoding_equals_the_single_machine_geocoder(
    client: Client, engine: Engine, postcodes: PostcodeLoadReport
) -> None:
    raw = pd.Series(["OX1 1DP", "sw1a1aa", "ZZ99 9ZZ", "B1 1AA", "", "EC1A 1BB", "JE2 3AB"] * 300)
    with engine.connect() as conn:
        gazetteer = gazetteer_for(conn, raw)
    single = Geocoder(gazetteer, None).geocode(raw)
    spread = distributed.geocode(client, raw, gazetteer, npartitions=4)
    assert spread["postcode"].tolist() == single["postcode"].tolist()
    assert spread["error"].tolist() == single["error"].tolist()
    assert spread["lat"].to_numpy() == pytest.approx(single["lat"].to_numpy(), nan_ok=True)
    assert spread["territory_code"].tolist() == single["territory_code"].astype(str).tolist()
