"""The registry's tables: organisations (providers, suppliers, buyers), activities and
supplier sites, with their vocabularies.

Activities and supplier sites are *placed* records (point in EPSG:4326, location
precision, territory, need area: :func:`geo.metadata.placed_columns`). Read them with their
placement through the views ``activity_placed`` and ``supplier_site_placed`` (migration
0005), which write the joins to territory, need area and organisation once. Money in
pounds; radius in metres.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from geo.geocode import PRECISIONS
from geo.metadata import (
    append_only,
    geometry,
    gist,
    key,
    metadata,
    one_of,
    optional,
    placed_columns,
    placed_constraints,
    reference,
    required,
    timestamp,
)
from registry.categories import SLUGS as CATEGORY_SLUGS
from registry.themes import VOCABULARY

ORGANISATION_KINDS = ("provider", "supplier", "buyer", "operator", "community")
BUYER_KINDS = ("police", "council", "nhs", "fire", "criminal_justice")
ACTIVITY_STATUSES = ("active", "at_risk", "closed")
THEME_SOURCES = ("classifier", "file", "override")
# Whether an activity is a dual-impact activity: decided by the rules of
# :mod:`registry.eligibility` or by a person (a *decision*, which the rules never replace).
ELIGIBILITY = ("eligible", "ineligible", "needs_review")
ELIGIBILITY_SOURCES = ("rules", "decision")
# The verification ladder: listed (from open data) -> claimed (its provider took the record
# over) -> verified (a community team confirmed it) -> lapsed (marked so, or a claimed or
# verified record not heard of for the lapse period: see the ``activity_placed`` view).
VERIFICATION = ("listed", "claimed", "verified", "lapsed")
EVIDENCE_LEVELS = range(1, 6)  # Nesta Standards of Evidence, levels 1-5
# Where an activity's own point is: its organisation's registered office (360Giving
# recipients) or where it is delivered (anything registered as a service).
LOCATION_BASES = ("registered_office", "delivery")
MONEY = sa.Numeric(14, 2)  # pounds and pence

# A provider (charity, social enterprise, community group), supplier, buyer or operator.
# ``natural_key`` identifies it across files: an org-id (``GB-CHC-…``, ``GB-COH-…``) where
# one is known, otherwise its normalised name (and postcode, for providers).
organisation = sa.Table(
    "organisation",
    metadata,
    key(),
    sa.Column("kind", sa.String(10), nullable=False),
    *required("natural_key", "name"),
    sa.Column("name_key", sa.String, nullable=False, index=True),
    *optional("charity_number", "company_number", "url", "sector"),
    # The Public Procurement Organisation Number (Procurement Act 2023 central platform).
    *optional("ppon"),
    *optional("is_sme", "is_vcse", type_=sa.Boolean),
    sa.Column("buyer_kind", sa.String(20)),
    timestamp("created_at"),
    timestamp("updated_at"),
    sa.UniqueConstraint("kind", "natural_key", name="uq_organisation_kind_key"),
    sa.CheckConstraint(one_of("kind", ORGANISATION_KINDS), name="ck_organisation_kind"),
    sa.CheckConstraint(
        "(kind = 'buyer') = (buyer_kind IS NOT NULL) AND "
        f"(buyer_kind IS NULL OR {one_of('buyer_kind', BUYER_KINDS)})",
        name="ck_organisation_buyer_kind",
    ),
)

# A dual-impact activity: where it is delivered, whom it serves, what it costs and needs,
# and how sure we are.
activity = sa.Table(
    "activity",
    metadata,
    key(),
    *required("name", "name_key"),
    *optional("description"),
    *required("themes", type_=sa.ARRAY(sa.String)),
    sa.Column("themes_source", sa.String(12), nullable=False),
    reference("provider_id", "organisation.id", nullable=True),
    *optional("address"),
    *optional("service_radius_m", type_=sa.Float),
    geometry("MULTIPOLYGON", name="service_area", nullable=True),
    *optional("people_reached_per_year", type_=sa.Integer),
    *optional("annual_running_cost", "funding_gap", type_=MONEY),
    sa.Column("status", sa.String(10), nullable=False),
    *optional("closing_date", type_=sa.Date),
    *required("evidence_links", type_=sa.ARRAY(sa.String)),
    *required("safeguarding", type_=sa.Boolean),
    *optional("grant_count", type_=sa.Integer),
    *optional("grant_total_gbp", type_=MONEY),
    *optional("last_award_year", type_=sa.Integer),
    *optional("funders"),
    *optional("grant_titles"),
    sa.Column("location_basis", sa.String(20), server_default="delivery", nullable=False),
    sa.Column("eligibility", sa.String(12), server_default="needs_review", nullable=False),
    sa.Column(
        "eligibility_categories",
        sa.ARRAY(sa.String),
        server_default=sa.text("'{}'::varchar[]"),
        nullable=False,
    ),
    *optional("eligibility_reason"),
    sa.Column("eligibility_source", sa.String(10), server_default="rules", nullable=False),
    reference("eligibility_decided_by", "app_user.id", nullable=True),
    *optional("eligibility_decided_at", type_=sa.DateTime(timezone=True)),
    sa.Column("verification", sa.String(10), server_default="listed", nullable=False),
    *optional("evidence_level", type_=sa.SmallInteger),
    reference("verified_by", "app_user.id", nullable=True),
    *optional("claimed_at", "verified_at", "confirmed_at", type_=sa.DateTime(timezone=True)),
    *placed_columns(),
    *placed_constraints("activity"),
    sa.CheckConstraint(one_of("eligibility", ELIGIBILITY), name="ck_activity_eligibility"),
    sa.CheckConstraint(
        one_of("eligibility_source", ELIGIBILITY_SOURCES), name="ck_activity_eligibility_source"
    ),
    sa.CheckConstraint(
        "eligibility_categories <@ ARRAY["
        + ", ".join(f"'{c}'" for c in CATEGORY_SLUGS)
        + "]::varchar[]",
        name="ck_activity_eligibility_categories",
    ),
    sa.CheckConstraint(
        "(eligibility = 'eligible') = (cardinality(eligibility_categories) > 0)",
        name="ck_activity_eligible_has_category",
    ),
    sa.CheckConstraint(
        "eligibility <> 'ineligible' OR eligibility_reason IS NOT NULL",
        name="ck_activity_eligibility_reason",
    ),
    sa.CheckConstraint(one_of("verification", VERIFICATION), name="ck_activity_verification"),
    sa.CheckConstraint(
        f"evidence_level BETWEEN {EVIDENCE_LEVELS.start} AND {EVIDENCE_LEVELS.stop - 1}",
        name="ck_activity_evidence_level",
    ),
    sa.CheckConstraint(
        "verification <> 'verified' OR (verified_at IS NOT NULL AND evidence_level IS NOT NULL)",
        name="ck_activity_verified_has_evidence",
    ),
    sa.CheckConstraint(one_of("location_basis", LOCATION_BASES), name="ck_activity_location_basis"),
    sa.CheckConstraint(one_of("status", ACTIVITY_STATUSES), name="ck_activity_status"),
    sa.CheckConstraint(one_of("themes_source", THEME_SOURCES), name="ck_activity_themes_source"),
    sa.CheckConstraint(
        "themes <@ ARRAY[" + ", ".join(f"'{t}'" for t in VOCABULARY) + "]::varchar[]",
        name="ck_activity_themes_vocabulary",
    ),
    sa.CheckConstraint(
        "status <> 'at_risk' OR closing_date IS NOT NULL", name="ck_activity_at_risk_date"
    ),
    sa.CheckConstraint("service_radius_m > 0", name="ck_activity_radius"),
    sa.CheckConstraint("people_reached_per_year >= 0", name="ck_activity_people"),
    sa.CheckConstraint("annual_running_cost >= 0", name="ck_activity_cost"),
    sa.CheckConstraint("funding_gap >= 0", name="ck_activity_gap"),
    sa.Index("uq_activity_name_postcode", "name_key", "postcode", unique=True),
    sa.Index("ix_activity_geog", sa.text("(geom::geography)"), postgresql_using="gist"),
)

# A supplier's site or depot (its delivery location, not necessarily its registered office).
supplier_site = sa.Table(
    "supplier_site",
    metadata,
    key(),
    reference("supplier_id", "organisation.id", index=True),
    *required("name"),
    *optional("address"),
    *optional("employees", type_=sa.Integer),
    *placed_columns(),
    *placed_constraints("supplier_site"),
    sa.CheckConstraint("employees >= 0", name="ck_supplier_site_employees"),
)

# Where an activity is delivered, when that is not (only) its own point: each site is a
# postcode or point, optionally with the area it serves. Matching, coverage, maps and the
# finder use an activity's delivery sites when it has any (see ``activity_location``).
delivery_site = sa.Table(
    "delivery_site",
    metadata,
    key(),
    reference("activity_id", "activity.id", index=True, ondelete="CASCADE"),
    *optional("label", "address"),
    geometry("MULTIPOLYGON", name="service_area", nullable=True),
    sa.Column("postcode", sa.String(8)),
    geometry("POINT"),
    sa.Column("location_precision", sa.String(12), nullable=False),
    reference("territory_id", "territory.id", index=True),
    reference("need_area_id", "need_area.id", nullable=True),
    reference("added_by", "app_user.id", nullable=True),
    timestamp("created_at"),
    sa.CheckConstraint(
        one_of("location_precision", PRECISIONS), name="ck_delivery_site_location_precision"
    ),
    gist("delivery_site"),
    sa.Index("ix_delivery_site_geog", sa.text("(geom::geography)"), postgresql_using="gist"),
)

# Who changed an activity's figures, flags or status, when, what (``changes``: field →
# [before, after]) and why: buyer overrides of the funding gap, safeguarding changes.
# Append-only.
activity_event = sa.Table(
    "activity_event",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    reference("activity_id", "activity.id", index=True),
    reference("actor_id", "app_user.id", nullable=True),
    *required("action"),
    *required("changes", type_=JSONB),
    *optional("reason"),
    timestamp("at"),
    info=append_only(),
)

# Evidence a provider attaches to its activity: a link, or a file kept outside the web
# root (``stored_name`` under the evidence folder, served only as a download). Files are
# checked for size and type before they are kept; ``sha256`` identifies the content.
activity_evidence = sa.Table(
    "activity_evidence",
    metadata,
    key(),
    reference("activity_id", "activity.id", index=True, ondelete="CASCADE"),
    sa.Column("kind", sa.String(4), nullable=False),
    *required("title"),
    *optional("url", "filename", "content_type", "stored_name"),
    *optional("size_bytes", type_=sa.Integer),
    *optional("sha256", type_=sa.String(64)),
    reference("added_by", "app_user.id"),
    timestamp("created_at"),
    sa.CheckConstraint(one_of("kind", ("link", "file")), name="ck_activity_evidence_kind"),
    sa.CheckConstraint(
        "(kind = 'link' AND url IS NOT NULL) OR (kind = 'file' AND stored_name IS NOT NULL"
        " AND size_bytes IS NOT NULL AND sha256 IS NOT NULL)",
        name="ck_activity_evidence_content",
    ),
)
