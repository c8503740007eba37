"""Postcode gazetteer, organisations, activities and supplier sites.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the vocabularies as of this revision: a later change is a new migration.
THEMES = (
    "youth",
    "crime_prevention",
    "violence_against_women_and_girls",
    "mental_health",
    "substance_misuse",
    "homelessness",
    "food_poverty",
    "employability",
    "older_people",
    "community_safety",
    "disability",
    "poverty_advice",
    "carers",
    "health",
    "refugees_migrants",
    "sport_physical_activity",
    "community_cohesion",
    "arts_culture",
    "environment",
    "education",
)
PRECISIONS = "'postcode', 'sector', 'district', 'coordinates'"


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _placed(table: str) -> list[sa.Column[Any] | sa.CheckConstraint]:
    return [
        sa.Column("postcode", sa.String(8), nullable=True),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("location_precision", sa.String(12), nullable=False),
        sa.Column("territory_id", sa.Integer, sa.ForeignKey("territory.id"), nullable=False),
        sa.Column("need_area_id", sa.Integer, sa.ForeignKey("need_area.id"), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            f"location_precision IN ({PRECISIONS})", name=f"ck_{table}_location_precision"
        ),
    ]


def _postcode_area(name: str, key: str, width: int) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.String(width), primary_key=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("n_postcodes", sa.Integer, nullable=False),
        # Derived like postcode_unit: rebuilt whole by its loader, so no foreign keys.
        sa.Column("territory_id", sa.Integer, nullable=True),
        sa.Column("territory_share", sa.Float, nullable=True),
        sa.Column("need_area_id", sa.Integer, nullable=True),
    )


def upgrade() -> None:
    op.drop_constraint("ck_boundary_set_kind", "boundary_set", type_="check")
    op.create_check_constraint(
        "ck_boundary_set_kind", "boundary_set", "kind IN ('territory', 'need_area', 'postcode')"
    )

    op.create_table(
        "postcode_unit",
        sa.Column("postcode", sa.String(8), primary_key=True),
        sa.Column("sector", sa.String(6), nullable=False),
        sa.Column("district", sa.String(4), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column(
            "geom",
            Geometry("POINT", srid=4326, spatial_index=False),
            sa.Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
            nullable=True,
        ),
        # No foreign keys: this derived table is rebuilt whole by its loader, and checking
        # 2.7 M references row by row would make the load ten times slower.
        sa.Column("territory_id", sa.Integer, nullable=True),
        sa.Column("territory_method", sa.String, nullable=True),
        sa.Column("need_area_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_postcode_unit_geom", "postcode_unit", ["geom"], postgresql_using="gist")
    _postcode_area("postcode_sector", "sector", 6)
    _postcode_area("postcode_district", "district", 4)

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("natural_key", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("name_key", sa.String, nullable=False),
        sa.Column("charity_number", sa.String, nullable=True),
        sa.Column("company_number", sa.String, nullable=True),
        sa.Column("url", sa.String, nullable=True),
        sa.Column("sector", sa.String, nullable=True),
        sa.Column("is_sme", sa.Boolean, nullable=True),
        sa.Column("is_vcse", sa.Boolean, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("kind", "natural_key", name="uq_organisation_kind_key"),
        sa.CheckConstraint(
            "kind IN ('provider', 'supplier', 'buyer')", name="ck_organisation_kind"
        ),
    )

    op.create_index("ix_organisation_name_key", "organisation", ["name_key"])

    themes = ", ".join(f"'{t}'" for t in THEMES)
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_key", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("name_key", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=True),
        sa.Column("themes", sa.ARRAY(sa.String), nullable=False),
        sa.Column("themes_source", sa.String(12), nullable=False),
        sa.Column("provider_id", sa.Integer, sa.ForeignKey("organisation.id"), nullable=True),
        sa.Column("address", sa.String, nullable=True),
        sa.Column("service_radius_m", sa.Float, nullable=True),
        sa.Column(
            "service_area",
            Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("people_reached_per_year", sa.Integer, nullable=True),
        sa.Column("annual_running_cost", sa.Numeric(14, 2), nullable=True),
        sa.Column("funding_gap", sa.Numeric(14, 2), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("closing_date", sa.Date, nullable=True),
        sa.Column("evidence_links", sa.ARRAY(sa.String), nullable=False),
        sa.Column("safeguarding", sa.Boolean, nullable=False),
        sa.Column("grant_count", sa.Integer, nullable=True),
        sa.Column("grant_total_gbp", sa.Numeric(14, 2), nullable=True),
        sa.Column("last_award_year", sa.Integer, nullable=True),
        sa.Column("funders", sa.String, nullable=True),
        *_placed("activity"),
        sa.CheckConstraint("status IN ('active', 'at_risk', 'closed')", name="ck_activity_status"),
        sa.CheckConstraint(
            "themes_source IN ('classifier', 'file', 'override')",
            name="ck_activity_themes_source",
        ),
        sa.CheckConstraint(
            f"themes <@ ARRAY[{themes}]::varchar[]", name="ck_activity_themes_vocabulary"
        ),
        sa.CheckConstraint(
            "status <> 'at_risk' OR closing_date IS NOT NULL", name="ck_activity_at_risk_date"
        ),
        sa.CheckConstraint("service_radius_m > 0", name="ck_activity_radius"),
        sa.CheckConstraint("people_reached_per_year >= 0", name="ck_activity_people"),
        sa.CheckConstraint("annual_running_cost >= 0", name="ck_activity_cost"),
        sa.CheckConstraint("funding_gap >= 0", name="ck_activity_gap"),
        sa.UniqueConstraint("source_key", name="uq_activity_source_key"),
    )
    op.create_index("uq_activity_name_postcode", "activity", ["name_key", "postcode"], unique=True)
    op.create_index("ix_activity_geom", "activity", ["geom"], postgresql_using="gist")
    op.create_index("ix_activity_territory_id", "activity", ["territory_id"])

    op.create_table(
        "supplier_site",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_key", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("supplier_id", sa.Integer, sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("address", sa.String, nullable=True),
        sa.Column("employees", sa.Integer, nullable=True),
        *_placed("supplier_site"),
        sa.CheckConstraint("employees >= 0", name="ck_supplier_site_employees"),
        sa.UniqueConstraint("source_key", name="uq_supplier_site_source_key"),
    )
    op.create_index("ix_supplier_site_geom", "supplier_site", ["geom"], postgresql_using="gist")
    op.create_index("ix_supplier_site_supplier_id", "supplier_site", ["supplier_id"])
    op.create_index("ix_supplier_site_territory_id", "supplier_site", ["territory_id"])


def downgrade() -> None:
    op.drop_table("supplier_site")
    op.drop_table("activity")
    op.drop_table("organisation")
    op.drop_table("postcode_district")
    op.drop_table("postcode_sector")
    op.drop_table("postcode_unit")
    op.execute("DELETE FROM boundary_set WHERE kind = 'postcode'")
    op.drop_constraint("ck_boundary_set_kind", "boundary_set", type_="check")
    op.create_check_constraint(
        "ck_boundary_set_kind", "boundary_set", "kind IN ('territory', 'need_area')"
    )
