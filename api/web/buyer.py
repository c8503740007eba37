"""The buyer's pages (a procurement lead or an evaluator of a buyer organisation): its
tenders, opening one, the sealed bids counted before the deadline and compared side by
side with the standard rubric from it on, scoring and award, and, after award, the
delivery on a map and a timeline with the sign-off of confirmed deliveries.

Every action calls the domain function the API calls (:mod:`procurement.tenders`,
:mod:`procurement.spos`, :mod:`procurement.delivery`); the rules, the sealed bids among
them, are theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts import permissions
from accounts.permissions import Action
from accounts.users import User
from api.deps import IndexesDep, ReadConn, SettingsDep, WriteConn
from api.errors import STATUS
from api.security import map_response
from api.web.render import done, form_error, page
from api.web.session import requires, web_session
from boundaries.gazetteer import gazetteer_for
from boundaries.repository import territory_name
from geo.errors import DualImpactError, InvalidInputError, NotFoundError
from geo.geocode import Geocoder
from maps import render
from maps.delivery_map import delivery_map
from matching.need import NeedIndex
from matching.spo_score import SPO_COMPONENTS, Rubric
from procurement import audit, delivery, reporting, spo_queries, spos, tenders
from procurement.records import SpoRecord, TenderRecord
from procurement.states import PUBLIC
from procurement.visibility import Viewer, evaluation_open
from registry.themes import LABELS as THEME_LABELS
from registry.themes import THEMES

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],
)

Buyer = Annotated[User, requires("buyer_lead", "buyer_evaluator")]
UK = ZoneInfo("Europe/London")

# The standard rubric's components in plain words.
COMPONENT_WORDS = {
    "committed_value": "Value committed",
    "need_reached": "Need reached",
    "geographic_alignment": "Near where the contract is delivered",
    "evidence_strength": "Evidence and capacity",
    "delivery_risk": "Delivery risk (1 = lowest risk)",
}
STATE_WORDS = {
    "draft": "draft",
    "submitted": "submitted, not yet scored",
    "scored": "scored",
    "awarded": "awarded",
    "delivering": "awarded, delivering",
    "completed": "completed",
    "withdrawn": "withdrawn by the supplier",
    "not_awarded": "not awarded",
    "lapsed": "lapsed",
}
DELIVERY_WORDS = {
    "pending": "waiting for the provider",
    "confirmed": "confirmed by the provider",
    "disputed": "disputed by the provider",
}


def uk_time(moment: datetime | None) -> str:
    """A moment as people in the UK read it ("01 Dec 2026 17:00"), or "" for none."""
    return moment.astimezone(UK).strftime("%d %b %Y %H:%M") if moment else ""


def tender_state(tender: TenderRecord, awarded: bool) -> str:
    """Where a tender is, in words: open for bids, in evaluation, or awarded."""
    if awarded:
        return "awarded"
    return "in evaluation" if evaluation_open(tender["bid_deadline"]) else "open for bids"


def _awarded(conn: Connection, user: User, tender_id: int) -> SpoRecord | None:
    """The tender's awarded SPO (public), if it has one."""
    for found in spo_queries.list_spos(conn, Viewer.of(user), tender_id=tender_id):
        if found["status"] in PUBLIC:
            return spo_queries.get_spo(conn, Viewer.of(user), found["id"])
    return None


@router.get("/buyer")
def home(request: Request, conn: ReadConn, user: Buyer) -> HTMLResponse:
    """The organisation's tenders with their state and how many bids are in."""
    rows = []
    for tender in tenders.buyer_tenders(conn, user):
        awarded = _awarded(conn, user, tender["id"]) is not None
        rows.append(
            {
                "tender": tender,
                "place": territory_name(conn, tender["territory_code"]),
                "state": tender_state(tender, awarded),
                "bids": tenders.bids_in(conn, user, tender["id"]),
            }
        )
    return page(request, "buyer/home.html", page="buyer", rows=rows, when=uk_time)


