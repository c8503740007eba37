"""Foundation: PostGIS, boundary generations, territories and need areas.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NATIONS = "'England', 'Wales', 'Scotland', 'Northern Ireland'"
METHODS = "'contains', 'boundary', 'nearest'"


def upgrade() -> None:
    # PostGIS 3.3 is not a trusted extension: this needs a superuser (or a database where it
    # already exists, as in the official PostGIS image).
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "boundary_set",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("vintage", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("licence", sa.String, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("feature_count", sa.Integer, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("kind", "vintage", name="uq_boundary_set_kind_vintage"),
        sa.CheckConstraint("kind IN ('territory', 'need_area')", name="ck_boundary_set_kind"),
    )
    op.create_index(
        "uq_boundary_set_one_current",
        "boundary_set",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("is_current"),
    )

    op.create_table(
        "territory",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "boundary_set_id",
            sa.Integer,
            sa.ForeignKey("boundary_set.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(9), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("nation", sa.String, nullable=False),
        sa.Column("force_name", sa.String, nullable=True),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.UniqueConstraint("boundary_set_id", "code", name="uq_territory_set_code"),
        sa.CheckConstraint(f"nation IN ({NATIONS})", name="ck_territory_nation"),
        sa.CheckConstraint("ST_IsValid(geom)", name="ck_territory_geom_valid"),
    )
    op.create_index("ix_territory_geom", "territory", ["geom"], postgresql_using="gist")

    op.create_table(
        "territory_piece",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "territory_id",
            sa.Integer,
            sa.ForeignKey("territory.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_territory_piece_territory_id", "territory_piece", ["territory_id"])
    op.create_index("ix_territory_piece_geom", "territory_piece", ["geom"], postgresql_using="gist")

    op.create_table(
        "need_area",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "boundary_set_id",
            sa.Integer,
            sa.ForeignKey("boundary_set.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("nation", sa.String, nullable=False),
        sa.Column("population", sa.Integer, nullable=True),
        sa.Column("uk_imd_score", sa.Float, nullable=False),
        sa.Column("uk_imd_rank", sa.Float, nullable=False),
        sa.Column("uk_imd_decile", sa.SmallInteger, nullable=False),
        sa.Column("national_imd_score", sa.Float, nullable=True),
        sa.Column("national_imd_decile", sa.SmallInteger, nullable=True),
        sa.Column("point_method", sa.String, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("territory_id", sa.Integer, sa.ForeignKey("territory.id"), nullable=False),
        sa.Column("territory_method", sa.String, nullable=False),
        sa.UniqueConstraint("boundary_set_id", "code", name="uq_need_area_set_code"),
        sa.CheckConstraint(f"nation IN ({NATIONS})", name="ck_need_area_nation"),
        sa.CheckConstraint("uk_imd_decile BETWEEN 1 AND 10", name="ck_need_area_uk_decile"),
        sa.CheckConstraint(
            "national_imd_decile BETWEEN 1 AND 10", name="ck_need_area_national_decile"
        ),
        sa.CheckConstraint(f"territory_method IN ({METHODS})", name="ck_need_area_method"),
    )
    op.create_index("ix_need_area_geom", "need_area", ["geom"], postgresql_using="gist")
    op.create_index("ix_need_area_territory_id", "need_area", ["territory_id"])


def downgrade() -> None:
    # The postgis extension is left in place: other schemas may use it, and dropping it
    # needs a superuser.
    op.drop_table("need_area")
    op.drop_table("territory_piece")
    op.drop_table("territory")
    op.drop_table("boundary_set")
