"""Signing in and out, sessions, passwords and invitations, in the browser; forms refused
without their CSRF token; HTML pages for unknown addresses."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import Engine, text

from tests.api.helpers import PASSWORD, Accounts
from tests.web.conftest import check_page, csrf_of, shoot, sign_in

NEW_PASSWORD = "a much longer new password 2026"


def test_a_person_signs_in_sees_their_account_and_signs_out(
    page: Page, live_url: str, people: Accounts, shots: Path
) -> None:
    page.goto(live_url + "/sign-in")
    check_page(page)
    page.fill("input[name=email]", "analyst@example.org")
    page.fill("input[name=password]", "not the password at all")
    page.click("form[action='/sign-in'] button[type=submit]")
    assert "wrong email or password" in page.locator(".error").inner_text()
    assert page.input_value("input[name=email]") == "analyst@example.org"  # input kept

    sign_in(page, live_url, "analyst")
    page.goto(live_url + "/account")
    assert "Thames Valley Police" in page.locator("dl.facts").inner_text()
    assert "Thames Valley" in page.locator("dl.facts").inner_text()  # a place, not a code
    check_page(page)
    shoot(page, shots, "account-1366")
    cookie = next(c for c in page.context.cookies() if c["name"] == "di_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.click("header button:has-text('Sign out')")
    page.wait_for_url(live_url + "/")
    assert page.locator("header a[href='/sign-in']").count() == 1
    # The old cookie opens nothing any more.
    page.context.add_cookies([{**cookie}])
    page.goto(live_url + "/account")
    assert "/sign-in?next=%2Faccount" in page.url


def test_forms_without_their_token_are_refused(page: Page, live_url: str, people: Accounts) -> None:
    sign_in(page, live_url, "analyst")
    # A request forged by another site carries the cookies but not the form's token.
    forged = page.request.post(
        live_url + "/account/password",
        form={"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
    )
    assert forged.status == 403
    assert "Nothing was changed" in forged.text()
    wrong = page.request.post(
        live_url + "/account/password",
        form={"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD, "csrftoken": "x"},
    )
    assert wrong.status == 403
    # A forged sign-in (no cookies at all) is refused too.
    bare = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        response = bare.request.post(
            live_url + "/sign-in", form={"email": "analyst@example.org", "password": PASSWORD}
        )
        assert response.status == 403
    finally:
        bare.close()


def test_a_password_change_ends_the_other_sessions(
    page: Page, second_page: Page, live_url: str, people: Accounts, engine: Engine
) -> None:
    sign_in(page, live_url, "analyst")
    sign_in(second_page, live_url, "analyst")
    page.goto(live_url + "/account")
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "short")
    page.fill("input[name=again]", "short")
    page.evaluate("document.querySelector('input[name=new]').removeAttribute('minlength')")
    page.click("form[action='/account/password'] button[type=submit]")
    assert "at least 12 characters" in page.locator(".error").inner_text()

    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", NEW_PASSWORD)
    page.fill("input[name=again]", NEW_PASSWORD)
    page.click("form[action='/account/password'] button[type=submit]")
    assert "Password changed" in page.locator(".done").inner_text()
    second_page.goto(live_url + "/account")
    assert "/sign-in" in second_page.url  # signed out there
    try:
        sign_in(second_page, live_url, "analyst", NEW_PASSWORD)
    finally:
        with engine.begin() as conn:  # the next tests sign in with the usual password
            from accounts.users import _hasher

            conn.execute(
                text("UPDATE app_user SET password_hash = :h WHERE email = 'analyst@example.org'"),
                {"h": _hasher.hash(PASSWORD)},
            )


def test_the_operator_invites_a_person_who_joins(
    page: Page, second_page: Page, live_url: str, people: Accounts, shots: Path
) -> None:
    page.goto(live_url + "/operator")
    assert "/sign-in" in page.url  # not for visitors
    sign_in(page, live_url, "admin")
    assert page.url.endswith("/operator")
    page.fill("input[name=name]", "Sam </script><b>Okafor</b> ${alert(1)}")
    page.fill("input[name=email]", "sam@example.org")
    page.select_option("select[name=organisation_id]", label="Oxford Youth Trust (provider)")
    page.select_option("select[name=role]", "supplier")
    page.click("form[action='/operator/invite'] button[type=submit]")
    assert "provider organisation's people can be" in page.locator(".error").inner_text()
    assert page.input_value("input[name=email]") == "sam@example.org"
    page.select_option("select[name=role]", "provider")
    page.click("form[action='/operator/invite'] button[type=submit]")
    link = page.input_value("input.copy")
    check_page(page)
    shoot(page, shots, "operator-1366")

    second_page.goto(link)
    assert "Sam </script><b>Okafor</b> ${alert(1)}" in second_page.locator("main").inner_text()
    second_page.fill("input[name=password]", NEW_PASSWORD)
    second_page.fill("input[name=again]", NEW_PASSWORD)
    second_page.click("main button[type=submit]")
    second_page.wait_for_load_state("load")
    assert "Oxford Youth Trust" in second_page.locator("header").inner_text()
    second_page.goto(link)  # used once only
    assert "used already" in second_page.locator(".error").inner_text()


def test_the_wrong_role_gets_a_page_saying_whose_it_is(
    page: Page, live_url: str, people: Accounts
) -> None:
    sign_in(page, live_url, "supplier_a")
    response = page.goto(live_url + "/operator")
    assert response is not None and response.status == 403
    assert "this page is for a platform operator; you are signed in as supplier at Acme" in (
        page.locator(".error").inner_text()
    )
    assert "Platform operator" not in page.locator("nav").inner_text()


def test_unknown_pages_are_pages_and_sign_in_never_leaves_the_site(
    page: Page, phone: Page, live_url: str, people: Accounts, shots: Path
) -> None:
    response = page.goto(live_url + "/no/such/page")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    check_page(page)
    page.goto(live_url + "/sign-in?next=https://evil.example/x")
    page.fill("input[name=email]", "analyst@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.url.startswith(live_url)

    phone.goto(live_url + "/sign-in")
    check_page(phone)
    shoot(phone, shots, "sign-in-390")
    assert csrf_of(phone)


def test_the_operator_approves_a_claim_no_number_proved(
    page: Page, live_url: str, people: Accounts, engine: Engine, shots: Path
) -> None:
    from accounts.users import get_user
    from accounts.verification import claim, state
    from registry.records import register_activity

    with engine.begin() as conn:
        listed = register_activity(
            conn,
            {"name": "Blackbird Leys </script><b>boxing</b>", "postcode": "OX4 6HN"},
            source="test",
        ).activity_id
        outcome = claim(conn, get_user(conn, people.users["provider"]), listed)
    assert outcome.pending

    sign_in(page, live_url, "admin")
    row = page.locator("#claims tbody tr", has_text="Blackbird Leys </script><b>boxing</b>")
    assert "Oxford Youth Trust" in row.inner_text()
    check_page(page)
    row.get_by_role("button", name="Approve").click()
    assert "Claim approved" in page.locator(".done").inner_text()
    assert page.locator("#claims tbody tr", has_text="Blackbird Leys").count() == 0
    with engine.connect() as conn:
        assert state(conn, listed)["verification"] == "claimed"


def test_file_forms_need_their_token_first(page: Page, live_url: str, people: Accounts) -> None:
    sign_in(page, live_url, "analyst")
    token = csrf_of(page)
    upload = {"name": "x.txt", "mimeType": "text/plain", "buffer": b"hello"}
    for form in (
        {"file": upload},  # no token
        {"csrftoken": "forged", "file": upload},  # a wrong one
        {"file": upload, "csrftoken": token},  # the right one, after the file
    ):
        response = page.request.post(live_url + "/account/password", multipart=form)
        assert response.status == 403, form
        assert "Nothing was changed" in response.text()
    # The right token first: through to the page (which then wants its own fields).
    response = page.request.post(
        live_url + "/account/password", multipart={"csrftoken": token, "file": upload}
    )
    assert response.status == 422


def _tab_to(page: Page, selector: str, most: int = 30) -> None:
    """Press Tab until the element ``selector`` has the focus (as a keyboard user does)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {most} presses of Tab")


def test_signing_in_and_out_by_keyboard_alone(page: Page, live_url: str, people: Accounts) -> None:
    page.goto(live_url + "/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    _tab_to(page, "input[name=email]")
    page.keyboard.type("analyst@example.org")
    _tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_url + "/")
    _tab_to(page, "header button")  # Sign out
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("header a[href='/sign-in']").count() == 1