# --- a new tender ------------------------------------------------------------------------


def _new_context(conn: Connection, user: User) -> dict[str, Any]:
    """What the new-tender form offers: the organisation's territories by name, the
    outcomes (themes) by label."""
    return {
        "page": "buyer",
        "territories": [(code, territory_name(conn, code)) for code in user.territories],
        "themes": [(theme.slug, theme.label) for theme in THEMES],
    }


@router.get("/buyer/tenders/new")
def new_tender_page(request: Request, conn: ReadConn, user: Buyer) -> HTMLResponse:
    permissions.require_role(user, Action.OPEN_TENDER)
    return page(
        request,
        "buyer/new_tender.html",
        form={"social_value_weighting_pct": "10", "outcomes": []},
        **_new_context(conn, user),
    )


@dataclass(frozen=True)
class TenderForm:
    """The new-tender form as typed (strings, so a form sent back keeps them)."""

    title: str
    contract_value_gbp: str
    social_value_weighting_pct: str
    ocid: str
    notice_url: str
    territory_code: str
    outcomes: list[str]
    bid_deadline: str
    contract_start: str
    delivery_postcodes: str

    def spec(self) -> tenders.TenderSpec:
        """The tender it describes (the deadline is read as UK time).

        Raises
        ------
        InvalidInputError
            A number, date or time that cannot be read; every one is named.
        """
        problems = []
        value = weighting = 0.0
        deadline = datetime.min
        start = date.min
        try:
            value = float(self.contract_value_gbp.replace(",", "").replace("£", ""))
        except ValueError:
            problems.append("the contract value must be a number of pounds, such as 2000000")
        try:
            weighting = float(self.social_value_weighting_pct.replace("%", ""))
        except ValueError:
            problems.append("the social value weighting must be a percentage, such as 10")
        try:
            deadline = datetime.fromisoformat(self.bid_deadline).replace(tzinfo=UK)
        except ValueError:
            problems.append("give the bid deadline as a date and time")
        try:
            start = date.fromisoformat(self.contract_start)
        except ValueError:
            problems.append("give the contract's start date")
        if problems:
            raise InvalidInputError("; ".join(problems))
        postcodes = [
            part.strip()
            for part in self.delivery_postcodes.replace(",", "\n").splitlines()
            if part.strip()
        ]
        return tenders.TenderSpec(
            title=self.title,
            territory_code=self.territory_code,
            contract_value_gbp=value,
            social_value_weighting_pct=weighting,
            outcomes=self.outcomes,
            bid_deadline=deadline,
            contract_start=start,
            delivery_postcodes=postcodes,
            ocid=self.ocid or None,
            notice_url=self.notice_url or None,
        )


Line = Annotated[str, Form(max_length=300)]
Long = Annotated[str, Form(max_length=2_000)]
# The tender whose page a bid's or a delivery's form came from (to come back to).
TenderField = Annotated[int, Form(ge=1, le=2**31 - 1)]


@router.post("/buyer/tenders/new")
def new_tender(
    request: Request,
    conn: WriteConn,
    user: Buyer,
    title: Line = "",
    contract_value_gbp: Line = "",
    social_value_weighting_pct: Line = "",
    ocid: Line = "",
    notice_url: Long = "",
    territory_code: Line = "",
    outcomes: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 (FastAPI copies)
    bid_deadline: Line = "",
    contract_start: Line = "",
    delivery_postcodes: Long = "",
) -> Response:
    """Open the tender (:func:`procurement.tenders.open_tender`, as ``POST /tenders``)."""
    permissions.require_role(user, Action.OPEN_TENDER)
    typed = TenderForm(
        title,
        contract_value_gbp,
        social_value_weighting_pct,
        ocid,
        notice_url,
        territory_code,
        outcomes,
        bid_deadline,
        contract_start,
        delivery_postcodes,
    )
    try:
        with conn.begin_nested():
            spec = typed.spec()
            geocoder = Geocoder(gazetteer_for(conn, spec.delivery_postcodes), None)
            tender_id = tenders.open_tender(conn, user, spec, geocoder)
    except DualImpactError as exc:
        return form_error(
            request, "buyer/new_tender.html", exc, vars(typed), **_new_context(conn, user)
        )
    return done(request, conn, f"/buyer/tenders/{tender_id}", f"Tender opened: {spec.title}")


