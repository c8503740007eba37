"""The supplier's pages: live tenders, a shortlist of activities found near its sites, and
its Social Purchase Orders from the first draft to delivery.

Every action calls the same domain function as the API (``procurement.spos``,
``procurement.delivery``, ``procurement.shortlists``), which checks who may do it; the
pages only read forms and draw the answers. The SPO builder shows what is left of each
activity's funding gap as an amount is typed (an htmx fragment from the capacity ledger)
and the score with its reasons exactly as the buyer's scoring computes it
(:func:`procurement.spos.assess`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts.users import User
from api.deps import IndexesDep, ReadConn, WriteConn
from api.web.render import done, page
from api.web.session import requires, web_session
from boundaries.repository import territory_name
from geo.errors import DualImpactError, InvalidInputError, NotFoundError
from geo.jsonable import records
from maps import assets
from matching import near
from matching.valuation import HOUR_VALUE_GBP
from procurement import delivery, ledger, preview, shortlists, spo_queries, spos, tenders
from procurement.records import SpoRecord, TenderRecord
from procurement.spos import CommitmentSpec
from procurement.states import DRAFT, PUBLIC, SCORED, SUBMITTED
from procurement.visibility import Viewer
from registry.themes import LABELS

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],
)

Supplier = Annotated[User, requires("supplier")]
Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=40)]

# Each SPO state as the supplier reads it, and how it looks (site.css .state classes).
STATE_WORDS = {
    "draft": ("Draft: not yet submitted", "warn"),
    "submitted": ("Submitted, sealed until the bid deadline", "good"),
    "scored": ("Scored by the buyer", "good"),
    "awarded": ("Awarded: public and locked in the contract", "good"),
    "delivering": ("Awarded and delivering", "good"),
    "completed": ("Contract completed", "good"),
    "withdrawn": ("Withdrawn", "bad"),
    "not_awarded": ("Not awarded", "bad"),
    "lapsed": ("Lapsed (never submitted)", "bad"),
}
KINDS = [
    ("money", "Money (£)"),
    ("volunteer_hours", "Volunteer hours"),
    ("in_kind", "In kind (its value in £)"),
    ("jobs", "Jobs (whole number; not counted against the gap)"),
]
PROVIDER_WORDS = {
    "pending": ("Waiting for the provider to confirm", "warn"),
    "confirmed": ("Confirmed by the provider", "good"),
    "disputed": ("Disputed by the provider", "bad"),
}
COMPONENT_WORDS = {
    "committed_value": "Value committed",
    "need_reached": "Need reached",
    "geographic_alignment": "Near the contract",
    "evidence_strength": "Evidence",
    "delivery_risk": "Delivery risk (1 = none)",
}


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%d %b %Y, %H:%M} UTC"


def _live(tender: Mapping[str, Any]) -> bool:
    deadline: datetime = tender["bid_deadline"]
    return deadline > datetime.now(UTC)


def _number(raw: str, what: str) -> float:
    """A number typed in a form ("4,000", "£4000"), or a message saying what to type."""
    cleaned = raw.replace(",", "").replace("£", "").strip()
    try:
        value = float(cleaned) if cleaned else 0.0
    except ValueError:
        raise InvalidInputError(
            f"{what}: {raw!r} is not a number; type digits, e.g. 4000"
        ) from None
    if not math.isfinite(value):
        raise InvalidInputError(f"{what}: type an ordinary number, e.g. 4000")
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInputError("by when: choose the date the commitment is delivered by") from None


def _own_spos(conn: Connection, user: User) -> list[dict[str, Any]]:
    """The organisation's SPOs, with their state in words and their place's name."""
    places: dict[str, str] = {}
    own = []
    for row in spo_queries.list_spos(conn, Viewer.of(user), supplier_id=user.organisation_id):
        code = row["territory_code"]
        if code not in places:
            places[code] = territory_name(conn, code)
        own.append({**row, "state": STATE_WORDS[row["status"]], "place": places[code]})
    return own


def _live_tenders(conn: Connection) -> list[dict[str, Any]]:
    found = []
    for summary in tenders.list_tenders(conn):
        if _live(summary):
            tender = tenders.get_tender(conn, summary["id"])
            found.append(
                {
                    **tender,
                    "place": territory_name(conn, tender["territory_code"]),
                    "closes": _when(tender["bid_deadline"]),
                }
            )
    return sorted(found, key=lambda t: t["bid_deadline"])


def _home(
    request: Request, conn: Connection, user: User, status: int = 200, **context: Any
) -> HTMLResponse:
    mine = _own_spos(conn, user)
    live_spo = {
        row["tender_id"]: row["id"] for row in mine if row["status"] in (DRAFT, SUBMITTED, SCORED)
    }
    return page(
        request,
        "supplier/home.html",
        status,
        page="supplier",
        tenders=_live_tenders(conn),
        spos=mine,
        live_spo=live_spo,
        shortlist=shortlists.entries(conn, user),
        **context,
    )


@router.get("/supplier")
def home(request: Request, conn: ReadConn, user: Supplier) -> HTMLResponse:
    """Live tenders, the organisation's SPOs and its shortlist."""
    return _home(request, conn, user)


