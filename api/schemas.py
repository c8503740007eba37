"""Request bodies and shared parameters: every field typed and bounded, unknown fields
refused (422)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from procurement.spos import CommitmentSpec

Text = Annotated[str, Field(max_length=2_000)]
Short = Annotated[str, Field(min_length=1, max_length=300)]
Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)]


def _web(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be a web address (https://...)")
    return value


WebAddress = Annotated[str, Field(max_length=2_000), AfterValidator(_web)]
Links = Annotated[list[WebAddress], Field(max_length=20)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenderIn(Body):
    title: Short
    territory_code: Annotated[str, Field(pattern=r"^(E23|W15|S23|N23)\d{6}$")]
    contract_value_gbp: Positive
    # PPN 002 (which replaced PPN 06/20 in February 2025) asks for at least 10 %.
    social_value_weighting_pct: Annotated[float, Field(ge=10, le=100, allow_inf_nan=False)]
    outcomes: Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=20)] = []
    bid_deadline: datetime
    contract_start: date
    delivery_postcodes: Annotated[
        list[Annotated[str, Field(max_length=12)]], Field(max_length=50)
    ] = []
    # The Find a Tender notice, when there is one (checked by procurement.tenders).
    ocid: Annotated[str, Field(max_length=120)] | None = None
    notice_url: Annotated[str, Field(max_length=2_000)] | None = None


class CommitmentIn(Body):
    activity_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    kind: Literal["money", "volunteer_hours", "in_kind", "jobs"]
    quantity: Positive
    what: Text
    where: Text
    for_whom: Text
    by_when: date

    def spec(self) -> CommitmentSpec:
        return CommitmentSpec(**self.model_dump())


class SpoIn(Body):
    summary: Text = ""
    commitments: Annotated[list[CommitmentIn], Field(max_length=100)] = []


class CommitmentsIn(Body):
    commitments: Annotated[list[CommitmentIn], Field(max_length=100)]


class ScoreIn(Body):
    override: Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)] = None
    reason: Text | None = None


class ReasonIn(Body):
    reason: Text = ""


class VariationIn(Body):
    reason: Text
    quantity: Positive | None = None
    what: Text | None = None
    where: Text | None = None
    for_whom: Text | None = None
    by_when: date | None = None


class DeliveryIn(Body):
    money_paid_gbp: Money = 0.0
    hours_given: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] = 0.0
    people_reached: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    evidence_links: Links = []
    note: Text | None = None


class ResponseIn(Body):
    note: Text | None = None


class ActivityIn(Body):
    name: Short
    description: Text | None = None
    themes: Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=20)] | None = (
        None
    )
    provider_name: Short | None = None
    postcode: Annotated[str, Field(max_length=12)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    service_radius_km: Annotated[float, Field(gt=0, le=1_000, allow_inf_nan=False)] | None = None
    people_reached_per_year: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    annual_running_cost: Money | None = None
    funding_gap: Money | None = None
    status: Literal["active", "at_risk", "closed"] | None = None
    closing_date: date | None = None
    evidence_links: Links | None = None
    safeguarding: bool | None = None


class ActivityPatch(Body):
    themes: Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=20)] | None = (
        None
    )
    people_reached_per_year: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    annual_running_cost: Money | None = None
    funding_gap: Money | None = None
    status: Literal["active", "at_risk", "closed"] | None = None
    closing_date: date | None = None
    service_radius_km: Annotated[float, Field(gt=0, le=1_000, allow_inf_nan=False)] | None = None
    safeguarding: bool | None = None
    # Why (recorded in the activity's history; required for a buyer lead's gap override).
    reason: Text | None = None


class EvidenceIn(Body):
    url: WebAddress


class OrganisationIn(Body):
    kind: Literal["buyer", "supplier", "provider", "operator", "community"]
    name: Short
    buyer_kind: Literal["police", "council", "nhs", "fire", "criminal_justice"] | None = None
    territories: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z]\d{8}$")]], Field(max_length=45)
    ] = []


class UserIn(Body):
    email: Annotated[str, Field(max_length=254)]
    name: Short
    password: Annotated[str, Field(min_length=12, max_length=200)]
    organisation_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    role: Literal[
        "buyer_lead", "buyer_evaluator", "supplier", "provider", "community", "analyst", "admin"
    ]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


# Ids in paths: positive and within the database's integer range (else 422, not 500).
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]

# Which activities a list, a map or coverage uses: the trusted ones (eligible dual-impact
# activities whose verification has not lapsed; the default) or every one (``?include=all``).
Include = Annotated[
    Literal["trusted", "all"],
    Query(description="trusted: eligible, non-lapsed activities (default); all: every one"),
]
