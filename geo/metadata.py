"""The one SQLAlchemy ``MetaData`` every domain package declares its tables on.

Each domain package owns its tables in its own ``tables`` module (``boundaries.tables``,
``registry.tables``, ``accounts.tables``, ``matching.tables``, ``procurement.tables``), all
on :data:`metadata`, so Alembic autogenerate and the drift test see one schema. The base
knows none of them: :func:`domain_metadata` imports the table modules by name for the tools
that need the whole schema (Alembic, the drift test).

Geometry is stored in EPSG:4326 (GeoAlchemy2 columns) with GiST indexes declared beside
each table.
"""

from __future__ import annotations

import importlib
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from geo.geocode import PRECISIONS

metadata = MetaData()

# The packages that declare tables, lowest layer first (see ARCHITECTURE.md).
TABLE_MODULES = (
    "geo.data_version",
    "boundaries.tables",
    "registry.tables",
    "accounts.tables",
    "matching.tables",
    "procurement.tables",
)


def domain_metadata() -> MetaData:
    """:data:`metadata` with every domain package's tables declared on it.

    The modules are imported by name, so the base layer never imports a domain package at
    module level: only Alembic's environment and the drift test need the whole schema.
    """
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return metadata


def append_only() -> dict[str, bool]:
    """``Table.info`` of a table whose rows are never changed or removed (an audit trail):
    its triggers refuse UPDATE, DELETE and TRUNCATE, and the app's role may only INSERT
    and SELECT (:mod:`geo.roles`)."""
    return {"append_only": True}


def append_only_tables(schema: MetaData) -> list[str]:
    """The names of the append-only tables declared on ``schema``."""
    return sorted(name for name, table in schema.tables.items() if table.info.get("append_only"))


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL condition ``column IN ('a', 'b', ...)`` for a CHECK constraint."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def key() -> Column[int]:
    """An integer primary key ``id`` (a serial)."""
    return Column("id", Integer, primary_key=True)


def required(
    *names: str, type_: TypeEngine[Any] | type[TypeEngine[Any]] = String
) -> list[Column[Any]]:
    """NOT NULL columns of one type (text unless ``type_`` says otherwise), in order."""
    return [Column(name, type_, nullable=False) for name in names]


def optional(
    *names: str, type_: TypeEngine[Any] | type[TypeEngine[Any]] = String
) -> list[Column[Any]]:
    """Nullable columns of one type (text unless ``type_`` says otherwise), in order."""
    return [Column(name, type_) for name in names]


def geometry(kind: str, *, name: str = "geom", nullable: bool = False) -> Column[Any]:
    """A geometry column of ``kind`` (``"POINT"``, ``"MULTIPOLYGON"``…) in EPSG:4326; its GiST
    index is declared with the table (named ``ix_<table>_<column>``)."""
    return Column(name, Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


def timestamp(name: str) -> Column[object]:
    """A required time with zone, set by the database when the row is written."""
    return Column(name, DateTime(timezone=True), server_default=func.now(), nullable=False)


def reference(
    name: str,
    target: str,
    *,
    nullable: bool = False,
    index: bool = False,
    ondelete: str | None = None,
    primary_key: bool = False,
) -> Column[int]:
    """An integer foreign key to ``target`` (``"table.id"``), named by table so that no
    package imports another's table objects."""
    return Column(
        name,
        Integer,
        ForeignKey(target, ondelete=ondelete),
        nullable=nullable,
        index=index or None,
        primary_key=primary_key,
    )


def gist(table: str, column: str = "geom") -> Index:
    """The GiST index ``ix_<table>_<column>`` (declare it after the column)."""
    return Index(f"ix_{table}_{column}", column, postgresql_using="gist")


def placed_columns() -> list[Column[Any]]:
    """Fresh columns of an imported record placed by the geocoder: its key in its source
    (``source_key``, ``source``), postcode, point (EPSG:4326), precision, territory and need
    area, created/updated times."""
    return [
        *required("source_key", "source"),
        Column("postcode", String(8)),
        geometry("POINT"),
        Column("location_precision", String(12), nullable=False),
        reference("territory_id", "territory.id", index=True),
        reference("need_area_id", "need_area.id", nullable=True),
        timestamp("created_at"),
        timestamp("updated_at"),
    ]


def placed_constraints(table: str) -> list[SchemaItem]:
    """What every placed record's table carries (declare after :func:`placed_columns`): a
    known location precision, one row per source key, a GiST index on the point."""
    return [
        CheckConstraint(
            one_of("location_precision", PRECISIONS), name=f"ck_{table}_location_precision"
        ),
        UniqueConstraint("source_key", name=f"uq_{table}_source_key"),
        gist(table),
    ]
