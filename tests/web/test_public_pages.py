"""The public pages, signed out and signed in, at 1366 px and on a 390 px phone: no
serious or critical accessibility violation, nothing scrolls sideways, and the navigation
fits the person."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.api.helpers import Accounts, World
from tests.web.conftest import check_page, shoot, sign_in

PUBLIC = {
    "home": "/",
    "territory": "/territory/E23000029",
    "finder": "/finder?postcode=OX4+1AA",
    "community": "/community?territory=E23000029",
    "sign-in": "/sign-in",
    "api-docs": "/docs",
    "not-found": "/no/such/page",
}


@pytest.mark.parametrize("name", PUBLIC)
def test_public_pages_are_accessible_and_fit_a_phone(
    name: str, page: Page, phone: Page, live_url: str, world: World, shots: Path
) -> None:
    for viewer, width in ((page, 1366), (phone, 390)):
        response = viewer.goto(live_url + PUBLIC[name], wait_until="load")
        assert response is not None and response.status == (404 if name == "not-found" else 200)
        if name == "api-docs":  # Swagger UI draws the reference after loading
            viewer.wait_for_selector(".opblock", timeout=30_000)
        check_page(viewer)
        shoot(viewer, shots, f"public-{name}-{width}")


def test_navigation_follows_the_role(
    page: Page, live_url: str, people: Accounts, world: World
) -> None:
    page.goto(live_url + "/")
    nav = page.locator("nav").inner_text()
    assert "My activities" not in nav and "Tenders" not in nav
    sign_in(page, live_url, "provider")
    page.goto(live_url + "/")
    nav = page.locator("nav").inner_text()
    assert "My activities" in nav and "Tenders" not in nav and "Review queue" not in nav
    assert "Oxford Youth Trust" in page.locator("header").inner_text()


def test_unknown_records_get_a_page(page: Page, live_url: str, world: World) -> None:
    response = page.goto(live_url + "/territory/E99999999")
    assert response is not None and response.status == 404
    assert page.locator("h1").count() == 1
    assert "{" not in page.locator("main").inner_text()  # a page, not JSON
