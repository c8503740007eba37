"""The web app for every role.

* ``web_session``: people signed in to the web pages (the database keeps a hash of the
  cookie's token, when it was last used and when it ends);
* ``invitation``: an operator inviting a person to an organisation with a role (the link's
  token is kept as a hash; used once, before it expires);
* ``activity_evidence``: links and files a provider attaches to its activity (files kept
  outside the web root, served as downloads);
* ``shortlist``: activities a supplier is considering, per organisation (and site);
* ``tender.notice_url``: the tender's Find a Tender (or Contracts Finder) notice;
* ``organisation.ppon``: its Public Procurement Organisation Number, for OCDS identifiers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('buyer_lead', 'buyer_evaluator', 'supplier', 'provider', 'community',"
            " 'analyst', 'admin')",
            name="ck_invitation_role",
        ),
        sa.CheckConstraint("email = lower(email)", name="ck_invitation_email_lower"),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flash", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_web_session_user_id"), "web_session", ["user_id"], unique=False)
    op.create_table(
        "activity_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("filename", sa.String(), nullable=True),
        sa.Column("content_type", sa.String(), nullable=True),
        sa.Column("stored_name", sa.String(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'link' AND url IS NOT NULL) OR (kind = 'file' AND stored_name IS NOT NULL"
            " AND size_bytes IS NOT NULL AND sha256 IS NOT NULL)",
            name="ck_activity_evidence_content",
        ),
        sa.CheckConstraint("kind IN ('link', 'file')", name="ck_activity_evidence_kind"),
        sa.ForeignKeyConstraint(["activity_id"], ["activity.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_activity_evidence_activity_id"), "activity_evidence", ["activity_id"], unique=False
    )
    op.create_table(
        "shortlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["activity_id"], ["activity.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(["site_id"], ["supplier_site.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["supplier_id"], ["organisation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "supplier_id",
            "activity_id",
            "site_id",
            name="uq_shortlist",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_shortlist_supplier_id"), "shortlist", ["supplier_id"], unique=False)
    op.add_column("tender", sa.Column("notice_url", sa.String(), nullable=True))
    op.add_column("organisation", sa.Column("ppon", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("organisation", "ppon")
    op.drop_column("tender", "notice_url")
    op.drop_index(op.f("ix_shortlist_supplier_id"), table_name="shortlist")
    op.drop_table("shortlist")
    op.drop_index(op.f("ix_activity_evidence_activity_id"), table_name="activity_evidence")
    op.drop_table("activity_evidence")
    op.drop_index(op.f("ix_web_session_user_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("invitation")
