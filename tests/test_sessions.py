"""Web sessions end at sign-out, when idle too long, at their lifetime, and when the
password changes; invitations work once, before they expire."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from accounts import invitations, sessions
from accounts.users import change_password, create_organisation, create_user, get_user
from geo.errors import AuthenticationError, NotFoundError

PASSWORD = "correct horse battery staple"


def _person(conn: Connection, email: str = "sam@example.org") -> int:
    org = create_organisation(conn, "supplier", f"Sessions test {email}")
    return create_user(conn, email, "Sam", PASSWORD, org, "supplier")


def test_a_session_opens_shows_its_message_once_and_ends(conn: Connection) -> None:
    user = _person(conn)
    token = sessions.start(conn, user)
    sessions.flash(conn, token, "Saved.")
    first = sessions.resume(conn, token)
    assert first is not None and first.user.id == user and first.flash == "Saved."
    again = sessions.resume(conn, token)
    assert again is not None and again.flash is None
    sessions.end(conn, token)
    assert sessions.resume(conn, token) is None
    assert sessions.resume(conn, "not a token") is None


@pytest.mark.parametrize(
    "ageing",
    [
        "last_seen_at = now() - interval '2 hours 1 minute'",  # idle too long
        "expires_at = now() - interval '1 second'",  # past its lifetime
    ],
)
def test_an_idle_or_old_session_ends(conn: Connection, ageing: str) -> None:
    token = sessions.start(conn, _person(conn))
    conn.execute(text(f"UPDATE web_session SET {ageing}"))
    assert sessions.resume(conn, token) is None
    assert conn.execute(text("SELECT count(*) FROM web_session")).scalar() == 0


def test_a_password_change_keeps_only_the_session_it_was_made_in(conn: Connection) -> None:
    user = _person(conn)
    here, elsewhere = sessions.start(conn, user), sessions.start(conn, user)
    with pytest.raises(AuthenticationError, match="current password"):
        change_password(conn, user, "wrong", "a new password of some length")
    change_password(conn, user, PASSWORD, "a new password of some length")
    assert sessions.end_others(conn, user, keep=here) == 1
    assert sessions.resume(conn, here) is not None
    assert sessions.resume(conn, elsewhere) is None


def test_an_invitation_works_once_before_it_expires(conn: Connection) -> None:
    operator = create_organisation(conn, "operator", "Sessions test operator")
    admin = get_user(conn, create_user(conn, "op@example.org", "Op", PASSWORD, operator, "admin"))
    org = create_organisation(conn, "provider", "Sessions test provider")
    token = invitations.invite(
        conn, admin, email=" Ana@Example.org ", name="Ana", organisation_id=org, role="provider"
    )
    assert invitations.pending(conn, token).email == "ana@example.org"
    user = invitations.accept(conn, token, PASSWORD)
    assert get_user(conn, user).organisation_id == org
    with pytest.raises(NotFoundError, match="used already"):
        invitations.accept(conn, token, PASSWORD)

    late = invitations.invite(
        conn, admin, email="bo@example.org", name="Bo", organisation_id=org, role="provider"
    )
    conn.execute(text("UPDATE invitation SET expires_at = now() - interval '1 second'"))
    with pytest.raises(NotFoundError, match="expired"):
        invitations.pending(conn, late)
