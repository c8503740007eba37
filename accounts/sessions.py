"""Web sessions: people signed in to the pages with a cookie.

The browser keeps a random token (256 bits); the database keeps only its SHA-256, so a
copy of the table signs nobody in. A session ends at sign-out, after :data:`IDLE` without a
request, at :data:`LIFETIME` after sign-in whatever happens, and (every other session of
the person) when their password changes. One short message (``flash``) can wait in the
session for the next page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, text

from accounts.users import User, get_user
from geo.errors import AuthenticationError

LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=2)


@dataclass(frozen=True)
class Session:
    """A live session: who, and the message waiting for their next page (if any)."""

    user: User
    flash: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(conn: Connection, user_id: int) -> str:
    """Open a session for ``user_id``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO web_session (token_hash, user_id, expires_at)"
            " VALUES (:hash, :user, now() + make_interval(secs => :seconds))"
        ),
        {"hash": _hash(token), "user": user_id, "seconds": LIFETIME.total_seconds()},
    )
    return token


def resume(conn: Connection, token: str) -> Session | None:
    """The live session ``token`` opens (its waiting message taken), or ``None`` when it is
    unknown, expired or idle too long (an ended session is deleted)."""
    row = conn.execute(
        text(
            """
            WITH found AS (
                SELECT id, user_id, flash,
                       expires_at > now() AND last_seen_at > now() - make_interval(secs => :idle)
                           AS live
                FROM web_session WHERE token_hash = :hash FOR UPDATE
            ), touched AS (
                UPDATE web_session s SET last_seen_at = now(), flash = NULL
                FROM found WHERE s.id = found.id AND found.live
            ), ended AS (
                DELETE FROM web_session s USING found WHERE s.id = found.id AND NOT found.live
            )
            SELECT user_id, flash, live FROM found
            """
        ),
        {"hash": _hash(token), "idle": IDLE.total_seconds()},
    ).one_or_none()
    if row is None or not row.live:
        return None
    try:
        return Session(get_user(conn, row.user_id), row.flash)
    except AuthenticationError:  # the account was disabled since
        return None


def flash(conn: Connection, token: str, message: str) -> None:
    """Leave ``message`` for the session's next page."""
    conn.execute(
        text("UPDATE web_session SET flash = :message WHERE token_hash = :hash"),
        {"message": message, "hash": _hash(token)},
    )


def end(conn: Connection, token: str) -> None:
    """Sign out: the session is deleted."""
    conn.execute(text("DELETE FROM web_session WHERE token_hash = :hash"), {"hash": _hash(token)})


def end_others(conn: Connection, user_id: int, keep: str | None = None) -> int:
    """End every session of ``user_id`` except the one ``keep`` opens; returns how many."""
    result = conn.execute(
        text("DELETE FROM web_session WHERE user_id = :user AND token_hash IS DISTINCT FROM :keep"),
        {"user": user_id, "keep": _hash(keep) if keep else None},
    )
    return result.rowcount
