"""The procurement domain's tables: tenders and their delivery locations, Social Purchase
Orders with their commitments, variations and deliveries, and the hash-chained audit
trail, with the vocabulary of commitment kinds (SPO states: :mod:`procurement.states`).

Money in pounds; points in EPSG:4326.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from geo.metadata import (
    append_only,
    geometry,
    key,
    metadata,
    one_of,
    optional,
    reference,
    required,
    timestamp,
)
from procurement.states import STATES

MONEY = sa.Numeric(14, 2)  # pounds and pence (quantities of hours and jobs alike)
SCORE = sa.Numeric(5, 1)  # 0-100, one decimal
COMMITMENT_KINDS = ("money", "volunteer_hours", "in_kind", "jobs")
PROVIDER_RESPONSES = ("pending", "confirmed", "disputed")


def _user(name: str, *, nullable: bool = False) -> sa.Column[int]:
    """Who did it: a person (``app_user``)."""
    return reference(name, "app_user.id", nullable=nullable)


# A buyer's contract opportunity: where, how big, what social value it asks for.
tender = sa.Table(
    "tender",
    metadata,
    key(),
    reference("buyer_id", "organisation.id"),
    sa.Column("territory_code", sa.String(9), nullable=False, index=True),
    *required("title"),
    *required("contract_value_gbp", type_=sa.Numeric(16, 2)),
    *required("social_value_weighting_pct", type_=sa.Numeric(5, 2)),
    *required("outcomes", type_=sa.ARRAY(sa.String)),
    *required("bid_deadline", type_=sa.DateTime(timezone=True)),
    *required("contract_start", type_=sa.Date),
    *optional("ocid"),
    *optional("notice_url"),  # the Find a Tender (or Contracts Finder) notice, when there is one
    _user("created_by"),
    timestamp("created_at"),
    sa.CheckConstraint("contract_value_gbp > 0", name="ck_tender_value"),
    sa.CheckConstraint("social_value_weighting_pct BETWEEN 0 AND 100", name="ck_tender_weighting"),
)

# Where the contract is delivered (its sites), for geographic alignment.
tender_location = sa.Table(
    "tender_location",
    metadata,
    key(),
    reference("tender_id", "tender.id", index=True, ondelete="CASCADE"),
    *required("label"),
    geometry("POINT"),
)

# A supplier's shortlist: activities it is considering for a site (or for its bids in
# general), kept per organisation until removed.
shortlist = sa.Table(
    "shortlist",
    metadata,
    key(),
    reference("supplier_id", "organisation.id", index=True, ondelete="CASCADE"),
    reference("activity_id", "activity.id", ondelete="CASCADE"),
    reference("site_id", "supplier_site.id", nullable=True, ondelete="CASCADE"),
    *optional("note"),
    _user("added_by"),
    timestamp("created_at"),
    sa.UniqueConstraint(
        "supplier_id",
        "activity_id",
        "site_id",
        name="uq_shortlist",
        postgresql_nulls_not_distinct=True,
    ),
)

# A Social Purchase Order: a supplier's bid-time link to activities in a territory.
spo = sa.Table(
    "spo",
    metadata,
    key(),
    reference("tender_id", "tender.id", index=True),
    reference("supplier_id", "organisation.id", index=True),
    sa.Column("status", sa.String(12), server_default="draft", nullable=False),
    *optional("summary"),
    *optional("score", type_=SCORE),
    *optional("score_components", type_=JSONB),
    *optional("score_rubric"),
    *optional("score_override", type_=SCORE),
    *optional("override_reason"),
    _user("created_by"),
    timestamp("created_at"),
    *optional("submitted_at", "awarded_at", type_=sa.DateTime(timezone=True)),
    sa.CheckConstraint(one_of("status", STATES), name="ck_spo_status"),
    sa.CheckConstraint(
        "score_override IS NULL OR override_reason IS NOT NULL", name="ck_spo_override_reason"
    ),
    sa.Index(
        "uq_spo_one_award_per_tender",
        "tender_id",
        unique=True,
        postgresql_where=sa.text("status IN ('awarded', 'delivering', 'completed')"),
    ),
    sa.Index(
        "uq_spo_one_bid_per_supplier",
        "tender_id",
        "supplier_id",
        unique=True,
        postgresql_where=sa.text("status NOT IN ('withdrawn', 'lapsed')"),
    ),
)

# What an SPO commits to one activity: what, how much, where, for whom, by when.
spo_commitment = sa.Table(
    "spo_commitment",
    metadata,
    key(),
    reference("spo_id", "spo.id", index=True, ondelete="CASCADE"),
    reference("activity_id", "activity.id", index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    *required("quantity", "value_gbp", type_=MONEY),
    *required("what", "where_text", "for_whom"),
    *required("by_when", type_=sa.Date),
    timestamp("created_at"),
    sa.CheckConstraint(one_of("kind", COMMITMENT_KINDS), name="ck_spo_commitment_kind"),
    sa.CheckConstraint("quantity > 0", name="ck_spo_commitment_quantity"),
    sa.CheckConstraint("value_gbp >= 0", name="ck_spo_commitment_value"),
)

# A tender's buyer letting its SPOs commit to an activity the register does not find
# eligible (ineligible or not yet reviewed): who, when and why. Append-only.
eligibility_allowance = sa.Table(
    "eligibility_allowance",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    reference("tender_id", "tender.id", index=True),
    reference("activity_id", "activity.id"),
    reference("allowed_by", "app_user.id"),
    *required("reason"),
    timestamp("at"),
    sa.UniqueConstraint("tender_id", "activity_id", name="uq_eligibility_allowance"),
    info=append_only(),
)

# A recorded change to an awarded commitment (awarded commitments are never edited).
spo_variation = sa.Table(
    "spo_variation",
    metadata,
    key(),
    reference("spo_id", "spo.id"),
    reference("commitment_id", "spo_commitment.id"),
    *required("changes", type_=JSONB),
    *required("reason"),
    _user("created_by"),
    timestamp("created_at"),
)

# A delivery claim against a commitment: the supplier claims, the provider confirms or
# disputes, the buyer signs off.
spo_delivery = sa.Table(
    "spo_delivery",
    metadata,
    key(),
    reference("commitment_id", "spo_commitment.id", index=True),
    sa.Column("money_paid_gbp", sa.Numeric(14, 2), server_default="0", nullable=False),
    sa.Column("hours_given", sa.Numeric(12, 2), server_default="0", nullable=False),
    sa.Column("people_reached", sa.Integer, server_default="0", nullable=False),
    sa.Column("evidence_links", sa.ARRAY(sa.String), server_default="{}", nullable=False),
    *optional("note"),
    _user("claimed_by"),
    timestamp("created_at"),
    sa.Column("provider_status", sa.String(10), server_default="pending", nullable=False),
    _user("provider_by", nullable=True),
    *optional("provider_note"),
    _user("signed_off_by", nullable=True),
    sa.CheckConstraint(
        one_of("provider_status", PROVIDER_RESPONSES), name="ck_spo_delivery_provider_status"
    ),
    sa.CheckConstraint(
        "money_paid_gbp >= 0 AND hours_given >= 0 AND people_reached >= 0",
        name="ck_spo_delivery_amounts",
    ),
)

# Append-only, hash-chained per SPO: each event carries the hash of the one before.
audit_event = sa.Table(
    "audit_event",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    reference("spo_id", "spo.id"),
    *required("seq", type_=sa.Integer),
    *required("at", type_=sa.DateTime(timezone=True)),
    _user("actor_id", nullable=True),
    *required("action"),
    *optional("from_state", "to_state", type_=sa.String(12)),
    *optional("reason"),
    *required("payload", type_=JSONB),
    *required("prev_hash", "hash", type_=sa.String(64)),
    sa.UniqueConstraint("spo_id", "seq", name="uq_audit_event_spo_seq"),
    info=append_only(),
)

# A keyed MAC of an SPO chain's head, written at every state change (HMAC-SHA256 with a key
# kept outside the database; ``key_id`` names it): a chain cut at its tail, deleted whole or
# rewritten with recomputed hashes no longer matches its last checkpoint. Append-only.
audit_checkpoint = sa.Table(
    "audit_checkpoint",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    reference("spo_id", "spo.id"),
    *required("seq", type_=sa.Integer),
    *required("head_hash", "mac", type_=sa.String(64)),
    *required("key_id", type_=sa.String(16)),
    timestamp("at"),
    sa.UniqueConstraint("spo_id", "seq", name="uq_audit_checkpoint_spo_seq"),
    info=append_only(),
)
