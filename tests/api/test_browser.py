"""The pages in a real browser: headless Chromium (the system's /usr/bin/chromium, driven
by Playwright) against the live app and the test database. Screenshots are written to
$DUALIMPACT_SCREENSHOTS (default: pytest's temporary folder) to be looked at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.api.helpers import World
from tests.web.conftest import browser  # noqa: F401 (the one Chromium fixture)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811 (the fixture, by name)
    opened = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    opened.close()
    assert errors == [], errors  # no script error on any page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("DUALIMPACT_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _layers(page: Page) -> list[str]:
    """The overlay names in the map's layer control (inside the page's map frame; the
    control is collapsed to its button on narrow screens)."""
    frame = page.frame_locator("iframe.map")
    frame.locator(".leaflet-control-layers-overlays").wait_for(state="attached", timeout=20_000)
    return [
        text.strip()
        for text in frame.locator(".leaflet-control-layers-overlays label").all_text_contents()
    ]


def test_home_shows_the_uk_map_and_the_territory_table(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(live_url + "/", wait_until="load")
    assert _layers(page) == [
        "Gap index by territory",
        "Most deprived within reach of a backed activity",
        "Place names",
    ]
    assert page.locator("#territories tbody tr").count() == 45
    frame = page.frame_locator("iframe.map")
    assert "Open Government Licence" in frame.locator(".di-attribution").inner_text()
    assert frame.locator(".leaflet-control-scale").count() == 1
    page.screenshot(path=shots / "home.png", full_page=True)


def test_territory_page_has_every_layer_and_the_register(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(live_url + "/territory/E23000029", wait_until="load")
    assert _layers(page) == [
        "Territory boundary",
        "Gap index by need area (small areas)",
        "Activities (by theme)",
        "Safeguarded services (area only)",
        "Supplier sites",
        "Activity density (H3; fewer than 3 not shown)",
        "Awarded SPOs (site → activity)",
        "Place names",
    ]
    frame = page.frame_locator("iframe.map")
    assert frame.locator(".marker-cluster, .leaflet-interactive").count() > 0
    assert page.locator("#underserved tbody tr").count() == 15
    assert page.locator("#register").count() == 1
    assert "are eligible dual-impact activities" in page.locator("#trust").inner_text()
    page.screenshot(path=shots / "territory.png", full_page=True)
    page.click("#include-note a")  # every listed activity, map included
    page.wait_for_selector("text=Show trusted activities only")
    assert "include=all" in page.url
    assert "include=all" in (page.locator("iframe.map").get_attribute("src") or "")
    assert "Activities (by theme)" in _layers(page)


def test_the_supplier_finder_ranks_activities_for_a_postcode(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(live_url + "/finder", wait_until="load")
    page.fill("input[name=postcode]", "ox4 1aa")
    page.select_option("select[name=outcome]", "youth")
    page.click("button[type=submit]")
    page.wait_for_selector("#ranked tbody tr")
    assert _layers(page) == ["Recommended activities"]
    rows = page.locator("#ranked tbody tr").all_inner_texts()
    assert "Cowley youth football" in rows[0]
    assert "matches youth" in rows[0]
    assert "Listed from open data" in rows[0] and "eligible: Youth diversion" in rows[0]
    page.screenshot(path=shots / "finder.png", full_page=True)

    page.fill("input[name=postcode]", "ZZ99 9ZZ")
    page.click("button[type=submit]")
    assert "postcode" in page.locator(".error").inner_text()


def test_the_community_page_lists_gaps_and_exports_them(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    page.goto(live_url + "/community", wait_until="load")
    page.select_option("select[name=territory]", "E23000029")
    page.click("button:text-is('Show')")
    page.wait_for_selector("#underserved tbody tr")
    assert page.locator("#underserved tbody tr").count() == 25
    with page.expect_download() as download:
        page.click("#csv-areas")
    assert download.value.suggested_filename == "coverage-E23000029.csv"
    page.screenshot(path=shots / "community.png", full_page=True)
