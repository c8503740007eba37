"""National coverage and the national map page.

Coverage: 2SFCA over every need area (42,619) and every open activity, on the real data.
Ours: :func:`maps.report.compute` (KD-tree catchments, sparse pairs). Baseline: the full
distance matrix between every need area and every activity (chunked numpy), then the same
two steps; both give the same access (checked).

Map page: the UK map as served (45 simplified territory outlines, 2 layers), against the
naive page: every need area drawn as its own GeoJSON feature. Page weight in MB and the
time Chromium (headless, /usr/bin/chromium) takes to load the page and draw the map.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import folium
import numpy as np
import pandas as pd

from benchmarks.common import Comparison, Timing, connection, console, timed
from boundaries import repository
from geo.settings import Settings
from maps import assets, coverage, queries, render, report
from procurement.reporting import value_by_territory

CHROMIUM = "/usr/bin/chromium"


def _naive_access(areas: pd.DataFrame, activities: pd.DataFrame) -> np.ndarray:
    """The same 2SFCA, from every pairwise distance (including the rule that a catchment
    with no need-area point serves the nearest one)."""
    ax, ay = areas["x"].to_numpy(), areas["y"].to_numpy()
    population = areas["population"].to_numpy()
    bx, by = activities["x"].to_numpy(), activities["y"].to_numpy()
    radius, capacity = activities["radius_m"].to_numpy(), activities["capacity"].to_numpy()
    demand, inside = np.zeros(len(activities)), np.zeros(len(activities))
    nearest, nearest_d = np.zeros(len(activities), dtype=int), np.full(len(activities), np.inf)
    step = 2_000
    for start in range(0, len(areas), step):  # step 1: every pair
        d = np.hypot(ax[start : start + step, None] - bx, ay[start : start + step, None] - by)
        demand += (population[start : start + step, None] * coverage.decay(d, radius)).sum(0)
        inside += (d <= radius).sum(0)
        closer = d.min(0) < nearest_d
        nearest[closer] = d.argmin(0)[closer] + start
        nearest_d[closer] = d.min(0)[closer]
    lonely = inside == 0
    demand[lonely] = population[nearest[lonely]]
    ratio = np.divide(capacity, demand, out=np.zeros_like(capacity), where=demand > 0)
    access = np.zeros(len(areas))
    for start in range(0, len(areas), step):  # step 2: every pair again
        d = np.hypot(ax[start : start + step, None] - bx, ay[start : start + step, None] - by)
        access[start : start + step] = (coverage.decay(d, radius) * ratio).sum(1)
    np.add.at(access, nearest[lonely], ratio[lonely])
    return access


def _draw_seconds(page: str) -> float:
    """Seconds for headless Chromium to load the page and draw its map (layer control
    present and the browser idle)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        path = Path(folder) / "map.html"
        path.write_text(page, encoding="utf-8")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        tab.goto(path.as_uri(), wait_until="load", timeout=300_000)
        tab.wait_for_selector(".leaflet-control-layers", timeout=300_000)
        tab.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def _megabytes(page: str) -> str:
    """The page's weight as served (UTF-8), e.g. ``2.4 MB``."""
    return f"{len(page.encode()) / 1e6:.1f} MB"


def _naive_page(areas: pd.DataFrame) -> str:
    fmap = folium.Map(location=render.UK_CENTRE, zoom_start=render.UK_ZOOM, tiles=None)
    render.use_assets(fmap, (assets.LEAFLET, assets.JQUERY), "inline", fmap)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {"code": row.code, "name": row.name, "gap": round(row.gap, 3)},
        }
        for row in areas.itertuples()
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="need areas",
        marker=folium.CircleMarker(radius=3),
        tooltip=folium.GeoJsonTooltip(fields=["name", "gap"]),
    ).add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return render.html_page(fmap)


def _map_pages(ours_page: str, naive_page: str, features: int) -> list[Comparison]:
    """Both map pages drawn in Chromium, as one row; none when the browser cannot run."""
    try:
        ours_draw, naive_draw = _draw_seconds(ours_page), _draw_seconds(naive_page)
    except Exception as exc:
        console.print(f"[yellow]map drawing skipped: {exc}[/]")
        return []
    ours = Timing(f"45 simplified territories ({_megabytes(ours_page)})", ours_draw)
    naive = Timing(f"{features:,} need-area features ({_megabytes(naive_page)})", naive_draw)
    note = (
        "pages with Leaflet inlined (as `dualimpact map` writes them), no base "
        "tiles (offline here); targets: under 3 MB and 2 s"
    )
    return [
        Comparison("UK map page, load and draw in headless Chromium", 1, "page", ours, naive, note)
    ]


def run(settings: Settings) -> list[Comparison]:
    with connection(settings.owner_url) as conn:
        need_areas = queries.need_areas(conn)
        activities = queries.activities(conn)
        value = value_by_territory(conn)
        territories = repository.territories_overview(conn)
        outlines = repository.territory_outlines(conn)
    ours, found = timed(
        "KD-tree catchments",
        lambda: report.compute(need_areas, activities, value, territories),
        repeat=3,
    )
    naive, access = timed("all pairwise distances", lambda: _naive_access(need_areas, activities))
    assert np.allclose(found.areas["access"].to_numpy(), access), "coverage differs from naive"
    task = (
        f"national coverage (2SFCA): {len(need_areas):,} need areas × "
        f"{len(activities):,} activities"
    )
    note = "same access in both (checked); target: under 5 s"
    coverage_row = Comparison(task, len(need_areas), "need areas", ours, naive, note)
    ours_page = render.html_page(render.uk_map(found.summary, outlines, "inline", tiles=None))
    naive_page = _naive_page(found.areas)
    return [coverage_row, *_map_pages(ours_page, naive_page, len(need_areas))]
