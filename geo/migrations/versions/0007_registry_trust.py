"""A registry people can trust: eligibility, the verification ladder, delivery sites.

* ``activity`` gains its eligibility (``eligible`` with its dual-impact categories,
  ``ineligible`` or ``needs_review``, with a reason; decided by rules or by a person), its
  place on the verification ladder (listed, claimed, verified with an evidence level 1-5,
  lapsed), what its own point is (registered office or delivery location) and all its
  grants' titles (text the eligibility rules read);
* ``delivery_site``: where an activity is delivered (postcode or point, optionally the
  area it serves), apart from its registered office;
* organisations may be community teams, and people may have the ``community`` role;
* ``activity_placed`` places an activity at its first delivery site when it has one, and
  adds its eligibility, effective verification (a claimed or verified record not heard of
  for ``dualimpact.lapse_years`` years, default 3, reads as lapsed), when it was last
  heard of (``fresh_on``), how many delivery sites it has and whether it is *trusted*
  (eligible and not lapsed: what rankings, maps and matching use by default);
* ``activity_location``: one row per place an activity is delivered (each delivery site,
  else its own point), for "nearest" searches;
* ``eligibility_allowance``: a tender's buyer letting its SPOs commit to an activity the
  register does not find eligible, with who, when and why (append-only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = (
    "youth_diversion",
    "domestic_sexual_abuse",
    "mental_health",
    "substance_misuse",
    "homelessness_housing",
    "reoffending_resettlement",
    "victims_witnesses",
    "older_people_isolation",
    "family_support",
    "hardship_food_debt",
    "employability_inclusion",
    "disability_health_support",
    "community_safety_cohesion",
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
OLD_ROLES = ("buyer_lead", "buyer_evaluator", "supplier", "provider", "analyst", "admin")
KINDS = ("provider", "supplier", "buyer", "operator", "community")
OLD_KINDS = ("provider", "supplier", "buyer", "operator")

ACTIVITY_CHECKS = {
    "ck_activity_eligibility": "eligibility IN ('eligible', 'ineligible', 'needs_review')",
    "ck_activity_eligibility_source": "eligibility_source IN ('rules', 'decision')",
    "ck_activity_eligibility_categories": "eligibility_categories <@ ARRAY["
    + ", ".join(f"'{c}'" for c in CATEGORIES)
    + "]::varchar[]",
    "ck_activity_eligible_has_category": (
        "(eligibility = 'eligible') = (cardinality(eligibility_categories) > 0)"
    ),
    "ck_activity_eligibility_reason": (
        "eligibility <> 'ineligible' OR eligibility_reason IS NOT NULL"
    ),
    "ck_activity_verification": ("verification IN ('listed', 'claimed', 'verified', 'lapsed')"),
    "ck_activity_evidence_level": "evidence_level BETWEEN 1 AND 5",
    "ck_activity_verified_has_evidence": (
        "verification <> 'verified' OR (verified_at IS NOT NULL AND evidence_level IS NOT NULL)"
    ),
    "ck_activity_location_basis": "location_basis IN ('registered_office', 'delivery')",
}

# The lapse period (years) each session carries (geo.db.make_engine), 3 if unset.
_LAPSE_YEARS = "coalesce(nullif(current_setting('dualimpact.lapse_years', true), ''), '3')::int"

OLD_ACTIVITY_PLACED = """
    SELECT a.id, a.source_key, a.source, a.name, a.name_key, a.description, a.themes,
           a.themes_source, a.provider_id, o.natural_key AS provider_key,
           o.name AS provider_name, a.address, a.postcode, a.location_precision,
           a.territory_id, t.code AS territory_code, t.name AS territory_name,
           a.need_area_id, n.code AS need_area_code, n.uk_imd_decile,
           n.national_imd_decile, a.service_radius_m, a.service_area,
           a.people_reached_per_year, a.annual_running_cost, a.funding_gap, a.status,
           a.closing_date, a.evidence_links, a.safeguarding, a.grant_count,
           a.grant_total_gbp, a.last_award_year, a.funders,
           ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat, a.geom, a.created_at, a.updated_at
    FROM activity a
    JOIN territory t ON t.id = a.territory_id
    LEFT JOIN organisation o ON o.id = a.provider_id
    LEFT JOIN need_area n ON n.id = a.need_area_id
