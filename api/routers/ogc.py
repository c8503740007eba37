"""Standard GIS access: OGC API – Features (Part 1: Core, GeoJSON) and OGC API – Tiles
(Mapbox Vector Tiles in WebMercatorQuad, with TileJSON) under ``/ogc``, for QGIS, ArcGIS,
GDAL (``ogrinfo OAPIF:http://host/ogc``) and web maps. Whole collections download as
GeoPackage or GeoParquet (``items?f=gpkg`` / ``f=parquet``); ``/ogc/map`` draws the tiles
(Leaflet.VectorGrid, served by the app).

Why our own router and not tipg: tipg publishes the tables and views of a schema through
its own asyncpg pool, so it would need a second set of database credentials, a schema of
views kept in step with our confidentiality and safeguarding rules by hand, the coverage
hexagons (computed in Python) materialised into a table, and its HTML pages (CDN scripts,
inline code) exempted from our Content-Security-Policy. The protocol itself is small: this
router speaks it over :mod:`maps.features`, whose SQL every output shares, and PostGIS does
the tile work (``ST_AsMVT``), so no tile-math library is needed either.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import IndexesDep, ReadConn
from api.downloads import geo_file
from api.schemas import Include
from api.web.render import page
from api.web.session import web_session
from geo.attribution import SHORT
from geo.errors import InvalidInputError
from maps import assets, features

router = APIRouter(prefix="/ogc", tags=["OGC API"])

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WEB_MERCATOR_QUAD = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MAX_LIMIT = 10_000
DETAIL_ZOOM = 9  # the map page draws need areas and activities from this zoom
AREA_ZOOM = 8  # and the small areas coloured by gap (LSOA polygons) from this one

CollectionId = Annotated[
    str, Path(pattern=r"^[a-z_]{1,40}$", description=", ".join(features.COLLECTIONS))
]
Zoom = Annotated[int, Path(ge=0, le=features.MAX_ZOOM)]
TileIndex = Annotated[int, Path(ge=0, le=2**features.MAX_ZOOM - 1)]
BboxQuery = Annotated[
    str | None,
    Query(max_length=200, description="west,south,east,north in degrees (CRS84)"),
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix


def _link(href: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def _bbox(value: str | None) -> features.Bbox | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise InvalidInputError(
            f"bbox {value!r} must be four numbers: west,south,east,north"
        ) from None
    if len(numbers) != 4:
        raise InvalidInputError(f"bbox {value!r} must be four numbers: west,south,east,north")
    west, south, east, north = numbers
    return features.check_bbox((west, south, east, north))


def _source(
    indexes: IndexesDep,
    collection_id: str,
    include: str = "trusted",
    near: features.Bbox | None = None,
) -> features.Source:
    include_all = include == "all"
    return features.source(
        collection_id,
        lambda: indexes.coverage(include_all=include_all),
        include_all=include_all,
        near=near,
    )


@router.get("", include_in_schema=False)
@router.get("/")
def landing(request: Request) -> dict[str, Any]:
    """The landing page: what this service is and links to its parts."""
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return {
        "title": "Dual Impact open geodata",
        "description": "Territories, need areas, coverage hexagons, activities, supplier "
        "sites and awarded Social Purchase Orders as OGC API – Features and Tiles. "
        f"Attribution: {SHORT}",
        "attribution": SHORT,
        "links": [
            _link(f"{base}/", "self", "application/json", "This document"),
            _link(f"{root}/openapi.json", "service-desc", OAS30, "The API definition"),
            _link(f"{root}/docs", "service-doc", "text/html", "The API reference"),
            _link(f"{base}/conformance", "conformance", "application/json", "Conformance"),
            _link(f"{base}/collections", "data", "application/json", "The collections"),
            _link(f"{base}/map", "alternate", "text/html", "The vector tiles on a map"),
        ],
    }


@router.get("/conformance")
def conformance() -> dict[str, list[str]]:
    """The OGC API conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


