"""The territory report page (issue 14, part 6) in a real Chromium: reached from the
territory page, accessible at 1366 px and on a 390 px phone with nothing scrolling
sideways, its own stylesheet allowed by the Content-Security-Policy, hostile names shown
as text, and no navigation on paper."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.api.conftest import client  # noqa: F401
from tests.api.helpers import TVP
from tests.test_board_report import HOSTILE, awarded  # noqa: F401
from tests.web.conftest import check_page, shoot

REPORT = f"/territory/{TVP}/report"
pytestmark = pytest.mark.usefixtures("awarded")  # hostile names, a sealed bid


def _watch(viewer: Page) -> tuple[list[str], list[str]]:
    """Console errors (a blocked stylesheet is one) and dialogs the page opens."""
    errors: list[str] = []
    dialogs: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    viewer.on("console", on_console)
    viewer.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return errors, dialogs


def test_the_report_is_accessible_on_a_desk_and_a_phone(
    page: Page,
    phone: Page,
    live_url: str,
    shots: Path,
) -> None:
    for viewer, width in ((page, 1366), (phone, 390)):
        errors, dialogs = _watch(viewer)
        response = viewer.goto(live_url + REPORT, wait_until="load")
        assert response is not None and response.status == 200
        check_page(viewer)
        shoot(viewer, shots, f"territory-report-{width}")
        assert errors == [] and dialogs == []  # the inline stylesheet is allowed by hash
        # Styled (the stylesheet ran): the figures are a grid, the map has its frame.
        assert viewer.locator(".figures").evaluate("e => getComputedStyle(e).display") == "grid"
        assert viewer.locator("svg.gap-map path.area").count() >= 1
        assert viewer.get_by_role("img", name="Gap map of Thames Valley").is_visible()
        assert viewer.get_by_text(f"Acme {HOSTILE}").count() == 1  # a name, as text
        assert "Beta Construction" not in viewer.content()  # a sealed bid's supplier


def test_the_territory_page_links_to_its_report_and_paper_has_no_navigation(
    page: Page,
    live_url: str,
) -> None:
    page.goto(live_url + f"/territory/{TVP}")
    page.get_by_role("link", name="printable report for the board").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(REPORT)
    assert page.locator("h1").inner_text() == "Thames Valley"
    assert page.get_by_role("navigation").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation").is_visible()


def test_a_lower_case_code_works_and_an_unknown_one_gets_a_page(
    page: Page,
    live_url: str,
) -> None:
    response = page.goto(live_url + REPORT.lower())
    assert response is not None and response.status == 200
    response = page.goto(live_url + "/territory/E23999999/report")
    assert response is not None and response.status == 404
    assert "No such territory" in page.locator("h1").inner_text()
