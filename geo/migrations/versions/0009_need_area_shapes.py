"""Small areas as areas.

* ``need_area_shape``: the polygon of each need area that has one (LSOA 2011 in England and
  Wales; Scotland and Northern Ireland keep their representative points only), keyed to
  the need area and removed with it;
* ``postcode_unit.need_area_method``: how the gazetteer placed each postcode in its need
  area (``polygon``, ``nearest_polygon`` or ``nearest_point``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "need_area_shape",
        sa.Column(
            "need_area_id",
            sa.Integer(),
            sa.ForeignKey("need_area.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("ST_IsValid(geom)", name="ck_need_area_shape_geom_valid"),
    )
    op.create_index("ix_need_area_shape_geom", "need_area_shape", ["geom"], postgresql_using="gist")
    op.add_column("postcode_unit", sa.Column("need_area_method", sa.String(), nullable=True))
    op.create_check_constraint(
        "ck_postcode_unit_need_area_method",
        "postcode_unit",
        "need_area_method IN ('polygon', 'nearest_polygon', 'nearest_point')",
    )


def downgrade() -> None:
    op.drop_constraint("ck_postcode_unit_need_area_method", "postcode_unit", type_="check")
    op.drop_column("postcode_unit", "need_area_method")
    op.drop_index("ix_need_area_shape_geom", table_name="need_area_shape")
    op.drop_table("need_area_shape")
