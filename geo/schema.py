"""The database schema: SQLAlchemy 2 models with GeoAlchemy2 geometry columns.

Geometry is stored in EPSG:4326 with GiST indexes. Alembic migrations in
``geo/migrations`` create exactly these tables; ``tests/test_migrations.py`` checks that the
two agree.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")
BOUNDARY_KINDS = ("territory", "need_area")
# How a point was placed in a territory: inside a polygon, on a shared edge, or snapped to
# the nearest territory within the fallback distance (generalised coastlines).
TERRITORY_METHODS = ("contains", "boundary", "nearest")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    pass


class BoundarySet(Base):
    """One generation of a boundary layer (its source, vintage and licence).

    A later generation is loaded beside the earlier one; ``is_current`` marks the one new
    assignments use, and every stored assignment points at the generation it used.
    """

    __tablename__ = "boundary_set"
    __table_args__ = (
        UniqueConstraint("kind", "vintage", name="uq_boundary_set_kind_vintage"),
        CheckConstraint(_in("kind", BOUNDARY_KINDS), name="ck_boundary_set_kind"),
        Index(
            "uq_boundary_set_one_current",
            "kind",
            unique=True,
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str]
    vintage: Mapped[str]
    source: Mapped[str]
    licence: Mapped[str]
    content_sha256: Mapped[str] = mapped_column(String(64))
    feature_count: Mapped[int]
    is_current: Mapped[bool]
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Territory(Base):
    """One of the 45 UK territories (police force areas, Police Scotland, PSNI)."""

    __tablename__ = "territory"
    __table_args__ = (
        UniqueConstraint("boundary_set_id", "code", name="uq_territory_set_code"),
        CheckConstraint(_in("nation", NATIONS), name="ck_territory_nation"),
        CheckConstraint("ST_IsValid(geom)", name="ck_territory_geom_valid"),
        Index("ix_territory_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    boundary_set_id: Mapped[int] = mapped_column(ForeignKey("boundary_set.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str]
    nation: Mapped[str]
    force_name: Mapped[str | None]
    area_km2: Mapped[float]
    geom: Mapped[object] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )


class TerritoryPiece(Base):
    """``ST_Subdivide``d pieces of each territory, so point-in-area lookups in SQL stay fast."""

    __tablename__ = "territory_piece"
    __table_args__ = (Index("ix_territory_piece_geom", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territory.id", ondelete="CASCADE"), index=True
    )
    geom: Mapped[object] = mapped_column(
        Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False
    )


class NeedArea(Base):
    """A small area (LSOA, Data Zone, SOA) with UK-comparable deprivation.

    The open data gives a representative point per area, not its polygon. Decile 1 is the
    most deprived tenth of the UK population.
    """

    __tablename__ = "need_area"
    __table_args__ = (
        UniqueConstraint("boundary_set_id", "code", name="uq_need_area_set_code"),
        CheckConstraint(_in("nation", NATIONS), name="ck_need_area_nation"),
        CheckConstraint("uk_imd_decile BETWEEN 1 AND 10", name="ck_need_area_uk_decile"),
        CheckConstraint(
            "national_imd_decile BETWEEN 1 AND 10", name="ck_need_area_national_decile"
        ),
        CheckConstraint(_in("territory_method", TERRITORY_METHODS), name="ck_need_area_method"),
        Index("ix_need_area_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    boundary_set_id: Mapped[int] = mapped_column(ForeignKey("boundary_set.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str]
    nation: Mapped[str]
    population: Mapped[int | None]
    uk_imd_score: Mapped[float]
    uk_imd_rank: Mapped[float]  # 1 = most deprived; tied areas share a half rank
    uk_imd_decile: Mapped[int] = mapped_column(SmallInteger)
    national_imd_score: Mapped[float | None]
    national_imd_decile: Mapped[int | None] = mapped_column(SmallInteger)
    point_method: Mapped[str]
    geom: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    # The territory (and so the territory generation) this area was assigned to.
    territory_id: Mapped[int] = mapped_column(ForeignKey("territory.id"), index=True)
    territory_method: Mapped[str]
