"""Accounts and procurement: users and roles, tenders, SPOs, commitments, variations,
delivery claims and the hash-chained audit trail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies as of this revision (procurement/states.py holds the live ones).
STATES = (
    "draft",
    "submitted",
    "scored",
    "awarded",
    "delivering",
    "completed",
    "withdrawn",
    "not_awarded",
    "lapsed",
)
TRANSITIONS = (
    ("draft", "submitted"),
    ("draft", "withdrawn"),
    ("submitted", "withdrawn"),
    ("submitted", "scored"),
    ("scored", "awarded"),
    ("submitted", "not_awarded"),
    ("scored", "not_awarded"),
    ("draft", "lapsed"),
    ("submitted", "lapsed"),
    ("scored", "lapsed"),
    ("awarded", "delivering"),
    ("delivering", "completed"),
)
ROLES = ("buyer_lead", "buyer_evaluator", "supplier", "provider", "analyst", "admin")
BUYER_KINDS = ("police", "council", "nhs", "fire", "criminal_justice")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.drop_constraint("ck_organisation_kind", "organisation", type_="check")
    op.create_check_constraint(
        "ck_organisation_kind",
        "organisation",
        "kind IN ('provider', 'supplier', 'buyer', 'operator')",
    )
    op.add_column("organisation", sa.Column("buyer_kind", sa.String(20), nullable=True))
    op.create_check_constraint(
        "ck_organisation_buyer_kind",
        "organisation",
        f"(kind = 'buyer') = (buyer_kind IS NOT NULL) AND "
        f"(buyer_kind IS NULL OR {_in('buyer_kind', BUYER_KINDS)})",
    )
    op.create_table(
        "organisation_territory",
        sa.Column(
            "organisation_id",
            sa.Integer,
            sa.ForeignKey("organisation.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("territory_code", sa.String(9), primary_key=True),
    )

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _now(),
        sa.CheckConstraint(_in("role", ROLES), name="ck_app_user_role"),
        sa.CheckConstraint("email = lower(email)", name="ck_app_user_email_lower"),
        sa.UniqueConstraint("email", name="uq_app_user_email"),
    )

    op.create_table(
        "tender",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("buyer_id", sa.Integer, sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("territory_code", sa.String(9), nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("contract_value_gbp", sa.Numeric(16, 2), nullable=False),
        sa.Column("social_value_weighting_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("outcomes", sa.ARRAY(sa.String), nullable=False),
        sa.Column("bid_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_start", sa.Date, nullable=False),
        sa.Column("ocid", sa.String, nullable=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=False),
        _now(),
        sa.CheckConstraint("contract_value_gbp > 0", name="ck_tender_value"),
        sa.CheckConstraint(
            "social_value_weighting_pct BETWEEN 0 AND 100", name="ck_tender_weighting"
        ),
    )
    op.create_index("ix_tender_territory_code", "tender", ["territory_code"])
    op.create_table(
        "tender_location",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "tender_id", sa.Integer, sa.ForeignKey("tender.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_tender_location_tender_id", "tender_location", ["tender_id"])

    op.create_table(
        "spo",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tender_id", sa.Integer, sa.ForeignKey("tender.id"), nullable=False),
        sa.Column("supplier_id", sa.Integer, sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="draft"),
        sa.Column("summary", sa.String, nullable=True),
        sa.Column("score", sa.Numeric(5, 1), nullable=True),
        sa.Column("score_components", postgresql.JSONB, nullable=True),
        sa.Column("score_rubric", sa.String, nullable=True),
        sa.Column("score_override", sa.Numeric(5, 1), nullable=True),
        sa.Column("override_reason", sa.String, nullable=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=False),
        _now(),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("status", STATES), name="ck_spo_status"),
        sa.CheckConstraint(
            "score_override IS NULL OR override_reason IS NOT NULL", name="ck_spo_override_reason"
        ),
    )
    op.create_index("ix_spo_tender_id", "spo", ["tender_id"])
    op.create_index("ix_spo_supplier_id", "spo", ["supplier_id"])
    # One winner per tender, whatever races: the database has the last word.
    op.create_index(
        "uq_spo_one_award_per_tender",
        "spo",
        ["tender_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('awarded', 'delivering', 'completed')"),
    )
    # One bid per supplier per tender (a withdrawn or lapsed one may be replaced).
    op.create_index(
        "uq_spo_one_bid_per_supplier",
        "spo",
        ["tender_id", "supplier_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('withdrawn', 'lapsed')"),
    )
    pairs = ", ".join(f"('{a}', '{b}')" for a, b in TRANSITIONS)
    op.execute(f"""
        CREATE FUNCTION spo_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status
               AND (OLD.status, NEW.status) NOT IN ({pairs}) THEN
                RAISE EXCEPTION 'illegal SPO transition % -> %', OLD.status, NEW.status
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER spo_transition BEFORE UPDATE OF status ON spo
            FOR EACH ROW EXECUTE FUNCTION spo_check_transition();
    """)

    op.create_table(
        "spo_commitment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "spo_id", sa.Integer, sa.ForeignKey("spo.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("activity_id", sa.Integer, sa.ForeignKey("activity.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 2), nullable=False),
        sa.Column("value_gbp", sa.Numeric(14, 2), nullable=False),
        sa.Column("what", sa.String, nullable=False),
        sa.Column("where_text", sa.String, nullable=False),
        sa.Column("for_whom", sa.String, nullable=False),
        sa.Column("by_when", sa.Date, nullable=False),
        _now(),
        sa.CheckConstraint(
            _in("kind", ("money", "volunteer_hours", "in_kind", "jobs")),
            name="ck_spo_commitment_kind",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_spo_commitment_quantity"),
        sa.CheckConstraint("value_gbp >= 0", name="ck_spo_commitment_value"),
    )
    op.create_index("ix_spo_commitment_spo_id", "spo_commitment", ["spo_id"])
    op.create_index("ix_spo_commitment_activity_id", "spo_commitment", ["activity_id"])
    # After award a commitment changes only through a recorded variation.
    op.execute("""
        CREATE FUNCTION spo_commitment_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE spo_status text;
        BEGIN
            SELECT status INTO spo_status FROM spo WHERE id = OLD.spo_id;
            IF spo_status IN ('awarded', 'delivering', 'completed')
               AND coalesce(current_setting('dualimpact.variation', true), '') <> 'on' THEN
                RAISE EXCEPTION 'SPO % is awarded: its commitments change only by variation',
                    OLD.spo_id USING ERRCODE = 'check_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$;
        CREATE TRIGGER spo_commitment_lock BEFORE UPDATE OR DELETE ON spo_commitment
            FOR EACH ROW EXECUTE FUNCTION spo_commitment_locked();
    """)
    op.create_table(
        "spo_variation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spo_id", sa.Integer, sa.ForeignKey("spo.id"), nullable=False),
        sa.Column("commitment_id", sa.Integer, sa.ForeignKey("spo_commitment.id"), nullable=False),
        sa.Column("changes", postgresql.JSONB, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=False),
        _now(),
    )
    op.create_table(
        "spo_delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("commitment_id", sa.Integer, sa.ForeignKey("spo_commitment.id"), nullable=False),
        sa.Column("money_paid_gbp", sa.Numeric(14, 2), nullable=False, server_default="0"),
        sa.Column("hours_given", sa.Numeric(12, 2), nullable=False, server_default="0"),
        sa.Column("people_reached", sa.Integer, nullable=False, server_default="0"),
        sa.Column("evidence_links", sa.ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("note", sa.String, nullable=True),
        sa.Column("claimed_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=False),
        _now(),
        sa.Column("provider_status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("provider_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("provider_note", sa.String, nullable=True),
        sa.Column("signed_off_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=True),
        sa.CheckConstraint(
            _in("provider_status", ("pending", "confirmed", "disputed")),
            name="ck_spo_delivery_provider_status",
        ),
        sa.CheckConstraint(
            "money_paid_gbp >= 0 AND hours_given >= 0 AND people_reached >= 0",
            name="ck_spo_delivery_amounts",
        ),
    )
    op.create_index("ix_spo_delivery_commitment_id", "spo_delivery", ["commitment_id"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("spo_id", sa.Integer, sa.ForeignKey("spo.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("from_state", sa.String(12), nullable=True),
        sa.Column("to_state", sa.String(12), nullable=True),
        sa.Column("reason", sa.String, nullable=True),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("spo_id", "seq", name="uq_audit_event_spo_seq"),
    )
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'check_violation';
        END $$;
        CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
    """)


def downgrade() -> None:
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION audit_event_append_only()")
    op.drop_table("spo_delivery")
    op.drop_table("spo_variation")
    op.drop_table("spo_commitment")
    op.execute("DROP FUNCTION spo_commitment_locked()")
    op.drop_table("spo")
    op.execute("DROP FUNCTION spo_check_transition()")
    op.drop_table("tender_location")
    op.drop_table("tender")
    op.drop_table("app_user")
    op.drop_table("organisation_territory")
    op.drop_constraint("ck_organisation_buyer_kind", "organisation", type_="check")
    op.drop_column("organisation", "buyer_kind")
    op.execute("DELETE FROM organisation WHERE kind = 'operator'")
    op.drop_constraint("ck_organisation_kind", "organisation", type_="check")
    op.create_check_constraint(
        "ck_organisation_kind", "organisation", "kind IN ('provider', 'supplier', 'buyer')"
    )
