"""Organisations and their people: create, authenticate, look up.

Each user belongs to one organisation and has one role; the role must fit the kind of
organisation (a buyer's staff are buyer leads or evaluators, a supplier's are suppliers, a
provider's are providers, the platform operator's are admins; anyone may be an analyst,
read-only). Passwords are hashed with Argon2 (argon2-cffi), never stored.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from accounts.tables import ROLES
from geo.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from registry import names
from registry.tables import BUYER_KINDS

ROLES_BY_KIND = {
    "buyer": {"buyer_lead", "buyer_evaluator", "analyst"},
    "supplier": {"supplier", "analyst"},
    "provider": {"provider", "analyst"},
    "operator": {"admin", "analyst"},
    # A community team (a community foundation, a council's community development team)
    # connects in and verifies activities in its territories.
    "community": {"community", "analyst"},
}
# Each role as people say it.
ROLE_NAMES = {
    "buyer_lead": "Procurement lead",
    "buyer_evaluator": "Evaluator",
    "supplier": "Supplier",
    "provider": "Activity provider",
    "community": "Community team",
    "analyst": "Analyst",
    "admin": "Platform operator",
}
MIN_PASSWORD = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    organisation_id: int
    organisation_kind: str
    organisation_name: str
    territories: tuple[str, ...] = ()


def create_organisation(
    conn: Connection,
    kind: str,
    name: str,
    *,
    buyer_kind: str | None = None,
    territories: Sequence[str] = (),
    charity_number: str | None = None,
    company_number: str | None = None,
) -> int:
    """A buyer (with its kind and the territories it buys for), supplier, provider,
    community team (with the territories it works in) or the platform operator.

    ``charity_number`` and ``company_number`` are normalised as every import normalises
    them (:mod:`registry.names`; a placeholder such as ``0`` is no number): a provider's
    numbers prove its claim to a listed activity (:func:`accounts.verification.claim`). An
    organisation already there (same kind and name) keeps the numbers it has and gains
    those it lacks. Returns its id."""
    if kind not in ROLES_BY_KIND:
        raise InvalidInputError(
            f"organisation kind {kind!r} must be one of {', '.join(ROLES_BY_KIND)}"
        )
    if (kind == "buyer") != (buyer_kind is not None):
        raise InvalidInputError("a buyer needs --buyer-kind, and only a buyer has one")
    if buyer_kind is not None and buyer_kind not in BUYER_KINDS:
        raise InvalidInputError(
            f"buyer kind {buyer_kind!r} must be one of {', '.join(BUYER_KINDS)}"
        )
    if not name.strip():
        raise InvalidInputError("organisation name is empty")
    for code in territories:
        known = conn.execute(text("SELECT 1 FROM territory WHERE code = :c"), {"c": code}).first()
        if known is None:
            raise NotFoundError(f"unknown territory {code!r}")
    organisation_id: int = conn.execute(
        text(
            """
            INSERT INTO organisation
                (kind, natural_key, name, name_key, buyer_kind, charity_number, company_number)
            VALUES (:kind, :key, :name, :name_key, :buyer_kind, :charity, :company)
            ON CONFLICT (kind, natural_key) DO UPDATE SET
                buyer_kind = EXCLUDED.buyer_kind,
                charity_number = coalesce(organisation.charity_number, EXCLUDED.charity_number),
                company_number = coalesce(organisation.company_number, EXCLUDED.company_number)
            RETURNING id
            """
        ),
        {
            "kind": kind,
            "key": f"account:{name.strip().lower()}",
            "name": name.strip(),
            "name_key": name.strip().lower(),
            "buyer_kind": buyer_kind,
            "charity": _identifier(names.charity_number, charity_number),
            "company": _identifier(names.company_number, company_number),
        },
    ).scalar_one()
    for code in territories:
        conn.execute(
            text("INSERT INTO organisation_territory VALUES (:id, :code) ON CONFLICT DO NOTHING"),
            {"id": organisation_id, "code": code},
        )
    return organisation_id


def _identifier(normalise: Callable[[pd.Series], pd.Series], value: str | None) -> str | None:
    """One identifier through the registry's normaliser; ``None`` when there is none."""
    if value is None:
        return None
    normalised = str(normalise(pd.Series([value])).iloc[0])
    return normalised or None


def create_user(
    conn: Connection, email: str, name: str, password: str, organisation_id: int, role: str
) -> int:
    """A new user; the role must fit the organisation's kind. Returns the user id."""
    email = normalise_email(email)
    check_password_strength(password)
    check_newcomer(conn, email, organisation_id, role)
    user_id: int = conn.execute(
        text(
            """
            INSERT INTO app_user (email, name, password_hash, organisation_id, role)
            VALUES (:email, :name, :hash, :organisation_id, :role) RETURNING id
            """
        ),
        {
            "email": email,
            "name": name.strip() or email,
            "hash": _hasher.hash(password),
            "organisation_id": organisation_id,
            "role": role,
        },
    ).scalar_one()
    return user_id


