"""Maps people can use (issue 14, parts 1 to 3), in Chromium at 1366 px and 390 px:
points drawn above the areas, SPO links unlike any theme, clusters explained, finder
markers numbered as the list, every keyboard stop on a map named, the legend below a
phone's map, place names when there are no base tiles, need drawn by small area where the
areas have shapes, and a community page with a map and a place or postcode search.

The test app draws its maps without base tiles (``map_tiles="none"``), as offline."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine

from maps import render, report
from registry.records import register_activity
from tests.api.helpers import World, set_eligible
from tests.web.conftest import check_page, map_frame, shoot

TVP, SCOTLAND = "E23000029", "S23000009"
HOSTILE = "</script><b>x</b>${alert(1)}"
FIND_MAP = "Object.values(window).find(v => v instanceof L.Map)"
# The same without reading every global (a document set as content may not read storage).
FIND_FOLIUM_MAP = "window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))]"
FIND_CLUSTER = "Object.values(window).find(v => v instanceof L.MarkerClusterGroup)"
# Every element of a document a keyboard stops at, and the name a screen reader gives it.
TAB_STOPS = """() => Array.from(document.querySelectorAll(
        'a[href], button, input, select, textarea, summary, [tabindex]'))
    .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length)
    .map(el => ({
        tag: el.tagName,
        cls: String(el.className),
        name: (el.getAttribute('aria-label') || el.title || el.alt
               || (el.closest('label') || el).textContent || '').trim(),
    }))"""


def _open_map(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_selector(".leaflet-control-layers", state="attached", timeout=30_000)


def test_points_are_clicked_above_the_areas(page: Page, live_url: str, world: World) -> None:
    """With the density hexagons switched on after the activities, the activity under
    the pointer still answers the click (the areas stay beneath)."""
    _open_map(page, f"{live_url}/maps/territory/{TVP}.html")
    page.evaluate(
        f"""() => {{
            const map = {FIND_MAP}, cluster = {FIND_CLUSTER};
            map.setView(cluster.getLayers()[0].getLatLng(), 16, {{animate: false}});
        }}"""
    )
    page.wait_for_timeout(300)
    # Switch every overlay on through the layer control, as a person would.
    page.evaluate(
        """() => document.querySelectorAll('.leaflet-control-layers-overlays input')
            .forEach(box => { if (!box.checked) box.click(); })"""
    )
    page.wait_for_timeout(300)
    marker = page.evaluate(
        f"""() => {{
            const map = {FIND_MAP}, cluster = {FIND_CLUSTER};
            const shown = cluster.getLayers().find(m => map.hasLayer(m));
            const p = map.latLngToContainerPoint(shown.getLatLng());
            return {{x: p.x, y: p.y}};
        }}"""
    )
    page.mouse.click(marker["x"], marker["y"])
    page.wait_for_selector(".leaflet-popup", timeout=5_000)
    assert "Verification:" in page.locator(".leaflet-popup").inner_text()


def test_spo_links_and_themes_have_colours_of_their_own(page: Page) -> None:
    themes = list(render.THEME_COLOURS.values())
    assert len(set(themes)) == len(themes) == len(render.THEME_COLOURS)

    def rgb(colour: str) -> tuple[int, ...]:
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))

    def distance(a: str, b: str) -> float:
        return float(sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True)) ** 0.5)

    assert min(distance(render.SPO_COLOUR, c) for c in themes) > 100
    assert distance(render.THEME_COLOURS["youth"], render.SPO_COLOUR) > 100
    # A map with one awarded link: drawn dashed in the SPO colour, and the key says so.
    areas = pd.DataFrame(
        {"code": ["A"], "name": ["Oxford 008A"], "lat": [51.75], "lon": [-1.25],
         "need": [0.9], "reach": [0.1], "gap": [0.8], "gap_people": [800.0],
         "population": [1000]}
    )  # fmt: skip
    activities = pd.DataFrame(
        {"lat": [51.75], "lon": [-1.25], "name": ["Club"], "themes": [["youth"]],
         "status": ["open"], "safeguarding": [False], "trusted": [True]}
    )  # fmt: skip
    links = pd.DataFrame(
        {"site_lat": [51.7], "site_lon": [-1.2], "lat": [51.75], "lon": [-1.25],
         "activity": ["Club"], "safeguarding": [False], "supplier": ["Acme"],
         "value_gbp": [5000.0]}
    )  # fmt: skip
    sites = pd.DataFrame({"lat": [51.7], "lon": [-1.2], "supplier": ["Acme"], "site": ["Depot"]})
    fmap = render.territory_map(areas, activities, sites, links, mode="inline", tiles=None)
    page.set_content(render.html_page(fmap), wait_until="load")
    line = page.evaluate(
        f"""() => {{
            let found = null;
            {FIND_FOLIUM_MAP}.eachLayer(l => {{
                if (l instanceof L.Polyline && !(l instanceof L.Polygon)) found = l.options;
            }});
            return found;
        }}"""
    )
    assert line["color"] == render.SPO_COLOUR and line["dashArray"] == render.SPO_DASHES
    legend = page.locator(".di-legend").text_content() or ""
    assert "Youth" in legend and "awarded SPO (dashed line" in legend


def test_the_key_explains_the_cluster_colours(page: Page, live_url: str, world: World) -> None:
    _open_map(page, f"{live_url}/maps/territory/{TVP}.html")
    legend = page.locator(".di-legend").text_content() or ""
    assert "group of fewer than 10 activities" in legend
    assert "group of 10 to 99" in legend and "100 or more" in legend


def test_finder_markers_are_numbered_as_the_list(
    page: Page, phone: Page, live_url: str, world: World, shots: Path
) -> None:
    for browser_page, size in ((page, "desktop"), (phone, "phone")):
        browser_page.goto(f"{live_url}/finder?postcode=OX4+1AA", wait_until="load")
        frame = map_frame(browser_page)
        frame.wait_for_selector(".di-num", state="attached")
        rows = browser_page.locator("#ranked tbody tr")
        listed = {
            rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("b").inner_text()
            for i in range(rows.count())
        }
        markers = frame.locator(".di-num")
        assert markers.count() >= 1
        for i in range(markers.count()):
            marker = markers.nth(i)
            number = marker.locator("span[aria-hidden]").inner_text()
            name = marker.locator(".di-hidden").inner_text()
            assert name == f"{number}. {listed[number]}", (name, listed)
            assert re.search(r"\bdi-t\d+\b", marker.get_attribute("class") or "")
        legend = frame.locator(".di-legend").text_content() or ""
        assert "place in the list" in legend and "Youth" in legend
        check_page(browser_page)
        shoot(browser_page, shots, f"finder-numbered-{size}")


def test_every_keyboard_stop_on_a_map_is_named(page: Page, live_url: str, world: World) -> None:
    for path in (f"/maps/territory/{TVP}.html", "/maps/finder.html?postcode=OX4+1AA"):
        _open_map(page, live_url + path)
        stops = page.evaluate(TAB_STOPS)
        unnamed = [stop for stop in stops if not stop["name"]]
        assert unnamed == [], (path, unnamed)
        markers = [s for s in stops if "leaflet-marker-icon" in s["cls"]]
        assert markers, path  # the markers are reachable, and each says what it is
        assert all(re.search(r"[A-Za-z]", s["name"]) for s in markers), markers
        assert len(stops) < 40, (path, len(stops))


def test_the_legend_is_below_the_map_on_a_phone(
    phone: Page, live_url: str, world: World, shots: Path
) -> None:
    for path in ("/", f"/territory/{TVP}", "/finder?postcode=OX4+1AA"):
        phone.goto(live_url + path, wait_until="load")
        frame = map_frame(phone)
        legend = frame.locator(".di-legend").bounding_box()
        map_box = frame.locator(".folium-map").bounding_box()
        assert legend is not None and map_box is not None
        assert legend["y"] >= map_box["y"] + map_box["height"] - 1, (path, legend, map_box)
        check_page(phone)
        shoot(phone, shots, f"legend-phone-{path.strip('/').split('?')[0].replace('/', '-')}")


def test_without_tiles_the_maps_name_their_places(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    _open_map(page, f"{live_url}/maps/territory/{TVP}.html")
    names = page.locator(".di-place").all_inner_texts()
    assert "Thames Valley" in names
    assert {"Oxford", "Reading", "Milton Keynes"} <= set(names), names
    assert page.locator(".di-place[tabindex='0']").count() == 0  # out of the keyboard's way
    shoot(page, shots, "territory-offline")
    _open_map(page, f"{live_url}/maps/uk.html")
    names = page.locator(".di-place").all_inner_texts()
    assert {"Thames Valley", "Metropolitan Police"} & set(names) and len(names) == 45


def test_need_is_drawn_by_small_area_where_areas_have_shapes(
    page: Page, live_url: str, world: World
) -> None:
    sizes = {}
    for code in (TVP, SCOTLAND):
        response = page.request.get(f"{live_url}/maps/territory/{code}.html")
        assert response.ok
        sizes[code] = len(response.body()) // 1024
        _open_map(page, f"{live_url}/maps/territory/{code}.html")
        labels = page.evaluate(
            f"""() => {{
                const found = {{polygons: [], hexagons: 0}};
                {FIND_MAP}.eachLayer(l => {{
                    const p = l.feature && l.feature.properties;
                    if (!p || p.label === undefined || p.gap_index === undefined) return;
                    if (l.feature.geometry.type === 'Polygon' && p.label.startsWith('Gap ')) {{
                        found.hexagons += 1;
                    }} else {{ found.polygons.push(p.label); }}
                }});
                return found;
            }}"""
        )
        if code == TVP:
            assert len(labels["polygons"]) > 1000 and labels["hexagons"] == 0, labels["hexagons"]
            assert any(re.match(r"Oxford \d{3}[A-Z]: gap \d\.\d\d", x) for x in labels["polygons"])
        else:
            assert labels["polygons"] == [] and labels["hexagons"] > 0
    print(f"territory map sizes (KB): {sizes}")
    assert sizes[TVP] < 4096


def test_the_community_page_maps_and_finds_places(
    page: Page, phone: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(f"{live_url}/community?q=OX4+1AA", wait_until="load")
    assert "Thames Valley" in page.locator("h2").first.inner_text()
    frame = map_frame(page)
    assert frame.locator(".di-legend").count() == 1
    first = page.locator("#underserved tbody tr").first.inner_text()
    assert re.search(r"\w+ \d{3}[A-Z]", first)  # the area's place name, "Oxford 008A"
    headings = page.locator("#underserved thead").inner_text()
    assert "Local authority" in headings and "gap_" not in headings
    check_page(page)
    shoot(page, shots, "community-desktop")
    for query, territory in (("Oxford", "Thames Valley"), ("thames valley", "Thames Valley")):
        page.goto(f"{live_url}/community?q={query}", wait_until="load")
        assert territory in page.locator("h2").first.inner_text(), query
    response = page.goto(f"{live_url}/community?q=Nowhereshire", wait_until="load")
    assert response is not None and response.status == 404
    assert "Nowhereshire" in page.locator(".error").inner_text()
    phone.goto(f"{live_url}/community?territory={TVP}", wait_until="load")
    map_frame(phone)
    check_page(phone)
    shoot(phone, shots, "community-phone")


@pytest.fixture
def hostile(engine: Engine, world: World) -> int:
    """An activity in Thames Valley whose name tries to break out of every context."""
    with engine.begin() as conn:
        registered = register_activity(
            conn,
            {"name": HOSTILE, "postcode": "OX4 1AA", "people_reached_per_year": 50},
            source="test",
        )
        set_eligible(conn, registered.activity_id, "youth_diversion")
    return registered.activity_id


def test_a_hostile_name_shows_as_text_on_the_maps(page: Page, live_url: str, hostile: int) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _open_map(page, f"{live_url}/maps/territory/{TVP}.html")
    shown = page.evaluate(
        f"""() => {FIND_CLUSTER}.getLayers().map(marker => {{
            const box = document.createElement('div');
            box.innerHTML = marker.getPopup().getContent().innerHTML
                || marker.getPopup().getContent();
            return {{text: box.textContent, bold: box.querySelectorAll('b b, b + b').length}};
        }})"""
    )
    assert any(HOSTILE in popup["text"] for popup in shown), shown
    _open_map(page, f"{live_url}/maps/finder.html?postcode=OX4+1AA")
    names = page.locator(".di-num .di-hidden").all_text_contents()
    assert any(HOSTILE in name for name in names), names
    assert page.locator("b", has_text=re.compile(r"^x$")).count() == 0
    page.goto(f"{live_url}/community?territory={TVP}", wait_until="load")
    map_frame(page)
    assert dialogs == []


def test_report_territory_map_uses_the_shapes(engine: Engine, world: World) -> None:
    with engine.connect() as conn:
        found = report.build(conn)
        fmap = report.territory_map(conn, found, TVP, mode="inline", tiles=None)
    assert "Gap index by need area (small areas)" in render.html_page(fmap)


def test_a_framed_map_layer_control_is_a_button_or_a_list(
    page: Page, live_url: str, world: World
) -> None:
    """In a page's frame the layer control is its button (never an empty box); on a whole
    wide window, its open list."""
    page.goto(f"{live_url}/territory/{TVP}", wait_until="load")
    frame = map_frame(page)
    assert frame.locator(".leaflet-control-layers-toggle").is_visible()
    _open_map(page, f"{live_url}/maps/territory/{TVP}.html")
    assert page.locator(".leaflet-control-layers-list").is_visible()
    assert "Place names" in page.locator(".leaflet-control-layers-list").inner_text()
