"""Stored XSS and the security headers (issue 11, finding 1).

Activities, providers, suppliers and supplier sites are given hostile names; every page
and map document is loaded in a real Chromium (the system's /usr/bin/chromium, driven by
Playwright) and every tooltip and popup of every map layer is drawn: no dialog may fire,
no script may error, the browser may report no Content-Security-Policy violation, and the
hostile name must read as plain text. The headers are checked on pages, maps, /docs, JSON
and errors, and /docs must draw Swagger UI with no request leaving the machine.
Screenshots (1366 px and 390 px wide) go to $DUALIMPACT_SCREENSHOTS (default: pytest's
temporary folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Frame, Page, Route
from sqlalchemy import Engine, text

from maps import render
from tests.api import test_browser
from tests.api.helpers import (
    TVP,
    Accounts,
    World,
    close_bidding,
    commitment,
    set_ineligible,
    tender_body,
)

# The page tests' Chromium and screenshot folder.
browser, shots = test_browser.browser, test_browser.shots
WIDTHS = (1366, 390)

# One payload for each context a name can land in: a JavaScript template literal (`${`),
# the literal's end (a backtick), a <script> element, an HTML attribute and element.
PAYLOADS = (
    "X ${alert(document.domain)}",
    "B `+alert(2)+` \\`-alert(3)-\\`",
    "</script><script>alert(4)</script>",
    '"><img src=x onerror=alert(5)>',
    "{{ 7 * 7 }} {% raw %}",
)
HOSTILE = " ".join(PAYLOADS)


@dataclass(frozen=True)
class Names:
    activity: str  # an open TVP activity, backed by an awarded SPO
    other_activity: str  # another open TVP activity, at risk
    provider: str
    supplier: str
    site: str


NAMES = Names(
    activity=f"Youth club {HOSTILE}",
    other_activity=f"Food bank {HOSTILE}",
    provider=f"Trust {HOSTILE}",
    supplier=f"Acme {HOSTILE}",
    site=f"Depot {HOSTILE}",
)


@pytest.fixture
def hostile(engine: Engine, accounts: Accounts, world: World, client: TestClient) -> Names:
    """The world, renamed by an attacker, with an SPO awarded to the hostile supplier."""
    orgs = accounts.organisations
    with engine.begin() as conn:
        for activity, name in (
            (world.youth_club, NAMES.activity),
            (world.food_bank, NAMES.other_activity),
        ):
            conn.execute(
                text("UPDATE activity SET name = :name, name_key = :key WHERE id = :id"),
                {"name": name, "key": name.lower(), "id": activity},
            )
        conn.execute(
            text(
                "UPDATE activity SET status = 'at_risk', closing_date = current_date + 30 "
                "WHERE id = :id"
            ),
            {"id": world.food_bank},
        )
        for persona, name in (("provider", NAMES.provider), ("supplier_a", NAMES.supplier)):
            conn.execute(
                text("UPDATE organisation SET name = :name WHERE id = :id"),
                {"name": name, "id": orgs[persona]},
            )
        conn.execute(text("DELETE FROM supplier_site WHERE source = 'test-xss'"))
        conn.execute(
            text(
                """
                INSERT INTO supplier_site (source_key, source, supplier_id, name, geom,
                    location_precision, territory_id)
                SELECT 'test-xss:depot', 'test-xss', :org, :name,
                       ST_SetSRID(ST_MakePoint(-1.2299, 51.7437), 4326), 'postcode', t.id
                FROM territory t WHERE t.code = :territory
                """
            ),
            {"org": orgs["supplier_a"], "name": NAMES.site, "territory": TVP},
        )
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    body = {"summary": "Cleaning", "commitments": [commitment(world.youth_club, 3_000)]}
    spo = client.post(f"/tenders/{tender}/spos", json=body, headers=supplier).json()["id"]
    for step, who in (("submit", supplier), ("score", lead), ("award", lead)):
        if step == "score":
            close_bidding(client, tender)  # bids are sealed until the deadline
        response = client.post(f"/spos/{spo}/{step}", json={}, headers=who)
        assert response.status_code == 200, response.text
    return NAMES


# --- the escaping helper --------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_text_leaves_nothing_that_could_end_a_context(payload: str) -> None:
    escaped = render.safe_text(payload + "\n\r\u2028\u2029'\\")
    for dangerous in "<>\"'`${}\\\n\r\u2028\u2029":
        assert dangerous not in escaped, (dangerous, escaped)


# --- headers --------------------------------------------------------------------------

PAGES = ("/", f"/territory/{TVP}", "/finder?postcode=OX4%201AA", f"/community?territory={TVP}")
MAPS = ("/maps/uk.html", f"/maps/territory/{TVP}.html", "/maps/finder.html?postcode=OX4%201AA")


def _policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize(
    "path",
    [
        *PAGES,
        *MAPS,
        "/docs",
        "/openapi.json",
        "/health",
        "/territories",
        "/activities/999999999",  # a JSON error
        "/territory/E23999999",  # an HTML error
        "/static/site.css",
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, hostile: Names, path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (200, 404), (path, response.text[:300])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    policy = _policy(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]  # pages frame their own maps, no one else
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        sources = policy[directive]
        assert "'self'" in sources
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:"} & set(sources)
        assert all(s == "'self'" or s.startswith("'sha256-") for s in sources), sources
    if path.startswith("/maps/"):  # the map's own inline script, by its hash
        assert any(s.startswith("'sha256-") for s in policy["script-src"])


def test_the_docs_use_no_content_delivery_network(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page and "https://" not in page
    assert "/static/vendor/swagger-ui-dist-" in page
    assert client.get("/redoc").status_code == 404  # no second copy of the docs from a CDN


# --- in the browser -------------------------------------------------------------------


@dataclass
class Watch:
    """What a page did that it should not have: dialogs, script errors, CSP violations and
    requests that left the machine."""

    dialogs: list[str]
    errors: list[str]
    violations: list[str]
    outside: list[str]

    def assert_clean(self) -> None:
        assert self.dialogs == [], self.dialogs
        assert self.errors == [], self.errors
        assert self.violations == [], self.violations
        assert self.outside == [], self.outside


def _open(browser: Browser, width: int = WIDTHS[0]) -> tuple[Page, Watch]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    watch = Watch([], [], [], [])

    def on_dialog(dialog: object) -> None:
        watch.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def on_request(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # the pages must draw offline: nothing may be fetched from elsewhere
            watch.outside.append(route.request.url)
            route.abort()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            watch.violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.route("**/*", on_request)
    return page, watch


# Draw every tooltip and popup bound to any Leaflet layer of the map (folium keeps each
# layer in a global), as Leaflet does when one opens: strings as HTML, elements as they
# are, functions (GeoJSON tooltips) called with each feature's layer. Returns their text.
DRAW_EVERY_LABEL = """
() => {
    const texts = [];
    const box = document.createElement('div');
    document.body.appendChild(box);
    const draw = (content) => {
        const div = document.createElement('div');
        if (typeof content === 'string') div.innerHTML = content;
        else if (content) div.appendChild(content);
        box.appendChild(div);
        texts.push(div.textContent.replace(/\\s+/g, ' ').trim());
    };
    const seen = new Set();
    const visit = (layer) => {
        if (seen.has(layer)) return;
        seen.add(layer);
        const children = layer.getLayers ? layer.getLayers() : [];
        for (const bound of [layer.getTooltip && layer.getTooltip(),
                             layer.getPopup && layer.getPopup()]) {
            if (!bound) continue;
            const content = bound.getContent();
            if (typeof content === 'function') {
                children.filter((c) => c.feature).forEach((c) => draw(content(c)));
            } else {
                draw(content);
            }
        }
        children.forEach(visit);
    };
    Object.values(window).forEach((v) => { if (v instanceof L.Layer) visit(v); });
    return texts;
}
"""


def _labels(frame: Frame | Page) -> list[str]:
    frame.wait_for_selector(".leaflet-control-layers-overlays", state="attached", timeout=30_000)
    labels: list[str] = frame.evaluate(DRAW_EVERY_LABEL)
    frame.wait_for_timeout(300)  # let any injected image fail and its handler run
    return labels


def _map_frame(page: Page) -> Frame:
    page.wait_for_selector("iframe.map")
    return next(f for f in page.frames if "/maps/" in f.url)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/maps/territory/{TVP}.html", ("activity", "other_activity", "provider", "supplier")),
        ("/maps/finder.html?postcode=OX4%201AA", ("activity",)),
        ("/maps/uk.html", ()),
    ],
)
def test_hostile_names_on_a_map_are_text(
    browser: Browser, live_url: str, hostile: Names, path: str, expected: tuple[str, ...]
) -> None:
    page, watch = _open(browser)
    page.goto(live_url + path, wait_until="load")
    labels = _labels(page)
    assert labels, "no tooltip or popup was drawn"
    for field in expected:
        name = getattr(hostile, field)
        assert any(name in label for label in labels), (field, labels[:5])
    if "territory" in path:
        assert any(f"{hostile.supplier}: {hostile.site}" in label for label in labels)
        assert any(
            f"{hostile.supplier} → {hostile.activity}: £3,000 committed" in label
            for label in labels
        )
    page.close()
    watch.assert_clean()


def test_a_hostile_eligibility_reason_is_text_on_maps_and_pages(
    browser: Browser, live_url: str, hostile: Names, world: World, engine: Engine
) -> None:
    """A reason recorded by a person (an eligibility decision) is shown on the maps that
    include every activity: it is text too."""
    reason = f"Not a programme {HOSTILE}"
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, reason)
    page, watch = _open(browser)
    page.goto(f"{live_url}/maps/territory/{TVP}.html?include=all", wait_until="load")
    assert any(f"not eligible: {reason}" in label for label in _labels(page))
    page.close()
    watch.assert_clean()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/territory/{TVP}", ("activity", "supplier")),  # the register
        ("/finder?postcode=OX4%201AA", ("activity", "other_activity")),
        (f"/community?territory={TVP}", ()),
        ("/", ()),
    ],
)
def test_pages_with_hostile_names_run_no_script_and_break_no_policy(
    browser: Browser,
    live_url: str,
    hostile: Names,
    shots: Path,
    path: str,
    expected: tuple[str, ...],
) -> None:
    for width in WIDTHS:
        page, watch = _open(browser, width)
        page.goto(live_url + path, wait_until="load")
        body = page.locator("main").inner_text()
        for field in expected:
            assert getattr(hostile, field) in body, field
        if not path.startswith("/community"):  # every other page frames a map
            _labels(_map_frame(page))
        name = urlsplit(path).path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=shots / f"xss-{name}-{width}.png", full_page=True)
        page.close()
        watch.assert_clean()


def test_the_docs_draw_swagger_ui_offline(browser: Browser, live_url: str, shots: Path) -> None:
    page, watch = _open(browser)
    page.goto(live_url + "/docs", wait_until="load")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Dual Impact API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 10
    page.screenshot(path=shots / "xss-docs-1366.png")
    page.close()
    watch.assert_clean()
