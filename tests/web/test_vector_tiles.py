"""The vector-tile map page (/ogc/map) in a real browser: tiles come from the OGC API as
Mapbox Vector Tiles, something is drawn, the page is accessible and fits a phone, and a
hostile name inside a tile stays data."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Dialog, Page, Response
from sqlalchemy import Engine, text

from tests.api.helpers import World
from tests.web.conftest import check_page, shoot

MVT = "application/vnd.mapbox-vector-tile"
HOSTILE = '</script><script>alert(1)</script> "><img src=x onerror=alert(2)> ${alert(3)}'

# How many of the map's tile canvases have at least one painted pixel.
PAINTED = """() => Array.from(document.querySelectorAll('#tile-map canvas')).filter(c => {
    if (!c.width || !c.height) return false;
    const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) return true; }
    return false;
}).length"""


def _open(page: Page, url: str) -> list[Response]:
    tiles: list[Response] = []
    page.on("response", lambda r: tiles.append(r) if "/tiles/WebMercatorQuad/" in r.url else None)
    page.goto(url, wait_until="networkidle")
    page.wait_for_function(PAINTED.replace("() =>", "() => (") + ") > 0", timeout=30_000)
    return tiles


def test_the_map_draws_vector_tiles_from_the_ogc_api(
    page: Page, live_url: str, world: World, shots: Path
) -> None:
    tiles = _open(page, f"{live_url}/ogc/map")
    assert tiles, "no tile was requested"
    for response in tiles:
        assert response.status == 200, response.url
        assert response.headers["content-type"] == MVT
    assert {r.url.split("/collections/")[1].split("/")[0] for r in tiles} >= {
        "coverage_hexagons",
        "territories",
    }
    assert page.evaluate(PAINTED) > 0
    shoot(page, shots, "vector-tiles-uk")
    check_page(page)


def test_the_map_fits_a_phone(phone: Page, live_url: str, world: World, shots: Path) -> None:
    _open(phone, f"{live_url}/ogc/map")
    assert phone.locator(".leaflet-control-layers").get_attribute("class") is not None
    assert "leaflet-control-layers-expanded" not in (
        phone.locator(".leaflet-control-layers").get_attribute("class") or ""
    )
    shoot(phone, shots, "vector-tiles-phone")
    check_page(phone)


def test_a_hostile_name_in_a_tile_runs_nothing(
    page: Page, live_url: str, engine: Engine, world: World, shots: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE activity SET name = :name WHERE id = :id"),
            {"name": f"Youth club {HOSTILE}", "id": world.youth_club},
        )
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    tiles = _open(page, f"{live_url}/ogc/map#12/51.7520/-1.2577")  # Oxford, close in
    assert any("/activities/tiles/" in r.url and r.status == 200 for r in tiles)
    assert dialogs == []
    assert page.locator("#main img").count() == 0
    shoot(page, shots, "vector-tiles-oxford")
