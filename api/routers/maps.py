"""Map documents (folium, Leaflet served by the app) for the pages' frames, each under a
Content-Security-Policy that allows its own inline scripts by hash and nothing else.
Every map draws the trusted activities (eligible, not lapsed) unless ``?include=all``.

Each map is built (and gzipped) once per data version (:mod:`api.caching`) and sent with
an ``ETag`` and ``Last-Modified``, so a browser that has it gets a 304."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.caching import Document, document_response
from api.deps import BuiltDep, IndexesDep, ReadConn, SettingsDep
from api.schemas import Include
from api.security import map_policy
from geo.data_version import DataVersion
from maps import render, report
from matching import near

router = APIRouter(prefix="/maps", tags=["maps"], default_response_class=HTMLResponse)
Code = Annotated[str, Path(pattern=r"^[A-Z]\d{8}$")]


@dataclass(frozen=True)
class CachedMap:
    """A rendered map ready to send: its Content-Security-Policy and its document."""

    policy: str
    document: Document


def _cached(page: render.MapPage, tiles: str | None) -> CachedMap:
    return CachedMap(map_policy(page, tiles), Document.of(page.html))


def _send(request: Request, cached: CachedMap, version: DataVersion) -> Response:
    headers = {"content-security-policy": cached.policy}
    return document_response(request, cached.document, version, headers)


@router.get("/uk.html")
def uk(request: Request, built: BuiltDep, indexes: IndexesDep, settings: SettingsDep) -> Response:
    """The 45 territories by gap index (simplified outlines: a light page)."""
    found = built.coverage

    def build() -> CachedMap:
        fmap = render.uk_map(
            found.summary, indexes.outlines(), tiles=settings.tiles, include_all=found.include_all
        )
        return _cached(render.page(fmap), settings.tiles)

    cached = indexes.pages.get(("maps/uk", found.include_all), built.version, build)
    return _send(request, cached, built.version)


@router.get("/territory/{code}.html")
def territory(
    request: Request,
    code: Code,
    conn: ReadConn,
    built: BuiltDep,
    indexes: IndexesDep,
    settings: SettingsDep,
) -> Response:
    """One territory: need and gap hexagons, activities (with their verification),
    supplier sites, density and awarded SPO links."""
    found = built.coverage

    def build() -> CachedMap:
        fmap = report.territory_map(
            conn, found, code, tiles=settings.tiles, outlines=indexes.outlines()
        )
        return _cached(render.page(fmap), settings.tiles)

    key = ("maps/territory", code, found.include_all)
    return _send(request, indexes.pages.get(key, built.version, build), built.version)


@router.get("/finder.html")
def finder(
    request: Request,
    conn: ReadConn,
    indexes: IndexesDep,
    settings: SettingsDep,
    postcode: Annotated[str, Query(max_length=12)],
    outcome: Annotated[str | None, Query(max_length=60)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
    include: Include = "trusted",
) -> Response:
    """A site and the activities recommended near it (with their verification)."""
    version = indexes.version()

    def build() -> CachedMap:
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
        return _cached(render.page(fmap), settings.tiles)

    key = ("maps/finder", postcode.strip().upper(), outcome, top, include)
    return _send(request, indexes.pages.get(key, version, build), version)
