"""Security: the audit trail cannot be truncated, and three new append-only records.

* ``audit_event`` refuses TRUNCATE (a statement-level trigger; rows already refuse UPDATE
  and DELETE);
* ``audit_checkpoint``: a keyed MAC (HMAC-SHA256, key kept outside the database) of each
  SPO chain's head, written at every state change, so a chain cut at its tail, deleted
  whole or rewritten consistently no longer matches;
* ``activity_event``: who changed an activity's figures, flags or status, when, from what
  to what and why (buyer overrides of the funding gap, safeguarding changes);
* ``login_event``: every sign-in attempt, failed or not, and where it came from.

All four refuse UPDATE, DELETE and TRUNCATE.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_checkpoint", "activity_event", "login_event")


def _when(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.execute(
        """
        CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
            FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
        """
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("spo_id", sa.Integer(), sa.ForeignKey("spo.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        _when("at"),
        sa.UniqueConstraint("spo_id", "seq", name="uq_audit_checkpoint_spo_seq"),
    )
    op.create_table(
        "activity_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("activity_id", sa.Integer(), sa.ForeignKey("activity.id"), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        _when("at"),
    )
    op.create_index("ix_activity_event_activity_id", "activity_event", ["activity_id"])
    op.create_table(
        "login_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        _when("at"),
    )
    op.create_index("ix_login_event_email_at", "login_event", ["email", "at"])
    for table in APPEND_ONLY:
        op.execute(
            f"""
            CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
            """
        )


def downgrade() -> None:
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
    op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
