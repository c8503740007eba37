"""The buyer's pages in the browser: opening a tender (the PPN 002 minimum weighting
refused with the input kept), bids sealed until the deadline (a count, never their
content), the side-by-side comparison with the standard rubric, scoring, award (a
procurement lead only), the delivery map and timeline with sign-off, the KPI download;
another buyer refused; nothing of a bid before award on any public page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import Engine

from accounts.users import User, get_user
from boundaries.gazetteer import gazetteer_for
from geo.geocode import Geocoder
from procurement import delivery, spo_queries, spos, tenders
from procurement.visibility import Viewer
from tests.api.helpers import TVP, Accounts, World, close_bidding
from tests.web.conftest import check_page, csrf_of, shoot, sign_in

HOSTILE = "</script><b>x</b> ${alert(1)}"
SECRET = "SEALED-BID-TEXT-7731"


def _person(engine: Engine, people: Accounts, persona: str) -> User:
    with engine.connect() as conn:
        return get_user(conn, people.users[persona])


def _tender(engine: Engine, people: Accounts, title: str = "Custody cleaning") -> int:
    """A tender of Thames Valley Police, opened through the domain as its lead."""
    lead = _person(engine, people, "tvp_lead")
    spec = tenders.TenderSpec(
        title=title,
        territory_code=TVP,
        contract_value_gbp=500_000,
        social_value_weighting_pct=15,
        outcomes=["youth"],
        bid_deadline=datetime.now(UTC) + timedelta(days=3),
        contract_start=date.today() + timedelta(days=30),
        delivery_postcodes=["OX4 1YA"],
    )
    with engine.begin() as conn:
        return tenders.open_tender(
            conn, lead, spec, Geocoder(gazetteer_for(conn, ["OX4 1YA"]), None)
        )


def _bid(
    engine: Engine, people: Accounts, persona: str, tender_id: int, activity: int, summary: str
) -> int:
    """A submitted SPO of ``persona`` for the tender, backing ``activity`` with £3,000."""
    supplier = _person(engine, people, persona)
    commitment = spos.CommitmentSpec(
        activity_id=activity,
        kind="money",
        quantity=3_000,
        what=f"Coached sessions and kit {summary}",
        where="Cowley Marsh recreation ground, Oxford",
        for_whom="Young people aged 11-17 in Cowley",
        by_when=date.today() + timedelta(days=200),
    )
    with engine.begin() as conn:
        spo_id = spos.draft(conn, supplier, tender_id, summary, [commitment])
        spos.submit(conn, supplier, spo_id)
    return spo_id


def test_the_buyer_opens_scores_awards_and_follows_delivery(
    page: Page,
    phone: Page,
    live_url: str,
    people: Accounts,
    world: World,
    engine: Engine,
    shots: Path,
) -> None:
    sign_in(page, live_url, "tvp_lead")
    assert page.url.endswith("/buyer")
    check_page(page)

    # Open a tender: a weighting under PPN 002's 10 % comes back with the input kept.
    page.click("a:has-text('Open a new tender')")
    check_page(page)
    page.fill("input[name=title]", f"Custody cleaning {HOSTILE}")
    page.fill("input[name=contract_value_gbp]", "2000000")
    page.evaluate("document.querySelector('input[name=social_value_weighting_pct]').min = '0'")
    page.fill("input[name=social_value_weighting_pct]", "5")
    page.select_option("select[name=territory_code]", TVP)
    assert "Thames Valley" in page.locator("select[name=territory_code]").inner_text()
    page.check("input[name=outcomes][value=youth]")
    deadline = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=bid_deadline]", deadline)
    page.fill("input[name=contract_start]", (date.today() + timedelta(days=40)).isoformat())
    page.fill("textarea[name=delivery_postcodes]", "OX4 1YA")
    page.fill("input[name=ocid]", "ocds-h6vhtk-0abc12")
    page.fill("input[name=notice_url]", "https://www.find-tender.service.gov.uk/Notice/0abc12")
    page.click("form[action='/buyer/tenders/new'] button[type=submit]")
    error = page.locator("p.error").inner_text()
    assert "PPN 002" in error and "10" in error
    assert page.input_value("input[name=title]") == f"Custody cleaning {HOSTILE}"
    assert page.input_value("input[name=ocid]") == "ocds-h6vhtk-0abc12"
    assert page.is_checked("input[name=outcomes][value=youth]")
    check_page(page)

    # A postcode outside the territory comes back too.
    page.fill("input[name=social_value_weighting_pct]", "12")
    page.fill("textarea[name=delivery_postcodes]", "SW1A 1AA")
    page.click("form[action='/buyer/tenders/new'] button[type=submit]")
    assert "SW1A 1AA" in page.locator("p.error").inner_text()

    page.fill("textarea[name=delivery_postcodes]", "OX4 1YA")
    page.click("form[action='/buyer/tenders/new'] button[type=submit]")
    assert "Tender opened" in page.locator("p.done").inner_text()
    assert page.locator("h1").inner_text() == f"Custody cleaning {HOSTILE}"  # text, not markup
    tender_id = int(page.url.rstrip("/").split("/")[-1])
    facts = page.locator("dl.facts").inner_text()
    assert "Thames Valley" in facts and "ocds-h6vhtk-0abc12" in facts and "12%" in facts
    assert "0 bids in" in page.locator("#bids-in").inner_text()

    # Sealed: the lead sees that a bid is in, never what it says.
    spo_a = _bid(engine, people, "supplier_a", tender_id, world.youth_club, SECRET)
    spo_b = _bid(engine, people, "supplier_b", tender_id, world.food_bank, "Food bank support")
    page.reload()
    assert "2 bids in" in page.locator("#bids-in").inner_text()
    assert SECRET not in page.content()
    assert page.locator("#side-by-side").count() == 0
    check_page(page)
    # Scoring before the deadline is refused with the date evaluation opens.
    token = csrf_of(page)
    sealed = page.request.post(
        f"{live_url}/buyer/spos/{spo_a}/score", form={"csrftoken": token, "tender_id": tender_id}
    )
    assert sealed.status == 409 and "bids are sealed until" in sealed.text()
    assert SECRET not in sealed.text()

    # Bidding closes: both bids side by side with the rubric's components and reasons.
    close_bidding(engine, tender_id)
    page.goto(f"{live_url}/buyer/tenders/{tender_id}")
    table = page.locator("#side-by-side")
    text = table.inner_text()
    assert SECRET in text and "Acme Facilities Ltd" in text and "Beta Construction Ltd" in text
    for words in ("Value committed", "Need reached", "Delivery risk"):
        assert words in text
    assert "of the contract value" in text  # a reason, beside its component
    check_page(page)
    shoot(page, shots, "buyer-tender-1366")
    sign_in(phone, live_url, "tvp_lead")
    phone.goto(f"{live_url}/buyer/tenders/{tender_id}")
    check_page(phone)
    shoot(phone, shots, "buyer-tender-390")

    # Score both (one with an override and its reason), then award Acme's.
    page.click('button:has-text("Score Acme Facilities Ltd\'s bid")')
    assert "Bid scored" in page.locator("p.done").inner_text()
    page.fill(f"#override-{spo_b}", "40")
    page.fill(f"#reason-{spo_b}", "Commitments duplicate an existing grant to the food bank.")
    page.click('button:has-text("Score Beta Construction Ltd\'s bid")')
    assert "40.0" in page.locator("p.done").inner_text()
    assert "overridden to 40.0" in page.locator("#side-by-side").inner_text()
    page.click("button:has-text('Award to Acme Facilities Ltd')")
    assert "Awarded" in page.locator("p.done").inner_text()
    assert page.locator("#tender-state").inner_text() == "awarded"
    # An illegal move comes back with the reason.
    token = csrf_of(page)
    again = page.request.post(
        f"{live_url}/buyer/spos/{spo_b}/award", form={"csrftoken": token, "tender_id": tender_id}
    )
    assert again.status == 409 and "already awarded" in again.text()

    # The KPI file downloads.
    with page.expect_download() as download:
        page.click("a:has-text('Procurement Act KPIs')")
    kpis = Path(download.value.path()).read_text(encoding="utf-8")
    assert kpis.startswith("ocid,contract,supplier") and "Acme Facilities Ltd" in kpis

    # Delivery: reported by the supplier, confirmed by the provider, signed off here.
    with engine.begin() as conn:
        awarded = spo_queries.get_spo(conn, Viewer(), spo_a)
        claim = delivery.claim(
            conn,
            get_user(conn, people.users["supplier_a"]),
            awarded["commitments"][0]["id"],
            money_paid_gbp=1_500,
            note="First half of the season paid",
        )
        delivery.respond(conn, get_user(conn, people.users["provider"]), claim, confirm=True)
    page.click("a:has-text('Follow the delivery')")
    assert page.locator("iframe.map").count() == 1
    timeline = page.locator("#timeline").inner_text()
    assert "awarded" in timeline and "delivery claimed" in timeline
    assert "confirmed by the provider" in page.locator("#deliveries").inner_text()
    check_page(page)
    shoot(page, shots, "buyer-delivery-1366")
    page.click("#deliveries button:has-text('Sign off')")
    assert "Delivery signed off" in page.locator("p.done").inner_text()
    assert "signed off" in page.locator("#deliveries").inner_text()
    map_document = page.request.get(f"{live_url}/buyer/tenders/{tender_id}/delivery.html")
    assert map_document.ok and "Cowley youth football" in map_document.text()
    assert "content-security-policy" in map_document.headers

    page.goto(f"{live_url}/buyer")
    assert "awarded" in page.locator("#tenders").inner_text()
    check_page(page)
    shoot(page, shots, "buyer-1366")
    for path in ("/buyer", "/buyer/tenders/new", f"/buyer/tenders/{tender_id}/delivery"):
        phone.goto(live_url + path)
        check_page(phone)
    phone.goto(f"{live_url}/buyer")
    shoot(phone, shots, "buyer-390")


def test_an_evaluator_scores_but_cannot_award(
    page: Page, live_url: str, people: Accounts, world: World, engine: Engine
) -> None:
    tender_id = _tender(engine, people)
    spo = _bid(engine, people, "supplier_a", tender_id, world.youth_club, "A bid to evaluate")
    close_bidding(engine, tender_id)
    sign_in(page, live_url, "tvp_evaluator")
    page.goto(f"{live_url}/buyer/tenders/{tender_id}")
    page.click('button:has-text("Score Acme Facilities Ltd\'s bid")')
    assert "Bid scored" in page.locator("p.done").inner_text()
    assert page.locator("button:has-text('Award')").count() == 0
    assert "Only the procurement lead can award" in page.locator("#side-by-side").inner_text()
    check_page(page)
    refused = page.request.post(
        f"{live_url}/buyer/spos/{spo}/award",
        form={"csrftoken": csrf_of(page), "tender_id": tender_id},
    )
    assert refused.status == 403 and "award an SPO" in refused.text()
    # An evaluator cannot open a tender either.
    opened = page.request.post(
        f"{live_url}/buyer/tenders/new",
        form={"csrftoken": csrf_of(page), "title": "x", "territory_code": TVP},
    )
    assert opened.status == 403 and "open a tender" in opened.text()


def test_another_buyer_and_other_roles_are_refused(
    page: Page,
    second_page: Page,
    live_url: str,
    people: Accounts,
    world: World,
    engine: Engine,
) -> None:
    tender_id = _tender(engine, people)
    spo = _bid(engine, people, "supplier_a", tender_id, world.youth_club, SECRET)
    close_bidding(engine, tender_id)
    sign_in(page, live_url, "met_lead")
    refused = page.goto(f"{live_url}/buyer/tenders/{tender_id}")
    assert refused is not None and refused.status == 403
    assert SECRET not in page.content()
    assert page.locator("h1").count() == 1  # an HTML page, not JSON
    scored = page.request.post(
        f"{live_url}/buyer/spos/{spo}/score",
        form={"csrftoken": csrf_of(page), "tender_id": tender_id},
    )
    assert scored.status in (403, 404) and SECRET not in scored.text()
    page.goto(f"{live_url}/buyer")
    assert "Custody cleaning" not in page.content()  # only its own organisation's tenders

    sign_in(second_page, live_url, "supplier_b")
    response = second_page.goto(f"{live_url}/buyer")
    assert response is not None and response.status == 403
    assert "this page is for a" in second_page.locator("main").inner_text()


def test_forms_without_their_token_are_refused(
    page: Page, live_url: str, people: Accounts, world: World, engine: Engine
) -> None:
    tender_id = _tender(engine, people)
    spo = _bid(engine, people, "supplier_a", tender_id, world.youth_club, "A bid")
    close_bidding(engine, tender_id)
    sign_in(page, live_url, "tvp_lead")
    forged = page.request.post(f"{live_url}/buyer/spos/{spo}/score", form={"tender_id": tender_id})
    assert forged.status == 403 and "Nothing was changed" in forged.text()
    with engine.connect() as conn:
        assert spo_queries.get_spo(conn, Viewer(admin=True), spo)["status"] == "submitted"


def test_no_public_page_shows_a_bid_before_award(
    page: Page, live_url: str, people: Accounts, world: World, engine: Engine
) -> None:
    tender_id = _tender(engine, people)
    _bid(engine, people, "supplier_a", tender_id, world.youth_club, SECRET)
    close_bidding(engine, tender_id)  # even with evaluation open
    for path in (
        "/",
        f"/territory/{TVP}",
        "/register",
        "/register/ocds",
        f"/maps/territory/{TVP}.html",
    ):
        response = page.request.get(live_url + path)
        # (the OCDS package answers 404 while nothing is awarded: there is no release)
        assert response.status in (200, 404) and SECRET not in response.text(), path
