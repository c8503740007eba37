"""National-scale synthetic workloads (clearly labelled: random activities placed at
random real need-area points, with random capacity and radius) beside the real need areas.

* Coverage (2SFCA) with 100,000 and 1,000,000 activities over all 42,619 need areas. Ours:
  KD-tree catchments. Baseline: every pairwise distance, timed on 5,000 activities and
  scaled linearly (it is linear in activities; running it on a million would take hours).
* The same coverage on a local dask cluster (2 workers) against the single-machine path:
  the cost of distribution on one machine, paid to be able to run on many.
* H3 aggregation of 1,000,000 points at resolution 7. Ours: int64 cells and a pandas
  group-by. Baseline: string cells (h3's default API) counted in a Python dict.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from types import ModuleType

import h3
import numpy as np
import pandas as pd

from benchmarks.common import Comparison, Timing, best_of, connection, timed
from geo.extras import require
from geo.settings import Settings
from maps import coverage, density, distributed, queries

SAMPLE = 5_000


def _activities(areas: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    at = areas.iloc[rng.integers(0, len(areas), n)].reset_index(drop=True)
    return pd.DataFrame(
        {
            "activity_id": np.arange(n),
            "x": at["x"].to_numpy() + rng.normal(0, 300, n),
            "y": at["y"].to_numpy() + rng.normal(0, 300, n),
            "lon": at["lon"].to_numpy(),
            "lat": at["lat"].to_numpy(),
            "capacity": rng.integers(10, 300, n).astype(float),
            "radius_m": rng.uniform(1_000, 3_000, n),
            "backed": rng.random(n) < 0.1,
        }
    )


def _naive(areas: pd.DataFrame, activities: pd.DataFrame) -> None:
    """2SFCA from the full distance matrix (areas in chunks)."""
    ax, ay, population = (areas[c].to_numpy() for c in ("x", "y", "population"))
    bx, by = activities["x"].to_numpy(), activities["y"].to_numpy()
    radius, capacity = activities["radius_m"].to_numpy(), activities["capacity"].to_numpy()
    demand = np.zeros(len(activities))
    for start in range(0, len(areas), 1_000):
        d = np.hypot(ax[start : start + 1_000, None] - bx, ay[start : start + 1_000, None] - by)
        demand += (population[start : start + 1_000, None] * coverage.decay(d, radius)).sum(0)
    ratio = np.divide(capacity, demand, out=np.zeros_like(capacity), where=demand > 0)
    for start in range(0, len(areas), 1_000):
        d = np.hypot(ax[start : start + 1_000, None] - bx, ay[start : start + 1_000, None] - by)
        (coverage.decay(d, radius) * ratio).sum(1)


def _coverage(areas: pd.DataFrame, rng: np.random.Generator) -> list[Comparison]:
    """2SFCA at 100,000 and 1,000,000 activities beside the baseline timed once on a sample."""
    sample_s, _ = best_of(1, lambda: _naive(areas, _activities(areas, SAMPLE, rng)))
    rows = []
    for n in (100_000, 1_000_000):
        activities = _activities(areas, n, rng)
        ours, _ = timed("KD-tree catchments", partial(coverage.area_coverage, areas, activities))
        naive = Timing(f"pairwise distances (timed on {SAMPLE:,}, scaled)", sample_s * n / SAMPLE)
        task = f"national coverage, {n:,} synthetic activities × {len(areas):,} need areas"
        note = "synthetic activities at random real need-area points"
        rows.append(Comparison(task, n, "activities", ours, naive, note))
    return rows


def _dask(areas: pd.DataFrame, rng: np.random.Generator, dask_cluster: ModuleType) -> Comparison:
    """The same coverage in memory and on a local 2-worker cluster (started after the first)."""
    activities = _activities(areas, 100_000, rng)
    single, _ = timed(
        "single machine, in memory", lambda: coverage.area_coverage(areas, activities)
    )
    with (
        dask_cluster.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        dask_cluster.Client(cluster) as client,
    ):
        distributed.area_coverage(client, areas, activities.head(1_000), npartitions=2)  # warm
        spread, _ = timed(
            "dask-geopandas, 8 partitions",
            lambda: distributed.area_coverage(client, areas, activities, npartitions=8),
        )
    note = (
        "same numbers (tested); on one 2-core machine the cluster only adds overhead: "
        "it pays off when the data or the work outgrows one machine"
    )
    task = "national coverage on dask (local cluster, 2 workers), 100,000 activities"
    return Comparison(task, 100_000, "activities", single, spread, note)


def _h3(areas: pd.DataFrame, rng: np.random.Generator) -> Comparison:
    """H3 cells of 1,000,000 points counted as int64 cells and as h3's strings."""
    points = _activities(areas, 1_000_000, rng)
    cells, _ = timed("int64 cells + pandas group-by", lambda: density.density(points, 7), repeat=3)

    def strings() -> Counter[str]:
        return Counter(
            h3.latlng_to_cell(a, b, 7) for a, b in zip(points["lat"], points["lon"], strict=True)
        )

    counted, _ = timed("string cells + Python dict", strings)
    task = "H3 aggregation, 1,000,000 points at resolution 7"
    return Comparison(
        task, 1_000_000, "points", cells, counted, "synthetic points at real need-area places"
    )


def run(settings: Settings) -> list[Comparison]:
    dask_cluster = require("distributed", "distributed", "the dask benchmark")
    with connection(settings.owner_url) as conn:
        areas = queries.need_areas(conn)
    rng = np.random.default_rng(2026)
    return [*_coverage(areas, rng), _dask(areas, rng, dask_cluster), _h3(areas, rng)]
