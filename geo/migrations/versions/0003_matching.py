"""Matching: territory weight profiles and metric nearest-neighbour indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weight_profile",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("territory_code", sa.String(9), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("version", sa.String, nullable=False),
        sa.Column("weights", postgresql.JSONB, nullable=False),
        sa.Column("proximity_scale_m", sa.Float, nullable=False),
        sa.Column("proximity_cutoff_m", sa.Float, nullable=False),
        sa.Column("default_service_radius_m", sa.Float, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("territory_code", name="uq_weight_profile_territory"),
    )
    # Nearest-neighbour search in true metres: KNN on geography, index-assisted.
    op.create_index(
        "ix_activity_geog",
        "activity",
        [sa.text("(geom::geography)")],
        postgresql_using="gist",
    )


def downgrade() -> None:
    op.drop_index("ix_activity_geog", table_name="activity")
    op.drop_table("weight_profile")