def check_password_strength(password: str) -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD` characters."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD} characters")


def check_newcomer(conn: Connection, email: str, organisation_id: int, role: str) -> None:
    """Refuse a new person whose email is not an address or already has an account, or
    whose role does not fit the kind of ``organisation_id``."""
    if not _EMAIL.match(email):
        raise InvalidInputError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise InvalidInputError(f"role {role!r} must be one of {', '.join(ROLES)}")
    kind = conn.execute(
        text("SELECT kind FROM organisation WHERE id = :id"), {"id": organisation_id}
    ).scalar()
    if kind is None:
        raise NotFoundError(f"no organisation with id {organisation_id}")
    if role not in ROLES_BY_KIND[kind]:
        raise InvalidInputError(
            f"a {kind} organisation's people can be {', '.join(sorted(ROLES_BY_KIND[kind]))}, "
            f"not {role}"
        )
    taken = conn.execute(text("SELECT 1 FROM app_user WHERE email = :e"), {"e": email}).first()
    if taken:
        raise ConflictError(f"a user with email {email} already exists")


def change_password(conn: Connection, user_id: int, current: str, new: str) -> None:
    """Change a person's password, given the current one.

    Raises
    ------
    AuthenticationError
        ``current`` is not their password.
    InvalidInputError
        ``new`` is too short, or the same as ``current``.
    """
    stored = conn.execute(
        text("SELECT password_hash FROM app_user WHERE id = :id AND active FOR UPDATE"),
        {"id": user_id},
    ).scalar()
    try:
        matched = stored is not None and _hasher.verify(stored, current)
    except (VerificationError, InvalidHashError):
        matched = False
    if not matched:
        raise AuthenticationError("the current password is not right: type it again")
    check_password_strength(new)
    if new == current:
        raise InvalidInputError("the new password must differ from the current one")
    conn.execute(
        text("UPDATE app_user SET password_hash = :hash WHERE id = :id"),
        {"hash": _hasher.hash(new), "id": user_id},
    )


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of one password check: the email as normalised, the account it names
    (``None`` if none) and why the check failed (``None`` when the password matched)."""

    email: str
    user_id: int | None
    failure: str | None


def normalise_email(email: str) -> str:
    """An email as accounts are keyed: surrounding spaces removed, lower case."""
    return email.strip().lower()


@cache
def _dummy_hash() -> str:
    """A hash of a random password nobody knows, with the hasher's own parameters."""
    return _hasher.hash(secrets.token_urlsafe(32))


def check_password(conn: Connection, email: str, password: str) -> PasswordCheck:
    """Check a password against the active account with this email.

    Exactly one Argon2 verification runs whatever the outcome (against a dummy hash when
    no active account has the email), so the time taken (about 0.1 s of one core) does not
    reveal which emails have accounts. Callers must give every failure the same answer.

    Parameters
    ----------
    conn : Connection
        Any connection (one read).
    email, password : str
        The credentials as typed.

    Returns
    -------
    PasswordCheck
        ``failure`` is ``None`` when the password matched, else ``"unknown email"``,
        ``"account disabled"`` or ``"wrong password"`` (for the sign-in record only).
    """
    email = normalise_email(email)
    row = (
        None  # PostgreSQL text cannot hold NUL, so no account can have such an email
        if "\x00" in email
        else conn.execute(
            text("SELECT id, password_hash, active FROM app_user WHERE email = :e"),
            {"e": email},
        ).one_or_none()
    )
    stored = row.password_hash if row is not None and row.active else _dummy_hash()
    try:
        matched: bool = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        matched = False
    if row is None:
        return PasswordCheck(email, None, "unknown email")
    if not row.active:
        return PasswordCheck(email, row.id, "account disabled")
    return PasswordCheck(email, row.id, None if matched else "wrong password")


def get_user(conn: Connection, user_id: int) -> User:
    """The active user with this id, with their organisation and its territories.

    Raises
    ------
    AuthenticationError
        No active account has this id.
    """
    return _user(conn, "u.id = :key", user_id)


def user_by_email(conn: Connection, email: str) -> User:
    """The active user signing in with ``email`` (as :func:`get_user`): how the command
    line names the person it acts as.

    Raises
    ------
    NotFoundError
        No active account has this email.
    """
    try:
        return _user(conn, "u.email = :key", normalise_email(email))
    except AuthenticationError:
        raise NotFoundError(f"no active user with email {normalise_email(email)}") from None


def _user(conn: Connection, where: str, key: object) -> User:
    row = conn.execute(
        text(
            f"""
            SELECT u.id, u.email, u.name, u.role, u.organisation_id, o.kind, o.name AS org,
                   coalesce(array_agg(ot.territory_code) FILTER (WHERE ot.territory_code
                       IS NOT NULL), '{{}}') AS territories
            FROM app_user u JOIN organisation o ON o.id = u.organisation_id
            LEFT JOIN organisation_territory ot ON ot.organisation_id = o.id
            WHERE {where} AND u.active
            GROUP BY u.id, o.id
            """
        ),
        {"key": key},
    ).one_or_none()
    if row is None:
        raise AuthenticationError("this account no longer exists or is disabled")
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        organisation_id=row.organisation_id,
        organisation_kind=row.kind,
        organisation_name=row.org,
        territories=tuple(sorted(row.territories)),
    )
