"""The supplier's pages in a real browser: shortlist from the finder, build an SPO with the
funding gap left shown as the amount is typed, see the buyer's score, submit sealed,
withdraw, record delivery after award; other organisations, other roles and forged
forms refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import Engine

from tests.api.helpers import Accounts, World, close_bidding, commitment, tender_body
from tests.web.conftest import check_page, csrf_of, shoot, sign_in

HOSTILE = "Kit </script><b>bold</b> ${alert(1)} for the team"
TITLE = "Custody cleaning <i>2027</i>"


def _api(live_url: str, people: Accounts, persona: str, path: str, body: Any = None) -> Any:
    """POST to the API as ``persona``; the answer's JSON."""
    response = httpx.post(live_url + path, json=body, headers=people.headers(persona), timeout=60)
    assert response.status_code < 300, response.text
    return response.json()


def _award(live_url: str, people: Accounts, engine: Engine, tender: int, spo: int) -> float:
    """The buyer closes bids, scores and awards the SPO; returns the buyer's score."""
    close_bidding(engine, tender)
    scored = _api(live_url, people, "tvp_evaluator", f"/spos/{spo}/score", {})
    _api(live_url, people, "tvp_lead", f"/spos/{spo}/award")
    score: float = scored["scoring"]["score"]
    return score


def _fill_commitment(page: Page, activity: int, quantity: str) -> None:
    page.select_option("#f-activity_id", str(activity))
    page.select_option("#f-kind", "money")
    page.fill("#f-quantity", quantity)
    page.fill("#f-what", HOSTILE)
    page.fill("#f-where", "Cowley Marsh recreation ground, Oxford")
    page.fill("#f-for_whom", "Young people aged 11-17 in Cowley")
    page.fill("#f-by_when", "2099-06-30")


def test_a_supplier_shortlists_builds_submits_and_delivers_an_spo(
    page: Page,
    phone: Page,
    live_url: str,
    people: Accounts,
    world: World,
    engine: Engine,
    shots: Path,
) -> None:
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    tender = _api(live_url, people, "tvp_lead", "/tenders", tender_body(title=TITLE))["id"]

    sign_in(page, live_url, "supplier_a")
    assert page.url == live_url + "/supplier"
    row = page.locator("#tenders tr", has_text=TITLE)
    assert "Thames Valley" in row.inner_text() and "£2,000,000" in row.inner_text()
    assert "15%" in row.inner_text()

    # The finder, by postcode: shortlist the youth club.
    page.click("main a[href='/supplier/finder']")
    page.fill("#f-postcode", "OX4 1AA")
    page.click("#finder-form button[type=submit]")
    club = page.locator("#ranked li", has_text="Cowley youth football")
    check_page(page)
    club.locator("button", has_text="Add to shortlist").click()
    page.wait_for_load_state("load")
    assert "Shortlisted: Cowley youth football" in page.locator(".done").inner_text()
    assert "On your shortlist" in club.inner_text()
    page.goto(live_url + "/supplier")
    assert "Cowley youth football" in page.locator("ul.shortlist").inner_text()
    check_page(page)
    shoot(page, shots, "supplier-1366")

    # Open an SPO for the tender: the builder.
    page.locator("#tenders tr", has_text=TITLE).locator("button").click()
    page.wait_for_url(re.compile(r"/supplier/spos/\d+$"))
    spo = int(page.url.rsplit("/", 1)[1])
    assert "Your shortlist" in page.locator("#f-activity_id").inner_html()

    # Over the gap: the live line warns, and saving is refused with the input kept.
    _fill_commitment(page, world.youth_club, "12000")
    expect(page.locator("#gap-now .gap-line.over")).to_contain_text("Over the gap by £2,000")
    page.click("#add-commitment button[type=submit]")
    assert "at most £10,000 more can be promised" in page.locator(".error").inner_text()
    assert "Lower the amount" in page.locator(".error").inner_text()
    assert page.input_value("#f-quantity") == "12000"
    assert page.input_value("#f-what") == HOSTILE
    assert page.input_value("#f-activity_id") == str(world.youth_club)

    # Within it: the line updates as the amount changes, and the commitment saves.
    page.fill("#f-quantity", "4000")
    expect(page.locator("#gap-now")).to_contain_text("£6,000 of £10,000 gap left")
    page.click("#add-commitment button[type=submit]")
    page.wait_for_load_state("load")
    assert "Commitment added" in page.locator(".done").inner_text()
    saved = page.locator("section.commitment").inner_text()
    assert HOSTILE in saved  # shown as text, never run
    assert page.locator("section.commitment b").count() == 0
    assert "£6,000" in page.locator("#gaps").inner_text()
    preview = float(page.locator(".score-total b").inner_text())
    assert page.locator("#score-components tr").count() == 6
    check_page(page)
    shoot(page, shots, "supplier-builder-1366")
    phone_page_checks(phone, live_url, spo, shots)

    # Submit sealed; a second submission is refused with the reason, on the page.
    page.click("form[action$='/submit'] button")
    page.wait_for_load_state("load")
    assert "buyer sees only that a bid is in" in page.locator(".done").first.inner_text()
    assert page.locator("#spo-state").inner_text().startswith("Submitted")
    again = page.request.post(
        f"{live_url}/supplier/spos/{spo}/submit", form={"csrftoken": csrf_of(page)}
    )
    assert again.status == 422 and "it cannot become submitted" in again.text()

    # The buyer's score is the one the supplier saw.
    assert _award(live_url, people, engine, tender, spo) == preview

    # After award: record a delivery; it waits for the provider.
    page.reload()
    assert page.locator("#spo-state").inner_text().startswith("Awarded")
    page.click("details.claim-form summary")
    form = page.locator("details.claim-form form")
    form.locator("input[name=people]").fill("lots")
    form.locator("input[name=money]").fill("1500")
    form.locator("button").click()
    assert "people reached: 'lots' is not a number" in page.locator(".error").inner_text()
    form = page.locator("details.claim-form form")
    assert form.locator("input[name=money]").input_value() == "1500"  # kept
    form.locator("input[name=people]").fill("40")
    form.locator("textarea[name=evidence]").fill("https://example.org/receipt/1")
    form.locator("button").click()
    page.wait_for_load_state("load")
    assert "Delivery recorded" in page.locator(".done").inner_text()
    assert "Waiting for the provider to confirm" in page.locator(".claim-state").inner_text()
    assert "£1,500 paid" in page.locator("ul.claims").inner_text()
    check_page(page)
    assert dialogs == []


