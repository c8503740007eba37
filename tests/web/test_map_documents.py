"""The map documents people look at through the pages' frames (issue 14): named and in
English, zoomable with two fingers, a popup at the first click, a layer control that
leaves a phone's map visible, tooltips in plain words, no missing file, a favicon, a way
from the UK map to a territory's page, amounts of money that read right, and the
community page's answer to an unknown territory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response

from maps.render import money
from tests.api.helpers import World
from tests.web.conftest import check_page, map_frame, shoot

TVP = "E23000029"
DOCUMENTS = {
    "/maps/uk.html": "Map: the 45 territories",
    f"/maps/territory/{TVP}.html": "Map: Thames Valley",
    "/maps/finder.html?postcode=OX4+1AA": "Map: activities recommended near",
}
# The document's Leaflet map and its activities' marker cluster group, found among the
# globals folium declares.
FIND_MAP = "() => Object.values(window).find(v => v instanceof L.Map)"
FIND_CLUSTER = "() => Object.values(window).find(v => v instanceof L.MarkerClusterGroup)"


def test_map_documents_are_named_and_in_english(page: Page, live_url: str, world: World) -> None:
    for path, title in DOCUMENTS.items():
        response = page.goto(live_url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        assert page.title().startswith(title), (path, page.title())
        assert page.evaluate("() => document.documentElement.lang") == "en-GB"


def test_map_documents_let_people_pinch_to_zoom(page: Page, live_url: str, world: World) -> None:
    for path in DOCUMENTS:
        page.goto(live_url + path, wait_until="load")
        viewports = page.locator("meta[name=viewport]")
        assert viewports.count() == 1, path
        content = viewports.get_attribute("content") or ""
        assert "maximum-scale" not in content and "user-scalable" not in content, content


def test_the_first_click_on_an_activity_opens_its_popup(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(live_url + f"/territory/{TVP}", wait_until="load")
    frame = map_frame(page)
    # Zoom to the first activity until it is drawn on its own, with the frame only partly
    # in view (the bottom of the map below the window), as when someone scrolls to it.
    frame.evaluate(
        f"""() => {{
            const map = ({FIND_MAP})();
            const cluster = ({FIND_CLUSTER})();
            map.setView(cluster.getLayers()[0].getLatLng(), 17, {{animate: false}});
        }}"""
    )
    frame.wait_for_timeout(500)
    marker = frame.evaluate(
        f"""() => {{
            const map = ({FIND_MAP})();
            const cluster = ({FIND_CLUSTER})();
            const shown = cluster.getLayers().find(m => map.hasLayer(m));
            const point = map.latLngToContainerPoint(shown.getLatLng());
            return {{x: point.x, y: point.y}};
        }}"""
    )
    box = page.locator("iframe.map").bounding_box()
    assert box is not None
    viewport = page.viewport_size
    assert viewport is not None
    page.evaluate(
        "([top, y]) => window.scrollBy(0, top - y)",
        [box["y"], viewport["height"] - marker["y"] - 40],
    )
    box = page.locator("iframe.map").bounding_box()
    assert box is not None
    scrolled = page.evaluate("() => window.scrollY")
    page.mouse.click(box["x"] + marker["x"], box["y"] + marker["y"])
    frame.wait_for_selector(".leaflet-popup", timeout=5_000)
    assert "Verification:" in frame.locator(".leaflet-popup").inner_text()
    assert page.evaluate("() => window.scrollY") == scrolled  # the page did not jump
    shoot(page, shots, "map-first-click")


def test_the_layer_control_is_collapsed_on_a_phone(
    phone: Page, live_url: str, world: World, shots: Path
) -> None:
    for path in ("/", f"/territory/{TVP}"):
        phone.goto(live_url + path, wait_until="load")
        frame = map_frame(phone)
        control = frame.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
        assert not frame.locator(".leaflet-control-layers-list").is_visible()
        assert frame.locator(".leaflet-control-layers-toggle").is_visible()
        check_page(phone)
        shoot(phone, shots, f"map-phone-{path.strip('/').replace('/', '-') or 'home'}")


def test_hexagon_tooltips_are_in_plain_words(page: Page, live_url: str, world: World) -> None:
    # Scotland's need areas have no shapes, so its map draws them on hexagons.
    page.goto(live_url + "/maps/territory/S23000009.html", wait_until="load")
    page.wait_for_selector(".leaflet-control-layers", state="attached")
    text = page.evaluate(
        f"""() => {{
            const map = ({FIND_MAP})();
            let found = null;
            map.eachLayer(layer => {{
                const first = layer.getLayers && layer.getTooltip() && layer.getLayers()[0];
                if (!found && first && first.feature.properties.gap_index !== undefined) {{
                    found = layer;
                }}
            }});
            found.openTooltip();
            return document.querySelector('.leaflet-tooltip').innerText;
        }}"""
    )
    assert re.search(r"^Gap \d\.\d\d \(0 = fully served", text), text
    assert "people" in text and "need area" in text, text
    assert not re.search(r"gap_index|need_areas|population", text), text


def test_the_maps_load_every_file_they_ask_for(page: Page, live_url: str, world: World) -> None:
    asked: list[str] = []
    failed: list[str] = []

    def watch(response: Response) -> None:
        asked.append(response.url)
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", watch)
    for path in (f"/territory/{TVP}", "/finder?postcode=OX4+1AA"):
        page.goto(live_url + path, wait_until="load")
        frame = map_frame(page)
        frame.wait_for_selector(".leaflet-marker-icon", state="attached")
        page.wait_for_load_state("networkidle")
    # The finder's site marker starts as Leaflet's default icon, which needs its images.
    assert any(url.endswith("/images/marker-icon.png") for url in asked)
    assert failed == []


def test_the_site_has_a_favicon(page: Page, live_url: str) -> None:
    response = page.request.get(live_url + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/")
    assert len(response.body()) > 0


def test_a_territory_on_the_uk_map_leads_to_its_page(
    page: Page, live_url: str, world: World
) -> None:
    page.goto(live_url + "/", wait_until="load")
    frame = map_frame(page)
    frame.evaluate(
        f"""() => {{
            const map = ({FIND_MAP})();
            let found = null;
            map.eachLayer(layer => {{
                const p = layer.feature && layer.feature.properties;
                if (!found && p && p.code === "{TVP}") found = layer;
            }});
            found.fire("click", {{latlng: found.getBounds().getCenter()}}, true);
        }}"""
    )
    link = frame.locator(".leaflet-popup a", has_text="Open Thames Valley")
    assert link.get_attribute("target") == "_top"
    link.click()
    page.wait_for_url(f"**/territory/{TVP}")
    assert page.locator("h1").inner_text().startswith("Thames Valley")


def test_the_community_page_answers_an_unknown_territory_with_a_page(
    page: Page, live_url: str, world: World
) -> None:
    for territory, status in (("E99999999", 404), ("not-a-code", 422)):
        response = page.goto(live_url + f"/community?territory={territory}", wait_until="load")
        assert response is not None and response.status == status
        assert response.headers["content-type"].startswith("text/html")
        assert page.locator("h1").count() == 1
        assert "territory" in page.locator(".error").inner_text()
        assert page.locator("select[name=territory] option").count() == 45
        assert "{" not in page.locator("main").inner_text()  # a page, not JSON
        check_page(page)
    page.goto(live_url + "/community?territory=e23000029", wait_until="load")
    assert page.locator("#underserved tbody tr").count() == 25


@pytest.mark.parametrize(
    ("pounds", "words"),
    [
        (0, "£0"),
        (999, "£999"),
        (9_999, "£9,999"),
        (999_999, "£999,999"),
        (1_000_000, "£1,000,000"),
        (12_345_678, "£12,345,678"),
        (None, "not known"),
        (float("nan"), "not known"),
    ],
)
def test_money_reads_as_written(pounds: float | None, words: str) -> None:
    assert money(pounds) == words