@router.get("/supplier/finder")
def finder(
    request: Request,
    conn: ReadConn,
    indexes: IndexesDep,
    user: Supplier,
    site: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    postcode: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """Activities near one of the organisation's sites or a postcode, ranked as the public
    finder ranks them, each with a button to shortlist it."""
    own_sites = shortlists.sites(conn, user)
    context: dict[str, Any] = {
        "page": "supplier",
        "sites": own_sites,
        "site_id": site,
        "ranked": None,
        "form": {"postcode": postcode or "", "site": site or ""},
    }
    if site is None and not postcode:
        return page(request, "supplier/finder.html", **context)
    try:
        where = postcode
        if site is not None:
            chosen = shortlists.site(conn, user, site)
            if not chosen.postcode:
                raise InvalidInputError(f"the site {chosen.name!r} has no postcode: type one")
            where = chosen.postcode
        found = near.recommend(conn, indexes.need(), postcode=where, top=15)
    except DualImpactError as exc:
        return page(request, "supplier/finder.html", 422, error=str(exc), **context)
    listed = {entry.activity_id for entry in shortlists.entries(conn, user)}
    here = f"{request.url.path}?{request.url.query}"
    return page(
        request,
        "supplier/finder.html",
        **{
            **context,
            "ranked": records(found.ranked),
            "heading": found.heading,
            "note": found.note,
            "listed": listed,
            "back": here,
        },
    )


def _back(target: str) -> str:
    """Where to return after a shortlist change: a supplier page, never elsewhere."""
    if target.startswith("/supplier") and not target.startswith("//") and "\\" not in target:
        return target
    return "/supplier"


@router.post("/supplier/shortlist")
def shortlist_add(
    request: Request,
    conn: WriteConn,
    user: Supplier,
    activity_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    site_id: Annotated[str, Form(max_length=12)] = "",
    back: Annotated[str, Form(max_length=500)] = "/supplier",
) -> Response:
    """Put an activity on the shortlist (for the site it was found near)."""
    site = int(site_id) if site_id.isdigit() else None
    try:
        with conn.begin_nested():
            shortlists.add(conn, user, activity_id, site_id=site)
    except DualImpactError as exc:
        return _home(request, conn, user, 422, error=str(exc))
    names = [e.activity for e in shortlists.entries(conn, user) if e.activity_id == activity_id]
    return done(request, conn, _back(back), f"Shortlisted: {names[0]}.")


@router.post("/supplier/shortlist/{entry_id}/remove")
def shortlist_remove(request: Request, conn: WriteConn, user: Supplier, entry_id: int) -> Response:
    try:
        with conn.begin_nested():
            name = shortlists.remove(conn, user, entry_id)
    except DualImpactError as exc:
        return _home(request, conn, user, 422, error=str(exc))
    return done(request, conn, "/supplier", f"Taken off the shortlist: {name}.")


@router.post("/supplier/tenders/{tender_id}/spo")
def start_spo(
    request: Request,
    conn: WriteConn,
    user: Supplier,
    tender_id: int,
    summary: Text = "",
) -> Response:
    """Draft an SPO for a live tender (as ``POST /tenders/{id}/spos``), then build it."""
    try:
        with conn.begin_nested():
            spo_id = spos.draft(conn, user, tender_id, summary.strip(), [])
    except DualImpactError as exc:
        return _home(request, conn, user, 422, error=str(exc))
    return done(
        request, conn, f"/supplier/spos/{spo_id}", "SPO started: add the activities it backs."
    )


def _own_spo(conn: Connection, user: User, spo_id: int) -> SpoRecord:
    """The SPO, if it is the organisation's own (awarded SPOs of others are in the public
    register, not here)."""
    spo = spo_queries.get_spo(conn, Viewer.of(user), spo_id)
    if spo["supplier_id"] != user.organisation_id:
        raise NotFoundError(
            f"SPO {spo_id} is not one of {user.organisation_name}'s; awarded SPOs of other "
            "suppliers are in the public register"
        )
    return spo


def _choices(
    conn: Connection, user: User, indexes: IndexesDep, tender: TenderRecord
) -> list[tuple[str, list[tuple[int, str]]]]:
    """The activities to choose from: the shortlist, then the tender's recommendations."""
    listed = [
        (e.activity_id, f"{e.activity} ({e.territory_name})")
        for e in shortlists.entries(conn, user)
    ]
    found = near.recommend(
        conn,
        indexes.need(),
        territory=tender["territory_code"],
        outcomes=tender["outcomes"],
        top=10,
    )
    seen = {activity for activity, _ in listed}
    offered = [
        (int(row["activity_id"]), str(row["name"]))
        for row in found.ranked.to_dict("records")
        if int(row["activity_id"]) not in seen
    ]
    groups = [("Your shortlist", listed), ("Recommended for this tender", offered)]
    return [(label, options) for label, options in groups if options]


def _spo_page(
    request: Request,
    conn: Connection,
    user: User,
    indexes: IndexesDep,
    spo_id: int,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    spo = _own_spo(conn, user, spo_id)
    tender = tenders.get_tender(conn, spo["tender_id"])
    draft = spo["status"] == DRAFT
    try:
        score, score_note = spos.assess(conn, Viewer.of(user), spo_id, indexes.need()), ""
    except DualImpactError as exc:
        score, score_note = None, str(exc)
    claims: dict[int, list[preview.DeliveryClaim]] = {}
    if spo["status"] in PUBLIC:
        for claim in preview.claims(conn, user, spo_id):
            claims.setdefault(claim.commitment_id, []).append(claim)
    return page(
        request,
        "supplier/spo.html",
        status,
        page="supplier",
        spo=spo,
        state=STATE_WORDS[spo["status"]],
        tender=tender,
        place=territory_name(conn, tender["territory_code"]),
        closes=_when(tender["bid_deadline"]),
        open_for_bids=_live(tender),
        draft=draft,
        choices=_choices(conn, user, indexes, tender) if draft else [],
        kinds=KINDS,
        kind_names=dict(KINDS),
        hour_value=HOUR_VALUE_GBP,
        gaps=records(ledger.leaning(conn, spo_id)) if spo["commitments"] else [],
        problems=spo_queries.submission_problems(conn, spo_id) if draft else [],
        score=score,
        score_note=score_note,
        component_words=COMPONENT_WORDS,
        claims=claims,
        provider_words=PROVIDER_WORDS,
        outcomes=[LABELS.get(o, o) for o in tender["outcomes"]],
        can_withdraw="withdrawn" in spo["next_states"],
        delivering=spo["status"] in PUBLIC and spo["status"] != "completed",
        htmx_url=assets.served_url(assets.HTMX, "htmx.min.js"),
        **context,
    )


@router.get("/supplier/spos/{spo_id}")
def spo_page(
    request: Request, conn: ReadConn, indexes: IndexesDep, user: Supplier, spo_id: int
) -> HTMLResponse:
    """The SPO: the builder while a draft, then its state, score preview and delivery."""
    return _spo_page(request, conn, user, indexes, spo_id)


@router.get("/supplier/spos/{spo_id}/ledger")
def gap_fragment(
    request: Request,
    conn: ReadConn,
    user: Supplier,
    spo_id: int,
    activity_id: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[str, Query(max_length=20)] = "money",
    quantity: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """An HTML fragment: what the chosen activity's gap has left for the amount typed."""
    if not activity_id.isdigit():
        return page(request, "supplier/_gap.html", gap=None, message="Choose an activity.")
    try:
        amount = _number(quantity, "amount")
        gap = preview.gap_left(conn, user, spo_id, int(activity_id), kind, amount)
    except DualImpactError as exc:
        return page(request, "supplier/_gap.html", gap=None, message=str(exc))
    return page(request, "supplier/_gap.html", gap=gap, message="")


def _specs(spo: SpoRecord, leave_out: int | None = None) -> list[CommitmentSpec]:
    """The SPO's saved commitments as specs (less ``leave_out``), to save them again."""
    return [
        CommitmentSpec(
            c["activity_id"],
            c["kind"],
            c["quantity"],
            c["what"],
            c["where"],
            c["for_whom"],
            c["by_when"],
        )
        for c in spo["commitments"]
        if c["id"] != leave_out
    ]


def _save(conn: Connection, user: User, spo_id: int, commitments: list[CommitmentSpec]) -> None:
    """Save a draft's commitments (as ``PUT /spos/{id}/commitments``), refusing them when
    they promise an activity more than the capacity ledger has left, as submission would."""
    with conn.begin_nested():
        spos.replace_commitments(conn, user, spo_id, commitments)
        ledger.check(conn, spo_id)


@router.post("/supplier/spos/{spo_id}/commitments")
def add_commitment(
    request: Request,
    conn: WriteConn,
    indexes: IndexesDep,
    user: Supplier,
    spo_id: int,
    activity_id: Short = "",
    kind: Short = "money",
    quantity: Short = "",
    what: Text = "",
    where: Text = "",
    for_whom: Text = "",
    by_when: Short = "",
) -> Response:
    """Add a commitment to the draft; the form comes back, input kept, when it is refused."""
    form = {
        "activity_id": activity_id,
        "kind": kind,
        "quantity": quantity,
        "what": what,
        "where": where,
        "for_whom": for_whom,
        "by_when": by_when,
    }
    try:
        if not activity_id.isdigit():
            raise InvalidInputError("choose the activity this commitment backs")
        spec = CommitmentSpec(
            int(activity_id),
            kind,
            _number(quantity, "amount"),
            what,
            where,
            for_whom,
            _date(by_when),
        )
        _save(conn, user, spo_id, [*_specs(_own_spo(conn, user, spo_id)), spec])
    except DualImpactError as exc:
        return _spo_page(
            request, conn, user, indexes, spo_id, 422, error=_next_step(exc), form=form
        )
    return done(request, conn, f"/supplier/spos/{spo_id}", "Commitment added.")


def _next_step(exc: Exception) -> str:
    """The refusal, with what to do when the ledger is the reason."""
    message = str(exc)
    if "already promised by awarded SPOs" in message or "no recorded funding gap" in message:
        return (
            f"Not saved: {message}. Lower the amount to what is left, or choose another activity."
        )
    return f"Not saved: {message}."


@router.post("/supplier/spos/{spo_id}/commitments/{commitment_id}/remove")
def remove_commitment(
    request: Request,
    conn: WriteConn,
    indexes: IndexesDep,
    user: Supplier,
    spo_id: int,
    commitment_id: int,
) -> Response:
    try:
        _save(conn, user, spo_id, _specs(_own_spo(conn, user, spo_id), commitment_id))
    except DualImpactError as exc:
        return _spo_page(request, conn, user, indexes, spo_id, 422, error=_next_step(exc))
    return done(request, conn, f"/supplier/spos/{spo_id}", "Commitment removed.")


@router.post("/supplier/spos/{spo_id}/submit")
def submit(
    request: Request, conn: WriteConn, indexes: IndexesDep, user: Supplier, spo_id: int
) -> Response:
    """Submit the SPO with the bid: sealed from now to the bid deadline."""
    try:
        with conn.begin_nested():
            spos.submit(conn, user, spo_id)
    except DualImpactError as exc:
        return _spo_page(request, conn, user, indexes, spo_id, 422, error=f"Not submitted: {exc}.")
    return done(
        request,
        conn,
        f"/supplier/spos/{spo_id}",
        "SPO submitted. The buyer sees only that a bid is in until the deadline.",
    )


@router.post("/supplier/spos/{spo_id}/withdraw")
def withdraw(
    request: Request,
    conn: WriteConn,
    indexes: IndexesDep,
    user: Supplier,
    spo_id: int,
    reason: Text = "",
) -> Response:
    try:
        if len(reason.strip()) < 4:
            raise InvalidInputError("say why the SPO is withdrawn (a few words, for the record)")
        with conn.begin_nested():
            spos.withdraw(conn, user, spo_id, reason.strip())
    except DualImpactError as exc:
        return _spo_page(
            request,
            conn,
            user,
            indexes,
            spo_id,
            422,
            error=f"Not withdrawn: {exc}.",
            form={"reason": reason},
        )
    return done(request, conn, f"/supplier/spos/{spo_id}", "SPO withdrawn.")


@router.post("/supplier/spos/{spo_id}/commitments/{commitment_id}/deliveries")
def claim_delivery(
    request: Request,
    conn: WriteConn,
    indexes: IndexesDep,
    user: Supplier,
    spo_id: int,
    commitment_id: int,
    money: Short = "",
    hours: Short = "",
    people: Short = "",
    evidence: Text = "",
    note: Text = "",
) -> Response:
    """Record a delivery against an awarded commitment (as ``POST
    /commitments/{id}/deliveries``); the activity's provider then confirms or disputes it."""
    form = {"commitment": commitment_id, "money": money, "hours": hours, "people": people}
    form |= {"evidence": evidence, "note": note}
    try:
        people_reached = _number(people, "people reached")
        if people_reached != int(people_reached):
            raise InvalidInputError("people reached: count whole people, e.g. 40")
        with conn.begin_nested():
            delivery.claim(
                conn,
                user,
                commitment_id,
                money_paid_gbp=_number(money, "money paid"),
                hours_given=_number(hours, "hours given"),
                people_reached=int(people_reached),
                evidence_links=evidence.split(),
                note=note.strip() or None,
            )
    except DualImpactError as exc:
        return _spo_page(
            request, conn, user, indexes, spo_id, 422, error=f"Not recorded: {exc}.", form=form
        )
    return done(
        request,
        conn,
        f"/supplier/spos/{spo_id}",
        "Delivery recorded: it waits for the provider to confirm it.",
    )
