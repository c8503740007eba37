"""The boundaries domain's tables: boundary generations, territories (and their subdivided
pieces), need areas (and their polygons, where the data has them) and the postcode
gazetteer, with their vocabularies.

Geometry in EPSG:4326 with GiST indexes. Read the current generation through the views
``current_territory`` and ``current_need_area`` (migration 0005), never by repeating the
``boundary_set … is_current`` join.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.schema import SchemaItem

from geo.metadata import (
    geometry,
    gist,
    key,
    metadata,
    one_of,
    optional,
    reference,
    required,
    timestamp,
)

NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")
BOUNDARY_KINDS = ("territory", "need_area", "postcode")
# How a point was placed in a territory: inside a polygon, on a shared edge, or snapped to
# the nearest territory within the fallback distance (generalised coastlines).
TERRITORY_METHODS = ("contains", "boundary", "nearest")
# How a point was placed in a need area: inside its polygon, in the nearest polygon within
# ``boundaries.locate.NEED_AREA_SNAP_M`` (clipped coastlines), or at the nearest
# representative point of its territory (Scotland, Northern Ireland, farther points).
NEED_AREA_METHODS = ("polygon", "nearest_polygon", "nearest_point")


def _generation_member(table: str, code_width: int) -> list[SchemaItem]:
    """What every area of a boundary generation has: its generation, a code unique within
    it, a name and a nation."""
    return [
        key(),
        reference("boundary_set_id", "boundary_set.id", ondelete="CASCADE"),
        sa.Column("code", sa.String(code_width), nullable=False),
        *required("name", "nation"),
        sa.UniqueConstraint("boundary_set_id", "code", name=f"uq_{table}_set_code"),
        sa.CheckConstraint(one_of("nation", NATIONS), name=f"ck_{table}_nation"),
    ]


# One generation of a boundary layer (source, vintage, licence). A later generation is
# loaded beside the earlier one; ``is_current`` marks the one new assignments use, and every
# stored assignment points at the generation it used.
boundary_set = sa.Table(
    "boundary_set",
    metadata,
    key(),
    sa.Column("kind", sa.String(20), nullable=False),
    *required("name", "vintage", "source", "licence"),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    *required("feature_count", type_=sa.Integer),
    *required("is_current", type_=sa.Boolean),
    timestamp("loaded_at"),
    sa.UniqueConstraint("kind", "vintage", name="uq_boundary_set_kind_vintage"),
    sa.CheckConstraint(one_of("kind", BOUNDARY_KINDS), name="ck_boundary_set_kind"),
    sa.Index(
        "uq_boundary_set_one_current", "kind", unique=True, postgresql_where=sa.text("is_current")
    ),
)

# One of the 45 UK territories (police force areas, Police Scotland, PSNI).
territory = sa.Table(
    "territory",
    metadata,
    *_generation_member("territory", 9),
    *optional("force_name"),
    *required("area_km2", type_=sa.Float),
    geometry("MULTIPOLYGON"),
    sa.CheckConstraint("ST_IsValid(geom)", name="ck_territory_geom_valid"),
    gist("territory"),
)

# ``ST_Subdivide``d pieces of each territory, so point-in-area lookups in SQL stay fast.
territory_piece = sa.Table(
    "territory_piece",
    metadata,
    key(),
    reference("territory_id", "territory.id", index=True, ondelete="CASCADE"),
    geometry("POLYGON"),
    gist("territory_piece"),
)

# A small area (LSOA, Data Zone, SOA) with UK-comparable deprivation. The open data gives a
# representative point per area. Decile 1 is the most deprived tenth of the UK population;
# rank 1 the most deprived (tied areas share a half rank).
need_area = sa.Table(
    "need_area",
    metadata,
    *_generation_member("need_area", 12),
    *optional("population", type_=sa.Integer),
    *required("uk_imd_score", "uk_imd_rank", type_=sa.Float),
    *required("uk_imd_decile", type_=sa.SmallInteger),
    *optional("national_imd_score", type_=sa.Float),
    *optional("national_imd_decile", type_=sa.SmallInteger),
    *required("point_method"),
    geometry("POINT"),
    # The territory (and so the territory generation) this area was assigned to.
    reference("territory_id", "territory.id", index=True),
    *required("territory_method"),
    sa.CheckConstraint("uk_imd_decile BETWEEN 1 AND 10", name="ck_need_area_uk_decile"),
    sa.CheckConstraint("national_imd_decile BETWEEN 1 AND 10", name="ck_need_area_national_decile"),
    sa.CheckConstraint(one_of("territory_method", TERRITORY_METHODS), name="ck_need_area_method"),
    gist("need_area"),
)

# The polygon of a need area where the open data gives one (LSOA 2011, England and Wales);
# Scotland and Northern Ireland have points only. Rows go with their need area.
need_area_shape = sa.Table(
    "need_area_shape",
    metadata,
    reference("need_area_id", "need_area.id", ondelete="CASCADE", primary_key=True),
    geometry("MULTIPOLYGON"),
    sa.CheckConstraint("ST_IsValid(geom)", name="ck_need_area_shape_geom_valid"),
    gist("need_area_shape"),
)

# The postcode gazetteer: every unit postcode, placed in a territory and need area at load
# time. Postcodes outside the 45 territories (Isle of Man, Channel Islands) have none. No
# foreign keys: this derived table is rebuilt whole by its loader (against the current
# boundaries), and checking 2.7 M references row by row would slow the load tenfold.
postcode_unit = sa.Table(
    "postcode_unit",
    metadata,
    sa.Column("postcode", sa.String(8), primary_key=True),
    sa.Column("sector", sa.String(6), nullable=False),
    sa.Column("district", sa.String(4), nullable=False),
    *required("lon", "lat", type_=sa.Float),
    sa.Column(
        "geom",
        Geometry("POINT", srid=4326, spatial_index=False),
        sa.Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
    ),
    *optional("territory_id", type_=sa.Integer),
    *optional("territory_method"),
    *optional("need_area_id", type_=sa.Integer),
    *optional("need_area_method"),
    sa.CheckConstraint(
        one_of("need_area_method", NEED_AREA_METHODS), name="ck_postcode_unit_need_area_method"
    ),
    gist("postcode_unit"),
)


def _postcode_area(name: str, key: str, width: int) -> sa.Table:
    """A sector or district centroid: the mean of its unit postcodes, in the territory most
    of them lie in (``territory_share`` says how many). Derived and rebuilt whole: no
    foreign keys."""
    return sa.Table(
        name,
        metadata,
        *required("lon", "lat", type_=sa.Float),
        *required("n_postcodes", type_=sa.Integer),
        *optional("territory_id", type_=sa.Integer),
        *optional("territory_share", type_=sa.Float),
        *optional("need_area_id", type_=sa.Integer),
        sa.Column(key, sa.String(width), primary_key=True),
    )


postcode_sector = _postcode_area("postcode_sector", "sector", 6)
postcode_district = _postcode_area("postcode_district", "district", 4)
