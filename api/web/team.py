"""The community team's pages: the review queue of its territories' activities nobody has
vouched for yet, the review page of one activity (verify it with an evidence level, decide
its eligibility, mark it lapsed), and the map of its territories' most underserved need
areas linked to the activities nearby.

Who may do what is :mod:`accounts.permissions`' (through :mod:`accounts.verification` and
:mod:`accounts.stewardship`): a team member reads and changes only the activities of its
own territories; these pages only ask and show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts import stewardship, verification
from accounts.permissions import Action
from accounts.users import User
from accounts.verification import NESTA_LEVELS
from api.deps import IndexesDep, ReadConn, SettingsDep, WriteConn
from api.schemas import Id
from api.security import map_response
from api.web.render import done, form_error, page
from api.web.session import requires, web_session
from boundaries.repository import territory_name
from geo.errors import DualImpactError, InvalidInputError
from geo.jsonable import jsonable
from maps import render, team_map
from registry import delivery_sites, queries, review
from registry.categories import LABELS as CATEGORY_LABELS
from registry.tables import ELIGIBILITY

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],
)
TeamMember = Annotated[User, requires("community")]

ELIGIBILITY_WORDS = {
    "eligible": "eligible",
    "needs_review": "needs review",
    "ineligible": "not eligible",
}
# The history's actions and fields, in words.
ACTION_WORDS = {
    "claimed": "claimed by its provider",
    "claim_requested": "claim asked for",
    "claim_approved": "claim approved",
    "verified": "verified",
    "lapsed": "marked lapsed",
    "eligibility_decided": "eligibility decided",
    "add_delivery_site": "delivery site added",
    "remove_delivery_site": "delivery site removed",
}
FIELD_WORDS = {
    "verification": "verification",
    "evidence_level": "evidence level",
    "evidence_links": "evidence",
    "eligibility": "eligibility",
    "eligibility_categories": "categories",
    "eligibility_reason": "reason",
    "eligibility_source": "decided by",
    "provider_name": "provider",
    "funding_gap": "funding gap (£)",
    "annual_running_cost": "running cost (£ a year)",
    "people_reached_per_year": "people reached a year",
    "closing_date": "closing date",
    "status": "status",
}
# The eligibility form's choices.
DECISIONS = [
    ("eligible", "Yes: eligible (choose its categories)"),
    ("ineligible", "No: not eligible"),
    ("needs_review", "Not sure yet: needs review"),
]
LAPSE_REASON = "lapse_reason"


def _words(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record with its verification, eligibility and categories in plain words."""
    categories = record.get("eligibility_categories") or []
    return {
        **record,
        "verification_text": render.verification_words(record),
        "eligibility_text": ELIGIBILITY_WORDS.get(str(record.get("eligibility")), "unknown"),
        "category_text": ", ".join(CATEGORY_LABELS.get(c, c) for c in categories),
    }


@router.get("/team")
def queue(
    request: Request,
    conn: ReadConn,
    user: TeamMember,
    territory: Annotated[str | None, Query(max_length=12)] = None,
    eligibility: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The review queue of the team's territories (one, when ``territory`` is one of
    them), filtered by eligibility and a name search, a page of
    :data:`registry.review.PAGE_SIZE` at a time."""
    places = {code: territory_name(conn, code) for code in user.territories}
    chosen = [code for code in user.territories if territory in (None, "", code)]
    size = review.PAGE_SIZE
    found = review.review_queue(
        conn,
        chosen,
        eligibility=eligibility if eligibility in ELIGIBILITY else None,
        search=q,
        limit=size,
        offset=(page_number - 1) * size,
    )
    return page(
        request,
        "team/queue.html",
        page="team",
        items=[_words(item) for item in found.items],
        total=found.total,
        first=(page_number - 1) * size + 1,
        page_number=page_number,
        pages=max(1, -(-found.total // size)),
        places=places,
        filters={"territory": territory or "", "eligibility": eligibility or "", "q": q or ""},
        eligibility_options=list(ELIGIBILITY_WORDS.items()),
    )


def _review(conn: Connection, user: User, activity_id: int) -> dict[str, Any]:
    """What the review page shows: refused (PermissionDeniedError, a 403 page) to anyone
    who may not verify the activity (a team outside its territory)."""
    stewardship.require(conn, user, Action.VERIFY_ACTIVITY, activity_id)
    events = stewardship.history(conn, user, activity_id)
    trust = verification.state(conn, activity_id)
    record = jsonable(queries.activity(conn, activity_id).iloc[0].to_dict())
    return {
        "page": "team",
        "a": _words({**record, **jsonable(trust)}),
        "place": territory_name(conn, trust["territory_code"]),
        "sites": delivery_sites.sites(conn, activity_id),
        "events": [
            {
                **event,
                "what": ACTION_WORDS.get(event["action"], event["action"].replace("_", " ")),
                "changes": [
                    (FIELD_WORDS[field], before, after)
                    for field, (before, after) in event["changes"].items()
                    if field in FIELD_WORDS
                ],
            }
            for event in reversed(events)
        ],
        "levels": [(level, f"{level}: {what}") for level, what in NESTA_LEVELS.items()],
        "categories": list(CATEGORY_LABELS.items()),
        "decisions": DECISIONS,
    }


@router.get("/team/activities/{activity_id}")
def activity(request: Request, activity_id: Id, conn: ReadConn, user: TeamMember) -> HTMLResponse:
    """One activity to review, with the rules' reasoning, its history and the forms."""
    return page(request, "team/activity.html", **_review(conn, user, activity_id))


