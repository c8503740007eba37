"""Sign-in attempts: check the password, and record every attempt (succeeded, failed or
refused unchecked) in ``login_event``, append-only, with the client it came from.

Throttling (how many failures, from where) is the edges' policy (``api.throttle``); this
module only decides whether credentials are right and keeps the record.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from accounts.users import User, check_password, get_user, normalise_email
from geo.errors import AuthenticationError

# Longest email and client kept in the record (the columns' lengths, in characters).
EMAIL_CHARS = 254
CLIENT_CHARS = 64


def record_attempt(
    conn: Connection, email: str, client: str | None, user_id: int | None, failure: str | None
) -> None:
    """Add one sign-in attempt to ``login_event``.

    Parameters
    ----------
    conn : Connection
        A connection in a transaction the caller commits.
    email : str
        The email as typed (normalised, cut to ``EMAIL_CHARS``, NUL made visible).
    client : str or None
        The client's address as the edge saw it (cut to ``CLIENT_CHARS``).
    user_id : int or None
        The account the email names, when known.
    failure : str or None
        Why the attempt failed or was refused; ``None`` records a success.
    """
    shown = normalise_email(email).replace("\x00", "\N{REPLACEMENT CHARACTER}")
    conn.execute(
        text(
            """
            INSERT INTO login_event (email, user_id, client, ok, reason)
            VALUES (:email, :user_id, :client, :ok, :reason)
            """
        ),
        {
            "email": shown[:EMAIL_CHARS],
            "user_id": user_id,
            "client": None if client is None else client[:CLIENT_CHARS],
            "ok": failure is None,
            "reason": failure,
        },
    )


def sign_in(engine: Engine, email: str, password: str, client: str | None) -> User:
    """The user with these credentials, the attempt recorded either way.

    The record is committed before this returns or raises, so a failed attempt leaves its
    trace whatever happens to the caller's own transaction. Every failure (unknown email,
    disabled account, wrong password) costs one Argon2 check (about 0.1 s of one core) and
    raises the same error, so neither the answer nor its timing reveals which emails have
    accounts; the record keeps the real reason.

    Parameters
    ----------
    engine : Engine
        The database; one connection is used, for about the time of the check.
    email, password : str
        The credentials as typed.
    client : str or None
        The client's address, for the record.

    Returns
    -------
    User
        The signed-in user.

    Raises
    ------
    AuthenticationError
        "wrong email or password", whatever was wrong.
    """
    with engine.connect() as conn:
        check = check_password(conn, email, password)
        record_attempt(conn, check.email, client, check.user_id, check.failure)
        conn.commit()
        if check.failure is not None or check.user_id is None:
            raise AuthenticationError("wrong email or password")
        return get_user(conn, check.user_id)


def record_refusal(engine: Engine, email: str, client: str | None, reason: str) -> None:
    """Record an attempt refused before its password was checked (throttled), in its own
    committed transaction.

    Parameters
    ----------
    engine : Engine
        The database.
    email : str
        The email as typed.
    client : str or None
        The client's address.
    reason : str
        Why it was refused (the message the client was given).
    """
    with engine.begin() as conn:
        record_attempt(conn, email, client, None, reason)
