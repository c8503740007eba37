"""The provider's pages in the browser: claim and register activities, keep their figures
and places current, attach evidence, see what backs them and answer the deliveries
suppliers report; another organisation's provider refused at every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from api.app import create_app
from geo.settings import Settings
from registry import evidence
from tests.api.helpers import SECRET, Accounts, World, close_bidding, commitment, tender_body
from tests.web.conftest import check_page, csrf_of, shoot, sign_in

MAX_BYTES = 100_000
HOSTILE = "Leys boxing </script><b>x</b> ${alert(1)}"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
def app(app_database_url: str, evidence_dir: Path) -> FastAPI:
    """The tests' app (as ``tests.api.conftest.app``), keeping evidence in a temporary
    folder and accepting files up to 100 kB."""
    return create_app(
        Settings(
            database_url=app_database_url,
            secret_key=SECRET,
            map_tiles="none",
            evidence_dir=evidence_dir,
            evidence_max_bytes=MAX_BYTES,
        )
    )


def _api(live_url: str, people: Accounts, persona: str, path: str, body: Any = None) -> Any:
    response = httpx.post(live_url + path, json=body, headers=people.headers(persona), timeout=30)
    assert response.is_success, response.text
    return response.json()


def _awarded_with_delivery(
    engine: Engine, live_url: str, people: Accounts, activity_id: int
) -> tuple[int, int]:
    """Through the API: Thames Valley Police's tender, Acme's SPO backing the activity,
    scored and awarded, and a delivery Acme reports; returns (SPO, delivery) ids."""
    tender = _api(live_url, people, "tvp_lead", "/tenders", tender_body())["id"]
    body = {"summary": "Kit and coaching", "commitments": [commitment(activity_id, 4_000)]}
    spo = _api(live_url, people, "supplier_a", f"/tenders/{tender}/spos", body)
    _api(live_url, people, "supplier_a", f"/spos/{spo['id']}/submit")
    close_bidding(engine, tender)
    _api(live_url, people, "tvp_evaluator", f"/spos/{spo['id']}/score", {})
    awarded = _api(live_url, people, "tvp_lead", f"/spos/{spo['id']}/award")
    claim = _api(
        live_url,
        people,
        "supplier_a",
        f"/commitments/{awarded['commitments'][0]['id']}/deliveries",
        {"money_paid_gbp": 1_500, "people_reached": 40, "note": "First term's kit"},
    )
    return spo["id"], claim["delivery"]


def _submitted_bid(live_url: str, people: Accounts, activity_id: int) -> None:
    """Beta's sealed bid backing the activity (never to be shown before award)."""
    tender = _api(
        live_url, people, "tvp_lead", "/tenders", tender_body(title="Sealed bid contract")
    )["id"]
    body = {"summary": "Sealed", "commitments": [commitment(activity_id, 1_000)]}
    spo = _api(live_url, people, "supplier_b", f"/tenders/{tender}/spos", body)
    _api(live_url, people, "supplier_b", f"/spos/{spo['id']}/submit")


def _upload(page: Page, name: str, data: bytes, title: str = "") -> None:
    page.fill("input[name=title]", title)
    page.set_input_files(
        "input[name=file]", {"name": name, "mimeType": "application/pdf", "buffer": data}
    )
    page.click("form[action$='/evidence/file'] button[type=submit]")
    page.wait_for_load_state("load")