def phone_page_checks(phone: Page, live_url: str, spo: int, shots: Path) -> None:
    """The start page and the builder at 390 px."""
    sign_in(phone, live_url, "supplier_a")
    check_page(phone)
    shoot(phone, shots, "supplier-390")
    phone.goto(f"{live_url}/supplier/spos/{spo}")
    check_page(phone)
    shoot(phone, shots, "supplier-builder-390")


def test_a_stale_ledger_refuses_submission_and_the_spo_is_withdrawn(
    page: Page, live_url: str, people: Accounts, world: World, engine: Engine
) -> None:
    # supplier_a drafts £6,000 for the youth club; meanwhile supplier_b wins £6,000 of it.
    mine = _api(live_url, people, "tvp_lead", "/tenders", tender_body())["id"]
    body = {"summary": "Ours", "commitments": [commitment(world.youth_club, 6_000)]}
    spo = _api(live_url, people, "supplier_a", f"/tenders/{mine}/spos", body)["id"]
    theirs = _api(live_url, people, "tvp_lead", "/tenders", tender_body())["id"]
    rival = _api(live_url, people, "supplier_b", f"/tenders/{theirs}/spos", body)["id"]
    _api(live_url, people, "supplier_b", f"/spos/{rival}/submit")
    _award(live_url, people, engine, theirs, rival)

    sign_in(page, live_url, "supplier_a")
    page.goto(f"{live_url}/supplier/spos/{spo}")
    assert "£2,000 over" in page.locator("#gaps").inner_text()
    page.click("form[action$='/submit'] button")
    error = page.locator(".error").inner_text()
    assert "Not submitted" in error and "at most £4,000 more can be promised" in error
    assert page.locator("#spo-state").inner_text().startswith("Draft")

    page.click("form[action$='/withdraw'] button")
    assert "say why the SPO is withdrawn" in page.locator(".error").inner_text()
    page.fill("#f-reason", "The gap was taken by another contract")
    page.click("form[action$='/withdraw'] button")
    page.wait_for_load_state("load")
    assert "SPO withdrawn" in page.locator(".done").inner_text()
    assert page.locator("#spo-state").inner_text() == "Withdrawn"
    again = page.request.post(
        f"{live_url}/supplier/spos/{spo}/withdraw",
        form={"csrftoken": csrf_of(page), "reason": "once more, to be sure"},
    )
    assert again.status == 422 and "none: it is final" in again.text()
    page.goto(live_url + "/supplier")
    assert "Withdrawn" in page.locator("#spos").inner_text()


def test_other_organisations_roles_and_forged_forms_are_refused(
    page: Page, second_page: Page, live_url: str, people: Accounts, world: World
) -> None:
    tender = _api(live_url, people, "tvp_lead", "/tenders", tender_body())["id"]
    body = {"summary": "Ours", "commitments": [commitment(world.youth_club, 4_000)]}
    spo = _api(live_url, people, "supplier_a", f"/tenders/{tender}/spos", body)["id"]
    sign_in(page, live_url, "supplier_a")
    page.goto(f"{live_url}/supplier/finder?postcode=OX4+1AA")
    page.locator("#ranked li", has_text="Cowley youth football").locator("button").click()
    page.wait_for_load_state("load")

    # Another supplier: the SPO is not found, its shortlist and forms are not theirs.
    sign_in(second_page, live_url, "supplier_b")
    response = second_page.goto(f"{live_url}/supplier/spos/{spo}")
    assert response is not None and response.status == 404
    assert "Cowley" not in second_page.locator("main").inner_text()
    second_page.goto(live_url + "/supplier")
    assert "Your shortlist is empty" in second_page.locator("main").inner_text()
    token = csrf_of(second_page)
    added = second_page.request.post(
        f"{live_url}/supplier/spos/{spo}/commitments",
        form={"csrftoken": token, "activity_id": str(world.food_bank), "quantity": "100"},
    )
    assert added.status == 404
    fragment = second_page.request.get(
        f"{live_url}/supplier/spos/{spo}/ledger?activity_id={world.youth_club}&quantity=1"
    )
    assert "no SPO with id" in fragment.text() and "gap left" not in fragment.text()

    # A forged form (no token) changes nothing.
    forged = page.request.post(f"{live_url}/supplier/tenders/{tender}/spo", form={})
    assert forged.status == 403 and "Nothing was changed" in forged.text()

    # Not a supplier: the pages say whose they are.
    provider = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        other = provider.new_page()
        sign_in(other, live_url, "provider")
        refused = other.goto(live_url + "/supplier")
        assert refused is not None and refused.status == 403
        assert "this page is for a supplier" in other.locator(".error").inner_text()
    finally:
        provider.close()
