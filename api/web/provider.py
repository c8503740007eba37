"""The provider's pages: its activities, kept true by the people who run them.

Find a listed activity and claim it, or register a new one; keep its figures, status and
closing date current; say where it is delivered (a postcode, or a pin on the map); attach
evidence (links, and files kept outside the web root and served only as downloads); see
which awarded SPOs back it; confirm or dispute each delivery a supplier reports. Every
change goes through the same domain command as the API's, which checks who may make it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

import folium
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import Connection

from accounts import sites as site_changes
from accounts import stewardship, verification
from accounts.permissions import Action
from accounts.users import User
from api.deps import ReadConn, SettingsDep, WriteConn
from api.schemas import Id
from api.security import content_security_policy
from api.web.render import done, page
from api.web.session import SignedIn, requires, web_session
from boundaries.repository import territory_name
from geo.errors import DualImpactError, InvalidInputError
from geo.settings import Settings
from maps import render
from procurement import activity_changes, backing, delivery
from registry import delivery_sites, evidence
from registry import queries as registry_queries
from registry.queries import UPDATABLE

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],
)

Provider = Annotated[User, requires("provider")]
# The whole of Great Britain and Northern Ireland, for the map before a site is known.
UK_CENTRE = (54.5, -3.0)
STATUSES = [("active", "Running"), ("at_risk", "At risk of closing"), ("closed", "Closed")]
STATUS_WORDS = dict(STATUSES)
DELIVERY_WORDS = {
    "pending": "waiting for your answer",
    "confirmed": "confirmed by you",
    "disputed": "disputed by you",
}
Text = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=2000)]


def _number(value: str, label: str, *, whole: bool = False) -> float | int | None:
    """A figure typed in a form ("12,500", "£12500"): None when blank.

    Raises
    ------
    InvalidInputError
        It is not a number (said with the field's label).
    """
    cleaned = value.replace(",", "").replace("£", "").strip()
    if not cleaned:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        raise InvalidInputError(f"{label} must be a number (got {value!r})") from None
    if whole:
        if not number.is_integer():
            raise InvalidInputError(f"{label} must be a whole number (got {value!r})")
        return int(number)
    return number


def _date(value: str, label: str) -> date | None:
    """A date from a form's date field (YYYY-MM-DD): None when blank."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{label} must be a date such as 2026-03-31") from None


def _words(record: Mapping[str, Any]) -> dict[str, str]:
    """An activity's standing in plain words, as the public pages say it."""
    return {
        "verification_text": render.verification_words(record),
        "eligibility_text": render.eligibility_words(record),
        "status_text": STATUS_WORDS.get(str(record.get("status")), str(record.get("status"))),
    }


def _home(
    request: Request,
    conn: Connection,
    user: User,
    status: int = 200,
    q: str = "",
    near: str = "",
    **context: Any,
) -> HTMLResponse:
    mine = [
        {**row, **_words(row)} for row in backing.provider_activities(conn, user.organisation_id)
    ]
    found = backing.listed_activities(conn, q, near) if q.strip() else []
    return page(
        request,
        "provider/home.html",
        status,
        page="provider",
        activities=mine,
        found=found,
        q=q,
        near=near,
        statuses=STATUSES,
        **context,
    )


@router.get("/provider")
def home(
    request: Request,
    conn: ReadConn,
    user: Provider,
    q: Annotated[str, Query(max_length=200)] = "",
    near: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    """The provider's activities; a search for a listed one to claim; a new one's form."""
    return _home(request, conn, user, q=q, near=near)


@router.post("/provider/activities")
def register(
    request: Request,
    conn: WriteConn,
    user: Provider,
    name: Text,
    postcode: Annotated[str, Form(max_length=12)] = "",
    description: Long = "",
    people_reached_per_year: Text = "",
    annual_running_cost: Text = "",
    funding_gap: Text = "",
    safeguarding: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Register a new activity of this provider, checked and placed as an import is."""
    form = {
        "name": name,
        "postcode": postcode,
        "description": description,
        "people_reached_per_year": people_reached_per_year,
        "annual_running_cost": annual_running_cost,
        "funding_gap": funding_gap,
        "safeguarding": safeguarding,
    }
    try:
        record = {
            "name": name,
            "postcode": postcode or None,
            "description": description or None,
            "people_reached_per_year": _number(
                people_reached_per_year, "People reached a year", whole=True
            ),
            "annual_running_cost": _number(annual_running_cost, "Annual running cost"),
            "funding_gap": _number(funding_gap, "Funding gap"),
            "safeguarding": safeguarding == "yes" or None,
        }
        with conn.begin_nested():
            registered = activity_changes.register(
                conn, user, {key: value for key, value in record.items() if value is not None}
            )
    except DualImpactError as exc:
        return _home(request, conn, user, 422, error=str(exc), form=form)
    said = "Registered" if registered.created else "Already registered; updated"
    return done(
        request,
        conn,
        f"/provider/activities/{registered.activity_id}",
        f"{said}: {name.strip()}. Add where it is delivered and evidence of what it achieves.",
    )


@router.post("/provider/activities/{activity_id}/claim")
def claim(
    request: Request,
    conn: WriteConn,
    user: Provider,
    activity_id: Id,
    evidence_note: Long = "",
    q: Text = "",
    near: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Claim a listed activity: at once when an identifier proves it, else for an admin."""
    try:
        with conn.begin_nested():
            outcome = verification.claim(conn, user, activity_id, evidence_note=evidence_note)
    except DualImpactError as exc:
        return _home(request, conn, user, 409, q=q, near=near, error=str(exc))
    name = outcome.state["name"]
    if outcome.pending:
        return done(
            request,
            conn,
            "/provider",
            f"Claim of {name} sent: nothing proves it is {user.organisation_name}'s yet, so "
            "the platform operator will check it. It appears here once approved.",
        )
    return done(
        request,
        conn,
        f"/provider/activities/{activity_id}",
        f"{name} is now {user.organisation_name}'s ({outcome.proof}).",
    )


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record read through pandas with its missing values (NaN, NaT) as None."""
    return {key: (None if _missing(value) else value) for key, value in record.items()}


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):  # arrays: present
        return False


def _activity_page(
    request: Request,
    conn: Connection,
    user: User,
    activity_id: int,
    settings: Settings,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The activity's page for its own provider (a 403 page for anyone else)."""
    stewardship.require(conn, user, Action.EDIT_ACTIVITY, activity_id)
    (raw,) = registry_queries.activity(conn, activity_id).to_dict("records")
    record = _plain(raw)
    sites = delivery_sites.sites(conn, activity_id)
    placed = [(s["lat"], s["lon"]) for s in sites if s["lat"] is not None]
    centre = placed[0] if placed else UK_CENTRE
    tiles = settings.tiles
    response = page(
        request,
        "provider/activity.html",
        status,
        page="provider",
        activity=record,
        place=territory_name(conn, record["territory_code"]),
        words=_words(record),
        sites=sites,
        pins=[[lat, lon] for lat, lon in placed],
        centre=centre,
        zoom=13 if placed else 5,
        tiles=str(folium.TileLayer(tiles).tiles) if tiles else "",
        links=list(record["evidence_links"] or []),
        files=evidence.files(conn, activity_id),
        backed=backing.awarded_backing(conn, activity_id),
        deliveries=backing.reported_deliveries(conn, activity_id),
        delivery_words=DELIVERY_WORDS,
        statuses=STATUSES,
        max_size=evidence.size_words(settings.evidence_max_bytes),
        size_words=evidence.size_words,
        allowed=evidence.ALLOWED,
        **context,
    )
    origin = render.tile_origin(tiles)
    if origin:  # the pin map's base layer
        response.headers["content-security-policy"] = content_security_policy({"img-src": [origin]})
    return response


@router.get("/provider/activities/{activity_id}")
def activity(
    request: Request, conn: ReadConn, user: Provider, settings: SettingsDep, activity_id: Id
) -> HTMLResponse:
    return _activity_page(request, conn, user, activity_id, settings)


def _here(activity_id: int) -> str:
    return f"/provider/activities/{activity_id}"


@router.post("/provider/activities/{activity_id}/figures")
def figures(
    request: Request,
    conn: WriteConn,
    user: Provider,
    settings: SettingsDep,
    activity_id: Id,
    people_reached_per_year: Text = "",
    annual_running_cost: Text = "",
    funding_gap: Text = "",
    status: Annotated[str, Form(max_length=10)] = "active",
    closing_date: Annotated[str, Form(max_length=10)] = "",
    reason: Long = "",
) -> Response:
    """Keep the figures, status and closing date current (the funding gap never below
    what awarded SPOs already promise)."""
    form = {
        "people_reached_per_year": people_reached_per_year,
        "annual_running_cost": annual_running_cost,
        "funding_gap": funding_gap,
        "status": status,
        "closing_date": closing_date,
        "reason": reason,
    }
    try:
        changes = {
            "people_reached_per_year": _number(
                people_reached_per_year, "People reached a year", whole=True
            ),
            "annual_running_cost": _number(annual_running_cost, "Annual running cost"),
            "funding_gap": _number(funding_gap, "Funding gap"),
            "status": status,
            "closing_date": _date(closing_date, "Closing date"),
        }
        with conn.begin_nested():
            changed = activity_changes.change_activity(
                conn, user, activity_id, changes, reason or None
            )
    except DualImpactError as exc:
        return _activity_page(
            request, conn, user, activity_id, settings, 422, error=str(exc), form=form
        )
    said = ", ".join(UPDATABLE[name].split(" (")[0] for name in changed) or "nothing changed"
    return done(request, conn, _here(activity_id), f"Saved: {said}.")


@router.post("/provider/activities/{activity_id}/sites")
def add_site(
    request: Request,
    conn: WriteConn,
    user: Provider,
    settings: SettingsDep,
    activity_id: Id,
    site_postcode: Annotated[str, Form(max_length=12)] = "",
    label: Text = "",
    lat: Annotated[str, Form(max_length=20)] = "",
    lon: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Add a delivery site by postcode or, without one, by the pin put on the map."""
    form = {"site_postcode": site_postcode, "label": label, "lat": lat, "lon": lon}
    try:
        postcode = site_postcode.strip() or None
        pin_lat = None if postcode else _number(lat, "The pin's latitude")
        pin_lon = None if postcode else _number(lon, "The pin's longitude")
        if postcode is None and (pin_lat is None or pin_lon is None):
            raise InvalidInputError(
                "give the site's postcode, or click the map where the activity is delivered"
            )
        with conn.begin_nested():
            site = site_changes.add_site(
                conn,
                user,
                activity_id,
                postcode=postcode,
                lat=pin_lat,
                lon=pin_lon,
                label=label.strip() or None,
            )
    except DualImpactError as exc:
        return _activity_page(
            request, conn, user, activity_id, settings, 422, error=str(exc), form=form
        )
    where = site["postcode"] or "the point on the map"
    return done(
        request,
        conn,
        _here(activity_id),
        f"Delivery site added at {where} ({site['territory_name']}).",
    )


@router.post("/provider/activities/{activity_id}/sites/{site_id}/remove")
def remove_site(
    request: Request, conn: WriteConn, user: Provider, activity_id: Id, site_id: Id
) -> Response:
    removed = site_changes.remove_site(conn, user, activity_id, site_id)
    where = removed["label"] or removed["postcode"] or "the site"
    return done(request, conn, _here(activity_id), f"Delivery site removed: {where}.")


@router.post("/provider/activities/{activity_id}/evidence/link")
def add_link(
    request: Request,
    conn: WriteConn,
    user: Provider,
    settings: SettingsDep,
    activity_id: Id,
    url: Long,
) -> Response:
    """Attach a link to evidence (the same command as ``POST /activities/{id}/evidence``)."""
    try:
        (link,) = verification.web_addresses([url.strip()]) or [""]
        if not link:
            raise InvalidInputError("give the address of the evidence (https://...)")
        with conn.begin_nested():
            stewardship.add_evidence(conn, user, activity_id, link)
    except DualImpactError as exc:
        return _activity_page(
            request, conn, user, activity_id, settings, 422, error=str(exc), form={"url": url}
        )
    return done(request, conn, _here(activity_id), f"Link added: {link}")


@router.post("/provider/activities/{activity_id}/evidence/file")
def add_file(
    request: Request,
    conn: WriteConn,
    user: Provider,
    settings: SettingsDep,
    activity_id: Id,
    file: Annotated[UploadFile, File()],
    title: Text = "",
) -> Response:
    """Attach a file (its kind checked by its bytes, its size by the settings' limit)."""
    try:
        stewardship.require(conn, user, Action.ADD_EVIDENCE, activity_id)
        data = file.file.read(settings.evidence_max_bytes + 1)
        with conn.begin_nested():
            stored = evidence.add_file(
                conn,
                settings.evidence_dir,
                activity_id,
                title=title,
                filename=file.filename or "",
                data=data,
                max_bytes=settings.evidence_max_bytes,
                actor_id=user.id,
            )
    except DualImpactError as exc:
        return _activity_page(
            request, conn, user, activity_id, settings, 422, error=str(exc), form={"title": title}
        )
    return done(
        request,
        conn,
        _here(activity_id),
        f"File attached: {stored['title']} ({stored['filename']}).",
    )


@router.get("/provider/evidence/{evidence_id}")
def download(
    conn: ReadConn, user: SignedIn, settings: SettingsDep, evidence_id: Id
) -> FileResponse:
    """An evidence file, as a download, for those who may read the activity's record."""
    record = evidence.evidence_file(conn, evidence_id)
    stewardship.require(conn, user, Action.READ_ACTIVITY_HISTORY, record["activity_id"])
    return FileResponse(
        evidence.stored_path(settings.evidence_dir, record),
        media_type=record["content_type"],
        filename=record["filename"],
        content_disposition_type="attachment",
        headers={"cache-control": "private, no-store"},
    )


@router.post("/provider/activities/{activity_id}/deliveries/{delivery_id}/{answer}")
def respond(
    request: Request,
    conn: WriteConn,
    user: Provider,
    settings: SettingsDep,
    activity_id: Id,
    delivery_id: Id,
    answer: Literal["confirm", "dispute"],
    note: Long = "",
) -> Response:
    """Confirm or dispute a delivery a supplier reported (the command of
    ``POST /deliveries/{id}/{answer}``)."""
    confirm = answer == "confirm"
    try:
        with conn.begin_nested():
            delivery.respond(conn, user, delivery_id, confirm=confirm, note=note.strip() or None)
    except DualImpactError as exc:
        return _activity_page(
            request,
            conn,
            user,
            activity_id,
            settings,
            422,
            error=str(exc),
            form={f"note-{delivery_id}": note},
        )
    said = "confirmed" if confirm else "disputed: the supplier and the buyer see your note"
    return done(request, conn, _here(activity_id), f"Delivery {delivery_id} {said}.")