def test_the_provider_journey(
    page: Page,
    phone: Page,
    live_url: str,
    people: Accounts,
    world: World,
    shots: Path,
    evidence_dir: Path,
    engine: Engine,
) -> None:
    sign_in(page, live_url, "provider")
    assert page.url == live_url + "/provider"
    assert "Cowley youth football" in page.locator("ul.activities").inner_text()

    # Find a listed activity: one the record already names us for is ours at once; one
    # nothing proves waits for the operator.
    page.fill("input[name=q]", "oxford city food")
    page.click("form[role=search] button")
    page.click("button:has-text('Claim Oxford city food bank')")
    assert "the platform operator will check it" in page.locator(".done").inner_text()
    page.fill("input[name=q]", "oxford city food")
    page.click("form[role=search] button")
    page.click("button:has-text('Claim Oxford city food bank')")
    assert "already waits for an admin" in page.locator(".error").inner_text()
    page.fill("input[name=q]", "cowley")
    page.click("form[role=search] button")
    check_page(page)
    page.click("button:has-text('Claim Cowley youth football')")
    assert page.url.endswith(f"/provider/activities/{world.youth_club}")
    assert "is now Oxford Youth Trust's" in page.locator(".done").inner_text()
    assert "claimed by its provider" in page.locator("dl.facts").inner_text()

    # Register a new one: a bad postcode brings the form back, input kept.
    page.goto(live_url + "/provider")
    page.fill("input[name=name]", HOSTILE)
    page.fill("input[name=postcode]", "ZZ9 9ZZ")
    page.fill("input[name=funding_gap]", "8,000")
    page.click("form[action='/provider/activities'] button[type=submit]")
    assert "postcode" in page.locator(".error").inner_text().lower()
    assert page.input_value("input[name=name]") == HOSTILE
    assert page.input_value("input[name=funding_gap]") == "8,000"
    page.fill("input[name=postcode]", "OX4 1AA")
    page.click("form[action='/provider/activities'] button[type=submit]")
    assert "Registered" in page.locator(".done").inner_text()
    assert page.locator("h1").inner_text() == HOSTILE  # shown as text, never run
    new_page = page.url

    # Figures: an at-risk activity needs a closing date.
    page.fill("input[name=people_reached_per_year]", "150")
    page.select_option("select[name=status]", "at_risk")
    page.fill("input[name=closing_date]", "")
    page.click("form[action$='/figures'] button[type=submit]")
    assert "closing date" in page.locator(".error").inner_text()
    assert page.input_value("input[name=people_reached_per_year]") == "150"
    page.fill("input[name=closing_date]", "2027-03-31")
    page.click("form[action$='/figures'] button[type=submit]")
    assert (
        "Saved: people reached per year, status, closing date" in page.locator(".done").inner_text()
    )
    assert "closes 31 Mar 2027" in page.locator("dl.facts").inner_text()

    # Delivery sites: by postcode, then by a pin on the map.
    page.fill("input[name=site_postcode]", "ZZ9 9ZZ")
    page.click("#site-form button[type=submit]")
    assert page.locator(".error").count() == 1
    assert page.input_value("input[name=site_postcode]") == "ZZ9 9ZZ"
    page.fill("input[name=site_postcode]", "OX4 1YA")
    page.fill("input[name=label]", "Pavilion")
    page.click("#site-form button[type=submit]")
    assert "Delivery site added at OX4 1YA (Thames Valley)" in page.locator(".done").inner_text()
    page.locator("#pin-map").click(position={"x": 200, "y": 150})
    assert page.input_value("#f-lat") and page.input_value("#f-lon")
    assert "Pin at" in page.locator("#pin-chosen").inner_text()
    page.click("#site-form button[type=submit]")
    assert "Delivery site added at the point on the map" in page.locator(".done").inner_text()
    assert page.locator("button:has-text('Remove')").count() == 2

    # Evidence: a link and a file; refused: too large, not what its name says, a program.
    page.fill("input[name=url]", "https://example.org/report-2025")
    page.click("form[action$='/evidence/link'] button[type=submit]")
    assert "Link added" in page.locator(".done").inner_text()
    _upload(page, "Report 2025.pdf", PDF, "Evaluation report")
    assert "File attached: Evaluation report" in page.locator(".done").inner_text()
    _upload(page, "big.pdf", PDF + b"0" * MAX_BYTES)
    assert "files up to 100 kB are accepted" in page.locator(".error").inner_text()
    _upload(page, "fake.pdf", b"MZ this is a program")
    assert "does not hold what its name says" in page.locator(".error").inner_text()
    _upload(page, "run.exe", b"MZ this is a program")
    assert "not a kind of file accepted" in page.locator(".error").inner_text()
    assert len(list(evidence_dir.iterdir())) == 1  # only the accepted file is kept

    link = page.locator("a:has-text('Evaluation report')")
    download = page.request.get(live_url + (link.get_attribute("href") or ""))
    assert download.status == 200 and download.body() == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "Report%202025.pdf" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    check_page(page)
    shoot(page, shots, "provider-activity-1366")

    # A supplier's SPO is awarded and it reports a delivery; a sealed bid stays unseen.
    _submitted_bid(live_url, people, world.youth_club)
    _, delivery = _awarded_with_delivery(engine, live_url, people, world.youth_club)
    page.goto(live_url + f"/provider/activities/{world.youth_club}")
    backed = page.locator("section[aria-labelledby=backed-h]").inner_text()
    assert "Thames Valley Police" in backed and "Acme Facilities Ltd" in backed
    assert "Beta Construction" not in page.content()  # a bid before award
    assert "£4,000" in backed
    answer = page.locator(f"#delivery-{delivery}")
    assert "£1,500 paid, 40 people reached" in answer.inner_text()
    assert "waiting for your answer" in answer.inner_text()
    check_page(page)
    answer.locator("button:has-text('Dispute it')").click()
    assert "a dispute needs a note" in page.locator(".error").inner_text()
    page.locator(f"#delivery-{delivery} button:has-text('Confirm it happened')").click()
    assert f"Delivery {delivery} confirmed" in page.locator(".done").inner_text()
    assert "confirmed by you" in page.locator(f"#delivery-{delivery}").inner_text()
    assert "£1,500" in page.locator("section[aria-labelledby=backed-h] td.num").last.inner_text()
    # The public register counts it as delivered.
    (entry,) = httpx.get(live_url + "/register", timeout=30).json()["spos"]
    assert entry["delivered_gbp"] == 1_500

    page.goto(live_url + "/provider")
    check_page(page)
    shoot(page, shots, "provider-1366")
    sign_in(phone, live_url, "provider")
    check_page(phone)
    shoot(phone, shots, "provider-390")
    phone.goto(new_page)
    check_page(phone)
    shoot(phone, shots, "provider-activity-390")


