"""The accounts domain's tables: people (one organisation, one role each) and the
territories a buyer organisation buys for, with the vocabulary of roles."""

from __future__ import annotations

import sqlalchemy as sa

from geo.metadata import (
    append_only,
    key,
    metadata,
    one_of,
    optional,
    reference,
    required,
    timestamp,
)

ROLES = (
    "buyer_lead",
    "buyer_evaluator",
    "supplier",
    "provider",
    "community",
    "analyst",
    "admin",
)

# A person, in one organisation, with one role. Passwords are stored as Argon2 hashes.
app_user = sa.Table(
    "app_user",
    metadata,
    key(),
    *required("email", "name", "password_hash"),
    reference("organisation_id", "organisation.id"),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, server_default=sa.text("true"), nullable=False),
    timestamp("created_at"),
    sa.CheckConstraint(one_of("role", ROLES), name="ck_app_user_role"),
    sa.CheckConstraint("email = lower(email)", name="ck_app_user_email_lower"),
    sa.UniqueConstraint("email", name="uq_app_user_email"),
)

# The territories a buyer buys for, or a community team works in.
organisation_territory = sa.Table(
    "organisation_territory",
    metadata,
    reference("organisation_id", "organisation.id", primary_key=True, ondelete="CASCADE"),
    sa.Column("territory_code", sa.String(9), primary_key=True),
)

# Every sign-in attempt (failed or not) and the client it came from. Append-only.
login_event = sa.Table(
    "login_event",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    *required("email", type_=sa.String(254)),
    reference("user_id", "app_user.id", nullable=True),
    *optional("client", type_=sa.String(64)),
    *required("ok", type_=sa.Boolean),
    *optional("reason"),
    timestamp("at"),
    sa.Index("ix_login_event_email_at", "email", "at"),
    info=append_only(),
)

# A person signed in to the web pages: the browser holds a random token in a cookie, the
# database only its SHA-256. Ends at sign-out, after ``idle`` without a request, at
# ``expires_at`` whatever happens, and when the password changes (every other session).
web_session = sa.Table(
    "web_session",
    metadata,
    key(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    reference("user_id", "app_user.id", index=True, ondelete="CASCADE"),
    timestamp("created_at"),
    timestamp("last_seen_at"),
    *required("expires_at", type_=sa.DateTime(timezone=True)),
    *optional("flash"),  # one message for the next page ("Saved."), shown once
)

# An operator inviting a person to an organisation with a role: the link carries a random
# token (the database keeps its SHA-256); following it once, before ``expires_at``, sets the
# person's password and makes the account.
invitation = sa.Table(
    "invitation",
    metadata,
    key(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    *required("email", "name"),
    reference("organisation_id", "organisation.id"),
    sa.Column("role", sa.String(20), nullable=False),
    reference("invited_by", "app_user.id"),
    timestamp("created_at"),
    *required("expires_at", type_=sa.DateTime(timezone=True)),
    *optional("accepted_at", type_=sa.DateTime(timezone=True)),
    reference("user_id", "app_user.id", nullable=True),
    sa.CheckConstraint(one_of("role", ROLES), name="ck_invitation_role"),
    sa.CheckConstraint("email = lower(email)", name="ck_invitation_email_lower"),
)