"""

# The same columns in the same order (new ones at the end), placed at the first delivery
# site when there is one.
ACTIVITY_PLACED = f"""
    SELECT a.id, a.source_key, a.source, a.name, a.name_key, a.description, a.themes,
           a.themes_source, a.provider_id, o.natural_key AS provider_key,
           o.name AS provider_name,
           CASE WHEN s.id IS NULL THEN a.address ELSE s.address END AS address,
           coalesce(s.postcode, a.postcode) AS postcode,
           coalesce(s.location_precision, a.location_precision) AS location_precision,
           coalesce(s.territory_id, a.territory_id) AS territory_id,
           t.code AS territory_code, t.name AS territory_name,
           coalesce(s.need_area_id, a.need_area_id) AS need_area_id,
           n.code AS need_area_code, n.uk_imd_decile,
           n.national_imd_decile, a.service_radius_m,
           coalesce(s.service_area, a.service_area) AS service_area,
           a.people_reached_per_year, a.annual_running_cost, a.funding_gap, a.status,
           a.closing_date, a.evidence_links, a.safeguarding, a.grant_count,
           a.grant_total_gbp, a.last_award_year, a.funders,
           ST_X(coalesce(s.geom, a.geom)) AS lon, ST_Y(coalesce(s.geom, a.geom)) AS lat,
           coalesce(s.geom, a.geom) AS geom, a.created_at, a.updated_at,
           CASE WHEN s.id IS NULL THEN a.location_basis ELSE 'delivery_site' END
               AS located_at,
           coalesce(s.sites, 0) AS delivery_site_count,
           a.eligibility, a.eligibility_categories, a.eligibility_reason,
           a.eligibility_source, a.eligibility_decided_at, v.verification,
           a.evidence_level, a.claimed_at, a.verified_at, h.fresh_on,
           (h.fresh_on IS NOT NULL
            AND h.fresh_on >= current_date - make_interval(years => {_LAPSE_YEARS}))
               AS fresh,
           (a.eligibility = 'eligible' AND v.verification <> 'lapsed') AS trusted,
           a.grant_titles, a.location_basis
    FROM activity a
    LEFT JOIN LATERAL (
        SELECT d.id, d.address, d.postcode, d.location_precision, d.territory_id, d.need_area_id,
               d.service_area, d.geom, count(*) OVER () AS sites
        FROM delivery_site d WHERE d.activity_id = a.id ORDER BY d.id LIMIT 1
    ) s ON true
    CROSS JOIN LATERAL (
        SELECT greatest(
            a.confirmed_at::date,
            a.verified_at::date,
            a.claimed_at::date,
            make_date(a.last_award_year, 12, 31),
            (SELECT max(d.created_at)::date
             FROM spo_delivery d JOIN spo_commitment c ON c.id = d.commitment_id
             WHERE c.activity_id = a.id AND d.provider_status = 'confirmed')
        ) AS fresh_on
        OFFSET 0  -- computed once per activity, not inlined into every use
    ) h
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN a.verification IN ('claimed', 'verified')
                 AND (h.fresh_on IS NULL
                      OR h.fresh_on < current_date - make_interval(years => {_LAPSE_YEARS}))
            THEN 'lapsed' ELSE a.verification END AS verification
    ) v
    JOIN territory t ON t.id = coalesce(s.territory_id, a.territory_id)
    LEFT JOIN organisation o ON o.id = a.provider_id
    LEFT JOIN need_area n ON n.id = coalesce(s.need_area_id, a.need_area_id)
"""

ACTIVITY_LOCATION = """
    SELECT d.activity_id, d.id AS delivery_site_id, 'delivery_site' AS located_at,
           d.postcode, d.territory_id, d.need_area_id, d.service_area, d.geom
    FROM delivery_site d
    UNION ALL
    SELECT a.id, NULL, a.location_basis, a.postcode, a.territory_id, a.need_area_id,
           a.service_area, a.geom
    FROM activity a
    WHERE NOT EXISTS (SELECT 1 FROM delivery_site d WHERE d.activity_id = a.id)