def test_another_provider_is_refused_everywhere(
    page: Page,
    second_page: Page,
    phone: Page,
    live_url: str,
    people: Accounts,
    world: World,
    engine: Engine,
    evidence_dir: Path,
) -> None:
    with engine.begin() as conn:
        stored = evidence.add_file(
            conn,
            evidence_dir,
            world.youth_club,
            title="Accounts",
            filename="accounts.pdf",
            data=PDF,
            max_bytes=MAX_BYTES,
            actor_id=people.users["provider"],
        )
    _, delivery = _awarded_with_delivery(engine, live_url, people, world.youth_club)
    mine = f"/provider/activities/{world.youth_club}"

    sign_in(second_page, live_url, "other_provider")
    response = second_page.goto(live_url + mine)
    assert response is not None and response.status == 403
    assert "the activity's own provider" in second_page.locator(".error").inner_text()
    token = csrf_of(second_page)
    attempts = {
        f"{mine}/figures": {"funding_gap": "1", "status": "active"},
        f"{mine}/sites": {"site_postcode": "OX4 1YA"},
        f"{mine}/evidence/link": {"url": "https://evil.example/x"},
        f"{mine}/deliveries/{delivery}/confirm": {"note": ""},
    }
    for path, form in attempts.items():
        refused = second_page.request.post(live_url + path, form={**form, "csrftoken": token})
        assert refused.status == 403, path
    got = second_page.request.get(live_url + f"/provider/evidence/{stored['id']}")
    assert got.status == 403 and got.body() != PDF

    # The provider itself: a form without its token is refused; the record is unchanged.
    sign_in(page, live_url, "provider")
    forged = page.request.post(live_url + f"{mine}/figures", form={"funding_gap": "1"})
    assert forged.status == 403
    with engine.connect() as conn:
        gap = conn.execute(
            text("SELECT funding_gap FROM activity WHERE id = :id"), {"id": world.youth_club}
        ).scalar_one()
        answered = conn.execute(
            text("SELECT provider_status FROM spo_delivery WHERE id = :id"), {"id": delivery}
        ).scalar_one()
    assert gap == 10_000 and answered == "pending"
    # The funding gap never goes below what awarded SPOs promise.
    page.goto(live_url + mine)
    page.fill("input[name=funding_gap]", "1000")
    page.click("form[action$='/figures'] button[type=submit]")
    assert "promise" in page.locator(".error").inner_text()
    assert page.input_value("input[name=funding_gap]") == "1000"
    assert page.request.get(live_url + f"/provider/evidence/{stored['id']}").body() == PDF

    # Other roles: not their page; unknown records are pages too.
    sign_in(phone, live_url, "supplier_a")
    response = phone.goto(live_url + "/provider")
    assert response is not None and response.status == 403
    response = page.goto(live_url + "/provider/activities/999999")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
