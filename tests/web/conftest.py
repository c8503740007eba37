"""The web app in a real browser: headless Chromium (the system's /usr/bin/chromium, driven
by Playwright) against a live uvicorn serving the app over the test database, with the
API tests' cast (``tests.api.conftest``) plus a community team.

Helpers every web test uses: :func:`sign_in`, :func:`check_page` (axe-core finds no
serious or critical violation, nothing scrolls sideways, no script error) and
:func:`shoot` (screenshots to $DUALIMPACT_SCREENSHOTS, default pytest's temporary folder,
to be looked at).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    ViewportSize,
    sync_playwright,
)
from sqlalchemy import Engine

from accounts.users import create_organisation, create_user
from maps import assets
from tests.api.conftest import ACTIVITIES, CAST, accounts, app, live_url, world  # noqa: F401
from tests.api.helpers import PASSWORD, TVP, Accounts

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP: ViewportSize = {"width": 1366, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
AXE_URL = assets.served_url(assets.AXE, "axe.min.js")

# The community team of Thames Valley (test data, not a real organisation).
TEAM = ("Oxfordshire Community Foundation", "community", None, (TVP,), "community")


@pytest.fixture(scope="module")
def people(engine: Engine, accounts: Accounts) -> Accounts:  # noqa: F811
    """The API tests' cast and a community team for Thames Valley (persona ``team``)."""
    org, kind, buyer_kind, territories, role = TEAM
    with engine.begin() as conn:
        organisation = create_organisation(
            conn, kind, org, buyer_kind=buyer_kind, territories=territories
        )
        user = create_user(conn, "team@example.org", "team", PASSWORD, organisation, role)
    return Accounts(
        {**accounts.users, "team": user}, {**accounts.organisations, "team": organisation}
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` as root (installs chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _watched(context: BrowserContext) -> tuple[Page, list[str]]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    return opened, errors


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (its own cookies) at 1366 px."""
    opened = browser.new_context(viewport=DESKTOP)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page at 1366 px in its own profile; fails the test on any script error."""
    opened, errors = _watched(context)
    yield opened
    assert errors == [], errors


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page at 390 px (a phone) in its own profile."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    opened, errors = _watched(context)
    yield opened
    context.close()
    assert errors == [], errors


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser (its own profile and cookies), at 1366 px."""
    context = browser.new_context(viewport=DESKTOP)
    opened, errors = _watched(context)
    yield opened
    context.close()
    assert errors == [], errors


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("DUALIMPACT_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Page, base_url: str, persona: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page as ``persona`` (their email is
    ``<persona>@example.org``) and wait for their start page."""
    page.goto(base_url + "/sign-in", wait_until="load")
    page.fill("input[name=email]", f"{persona}@example.org")
    page.fill("input[name=password]", password)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state("load")
    assert "/sign-in" not in page.url, page.locator(".error").all_inner_texts()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ['violations']});
            return results.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 3).map(n => n.html)}));
        }"""
    )
    return found


def sideways_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits its width)."""
    overflow: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def check_page(page: Page) -> None:
    """The page as it is now: no serious or critical accessibility violation (axe-core),
    and nothing wider than the window."""
    assert axe_violations(page) == []
    assert sideways_overflow(page) <= 0, f"{page.url} scrolls {sideways_overflow(page)} px sideways"


def shoot(page: Page, shots: Path, name: str) -> None:
    """A full-page screenshot, ``<name>.png``, to be looked at."""
    page.screenshot(path=shots / f"{name}.png", full_page=True)


def csrf_of(page: Page) -> str:
    """The CSRF token of the page's forms (for tests that forge or replay a request)."""
    token: str = page.locator("input[name=csrftoken]").first.get_attribute("value") or ""
    return token


def map_frame(page: Page) -> Frame:
    """The page's map document, once Leaflet has drawn it."""
    handle = page.locator("iframe.map").element_handle(timeout=20_000)
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-control-layers", state="attached", timeout=30_000)
    return frame