def _collection(
    request: Request, conn: ReadConn, found: features.Source, cid: str
) -> dict[str, Any]:
    meta = features.collection(cid)
    base = f"{_base(request)}/collections/{cid}"
    box = features.extent(conn, found)
    return {
        "id": cid,
        "title": meta.title,
        "description": f"{meta.description} Attribution: {meta.attribution}",
        "attribution": meta.attribution,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [list(box) if box else [-180, -90, 180, 90]], "crs": CRS84}},
        "links": [
            _link(base, "self", "application/json", meta.title),
            _link(f"{base}/items", "items", GEOJSON, f"{meta.title} (GeoJSON)"),
            _link(
                f"{base}/items?f=gpkg",
                "enclosure",
                "application/geopackage+sqlite3",
                f"{meta.title} (GeoPackage)",
            ),
            _link(
                f"{base}/items?f=parquet",
                "enclosure",
                "application/vnd.apache.parquet",
                f"{meta.title} (GeoParquet)",
            ),
            _link(
                f"{base}/tiles",
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "application/json",
                f"{meta.title} as vector tiles",
            ),
        ],
    }


@router.get("/collections")
def collections(request: Request, conn: ReadConn, indexes: IndexesDep) -> dict[str, Any]:
    """Every collection, with its extent and links to its items and tiles."""
    return {
        "collections": [
            _collection(request, conn, _source(indexes, cid), cid) for cid in features.COLLECTIONS
        ],
        "links": [
            _link(f"{_base(request)}/collections", "self", "application/json", "Collections")
        ],
    }


@router.get("/collections/{collection_id}")
def collection(
    request: Request, conn: ReadConn, indexes: IndexesDep, collection_id: CollectionId
) -> dict[str, Any]:
    """One collection: what it holds, its extent, links to its items and tiles."""
    return _collection(request, conn, _source(indexes, collection_id), collection_id)


@router.get("/collections/{collection_id}/items", response_model=None)
def items(
    request: Request,
    conn: ReadConn,
    indexes: IndexesDep,
    collection_id: CollectionId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    bbox: BboxQuery = None,
    include: Include = "trusted",
    f: Annotated[
        Literal["json", "geojson", "gpkg", "parquet"],
        Query(
            description="json/geojson: a page of GeoJSON; gpkg, parquet: the whole "
            "collection (within bbox) as a GeoPackage or GeoParquet file"
        ),
    ] = "json",
) -> Response:
    """The collection's features as GeoJSON, ``limit`` at a time from ``offset`` (a
    ``next`` link leads on), optionally those within ``bbox``; or, with ``f=gpkg`` or
    ``f=parquet``, all of them as a file."""
    box = _bbox(bbox)
    found = _source(indexes, collection_id, include, box)
    if f in ("gpkg", "parquet"):
        meta = features.collection(collection_id)
        frame = features.frame(conn, found, bbox=box)
        return geo_file(frame, f, collection_id, meta.attribution)
    page = features.items(conn, found, bbox=box, limit=limit, offset=offset)
    links = [
        _link(str(request.url), "self", GEOJSON, "This page"),
        _link(
            f"{_base(request)}/collections/{collection_id}",
            "collection",
            "application/json",
            "The collection",
        ),
    ]
    if offset + limit < page.matched:
        following = str(request.url.include_query_params(offset=offset + limit))
        links.append(_link(following, "next", GEOJSON, "The next page"))
    if offset > 0:
        previous = str(request.url.include_query_params(offset=max(offset - limit, 0)))
        links.append(_link(previous, "prev", GEOJSON, "The previous page"))
    return JSONResponse(
        {
            "type": "FeatureCollection",
            "features": page.features,
            "numberMatched": page.matched,
            "numberReturned": len(page.features),
            "links": links,
            "attribution": features.collection(collection_id).attribution,
        },
        media_type=GEOJSON,
    )


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(
    request: Request,
    conn: ReadConn,
    indexes: IndexesDep,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(max_length=40)],
    include: Include = "trusted",
) -> JSONResponse:
    """One feature by its id."""
    feature = features.item(conn, _source(indexes, collection_id, include), feature_id)
    base = f"{_base(request)}/collections/{collection_id}"
    feature["links"] = [
        _link(f"{base}/items/{feature_id}", "self", GEOJSON, "This feature"),
        _link(base, "collection", "application/json", "The collection"),
    ]
    return JSONResponse(feature, media_type=GEOJSON)