def _refused(
    request: Request,
    conn: Connection,
    user: User,
    activity_id: int,
    exc: DualImpactError,
    form: Mapping[str, Any],
) -> HTMLResponse:
    """The review page again (422) with the input kept and what went wrong; outside the
    team's territories, the 403 page instead."""
    return form_error(request, "team/activity.html", exc, form, **_review(conn, user, activity_id))


def _links(text: str) -> list[str]:
    """One link a line (blank lines skipped)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/team/activities/{activity_id}/verify")
def verify(
    request: Request,
    activity_id: Id,
    conn: WriteConn,
    user: TeamMember,
    evidence_level: Annotated[str, Form(max_length=2)] = "",
    links: Annotated[str, Form(max_length=20_000)] = "",
    note: Annotated[str, Form(max_length=4_000)] = "",
) -> Response:
    """Verify the activity at a level of the Nesta Standards of Evidence."""
    level = int(evidence_level) if evidence_level.isdigit() else 0
    try:
        with conn.begin_nested():
            state = verification.verify(
                conn, user, activity_id, level, _links(links), note.strip() or None
            )
    except DualImpactError as exc:
        form = {"evidence_level": evidence_level, "links": links, "note": note}
        return _refused(request, conn, user, activity_id, exc, form)
    return done(
        request,
        conn,
        "/team",
        f"Verified “{state['name']}” at evidence level {level}: it has left the queue.",
    )


@router.post("/team/activities/{activity_id}/eligibility")
def decide_eligibility(
    request: Request,
    activity_id: Id,
    conn: WriteConn,
    user: TeamMember,
    eligibility: Annotated[str, Form(max_length=20)] = "",
    categories: Annotated[list[str] | None, Form(max_length=20)] = None,
    reason: Annotated[str, Form(max_length=4_000)] = "",
) -> Response:
    """Decide whether the activity is a dual-impact activity (and in which categories)."""
    chosen = categories or []
    try:
        with conn.begin_nested():
            state = verification.decide_eligibility(
                conn, user, activity_id, eligibility, chosen, reason
            )
    except DualImpactError as exc:
        form = {"eligibility": eligibility, "categories": chosen, "reason": reason}
        return _refused(request, conn, user, activity_id, exc, form)
    return done(
        request,
        conn,
        f"/team/activities/{activity_id}",
        f"Recorded: “{state['name']}” is {ELIGIBILITY_WORDS[state['eligibility']]}.",
    )


@router.post("/team/activities/{activity_id}/lapse")
def lapse(
    request: Request,
    activity_id: Id,
    conn: WriteConn,
    user: TeamMember,
    lapse_reason: Annotated[str, Form(max_length=4_000)] = "",
) -> Response:
    """Mark the activity lapsed: no longer known to run."""
    try:
        with conn.begin_nested():
            state = verification.mark_lapsed(conn, user, activity_id, lapse_reason)
    except DualImpactError as exc:
        return _refused(request, conn, user, activity_id, exc, {LAPSE_REASON: lapse_reason})
    return done(request, conn, "/team", f"Marked “{state['name']}” lapsed.")


def _territory(user: User, territory: str | None) -> str:
    """The team's territory asked for (its first when none is)."""
    if not user.territories:
        raise InvalidInputError(f"{user.organisation_name} works in no territory yet")
    if territory in user.territories:
        return str(territory)
    return user.territories[0]


@router.get("/team/map")
def underserved(
    request: Request,
    conn: ReadConn,
    user: TeamMember,
    indexes: IndexesDep,
    territory: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """The most underserved need areas of a territory of the team's, on a map and as a
    list, each with the activities nearby (the list is the keyboard's way through)."""
    code = _territory(user, territory)
    areas = team_map.underserved_areas(conn, indexes.coverage(), code)
    return page(
        request,
        "team/map.html",
        page="team",
        code=code,
        place=territory_name(conn, code),
        places={c: territory_name(conn, c) for c in user.territories},
        areas=[
            {
                **area,
                "activities": [
                    {**_words(a), "distance_text": team_map.distance_words(a)}
                    for a in area["activities"]
                ],
            }
            for area in areas
        ],
        radius_km=team_map.NEARBY_RADIUS_M / 1000,
    )


@router.get("/team/map.html")
def underserved_map(
    conn: ReadConn,
    user: TeamMember,
    indexes: IndexesDep,
    settings: SettingsDep,
    territory: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """The map document the team's map page frames."""
    code = _territory(user, territory)
    outlines = indexes.outlines()
    fmap = team_map.team_map(
        team_map.underserved_areas(conn, indexes.coverage(), code),
        outlines[outlines["code"] == code],
        tiles=settings.tiles,
    )
    return map_response(render.page(fmap), settings.tiles)
