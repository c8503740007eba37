"""Map documents (folium, Leaflet served by the app) for the pages' frames, each under a
Content-Security-Policy that allows its own inline scripts by hash and nothing else.
Every map draws the trusted activities (eligible, not lapsed) unless ``?include=all``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api.deps import IndexesDep, ReadConn, SettingsDep
from api.routers.coverage import CoverageDep
from api.schemas import Include
from api.security import map_response
from maps import render, report
from matching import near

router = APIRouter(prefix="/maps", tags=["maps"], default_response_class=HTMLResponse)
Code = Annotated[str, Path(pattern=r"^[A-Z]\d{8}$")]


@router.get("/uk.html")
def uk(found: CoverageDep, indexes: IndexesDep, settings: SettingsDep) -> HTMLResponse:
    """The 45 territories by gap index (simplified outlines: a light page)."""
    fmap = render.uk_map(
        found.summary, indexes.outlines(), tiles=settings.tiles, include_all=found.include_all
    )
    return map_response(render.page(fmap), settings.tiles)


@router.get("/territory/{code}.html")
def territory(
    code: Code, conn: ReadConn, found: CoverageDep, indexes: IndexesDep, settings: SettingsDep
) -> HTMLResponse:
    """One territory: need and gap hexagons, activities (with their verification),
    supplier sites, density and awarded SPO links."""
    fmap = report.territory_map(
        conn, found, code, tiles=settings.tiles, outlines=indexes.outlines()
    )
    return map_response(render.page(fmap), settings.tiles)


@router.get("/finder.html")
def finder(
    conn: ReadConn,
    indexes: IndexesDep,
    settings: SettingsDep,
    postcode: Annotated[str, Query(max_length=12)],
    outcome: Annotated[str | None, Query(max_length=60)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
    include: Include = "trusted",
) -> HTMLResponse:
    """A site and the activities recommended near it (with their verification)."""
    found = near.recommend(
        conn,
        indexes.need(),
        postcode=postcode,
        outcomes=[outcome] if outcome else [],
        top=top,
        include_all=include == "all",
    )
    (origin,) = found.origins
    fmap = render.finder_map(
        (origin.lat, origin.lon, origin.label), found.ranked, tiles=settings.tiles
    )
    return map_response(render.page(fmap), settings.tiles)