def _tileset(request: Request, collection_id: str) -> dict[str, Any]:
    meta = features.collection(collection_id)
    base = f"{_base(request)}/collections/{collection_id}/tiles/WebMercatorQuad"
    return {
        "title": f"{meta.title} (vector tiles)",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "attribution": meta.attribution,
        "layers": [{"id": collection_id, "dataType": "vector", "geometryType": meta.geometry}],
        "links": [
            _link(base, "self", "application/json", "This tileset"),
            _link(
                WEB_MERCATOR_QUAD,
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "application/json",
                "WebMercatorQuad",
            ),
            {
                **_link(f"{base}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}", "item", MVT, "A tile"),
                "templated": True,
            },
            _link(f"{base}/tilejson.json", "describedby", "application/json", "TileJSON"),
        ],
    }


@router.get("/collections/{collection_id}/tiles")
def tilesets(request: Request, collection_id: CollectionId) -> dict[str, Any]:
    """The collection's tilesets (WebMercatorQuad only)."""
    return {"tilesets": [_tileset(request, collection_id)]}


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad")
def tileset(request: Request, collection_id: CollectionId) -> dict[str, Any]:
    """The collection's WebMercatorQuad tileset: its tile URL template and layer."""
    return _tileset(request, collection_id)


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json")
def tilejson(
    request: Request, collection_id: CollectionId, include: Include = "trusted"
) -> dict[str, Any]:
    """The tileset as TileJSON 3.0 (for MapLibre, Leaflet.VectorGrid, QGIS)."""
    meta = features.collection(collection_id)
    base = f"{_base(request)}/collections/{collection_id}/tiles/WebMercatorQuad"
    query = "?include=all" if include == "all" else ""
    return {
        "tilejson": "3.0.0",
        "name": meta.title,
        "description": meta.description,
        "attribution": meta.attribution,
        "scheme": "xyz",
        "tiles": [f"{base}/{{z}}/{{x}}/{{y}}{query}"],
        "minzoom": 0,
        "maxzoom": features.MAX_ZOOM,
        "vector_layers": [{"id": collection_id, "description": meta.description, "fields": {}}],
    }


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def tile(
    conn: ReadConn,
    indexes: IndexesDep,
    collection_id: CollectionId,
    z: Zoom,
    x: TileIndex,
    y: TileIndex,
    include: Include = "trusted",
) -> Response:
    """One Mapbox Vector Tile (tileMatrix ``z``, column ``x``, row ``y``): a layer named
    after the collection whose features carry its properties."""
    found = _source(indexes, collection_id, include, features.tile_bounds(z, x, y))
    data = features.tile(conn, collection_id, found, z, x, y)
    return Response(
        data,
        media_type=MVT,
        headers={
            "Cache-Control": "public, max-age=60",
            "X-Attribution": SHORT.replace("©", "(c)"),
        },
    )


@router.get(
    "/map",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(web_session)],  # the navigation shows who is signed in
)
def tile_map(request: Request, include: Include = "trusted") -> HTMLResponse:
    """A web page drawing the vector tiles (gap hexagons nationally, need areas and
    activities closer in), with links to every collection's downloads."""
    return page(
        request,
        "tiles.html",
        include=include,
        detail_zoom=DETAIL_ZOOM,
        area_zoom=AREA_ZOOM,
        ogc_url=f"{_base(request)}/",
        collections=list(features.COLLECTIONS.values()),
        leaflet_js=assets.served_url(assets.LEAFLET, "leaflet.js"),
        leaflet_css=assets.served_url(assets.LEAFLET, "leaflet.css"),
        vectorgrid_js=assets.served_url(assets.VECTORGRID, assets.VECTORGRID.js[0]),
    )
