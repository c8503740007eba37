"""The whole chain, in the browser, each step by the person whose step it is, each in their
own browser: a provider registers an activity → the community team verifies it → a buyer
opens a tender → a supplier submits an SPO backing the activity (sealed: nothing of it on
any public page) → the buyer scores and awards it → the supplier reports a delivery → the
provider confirms it → the public register shows it, delivered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from tests.api.helpers import TVP, Accounts, World, close_bidding
from tests.web.conftest import DESKTOP, check_page, shoot, sign_in

ACTIVITY = "Rose Hill youth mentoring project"
PROMISE = "Mentors' time and a term of coached football kit, journey test 4471"


@pytest.fixture
def browsers(browser: Browser) -> Iterator[dict[str, Page]]:
    """One browser profile per person (their own cookies), and one for a visitor."""
    contexts = {who: browser.new_context(viewport=DESKTOP) for who in PEOPLE}
    yield {who: context.new_page() for who, context in contexts.items()}
    for context in contexts.values():
        context.close()


PEOPLE = ("provider", "team", "tvp_lead", "supplier_a", "visitor")


def _public_texts(page: Page, live_url: str) -> str:
    """Everything a visitor can read about Thames Valley: pages, map, register, feeds."""
    texts = []
    for path in (
        "/",
        f"/territory/{TVP}",
        f"/community?territory={TVP}",
        "/finder?postcode=OX4+1AA",
        f"/maps/territory/{TVP}.html",
        "/register",
        f"/coverage/areas?territory={TVP}&format=geojson",
    ):
        response = page.request.get(live_url + path)
        assert response.status == 200, path
        texts.append(response.text())
    return "\n".join(texts)


def test_the_whole_chain_from_registration_to_the_public_register(
    browsers: dict[str, Page],
    live_url: str,
    people: Accounts,
    world: World,
    engine: Engine,
    shots: Path,
) -> None:
    provider, team, buyer, supplier, visitor = (browsers[who] for who in PEOPLE)

    # 1. The provider registers its activity, with its funding gap.
    sign_in(provider, live_url, "provider")
    provider.fill("input[name=name]", ACTIVITY)
    provider.fill("input[name=postcode]", "OX4 1AA")
    provider.fill("input[name=funding_gap]", "9000")
    provider.click("form[action='/provider/activities'] button[type=submit]")
    assert "Registered" in provider.locator(".done").inner_text()
    activity = int(re.findall(r"/provider/activities/(\d+)", provider.url)[0])

    # 2. The community team of Thames Valley sees the rules' reasoning and verifies it.
    sign_in(team, live_url, "team")
    team.click(f"a:has-text('{ACTIVITY}')")
    assert "'youth' in name" in team.locator("#reasoning").inner_text()
    team.select_option("#verify select[name=evidence_level]", "2")
    team.fill("#verify textarea[name=links]", "https://example.org/rose-hill-report")
    team.click("#verify button[type=submit]")
    assert "at evidence level 2" in team.locator(".done").inner_text()

    # 3. The buyer opens a tender.
    sign_in(buyer, live_url, "tvp_lead")
    buyer.click("a:has-text('Open a new tender')")
    buyer.fill("input[name=title]", "Cowley custody suite cleaning")
    buyer.fill("input[name=contract_value_gbp]", "800000")
    buyer.fill("input[name=social_value_weighting_pct]", "10")
    buyer.select_option("select[name=territory_code]", TVP)
    buyer.check("input[name=outcomes][value=youth]")
    deadline = datetime.now(UTC) + timedelta(days=5)
    buyer.fill("input[name=bid_deadline]", deadline.strftime("%Y-%m-%dT%H:%M"))
    buyer.fill("input[name=contract_start]", (date.today() + timedelta(days=40)).isoformat())
    buyer.fill("textarea[name=delivery_postcodes]", "OX4 1YA")
    buyer.click("form[action='/buyer/tenders/new'] button[type=submit]")
    assert "Tender opened" in buyer.locator("p.done").inner_text()
    tender = int(buyer.url.rstrip("/").split("/")[-1])

    # 4. The supplier shortlists the activity, backs it in an SPO and submits it sealed.
    sign_in(supplier, live_url, "supplier_a")
    supplier.goto(f"{live_url}/supplier/finder")
    supplier.fill("#f-postcode", "OX4 1AA")
    supplier.click("#finder-form button[type=submit]")
    supplier.locator("#ranked li", has_text=ACTIVITY).locator("button").click()
    assert f"Shortlisted: {ACTIVITY}" in supplier.locator(".done").inner_text()
    supplier.goto(f"{live_url}/supplier")
    supplier.locator("#tenders tr", has_text="Cowley custody suite cleaning").locator(
        "button"
    ).click()
    supplier.wait_for_url(re.compile(r"/supplier/spos/\d+$"))
    spo = int(supplier.url.rsplit("/", 1)[1])
    supplier.select_option("#f-activity_id", str(activity))
    supplier.fill("#f-quantity", "3000")
    supplier.fill("#f-what", PROMISE)
    supplier.fill("#f-where", "Rose Hill community centre, Oxford")
    supplier.fill("#f-for_whom", "Young people aged 11-17 in Rose Hill")
    supplier.fill("#f-by_when", (date.today() + timedelta(days=200)).isoformat())
    supplier.wait_for_selector("#gap-now:has-text('£6,000 of £9,000 gap left')")
    supplier.click("#add-commitment button[type=submit]")
    assert "Commitment added" in supplier.locator(".done").inner_text()
    supplier.click("form[action$='/submit'] button")
    assert supplier.locator("#spo-state").inner_text().startswith("Submitted")

    # Sealed: the buyer sees one bid in, nothing of it; no visitor sees anything of it.
    buyer.reload()
    assert "1 bid in" in buyer.locator("#bids-in").inner_text()
    assert PROMISE not in buyer.content()
    assert PROMISE not in _public_texts(visitor, live_url)

    # 5. Bidding closes (the deadline passes); the buyer scores and awards.
    close_bidding(engine, tender)
    buyer.goto(f"{live_url}/buyer/tenders/{tender}")
    assert PROMISE in buyer.locator("#side-by-side").inner_text()
    buyer.click('button:has-text("Score Acme Facilities Ltd\'s bid")')
    assert "Bid scored" in buyer.locator("p.done").inner_text()
    buyer.click("button:has-text('Award to Acme Facilities Ltd')")
    assert "Awarded" in buyer.locator("p.done").inner_text()

    # 6. The supplier reports a delivery.
    supplier.goto(f"{live_url}/supplier/spos/{spo}")
    supplier.click("details.claim-form summary")
    form = supplier.locator("details.claim-form form")
    form.locator("input[name=money]").fill("1200")
    form.locator("input[name=people]").fill("18")
    form.locator("textarea[name=note]").fill("First term's mentoring paid for")
    form.locator("button").click()
    assert "Waiting for the provider to confirm" in supplier.locator(".claim-state").inner_text()

    # 7. The provider sees who backs the activity and confirms the delivery.
    provider.goto(f"{live_url}/provider/activities/{activity}")
    backed = provider.locator("section[aria-labelledby=backed-h]").inner_text()
    assert "Thames Valley Police" in backed and "Acme Facilities Ltd" in backed
    provider.locator("button:has-text('Confirm it happened')").click()
    assert "confirmed" in provider.locator(".done").inner_text()

    # 8. The public register shows the SPO, and its delivery, to anyone.
    visitor.goto(f"{live_url}/territory/{TVP}")
    register = visitor.locator("#register").inner_text()
    assert "Acme Facilities Ltd" in register and "Cowley custody suite cleaning" in register
    assert "£1,200" in register
    (entry,) = [
        e
        for e in httpx.get(live_url + "/register", timeout=30).json()["spos"]
        if e["spo_id"] == spo
    ]
    assert entry["delivered_gbp"] == 1_200 and entry["status"] in ("awarded", "delivering")
    check_page(visitor)
    shoot(visitor, shots, "journey-register-1366")
    with engine.connect() as conn:
        events = (
            conn.execute(
                text("SELECT action FROM audit_event WHERE spo_id = :spo ORDER BY seq"),
                {"spo": spo},
            )
            .scalars()
            .all()
        )
    assert events[0] == "drafted" and "awarded" in " ".join(events)
