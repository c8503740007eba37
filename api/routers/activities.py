"""Activities: public GeoJSON reads (safeguarded places withheld) and stewards' writes.

Lists hold the trusted activities (eligible, not lapsed) unless ``?include=all``; every
record says how far it can be trusted (eligibility with its categories or reason,
verification and evidence level, where its point is, how many delivery sites it has, when
it was last heard of). One activity asked for by its id is shown whatever its state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from accounts import stewardship
from api.deps import CurrentUser, ReadConn, ViewerDep, WriteConn
from api.geojson import features
from api.schemas import ActivityIn, ActivityPatch, EvidenceIn, Id, Include
from boundaries.gazetteer import place_postcode
from geo.attribution import SHORT
from geo.errors import InvalidInputError
from geo.jsonable import jsonable
from procurement import activity_changes
from procurement.backing import backing_counts
from registry import privacy
from registry import queries as registry_queries
from registry.themes import VOCABULARY

router = APIRouter(prefix="/activities", tags=["activities"])

MAX_PAGE = 500
Territory = Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$", examples=["E23000029"])]
Theme = Annotated[str | None, Query(max_length=60, description=", ".join(VOCABULARY))]
Bbox = Annotated[
    str | None,
    Query(max_length=100, description="west,south,east,north in degrees (EPSG:4326)"),
]


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError:
        raise InvalidInputError(
            f"bbox {value!r} must be four numbers: west,south,east,north"
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInputError(
            f"bbox {value!r} must have west < east and south < north, within -180..180, -90..90"
        )
    return west, south, east, north


def _collection(feats: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": feats, **extra, "attribution": SHORT}


@router.get("")
def list_activities(
    request: Request,
    conn: ReadConn,
    viewer: ViewerDep,
    territory: Territory = None,
    theme: Theme = None,
    bbox: Bbox = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    include: Include = "trusted",
) -> dict[str, Any]:
    """Activities as a GeoJSON FeatureCollection, a page at a time (``next`` links the
    following page): the trusted ones, or all with ``include=all``. Safeguarded activities
    have no geometry and a district postcode."""
    if theme is not None and theme not in VOCABULARY:
        raise InvalidInputError(f"unknown theme {theme!r}; use: {', '.join(VOCABULARY)}")
    frame, total = registry_queries.activity_page(
        conn,
        territory=territory,
        theme=theme,
        bbox=_bbox(bbox),
        limit=limit,
        offset=offset,
        include_all=include == "all",
    )
    backing = backing_counts(conn, viewer, frame["id"].tolist())
    following = None
    if offset + limit < total:
        following = str(request.url.include_query_params(offset=offset + limit))
    return _collection(
        features(frame.to_dict("records"), backing),
        numberMatched=total,
        numberReturned=len(frame),
        next=following,
    )


@router.get("/nearby")
def nearby(
    conn: ReadConn,
    viewer: ViewerDep,
    postcode: Annotated[str | None, Query(max_length=12, examples=["OX1 1DP"])] = None,
    lat: Annotated[float | None, Query(ge=49.0, le=61.5)] = None,
    lon: Annotated[float | None, Query(ge=-8.9, le=2.1)] = None,
    radius_km: Annotated[float, Query(gt=0, le=50)] = 5.0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    include: Include = "trusted",
) -> JSONResponse:
    """Open activities (trusted, or all with ``include=all``) within ``radius_km`` of a
    postcode (or lat/lon), nearest first. Distances to safeguarded activities are rounded
    up to whole kilometres."""
    if postcode is not None:
        place = place_postcode(conn, postcode)
        lat, lon, label = place.lat, place.lon, place.postcode
    elif lat is None or lon is None:
        raise InvalidInputError("give a postcode, or both lat and lon")
    else:
        label = f"{lat:.5f}, {lon:.5f}"
    found = [
        privacy.redact_record(r)
        for r in registry_queries.nearby(
            conn, lat, lon, radius_km * 1000.0, limit, include_all=include == "all"
        )
    ]
    # Safeguarded activities sit among the others by their banded distance only.
    found.sort(key=lambda r: (r["distance_m"], r["id"]))
    for record in found:
        record["distance_m"] = round(record["distance_m"])
    backing = backing_counts(conn, viewer, [r["id"] for r in found])
    return JSONResponse(
        _collection(
            features(found, backing),
            origin={"label": label, "lat": round(lat, 6), "lon": round(lon, 6)},
            radius_km=radius_km,
        )
    )


@router.get("/{activity_id}")
def activity(activity_id: Id, conn: ReadConn, viewer: ViewerDep) -> dict[str, Any]:
    """One activity as a GeoJSON Feature."""
    frame = registry_queries.activity(conn, activity_id)
    (feature,) = features(frame.to_dict("records"), backing_counts(conn, viewer, [activity_id]))
    return {**feature, "attribution": SHORT}


@router.post("", status_code=status.HTTP_201_CREATED)
def register(body: ActivityIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Register an activity (a provider's own, or a buyer's staff for their territory):
    validated and geocoded exactly as an import. The same name at the same postcode is
    the same activity: sending it again updates it."""
    registered = activity_changes.register(conn, user, body.model_dump(exclude_none=True))
    frame = registry_queries.activity(conn, registered.activity_id)
    (feature,) = features(frame.to_dict("records"))
    return {**feature, "created": registered.created}


@router.patch("/{activity_id}")
def update(
    activity_id: Id, body: ActivityPatch, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Change an activity's figures, status (e.g. at risk, with a closing date), area
    served, safeguarding flag or themes. The funding gap is its provider's to change, or a
    buyer lead's of its territory as an override with a reason, and never below what
    awarded SPOs already promise (409); only its provider may clear the safeguarding flag.
    Every change is recorded in the activity's history."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    if "service_radius_km" in changes:
        radius = changes.pop("service_radius_km")
        changes["service_radius_m"] = None if radius is None else radius * 1000.0
    activity_changes.change_activity(conn, user, activity_id, changes, body.reason)
    (feature,) = features(registry_queries.activity(conn, activity_id).to_dict("records"))
    return feature


@router.post("/{activity_id}/evidence", status_code=status.HTTP_201_CREATED)
def add_evidence(
    activity_id: Id, body: EvidenceIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Attach a link to evidence of what the activity achieves."""
    stewardship.add_evidence(conn, user, activity_id, body.url)
    (feature,) = features(registry_queries.activity(conn, activity_id).to_dict("records"))
    return feature


@router.get("/{activity_id}/history")
def history(activity_id: Id, conn: ReadConn, user: CurrentUser) -> dict[str, Any]:
    """Who changed the activity's record, when, from what to what and why: for its
    provider, the buyers of its territory and admins (never the public)."""
    return {
        "activity": activity_id,
        "events": jsonable(stewardship.history(conn, user, activity_id)),
    }