"""


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "delivery_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column(
            "service_area",
            Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column(
            "geom", Geometry(geometry_type="POINT", srid=4326, spatial_index=False), nullable=False
        ),
        sa.Column("location_precision", sa.String(length=12), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=False),
        sa.Column("need_area_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "location_precision IN ('postcode', 'sector', 'district', 'coordinates')",
            name="ck_delivery_site_location_precision",
        ),
        sa.ForeignKeyConstraint(["activity_id"], ["activity.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["added_by"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["need_area_id"], ["need_area.id"]),
        sa.ForeignKeyConstraint(["territory_id"], ["territory.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_site_activity_id", "delivery_site", ["activity_id"])
    op.create_index("ix_delivery_site_geom", "delivery_site", ["geom"], postgresql_using="gist")
    op.create_index("ix_delivery_site_territory_id", "delivery_site", ["territory_id"])
    op.create_index(
        "ix_delivery_site_geog",
        "delivery_site",
        [sa.text("(geom::geography)")],
        postgresql_using="gist",
    )

    op.add_column("activity", sa.Column("grant_titles", sa.String(), nullable=True))
    op.add_column(
        "activity",
        sa.Column(
            "location_basis", sa.String(length=20), server_default="delivery", nullable=False
        ),
    )
    # Activities already loaded from 360Giving recipients sit at their registered office.
    op.execute(
        "UPDATE activity SET location_basis = 'registered_office' WHERE source LIKE '360giving%'"
    )
    op.add_column(
        "activity",
        sa.Column(
            "eligibility", sa.String(length=12), server_default="needs_review", nullable=False
        ),
    )
    op.add_column(
        "activity",
        sa.Column(
            "eligibility_categories",
            sa.ARRAY(sa.String()),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
    )
    op.add_column("activity", sa.Column("eligibility_reason", sa.String(), nullable=True))
    op.execute(
        "UPDATE activity SET eligibility_reason = 'not yet assessed: run "
        "`dualimpact activities assess`'"
    )
    op.add_column(
        "activity",
        sa.Column(
            "eligibility_source", sa.String(length=10), server_default="rules", nullable=False
        ),
    )
    op.add_column("activity", sa.Column("eligibility_decided_by", sa.Integer(), nullable=True))
    op.add_column(
        "activity",
        sa.Column("eligibility_decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "activity",
        sa.Column("verification", sa.String(length=10), server_default="listed", nullable=False),
    )
    op.add_column("activity", sa.Column("evidence_level", sa.SmallInteger(), nullable=True))
    op.add_column("activity", sa.Column("verified_by", sa.Integer(), nullable=True))
    for column in ("claimed_at", "verified_at", "confirmed_at"):
        op.add_column("activity", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        "activity_eligibility_decided_by_fkey",
        "activity",
        "app_user",
        ["eligibility_decided_by"],
        ["id"],
    )
    op.create_foreign_key(
        "activity_verified_by_fkey", "activity", "app_user", ["verified_by"], ["id"]
    )
    for name, condition in ACTIVITY_CHECKS.items():
        op.create_check_constraint(name, "activity", condition)

    op.drop_constraint("ck_organisation_kind", "organisation", type_="check")
    op.create_check_constraint("ck_organisation_kind", "organisation", _in("kind", KINDS))
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user", _in("role", ROLES))

    op.execute(f"CREATE OR REPLACE VIEW activity_placed AS {ACTIVITY_PLACED}")
    op.execute(f"CREATE VIEW activity_location AS {ACTIVITY_LOCATION}")

    op.create_table(
        "eligibility_allowance",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("allowed_by", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activity.id"]),
        sa.ForeignKeyConstraint(["allowed_by"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["tender_id"], ["tender.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tender_id", "activity_id", name="uq_eligibility_allowance"),
    )
    op.create_index("ix_eligibility_allowance_tender_id", "eligibility_allowance", ["tender_id"])
    op.execute(
        """
        CREATE TRIGGER eligibility_allowance_no_change
            BEFORE UPDATE OR DELETE ON eligibility_allowance
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
        CREATE TRIGGER eligibility_allowance_no_truncate BEFORE TRUNCATE ON eligibility_allowance
            FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
        """
    )


def downgrade() -> None:
    op.drop_table("eligibility_allowance")
    op.execute("DROP VIEW activity_location")
    op.execute("DROP VIEW activity_placed")
    op.execute(f"CREATE VIEW activity_placed AS {OLD_ACTIVITY_PLACED}")
    op.execute("DELETE FROM app_user WHERE role = 'community'")
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user", _in("role", OLD_ROLES))
    op.execute("DELETE FROM organisation WHERE kind = 'community'")
    op.drop_constraint("ck_organisation_kind", "organisation", type_="check")
    op.create_check_constraint("ck_organisation_kind", "organisation", _in("kind", OLD_KINDS))
    for name in ACTIVITY_CHECKS:
        op.drop_constraint(name, "activity", type_="check")
    op.drop_constraint("activity_verified_by_fkey", "activity", type_="foreignkey")
    op.drop_constraint("activity_eligibility_decided_by_fkey", "activity", type_="foreignkey")
    for column in (
        "confirmed_at",
        "verified_at",
        "claimed_at",
        "verified_by",
        "evidence_level",
        "verification",
        "eligibility_decided_at",
        "eligibility_decided_by",
        "eligibility_source",
        "eligibility_reason",
        "eligibility_categories",
        "eligibility",
        "location_basis",
        "grant_titles",
    ):
        op.drop_column("activity", column)
    op.drop_index("ix_delivery_site_geog", table_name="delivery_site")
    op.drop_index("ix_delivery_site_territory_id", table_name="delivery_site")
    op.drop_index("ix_delivery_site_geom", table_name="delivery_site")
    op.drop_index("ix_delivery_site_activity_id", table_name="delivery_site")
    op.drop_table("delivery_site")