# --- a tender: sealed bids, then the side-by-side comparison ------------------------------


@dataclass
class Bid:
    """One SPO in the comparison: the record, the rubric's assessment (or why there is
    none) and its state in words."""

    spo: SpoRecord
    state: str
    committed_gbp: float
    components: Mapping[str, float]
    reasons: Mapping[str, str]
    assessed: float | None
    problem: str | None


def _bid(conn: Connection, viewer: Viewer, spo_id: int, need: NeedIndex) -> Bid:
    spo = spo_queries.get_spo(conn, viewer, spo_id)
    committed = sum(c["value_gbp"] for c in spo["commitments"])
    state = STATE_WORDS.get(spo["status"], spo["status"])
    try:
        found = spos.assess(conn, viewer, spo_id, need)
    except DualImpactError as exc:
        return Bid(spo, state, committed, {}, {}, None, str(exc))
    return Bid(spo, state, committed, found.components, found.reasons, found.score, None)


def _tender_page(
    request: Request,
    conn: Connection,
    user: User,
    tender_id: int,
    need: NeedIndex,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The tender page: its facts, the bids in (a count while sealed; side by side with
    the rubric from the deadline on), and the downloads after award."""
    tender = tenders.get_tender(conn, tender_id)
    count = tenders.bids_in(conn, user, tender_id)  # refuses another buyer's tender
    opened = evaluation_open(tender["bid_deadline"])
    viewer = Viewer.of(user)
    bids = (
        [
            _bid(conn, viewer, found["id"], need)
            for found in reversed(spo_queries.list_spos(conn, viewer, tender_id=tender_id))
        ]
        if opened
        else []
    )
    awarded = next((bid.spo for bid in bids if bid.spo["status"] in PUBLIC), None)
    rubric = Rubric()
    return page(
        request,
        "buyer/tender.html",
        status,
        page="buyer",
        error=error,
        tender=tender,
        place=territory_name(conn, tender["territory_code"]),
        outcomes=[THEME_LABELS.get(slug, slug) for slug in tender["outcomes"]],
        state=tender_state(tender, awarded is not None),
        count=count,
        opened=opened,
        bids=bids,
        awarded=awarded,
        components=[(c, COMPONENT_WORDS[c], rubric.weights[c]) for c in SPO_COMPONENTS],
        rubric=f"{rubric.name} {rubric.version}",
        can_award=user.role == "buyer_lead",
        when=uk_time,
    )


@router.get("/buyer/tenders/{tender_id}")
def tender_page(
    request: Request, tender_id: int, conn: ReadConn, user: Buyer, indexes: IndexesDep
) -> HTMLResponse:
    return _tender_page(request, conn, user, tender_id, indexes.need())


def _refused(exc: DualImpactError) -> int:
    """The HTTP status of a refused action (as the API answers it)."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)


@router.post("/buyer/spos/{spo_id}/score")
def score(
    request: Request,
    spo_id: int,
    conn: WriteConn,
    user: Buyer,
    indexes: IndexesDep,
    tender_id: TenderField,
    override: Line = "",
    reason: Long = "",
) -> Response:
    """Score a bid with the standard rubric (:func:`procurement.spos.score`), optionally
    overriding the score with a reason for the record; a refusal (the bids still sealed,
    say) comes back on the tender's page (``tender_id``) with the domain's message."""
    try:
        with conn.begin_nested():
            try:
                value = float(override) if override.strip() else None
            except ValueError:
                raise InvalidInputError(
                    "an override is a score from 0 to 100; leave it empty to keep the rubric's"
                ) from None
            result = spos.score(
                conn, user, spo_id, indexes.need(), override=value, reason=reason or None
            )
    except DualImpactError as exc:
        return _tender_page(request, conn, user, tender_id, indexes.need(), _refused(exc), str(exc))
    shown = result["override"] if result["override"] is not None else result["score"]
    return done(request, conn, f"/buyer/tenders/{tender_id}", f"Bid scored: {shown:.1f} / 100")


@router.post("/buyer/spos/{spo_id}/award")
def award(
    request: Request,
    spo_id: int,
    conn: WriteConn,
    user: Buyer,
    indexes: IndexesDep,
    tender_id: TenderField,
) -> Response:
    """Award the tender to this bid (:func:`procurement.spos.award`; a procurement lead
    only); a refusal comes back on the tender's page with the domain's message."""
    try:
        with conn.begin_nested():
            spos.award(conn, user, spo_id)
    except DualImpactError as exc:
        return _tender_page(request, conn, user, tender_id, indexes.need(), _refused(exc), str(exc))
    return done(
        request,
        conn,
        f"/buyer/tenders/{tender_id}",
        "Awarded: the SPO is now public and its commitments are locked",
    )


# --- after award: delivery -------------------------------------------------------------


def _delivery_page(
    request: Request,
    conn: Connection,
    user: User,
    tender_id: int,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The awarded SPO's delivery: a map, the timeline of its audit trail and the
    deliveries claimed, with sign-off for confirmed ones."""
    tender = tenders.get_tender(conn, tender_id)
    tenders.bids_in(conn, user, tender_id)  # refuses another buyer's tender
    awarded = _awarded(conn, user, tender_id)
    if awarded is None:
        raise NotFoundError(f"tender {tender_id} is not awarded yet: delivery starts after award")
    return page(
        request,
        "buyer/delivery.html",
        status,
        page="buyer",
        error=error,
        tender=tender,
        place=territory_name(conn, tender["territory_code"]),
        spo=awarded,
        events=audit.events(conn, awarded["id"]),
        claims=tenders.deliveries(conn, Viewer.of(user), tender_id),
        delivery_words=DELIVERY_WORDS,
        can_sign_off=user.role == "buyer_lead",
        when=uk_time,
    )


@router.get("/buyer/tenders/{tender_id}/delivery")
def delivery_page(request: Request, tender_id: int, conn: ReadConn, user: Buyer) -> HTMLResponse:
    return _delivery_page(request, conn, user, tender_id)


@router.get("/buyer/tenders/{tender_id}/delivery.html")
def delivery_map_document(
    tender_id: int, conn: ReadConn, user: Buyer, settings: SettingsDep
) -> HTMLResponse:
    """The delivery map (a document for the delivery page's frame)."""
    tender = tenders.get_tender(conn, tender_id)
    tenders.bids_in(conn, user, tender_id)
    awarded = _awarded(conn, user, tender_id)
    links = reporting.awarded_links(conn, tender["territory_code"])
    awarded_id = awarded["id"] if awarded is not None else None
    fmap = delivery_map(
        tender["title"],
        tender["delivery_locations"],
        links[links["spo_id"] == awarded_id],
        tiles=settings.tiles,
    )
    return map_response(render.page(fmap), settings.tiles)


@router.post("/buyer/deliveries/{delivery_id}/sign-off")
def sign_off(
    request: Request,
    delivery_id: int,
    conn: WriteConn,
    user: Buyer,
    tender_id: TenderField,
) -> Response:
    """Sign off a delivery the provider confirmed (:func:`procurement.delivery.sign_off`)."""
    try:
        with conn.begin_nested():
            delivery.sign_off(conn, user, delivery_id)
    except DualImpactError as exc:
        return _delivery_page(request, conn, user, tender_id, _refused(exc), str(exc))
    return done(request, conn, f"/buyer/tenders/{tender_id}/delivery", "Delivery signed off")
