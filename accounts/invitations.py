"""Invitations: an operator asks a person to join an organisation with a role.

The operator gets a link to send (the platform sends no email); the link's token is random
and the database keeps only its SHA-256. Following the link once, before it expires
(:data:`VALID_FOR`), the person chooses a password and the account is made, with the
checks of :func:`accounts.users.create_user`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action
from accounts.users import User, check_newcomer, create_user, normalise_email
from geo.errors import InvalidInputError, NotFoundError

VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Invitation:
    id: int
    email: str
    name: str
    organisation_id: int
    organisation_name: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    conn: Connection, by: User, *, email: str, name: str, organisation_id: int, role: str
) -> str:
    """Invite a person (operators' admins only); returns the token for the link.

    Raises
    ------
    PermissionDeniedError
        ``by`` may not add people.
    InvalidInputError, NotFoundError, ConflictError
        The email, role or organisation would not make an account (see
        :func:`accounts.users.check_newcomer`).
    """
    permissions.require(by, Action.ADD_USER)
    email = normalise_email(email)
    if not name.strip():
        raise InvalidInputError("give the person's name")
    check_newcomer(conn, email, organisation_id, role)
    token = secrets.token_urlsafe(32)
    conn.execute(
        text(
            """
            INSERT INTO invitation (token_hash, email, name, organisation_id, role, invited_by,
                                    expires_at)
            VALUES (:hash, :email, :name, :org, :role, :by,
                    now() + make_interval(secs => :seconds))
            """
        ),
        {
            "hash": _hash(token),
            "email": email,
            "name": name.strip(),
            "org": organisation_id,
            "role": role,
            "by": by.id,
            "seconds": VALID_FOR.total_seconds(),
        },
    )
    return token


_SELECT = """
    SELECT i.id, i.email, i.name, i.organisation_id, o.name AS organisation_name, i.role,
           i.expires_at, i.accepted_at
    FROM invitation i JOIN organisation o ON o.id = i.organisation_id
"""


def pending(conn: Connection, token: str, *, lock: bool = False) -> Invitation:
    """The invitation ``token`` opens, if it can still be accepted.

    Raises
    ------
    NotFoundError
        No invitation has this token, or it was used already, or it has expired.
    """
    row = conn.execute(
        text(_SELECT + " WHERE i.token_hash = :hash" + (" FOR UPDATE OF i" if lock else "")),
        {"hash": _hash(token)},
    ).one_or_none()
    if row is None:
        raise NotFoundError("this invitation link is not known: ask for a new one")
    invitation = Invitation(**row._mapping)
    if invitation.accepted_at is not None:
        raise NotFoundError("this invitation has been used already: sign in instead")
    if conn.execute(text("SELECT :at < now()"), {"at": invitation.expires_at}).scalar():
        raise NotFoundError("this invitation has expired: ask the operator for a new one")
    return invitation


def accept(conn: Connection, token: str, password: str) -> int:
    """Make the invited person's account with ``password``; returns the user id."""
    invitation = pending(conn, token, lock=True)
    user_id = create_user(
        conn,
        invitation.email,
        invitation.name,
        password,
        invitation.organisation_id,
        invitation.role,
    )
    conn.execute(
        text("UPDATE invitation SET accepted_at = now(), user_id = :user WHERE id = :id"),
        {"user": user_id, "id": invitation.id},
    )
    return user_id


def recent(conn: Connection, limit: int = 50) -> list[Invitation]:
    """The latest invitations, newest first."""
    rows = conn.execute(
        text(_SELECT + " ORDER BY i.created_at DESC, i.id DESC LIMIT :limit"), {"limit": limit}
    )
    return [Invitation(**row._mapping) for row in rows]
