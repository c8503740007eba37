"""Fast pages: a territory page, its map and the UK map, built versus cached.

Workload: the real app in process (Starlette's test client, no network) over a throwaway
copy of the configured database (``CREATE DATABASE ... TEMPLATE``, migrated to head, with
the demo's shared data loaded as ``make demo`` does when the copy has none), so nothing is
written to the real one. For each page: ``REQUESTS`` requests served from the
page cache (built once per data version, :mod:`api.caching`), against the same page built
on every request as it was before (the page cache emptied before each one; national
coverage kept, as the old one-minute cache did), in the same run. Reported: the median
(the table's seconds) and the 95th percentile.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from benchmarks.common import Comparison, Timing, connection, console, database_copy
from geo import migrate
from geo.settings import Settings

TERRITORY = "E23000029"  # Thames Valley
PAGES = (
    (f"territory page /territory/{TERRITORY}", f"/territory/{TERRITORY}"),
    (f"territory map /maps/territory/{TERRITORY}.html", f"/maps/territory/{TERRITORY}.html"),
    ("UK map /maps/uk.html", "/maps/uk.html"),
)
REQUESTS = 30  # cached requests per page
BUILDS = 5  # uncached builds per page (each up to about a second)
# The loads of `make demo`, for a copy of a database that has no data yet.
DEMO_LOADS = ("geography", "postcodes", "activities", "suppliers")


def _latencies(client: TestClient, path: str, runs: int, before: Callable[[], None]) -> list[float]:
    """Seconds of each of ``runs`` GETs of ``path`` (``before`` runs untimed before each)."""
    seconds = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        response = client.get(path, headers={"accept-encoding": "gzip"})
        seconds.append(time.perf_counter() - start)
        response.raise_for_status()
    return seconds


def _p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20, method="inclusive")[-1]


def _comparison(task: str, cached: list[float], built: list[float], first: float) -> Comparison:
    note = (
        f"cached median {statistics.median(cached) * 1000:.1f} ms, p95 "
        f"{_p95(cached) * 1000:.1f} ms over {len(cached)}; first build {first * 1000:.0f} ms; "
        f"built every request: median {statistics.median(built) * 1000:.0f} ms, p95 "
        f"{_p95(built) * 1000:.0f} ms over {len(built)} (gzip on; goal for the territory "
        "page after its first build: < 100 ms)"
    )
    return Comparison(
        task,
        1,
        "request",
        Timing("page cache (median)", statistics.median(cached)),
        Timing("built every request (median)", statistics.median(built)),
        note,
    )


def _load_demo(url: str) -> None:
    """Load the demo's shared data into the database at ``url`` if it has no territories."""
    with connection(url) as conn:
        if conn.execute(text("SELECT count(*) FROM territory")).scalar_one():
            return
    cli = Path(sys.executable).with_name("dualimpact")
    for what in DEMO_LOADS:
        console.print(f"[dim]page benchmark: loading {what} into the copy[/dim]")
        subprocess.run(
            [str(cli), "load", what], check=True, env={**os.environ, "DATABASE_URL": url}
        )


def measure(url: str) -> list[Comparison]:
    """Time the pages on the database at ``url`` (migrated to head)."""
    rows = []
    with TestClient(create_app(Settings(database_url=url, map_tiles="none"))) as client:
        pages = client.app.state.indexes.pages  # type: ignore[attr-defined]
        client.get("/").raise_for_status()  # national coverage built once, as in service
        for task, path in PAGES:
            built = _latencies(client, path, BUILDS, pages.clear)
            pages.clear()
            (first,) = _latencies(client, path, 1, lambda: None)
            cached = _latencies(client, path, REQUESTS, lambda: None)
            rows.append(_comparison(task, cached, built, first))
    return rows


def run(settings: Settings) -> list[Comparison]:
    with database_copy(settings, "pages") as url:
        if url is None:
            return []
        migrate.upgrade(url)
        _load_demo(url)
        return measure(url)
