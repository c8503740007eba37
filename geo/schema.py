"""The database schema: SQLAlchemy 2 models with GeoAlchemy2 geometry columns.

Geometry is stored in EPSG:4326 with GiST indexes. Alembic migrations in
``geo/migrations`` create exactly these tables; ``tests/test_migrations.py`` checks that the
two agree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from procurement.states import STATES
from registry.themes import VOCABULARY

NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")
BOUNDARY_KINDS = ("territory", "need_area", "postcode")
ORGANISATION_KINDS = ("provider", "supplier", "buyer", "operator")
BUYER_KINDS = ("police", "council", "nhs", "fire", "criminal_justice")
ROLES = ("buyer_lead", "buyer_evaluator", "supplier", "provider", "analyst", "admin")
COMMITMENT_KINDS = ("money", "volunteer_hours", "in_kind", "jobs")
PRECISIONS = ("postcode", "sector", "district", "coordinates")
ACTIVITY_STATUSES = ("active", "at_risk", "closed")
THEME_SOURCES = ("classifier", "file", "override")
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


class _Placed:
    """Columns of a record placed by the geocoder (point, precision, territory, need area)."""

    postcode: Mapped[str | None] = mapped_column(String(8))
    geom: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    location_precision: Mapped[str] = mapped_column(String(12))
    territory_id: Mapped[int] = mapped_column(ForeignKey("territory.id"), index=True)
    need_area_id: Mapped[int | None] = mapped_column(ForeignKey("need_area.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _placed_checks(table: str) -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(
            _in("location_precision", PRECISIONS), name=f"ck_{table}_location_precision"
        ),
    )


class PostcodeUnit(Base):
    """The postcode gazetteer: every unit postcode, placed in a territory and need area at
    load time. Postcodes outside the 45 territories (Isle of Man, Channel Islands) have no
    territory."""

    __tablename__ = "postcode_unit"
    __table_args__ = (Index("ix_postcode_unit_geom", "geom", postgresql_using="gist"),)

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    sector: Mapped[str] = mapped_column(String(6))
    district: Mapped[str] = mapped_column(String(4))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geom: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False),
        Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
    )
    # No foreign keys: this derived table is rebuilt whole by its loader (against the current
    # boundaries), and checking 2.7 M references row by row would slow the load tenfold.
    territory_id: Mapped[int | None]
    territory_method: Mapped[str | None]
    need_area_id: Mapped[int | None]


class _PostcodeArea:
    """A sector or district centroid: the mean of its unit postcodes, in the territory most
    of them lie in (``territory_share`` says how many)."""

    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    n_postcodes: Mapped[int]
    territory_id: Mapped[int | None]  # derived, rebuilt whole: no foreign keys
    territory_share: Mapped[float | None]
    need_area_id: Mapped[int | None]


class PostcodeSector(_PostcodeArea, Base):
    __tablename__ = "postcode_sector"

    sector: Mapped[str] = mapped_column(String(6), primary_key=True)


class PostcodeDistrict(_PostcodeArea, Base):
    __tablename__ = "postcode_district"

    district: Mapped[str] = mapped_column(String(4), primary_key=True)


class Organisation(Base):
    """A provider (charity, social enterprise, community group), supplier or buyer.

    ``natural_key`` identifies it across files: an org-id (``GB-CHC-…``, ``GB-COH-…``)
    where one is known, otherwise its normalised name (and postcode, for providers).
    """

    __tablename__ = "organisation"
    __table_args__ = (
        UniqueConstraint("kind", "natural_key", name="uq_organisation_kind_key"),
        CheckConstraint(_in("kind", ORGANISATION_KINDS), name="ck_organisation_kind"),
        CheckConstraint(
            "(kind = 'buyer') = (buyer_kind IS NOT NULL) AND "
            f"(buyer_kind IS NULL OR {_in('buyer_kind', BUYER_KINDS)})",
            name="ck_organisation_buyer_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    natural_key: Mapped[str]
    name: Mapped[str]
    name_key: Mapped[str] = mapped_column(index=True)
    charity_number: Mapped[str | None]
    company_number: Mapped[str | None]
    url: Mapped[str | None]
    sector: Mapped[str | None]
    is_sme: Mapped[bool | None]
    is_vcse: Mapped[bool | None]
    buyer_kind: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Activity(_Placed, Base):
    """A dual-impact activity: where it is delivered, whom it serves, what it costs and
    needs, and how sure we are. Money in pounds; radius in metres."""

    __tablename__ = "activity"
    __table_args__ = (
        *_placed_checks("activity"),
        CheckConstraint(_in("status", ACTIVITY_STATUSES), name="ck_activity_status"),
        CheckConstraint(_in("themes_source", THEME_SOURCES), name="ck_activity_themes_source"),
        CheckConstraint(
            "themes <@ ARRAY[" + ", ".join(f"'{t}'" for t in VOCABULARY) + "]::varchar[]",
            name="ck_activity_themes_vocabulary",
        ),
        CheckConstraint(
            "status <> 'at_risk' OR closing_date IS NOT NULL", name="ck_activity_at_risk_date"
        ),
        CheckConstraint("service_radius_m > 0", name="ck_activity_radius"),
        CheckConstraint("people_reached_per_year >= 0", name="ck_activity_people"),
        CheckConstraint("annual_running_cost >= 0", name="ck_activity_cost"),
        CheckConstraint("funding_gap >= 0", name="ck_activity_gap"),
        UniqueConstraint("source_key", name="uq_activity_source_key"),
        Index("uq_activity_name_postcode", "name_key", "postcode", unique=True),
        Index("ix_activity_geom", "geom", postgresql_using="gist"),
        Index("ix_activity_geog", text("(geom::geography)"), postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str]
    source: Mapped[str]
    name: Mapped[str]
    name_key: Mapped[str]
    description: Mapped[str | None]
    themes: Mapped[list[str]] = mapped_column(ARRAY(String))
    themes_source: Mapped[str] = mapped_column(String(12))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    address: Mapped[str | None]
    service_radius_m: Mapped[float | None]
    service_area: Mapped[object | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    people_reached_per_year: Mapped[int | None]
    annual_running_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    funding_gap: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(10))
    closing_date: Mapped[date | None] = mapped_column(Date)
    evidence_links: Mapped[list[str]] = mapped_column(ARRAY(String))
    safeguarding: Mapped[bool]
    grant_count: Mapped[int | None]
    grant_total_gbp: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    last_award_year: Mapped[int | None]
    funders: Mapped[str | None]


class SupplierSite(_Placed, Base):
    """A supplier's site or depot (its delivery location, not necessarily its registered
    office)."""

    __tablename__ = "supplier_site"
    __table_args__ = (
        *_placed_checks("supplier_site"),
        CheckConstraint("employees >= 0", name="ck_supplier_site_employees"),
        UniqueConstraint("source_key", name="uq_supplier_site_source_key"),
        Index("ix_supplier_site_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str]
    source: Mapped[str]
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str]
    address: Mapped[str | None]
    employees: Mapped[int | None]


class WeightProfileRow(Base):
    """A buyer's weight profile for a territory (the standard profile is not stored)."""

    __tablename__ = "weight_profile"
    __table_args__ = (UniqueConstraint("territory_code", name="uq_weight_profile_territory"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str]
    version: Mapped[str]
    weights: Mapped[dict[str, float]] = mapped_column(JSONB)
    proximity_scale_m: Mapped[float]
    proximity_cutoff_m: Mapped[float]
    default_service_radius_m: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrganisationTerritory(Base):
    """The territories a buyer buys for."""

    __tablename__ = "organisation_territory"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    territory_code: Mapped[str] = mapped_column(String(9), primary_key=True)


class AppUser(Base):
    """A person, in one organisation, with one role. Passwords are stored as Argon2 hashes."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="ck_app_user_role"),
        CheckConstraint("email = lower(email)", name="ck_app_user_email_lower"),
        UniqueConstraint("email", name="uq_app_user_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    name: Mapped[str]
    password_hash: Mapped[str]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Tender(Base):
    """A buyer's contract opportunity: where, how big, what social value it asks for."""

    __tablename__ = "tender"
    __table_args__ = (
        CheckConstraint("contract_value_gbp > 0", name="ck_tender_value"),
        CheckConstraint("social_value_weighting_pct BETWEEN 0 AND 100", name="ck_tender_weighting"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    territory_code: Mapped[str] = mapped_column(String(9), index=True)
    title: Mapped[str]
    contract_value_gbp: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    social_value_weighting_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    outcomes: Mapped[list[str]] = mapped_column(ARRAY(String))
    bid_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contract_start: Mapped[date] = mapped_column(Date)
    ocid: Mapped[str | None]
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TenderLocation(Base):
    """Where the contract is delivered (its sites), for geographic alignment."""

    __tablename__ = "tender_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    label: Mapped[str]
    geom: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )


class Spo(Base):
    """A Social Purchase Order: a supplier's bid-time link to activities in a territory."""

    __tablename__ = "spo"
    __table_args__ = (
        CheckConstraint(_in("status", STATES), name="ck_spo_status"),
        CheckConstraint(
            "score_override IS NULL OR override_reason IS NOT NULL",
            name="ck_spo_override_reason",
        ),
        Index(
            "uq_spo_one_award_per_tender",
            "tender_id",
            unique=True,
            postgresql_where=text("status IN ('awarded', 'delivering', 'completed')"),
        ),
        Index(
            "uq_spo_one_bid_per_supplier",
            "tender_id",
            "supplier_id",
            unique=True,
            postgresql_where=text("status NOT IN ('withdrawn', 'lapsed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), server_default="draft")
    summary: Mapped[str | None]
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    score_components: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    score_rubric: Mapped[str | None]
    score_override: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    override_reason: Mapped[str | None]
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SpoCommitment(Base):
    """What an SPO commits to one activity: what, how much, where, for whom, by when."""

    __tablename__ = "spo_commitment"
    __table_args__ = (
        CheckConstraint(_in("kind", COMMITMENT_KINDS), name="ck_spo_commitment_kind"),
        CheckConstraint("quantity > 0", name="ck_spo_commitment_quantity"),
        CheckConstraint("value_gbp >= 0", name="ck_spo_commitment_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spo_id: Mapped[int] = mapped_column(ForeignKey("spo.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    value_gbp: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    what: Mapped[str]
    where_text: Mapped[str]
    for_whom: Mapped[str]
    by_when: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SpoVariation(Base):
    """A recorded change to an awarded commitment (awarded commitments are never edited)."""

    __tablename__ = "spo_variation"

    id: Mapped[int] = mapped_column(primary_key=True)
    spo_id: Mapped[int] = mapped_column(ForeignKey("spo.id"))
    commitment_id: Mapped[int] = mapped_column(ForeignKey("spo_commitment.id"))
    changes: Mapped[dict[str, object]] = mapped_column(JSONB)
    reason: Mapped[str]
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SpoDelivery(Base):
    """A delivery claim against a commitment: the supplier claims, the provider confirms or
    disputes, the buyer signs off."""

    __tablename__ = "spo_delivery"
    __table_args__ = (
        CheckConstraint(
            _in("provider_status", ("pending", "confirmed", "disputed")),
            name="ck_spo_delivery_provider_status",
        ),
        CheckConstraint(
            "money_paid_gbp >= 0 AND hours_given >= 0 AND people_reached >= 0",
            name="ck_spo_delivery_amounts",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("spo_commitment.id"), index=True)
    money_paid_gbp: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default="0")
    hours_given: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")
    people_reached: Mapped[int] = mapped_column(server_default="0")
    evidence_links: Mapped[list[str]] = mapped_column(ARRAY(String), server_default="{}")
    note: Mapped[str | None]
    claimed_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    provider_status: Mapped[str] = mapped_column(String(10), server_default="pending")
    provider_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    provider_note: Mapped[str | None]
    signed_off_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class AuditEvent(Base):
    """Append-only, hash-chained per SPO: each event carries the hash of the one before."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("spo_id", "seq", name="uq_audit_event_spo_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    spo_id: Mapped[int] = mapped_column(ForeignKey("spo.id"))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str]
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None]
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
