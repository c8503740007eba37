"""The community team's pages in the browser: the review queue of its own territory with
the rules' reasoning, verifying and deciding on activities, the map of underserved areas
linked to the activities near them; another role, another territory's team and a form
without its token refused; hostile names shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page
from sqlalchemy import Engine, text

from accounts import verification
from accounts.users import create_organisation, create_user, get_user
from registry.records import register_activity
from tests.api.helpers import MET, PASSWORD, Accounts, World
from tests.web.conftest import check_page, csrf_of, shoot, sign_in

HOSTILE = "Food </script><b>bank</b> ${alert(1)} `x`"


@pytest.fixture
def claimed(engine: Engine, people: Accounts, world: World) -> World:
    """The world with the youth club claimed by its provider (so it can be verified) and
    the food bank left for a person to decide (the rules found nothing either way)."""
    with engine.begin() as conn:
        verification.claim(conn, get_user(conn, people.users["provider"]), world.youth_club)
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'needs_review', eligibility_categories = '{}',"
                " eligibility_reason = 'nothing in its record names a programme' WHERE id = :id"
            ),
            {"id": world.food_bank},
        )
    return world


@pytest.fixture(scope="module")
def met_team(engine: Engine, people: Accounts) -> str:
    """A community team of the Metropolitan Police area (persona ``met_team``)."""
    with engine.begin() as conn:
        organisation = create_organisation(
            conn, "community", "Islington Community Network", territories=(MET,)
        )
        create_user(conn, "met_team@example.org", "met team", PASSWORD, organisation, "community")
    return "met_team"


def _state(engine: Engine, activity_id: int) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT verification, eligibility FROM activity WHERE id = :id"),
            {"id": activity_id},
        ).one()
    return row.verification, row.eligibility


def test_a_team_reviews_its_queue_verifies_and_decides(
    page: Page, live_url: str, claimed: World, engine: Engine, shots: Path
) -> None:
    sign_in(page, live_url, "team")
    assert page.url.endswith("/team")
    queue = page.locator("#queue")
    names = queue.locator("tbody tr td:first-child a").all_inner_texts()
    assert set(names) == {"Cowley youth football", "Oxford city food bank", "Women's refuge"}
    assert names[0] == "Oxford city food bank"  # undecided first, then the claimed one
    assert names[1] == "Cowley youth football"
    assert "Islington" not in queue.inner_text()  # another territory's
    youth = queue.locator(f"tr[data-activity='{claimed.youth_club}']")
    assert "test set-up: youth_diversion" in youth.inner_text()  # the rules' reasoning
    assert "Youth diversion" in youth.inner_text()  # the category in words
    assert "claimed by its provider" in youth.inner_text()
    assert "E23000029" not in queue.inner_text()  # places, not codes
    assert "Showing 1–3 of 3" in page.locator("#count").inner_text()
    check_page(page)
    shoot(page, shots, "team-1366")

    page.fill("input[name=q]", "youth")
    page.click("form[role=search] button[type=submit]")
    assert page.locator("#queue tbody tr").count() == 1

    page.click("a:has-text('Cowley youth football')")
    assert page.url.endswith(f"/team/activities/{claimed.youth_club}")
    assert "test set-up: youth_diversion" in page.locator("#reasoning").inner_text()
    assert "found by the automatic rules" in page.locator("#reasoning").inner_text()
    check_page(page)
    shoot(page, shots, "team-review-1366")
    page.select_option("#verify select[name=evidence_level]", "2")
    page.fill("#verify textarea[name=links]", "https://example.org/annual-report")
    page.click("#verify button[type=submit]")
    assert page.url.endswith("/team")
    assert (
        "Verified “Cowley youth football” at evidence level 2" in page.locator(".done").inner_text()
    )
    assert "Cowley youth football" not in page.locator("#queue").inner_text()  # it left
    assert _state(engine, claimed.youth_club)[0] == "verified"
    page.goto(f"{live_url}/team/activities/{claimed.youth_club}")
    assert "evidence level 2 of 5" in page.locator("#standing").inner_text()
    assert "https://example.org/annual-report" in page.locator("#standing").inner_text()
    assert "Verified" in page.locator("ol.history").inner_text()

    # A listed record cannot be verified: the page comes back, the input kept.
    page.goto(f"{live_url}/team/activities/{claimed.food_bank}")
    page.select_option("#verify select[name=evidence_level]", "3")
    page.fill("#verify textarea[name=links]", "https://example.org/food")
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.click("#verify button[type=submit]")
    assert sent.value.status == 422
    assert "must claim it before it can be verified" in page.locator(".error").inner_text()
    assert page.input_value("#verify textarea[name=links]") == "https://example.org/food"
    assert page.input_value("#verify select[name=evidence_level]") == "3"
    check_page(page)

    # Marking it ineligible needs a reason; with one, it is recorded and shown.
    page.select_option("#eligibility select[name=eligibility]", "ineligible")
    page.click("#eligibility button[type=submit]")
    assert "needs a reason" in page.locator(".error").inner_text()
    assert page.input_value("#eligibility select[name=eligibility]") == "ineligible"
    page.fill("#eligibility textarea[name=reason]", "A grocery shop, not a community programme.")
    page.click("#eligibility button[type=submit]")
    assert "is not eligible" in page.locator(".done").inner_text()
    assert "not eligible" in page.locator("#standing").inner_text()
    assert "decided by a person" in page.locator("#reasoning").inner_text()
    assert _state(engine, claimed.food_bank)[1] == "ineligible"
    page.goto(f"{live_url}/team?eligibility=ineligible")
    assert page.locator("#queue tbody tr").all_inner_texts()[0].startswith("Oxford city food bank")

    # Lapsed with a reason: it stays in the queue as lapsed.
    page.goto(f"{live_url}/team/activities/{claimed.refuge}")
    page.fill("#lapse textarea[name=lapse_reason]", "The service closed its doors last spring.")
    page.click("#lapse button[type=submit]")
    assert "Marked “Women's refuge” lapsed" in page.locator(".done").inner_text()
    assert "lapsed" in page.locator(f"tr[data-activity='{claimed.refuge}']").inner_text()

    # The public territory page counts the decisions.
    page.goto(f"{live_url}/territory/E23000029")
    trust = page.locator("#trust").inner_text()
    assert "1 of 3 open activities (33%) are verified by a community team" in trust
    assert "1 were found not eligible" in trust


def test_the_team_pages_fit_a_phone(
    phone: Page, live_url: str, claimed: World, shots: Path
) -> None:
    sign_in(phone, live_url, "team")
    check_page(phone)
    shoot(phone, shots, "team-390")
    phone.goto(f"{live_url}/team/activities/{claimed.youth_club}")
    check_page(phone)
    shoot(phone, shots, "team-review-390")
    phone.goto(f"{live_url}/team/map")
    check_page(phone)
    shoot(phone, shots, "team-map-390")


def _listed_in(engine: Engine, need_area: str, name: str) -> int:
    """A listed activity, not yet reviewed (so not counted in coverage), at a postcode of
    ``need_area``; returns its id."""
    with engine.begin() as conn:
        postcode = conn.execute(
            text(
                "SELECT p.postcode FROM postcode_unit p JOIN current_need_area n"
                " ON n.id = p.need_area_id WHERE n.code = :code ORDER BY p.postcode LIMIT 1"
            ),
            {"code": need_area},
        ).scalar_one()
        registered = register_activity(conn, {"name": name, "postcode": postcode}, source="test")
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'needs_review', eligibility_categories = '{}'"
                " WHERE id = :id"
            ),
            {"id": registered.activity_id},
        )
    return registered.activity_id


def test_the_map_lists_underserved_areas_with_the_activities_near_them(
    page: Page, live_url: str, claimed: World, engine: Engine, shots: Path
) -> None:
    sign_in(page, live_url, "team")
    page.click("a:has-text('underserved areas on a map')")
    assert page.url.endswith("/team/map")
    assert page.locator("#areas > li").count() > 0
    assert "Islington" not in page.locator("#areas").inner_text()
    # An activity nobody has reviewed yet, in the most underserved area, is listed there.
    worst = page.locator("#areas > li").first.get_attribute("data-area")
    new_id = _listed_in(engine, worst or "", "Youth boxing club nobody has reviewed")
    page.reload()
    area = page.locator(f"#areas > li[data-area='{worst}']")
    assert area.locator(f"a[href='/team/activities/{new_id}']").inner_text() == (
        "Youth boxing club nobody has reviewed"
    )
    assert "not yet claimed or verified" in area.inner_text()
    links = page.locator("#areas a[href^='/team/activities/']")
    page.frame_locator("iframe.map").locator(".leaflet-control-layers").wait_for()
    check_page(page)
    shoot(page, shots, "team-map-1366")
    href = links.first.get_attribute("href")
    links.first.click()
    assert page.url.endswith(href or "?")
    assert page.locator("#verify").count() == 1


def test_other_roles_and_other_territories_are_refused(
    page: Page, second_page: Page, live_url: str, claimed: World, met_team: str, engine: Engine
) -> None:
    sign_in(page, live_url, "provider")
    response = page.goto(f"{live_url}/team")
    assert response is not None and response.status == 403
    assert "this page is for a community team" in page.locator(".error").inner_text()
    response = page.goto(f"{live_url}/team/activities/{claimed.youth_club}")
    assert response is not None and response.status == 403

    sign_in(second_page, live_url, met_team)
    assert "Islington boxing club" in second_page.locator("#queue").inner_text()
    assert "Cowley" not in second_page.locator("#queue").inner_text()
    response = second_page.goto(f"{live_url}/team/activities/{claimed.youth_club}")
    assert response is not None and response.status == 403
    refusal = second_page.locator(".error").inner_text()
    assert "can verify an activity" in refusal and "does not work in territory" in refusal
    # Sent with a good token all the same: refused, nothing changed.
    second_page.goto(f"{live_url}/team")
    forged = second_page.request.post(
        f"{live_url}/team/activities/{claimed.youth_club}/verify",
        form={"csrftoken": csrf_of(second_page), "evidence_level": "2", "links": "https://x.org"},
        headers={"accept": "text/html"},
    )
    assert forged.status == 403
    assert _state(engine, claimed.youth_club)[0] == "claimed"


def test_a_form_without_its_token_is_refused(
    page: Page, live_url: str, claimed: World, engine: Engine
) -> None:
    sign_in(page, live_url, "team")
    forged = page.request.post(
        f"{live_url}/team/activities/{claimed.youth_club}/verify",
        form={"evidence_level": "2", "links": "https://example.org/report"},
    )
    assert forged.status == 403
    assert "Nothing was changed" in forged.text()
    assert _state(engine, claimed.youth_club)[0] == "claimed"


def test_hostile_names_are_shown_as_text(
    page: Page, live_url: str, claimed: World, engine: Engine
) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    sign_in(page, live_url, "team")
    page.goto(f"{live_url}/team/map")
    worst = page.locator("#areas > li").first.get_attribute("data-area")
    hostile = _listed_in(engine, worst or "", HOSTILE)

    page.goto(f"{live_url}/team")
    assert HOSTILE in page.locator("#queue").inner_text()
    assert page.locator("#queue b").count() == 0
    page.goto(f"{live_url}/team/activities/{hostile}")
    assert page.locator("h1").inner_text() == HOSTILE
    page.goto(f"{live_url}/team/map")
    assert HOSTILE in page.locator("#areas").inner_text()
    page.frame_locator("iframe.map").locator(".leaflet-control-layers").wait_for()
    document = page.request.get(f"{live_url}/team/map.html").text()
    assert "&lt;b&gt;bank&lt;/b&gt;" in document  # in the area's popup, as text
    assert "<b>bank</b>" not in document and "${alert" not in document
    assert dialogs == []
