"""What the procurement package hands back: one typed shape per kind of row.

These are :class:`~typing.TypedDict` s, so a record is still the plain ``dict`` its query
produced (and the API serialises it unchanged); the types only name its keys. Keys follow
the SQL column lists of the functions that return them, in the same order.

Two families:

* records the package publishes (the API returns them): :class:`TenderSummary`,
  :class:`TenderRecord`, :class:`AllowanceRecord`, :class:`SpoSummary`, :class:`SpoRecord`,
  :class:`CommitmentRecord`, :class:`ScoreResult`, :class:`RegisterEntry`,
  :class:`AuditEventRecord` and :class:`AuditCheckpoint`;
* rows the lifecycle reads to decide what may happen (:mod:`procurement.lifecycle`):
  :class:`SpoState`, :class:`CommitmentTerms` and :class:`DeliveryState`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypedDict

# --- tenders ---------------------------------------------------------------------------


class TenderLocation(TypedDict):
    """A place where a tender's contract is delivered."""

    label: str
    lat: float
    lon: float


class TenderSummary(TypedDict):
    """A tender as listed (:func:`procurement.tenders.list_tenders`)."""

    id: int
    title: str
    territory_code: str
    contract_value_gbp: float
    bid_deadline: datetime
    buyer: str
    ocid: str | None
    notice_url: str | None


class TenderRecord(TenderSummary):
    """A tender in full (:func:`procurement.tenders.get_tender`)."""

    social_value_weighting_pct: float
    outcomes: list[str]
    contract_start: date
    buyer_id: int
    buyer_kind: str | None
    delivery_locations: list[TenderLocation]


class AllowanceRecord(TypedDict):
    """A tender's buyer letting its SPOs commit to an activity the register does not trust
    (:func:`procurement.allowances.allow`), with the activity's standing now."""

    id: int
    tender_id: int
    activity_id: int
    activity: str
    eligibility: str
    eligibility_reason: str | None
    verification: str
    reason: str
    allowed_by: str
    at: datetime


# --- SPOs --------------------------------------------------------------------------------


class SpoState(TypedDict):
    """The columns of an SPO that decide who may change it, and how."""

    id: int
    tender_id: int
    supplier_id: int
    status: str


class SpoSummary(TypedDict):
    """An SPO as listed (:func:`procurement.spo_queries.list_spos`)."""

    id: int
    tender_id: int
    tender: str
    territory_code: str
    supplier: str
    status: str
    score: float | None
    created_at: datetime


class CommitmentRecord(TypedDict):
    """A commitment with its activity's standing in the register (eligibility, effective
    verification; ``allowance`` is "allowed by the buyer: <reason>" when the tender allows an
    activity the register does not trust) and the delivery claimed, confirmed and signed off
    against it."""

    id: int
    spo_id: int
    activity_id: int
    activity: str
    eligibility: str
    verification: str
    allowance: str | None
    kind: str
    quantity: float
    value_gbp: float
    what: str
    where: str
    for_whom: str
    by_when: date
    money_claimed_gbp: float
    money_confirmed_gbp: float
    hours_confirmed: float
    people_confirmed: int
    signed_off: int


class SpoRecord(SpoSummary):
    """An SPO in full, with the states it may move to and its commitments
    (:func:`procurement.spo_queries.get_spo`)."""

    supplier_id: int
    summary: str | None
    score_components: dict[str, float] | None
    score_rubric: str | None
    score_override: float | None
    override_reason: str | None
    submitted_at: datetime | None
    awarded_at: datetime | None
    next_states: list[str]
    commitments: list[CommitmentRecord]


class ScoreResult(TypedDict):
    """What scoring an SPO found (:func:`procurement.spos.score`)."""

    score: float
    components: dict[str, float]
    rubric: str
    override: float | None
    reasons: dict[str, str]


class CommitmentTerms(TypedDict):
    """A commitment's promised terms, as a variation or a delivery claim reads them."""

    id: int
    spo_id: int
    kind: str
    quantity: float
    what: str
    where_text: str
    for_whom: str
    by_when: date


class DeliveryRecord(TypedDict):
    """A delivery claimed against a commitment, as the tender's buyer follows it
    (:func:`procurement.tenders.deliveries`): amounts, who answered for the provider and
    whether the buyer signed it off."""

    id: int
    spo_id: int
    commitment_id: int
    activity: str
    what: str
    money_paid_gbp: float
    hours_given: float
    people_reached: int
    evidence_links: list[str]
    note: str | None
    claimed_at: datetime
    claimed_by: str | None
    provider_status: str
    provider_note: str | None
    signed_off: bool


class DeliveryState(TypedDict):
    """The columns of a delivery claim that decide who may confirm or sign it off."""

    id: int
    provider_status: str
    signed_off_by: int | None
    spo_id: int
    provider_id: int | None
    buyer_id: int


# --- audit and the public register -------------------------------------------------------


class AuditEventRecord(TypedDict):
    """One event of an SPO's audit trail (:func:`procurement.audit.events`)."""

    seq: int
    at: datetime
    actor: str | None
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: dict[str, object]
    hash: str


class AuditCheckpoint(TypedDict):
    """A keyed MAC of an SPO chain's head (:mod:`procurement.anchor`): event ``seq`` had
    hash ``head_hash``; ``mac`` is HMAC-SHA256 under the key named ``key_id``."""

    spo_id: int
    seq: int
    head_hash: str
    mac: str
    key_id: str
    at: datetime


class RegisterEntry(TypedDict):
    """An awarded SPO in the public register (:func:`procurement.reporting.register`),
    with its audit chain's latest checkpoint, published so it is kept outside the
    database too. ``allowances`` says "<activity>: allowed by the buyer: <reason>" for each
    activity the tender's buyer allowed though the register does not trust it."""

    spo_id: int
    status: str
    awarded_at: datetime | None
    tender_id: int
    tender: str
    ocid: str | None
    territory_code: str
    buyer: str
    buyer_kind: str | None
    supplier: str
    committed_gbp: float
    delivered_gbp: float
    claimed_gbp: float
    people_reached: int
    activities: list[str]
    allowances: list[str]
    checkpoint: AuditCheckpoint | None
