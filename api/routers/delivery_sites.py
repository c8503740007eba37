"""Where an activity is delivered: its delivery sites, read by anyone (safeguarded places
withheld) and changed by its stewards and its territory's community team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import Field

from accounts import sites as site_changes
from api.deps import CurrentUser, ReadConn, WriteConn
from api.schemas import Body, Id, Short, Text
from geo.jsonable import jsonable
from registry import delivery_sites

router = APIRouter(prefix="/activities", tags=["activities"])


class SiteIn(Body):
    """A delivery site: a postcode, or lat and lon (degrees, EPSG:4326); optionally what
    it is called, its address and the area it serves (a GeoJSON Polygon or
    MultiPolygon in lon/lat degrees)."""

    postcode: Annotated[str, Field(max_length=12, examples=["OX4 1AA"])] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    label: Short | None = None
    address: Text | None = None
    service_area: dict[str, Any] | None = None


@router.get("/{activity_id}/sites")
def list_sites(activity_id: Id, conn: ReadConn) -> dict[str, Any]:
    """Where the activity is delivered, the site it is placed at first. A safeguarded
    activity's sites show only their postcode district and territory."""
    return {"activity": activity_id, "sites": jsonable(delivery_sites.sites(conn, activity_id))}


@router.post("/{activity_id}/sites", status_code=status.HTTP_201_CREATED)
def add_site(activity_id: Id, body: SiteIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Add a place where the activity is delivered (its provider, buyers' staff for its
    territory, its territory's community team, admins); recorded in its history."""
    site = site_changes.add_site(conn, user, activity_id, **body.model_dump())
    return jsonable(dict(site))


@router.delete("/{activity_id}/sites/{site_id}")
def remove_site(activity_id: Id, site_id: Id, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Remove one of the activity's delivery sites; recorded in its history."""
    return {"removed": jsonable(site_changes.remove_site(conn, user, activity_id, site_id))}
