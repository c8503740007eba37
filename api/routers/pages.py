"""The web pages people use: UK coverage, a territory, the supplier finder, the community
view, and the API reference. Public data only (no sign-in); pre-award SPOs never reach them
(they read the public register and coverage, which are built from awarded SPOs alone).
Every page counts and lists the trusted activities (eligible, not lapsed) unless
``?include=all``, says which, and shows each activity's verification in plain words.
Jinja escapes every value, and no template has an inline script or style attribute (the
Content-Security-Policy allows neither)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.caching import validated
from api.deps import BuiltDep, IndexesDep, ReadConn
from api.routers.coverage import CoverageDep
from api.schemas import Include
from api.web.render import page, templates
from api.web.session import web_session
from geo.errors import DualImpactError, NotFoundError
from maps import assets, places, render, report
from maps.coverage import DEFAULT_CAPACITY
from matching import near
from matching.valuation import HOUR_VALUE_GBP
from procurement import reporting
from registry import trust
from registry.themes import LABELS

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],  # the navigation shows who is signed in
)
_page = page
FAVICON = Path(__file__).resolve().parents[1] / "static" / "favicon.png"
TERRITORY_CODE = re.compile(r"[A-Z]\d{8}")


def _rows(frame: Any) -> list[dict[str, Any]]:
    return list(frame.to_dict("records"))


def _activity_rows(frame: Any) -> list[dict[str, Any]]:
    """Activity rows with their verification, eligibility and location in plain words."""
    return [
        {
            **row,
            "verification_text": render.verification_words(row),
            "eligibility_text": render.eligibility_words(row),
            "registered_office": row.get("located_at") == "registered_office",
        }
        for row in _rows(frame)
    ]


@router.get("/")
def home(request: Request, built: BuiltDep, include: Include = "trusted") -> Response:
    summary = built.coverage.summary.sort_values("gap_index", ascending=False)
    response = _page(request, "home.html", page="home", territories=_rows(summary), include=include)
    return validated(request, response, built.version)


@router.get("/territory/{code}")
def territory(
    request: Request,
    code: str,
    conn: ReadConn,
    built: BuiltDep,
    indexes: IndexesDep,
    budget_gbp: Annotated[float, Query(ge=0, le=1e9)] = 10_000.0,
    hours: Annotated[float, Query(ge=0, le=1e7)] = 0.0,
    include: Include = "trusted",
) -> Response:
    found = built.coverage
    try:
        report.known_territory(found, code)
    except NotFoundError as exc:
        return _page(request, "error.html", 404, error=str(exc), heading="No such territory")

    def tables() -> dict[str, Any]:
        """The page's figures and tables (the same for everyone: built once per version)."""
        (summary,) = _rows(found.summary[found.summary["territory_code"] == code])
        trusted = trust.trust_summary(conn, code).iloc[0]
        try:
            what_if = report.what_if_table(found, code, budget_gbp=budget_gbp, hours=hours)
            error, ranked_for = None, (budget_gbp, hours)
        except DualImpactError as exc:
            what_if, error = report.what_if_table(found, code, budget_gbp=10_000.0), str(exc)
            ranked_for = (10_000.0, 0.0)  # the heading names what the table was ranked for
        return {
            "error": error,
            "ranked_for": ranked_for,
            "t": summary,
            "trust": trust.sentences(trusted),
            "trust_counts": trusted.to_dict(),
            "underserved": _rows(report.area_table(found, code).head(15)),
            "what_if": _activity_rows(what_if.head(10)),
            "at_risk": _activity_rows(report.at_risk_table(found, code)),
            "register": reporting.register(conn, code, limit=50),
        }

    key = ("territory", code, budget_gbp, hours, found.include_all)
    context = indexes.pages.get(key, built.version, tables)
    response = _page(
        request,
        "territory.html",
        status=422 if context["error"] else 200,
        page="territory",
        budget=budget_gbp,
        hours=hours,
        default_cost=report.DEFAULT_COST_PER_PLACE_GBP,
        default_capacity=DEFAULT_CAPACITY,
        hour_value=HOUR_VALUE_GBP,
        include=include,
        **context,
    )
    return validated(request, response, built.version)


@router.get("/finder")
def finder(
    request: Request,
    conn: ReadConn,
    indexes: IndexesDep,
    postcode: Annotated[str | None, Query(max_length=12)] = None,
    outcome: Annotated[str | None, Query(max_length=60)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
    include: Include = "trusted",
) -> HTMLResponse:
    context: dict[str, Any] = {
        "page": "finder",
        "postcode": postcode,
        "outcome": outcome or "",
        "top": top,
        "themes": sorted(LABELS.items(), key=lambda item: item[1]),
        "ranked": None,
        "include": include,
    }
    if not postcode:
        return _page(request, "finder.html", **context)
    try:
        found = near.recommend(
            conn,
            indexes.need(),
            postcode=postcode,
            outcomes=[outcome] if outcome else [],
            top=top,
            include_all=include == "all",
        )
    except DualImpactError as exc:
        return _page(request, "finder.html", status=422, error=str(exc), **context)
    context.update(
        ranked=_activity_rows(found.ranked),
        heading=found.heading,
        note=found.note,
        profile=f"{found.profile.name} {found.profile.version}",
    )
    return _page(request, "finder.html", **context)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """The OpenAPI reference, drawn by the app's own copy of Swagger UI."""
    return templates.TemplateResponse(
        request,
        "docs.html",
        {
            "title": request.app.title,
            "openapi_url": request.app.openapi_url,
            "swagger": {
                f: assets.served_url(assets.SWAGGER_UI, f) for f in assets.SWAGGER_UI.files
            },
        },
    )


@router.get("/favicon.ico", response_class=FileResponse)
def favicon() -> FileResponse:
    """The site's icon, where browsers look for it."""
    return FileResponse(
        FAVICON, media_type="image/png", headers={"cache-control": "public, max-age=86400"}
    )


@router.get("/community")
def community(
    request: Request,
    conn: ReadConn,
    found: CoverageDep,
    territory: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=60)] = None,
    include: Include = "trusted",
) -> HTMLResponse:
    """Underserved need areas (named by place) and activities at risk in a territory, with
    its map: the territory by its code (in any case) or found from a postcode or place
    name (``q``); a code that is malformed (422), or a code or place unknown (404), gets
    the page again with a message and the territories to pick from."""
    names = found.summary.sort_values("name")[["territory_code", "name"]]
    context: dict[str, Any] = {
        "page": "community",
        "territories": list(names.itertuples(index=False, name=None)),
        "territory": None,
        "query": q or "",
        "include": include,
    }
    if q and q.strip():
        try:
            territory = places.territory_for(conn, found, q)
        except DualImpactError as exc:
            status = 404 if isinstance(exc, NotFoundError) else 422
            return _page(request, "community.html", status, error=str(exc), **context)
    if territory:
        territory = territory.strip().upper()
        if not TERRITORY_CODE.fullmatch(territory):
            error = "That is not a territory code (they look like E23000029): pick a territory."
            return _page(request, "community.html", 422, error=error, **context)
        try:
            report.known_territory(found, territory)
        except NotFoundError:
            error = f"There is no territory {territory}: pick one from the list."
            return _page(request, "community.html", 404, error=error, **context)
        context.update(
            territory=territory,
            territory_name=dict(context["territories"])[territory],
            underserved=_rows(
                report.area_table(found, territory)
                .head(25)
                .assign(authority=lambda areas: render.authority_names(areas["name"]))
            ),
            at_risk=_activity_rows(report.at_risk_table(found, territory)),
        )
    return _page(request, "community.html", **context)
