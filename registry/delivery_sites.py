"""Where an activity is delivered, apart from its registered office: its delivery sites.

A site is a postcode (placed by :func:`boundaries.gazetteer.place_postcode`: exact, else
sector, else district) or a lon/lat point (placed by the same geocoder and point locator an
import uses), optionally with the area it serves (a GeoJSON polygon, checked as an
import checks one). An activity with sites is read at its first one
(``activity_placed``), and "nearest" searches see every site (``activity_location``).

Who may change an activity's sites is decided above the registry (:mod:`accounts.sites`);
every change made here is written to the activity's history (``activity_event``). Reads
are public, so a safeguarded activity's sites go through :mod:`registry.privacy`: no
point, no address, no area served, the postcode cut to its district.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

import pandas as pd
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, text

from boundaries import repository
from boundaries.gazetteer import Place, gazetteer_for, place_postcode
from geo.bulk import ewkb
from geo.crs import in_uk_extent
from geo.errors import InvalidInputError, NotFoundError
from geo.geocode import Geocoder
from geo.jsonable import jsonable
from registry import privacy
from registry.history import record_event

# What the activity's history keeps of a site added or removed (its public form).
_HISTORY_FIELDS = ("id", "label", "postcode", "location_precision", "territory_code")


class Site(TypedDict):
    """A delivery site as the public may see it: point in lon/lat degrees (EPSG:4326),
    ``service_area`` a GeoJSON (Multi)Polygon; for a safeguarded activity the point,
    address, need area and area served are ``None`` and the postcode is its district."""

    id: int
    activity_id: int
    label: str | None
    address: str | None
    postcode: str | None
    location_precision: str
    territory_code: str
    territory_name: str
    need_area_code: str | None
    lat: float | None
    lon: float | None
    service_area: dict[str, Any] | None
    safeguarding: bool
    created_at: datetime


@dataclass(frozen=True)
class NewSite:
    """A site checked and placed, not yet stored (:func:`prepare`).

    ``place.postcode`` is empty for a site given by coordinates; ``service_area`` is a
    valid MultiPolygon in EPSG:4326, or ``None``.
    """

    place: Place
    label: str | None
    address: str | None
    service_area: shapely.MultiPolygon | None


def prepare(
    conn: Connection,
    *,
    postcode: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    label: str | None = None,
    address: str | None = None,
    service_area: Mapping[str, Any] | None = None,
) -> NewSite:
    """Check and place a site, without storing it.

    Parameters
    ----------
    conn
        A connection to the database holding the gazetteer and boundaries.
    postcode
        Where the site is, as a postcode (a sector or district will do, at that precision).
    lon, lat
        Or where it is as a point, in degrees (EPSG:4326); give both, and no postcode.
    label, address
        What people call the site and its street address (blank means none).
    service_area
        The area it serves: a GeoJSON Polygon or MultiPolygon in lon/lat degrees (or a
        Feature holding one).

    Returns
    -------
    NewSite
        The site with its point, precision, territory and need area.

    Raises
    ------
    InvalidInputError
        Neither or both of a postcode and a point; an unknown postcode; a point outside the
        UK or in no territory; an area served that is not a polygon with an area in the UK.
    """
    given_point = lon is not None or lat is not None
    if (postcode is None) == (not given_point):
        raise InvalidInputError("give a delivery site either a postcode or lon and lat, not both")
    area = None if service_area is None else area_served(service_area)
    if postcode is not None:
        place = place_postcode(conn, postcode)
    elif lon is None or lat is None:
        raise InvalidInputError("give both lon and lat for a delivery site (degrees)")
    else:
        place = _place_point(conn, lon, lat)
    return NewSite(place, _text(label), _text(address), area)


def area_served(geojson: Mapping[str, Any]) -> shapely.MultiPolygon:
    """The area a site serves, from GeoJSON: a valid MultiPolygon (EPSG:4326).

    As an import reads one: a polygon or multipolygon, made valid, that must keep an area
    (heights are dropped); and its corners must lie in the UK (lon/lat degrees, not British
    National Grid metres).

    Raises
    ------
    InvalidInputError
        What is wrong with it, in words.
    """
    geometry = geojson.get("geometry") if geojson.get("type") == "Feature" else geojson
    try:
        geom = shape(geometry)
    except (
        AttributeError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        shapely.errors.GEOSException,
    ):
        raise InvalidInputError(
            "the area served is not valid GeoJSON: give a Polygon or MultiPolygon"
        ) from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError(
            f"the area served must be a Polygon or MultiPolygon (got a {geom.geom_type})"
        )
    corners = shapely.get_coordinates(geom)
    if corners.size == 0:
        raise InvalidInputError("the area served has no area")
    if not in_uk_extent(corners[:, 0], corners[:, 1]).all():
        raise InvalidInputError(
            "the area served must lie in the UK, in lon/lat degrees (EPSG:4326)"
        )
    parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(shapely.force_2d(geom))))
    polygons = [part for part in parts if part.geom_type == "Polygon" and part.area > 0]
    if not polygons:
        raise InvalidInputError("the area served has no area")
    return shapely.MultiPolygon(polygons)


def add(conn: Connection, activity_id: int, site: NewSite, *, actor_id: int | None = None) -> Site:
    """Store a site of the activity and record it in the activity's history.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change (the activity's row is locked).
    activity_id
        The activity delivered there.
    site
        The site, checked and placed by :func:`prepare`.
    actor_id
        Who adds it (an ``app_user`` id; ``None`` from the command line).

    Returns
    -------
    Site
        The stored site, in its public form.

    Raises
    ------
    NotFoundError
        There is no such activity.
    """
    _touch(conn, activity_id)
    place = site.place
    site_id = conn.execute(
        text(
            """
            INSERT INTO delivery_site (activity_id, label, address, service_area, postcode,
                                       geom, location_precision, territory_id, need_area_id,
                                       added_by)
            VALUES (:activity, :label, :address, CAST(:area AS geometry), :postcode,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :precision,
                    (SELECT id FROM current_territory WHERE code = :territory),
                    (SELECT id FROM current_need_area WHERE code = :need_area), :actor)
            RETURNING id
            """
        ),
        {
            "activity": activity_id,
            "label": site.label,
            "address": site.address,
            "area": None if site.service_area is None else ewkb(site.service_area),
            "postcode": place.postcode or None,
            "lon": place.lon,
            "lat": place.lat,
            "precision": place.precision,
            "territory": place.territory_code,
            "need_area": place.need_area_code,
            "actor": actor_id,
        },
    ).scalar_one()
    stored = site_of(conn, activity_id, site_id)
    _record(conn, activity_id, "add_delivery_site", None, stored, actor_id)
    return stored


def remove(
    conn: Connection, activity_id: int, site_id: int, *, actor_id: int | None = None
) -> Site:
    """Remove one of the activity's sites and record it in the activity's history;
    returns the site removed (public form). Raises NotFoundError for a site that is not
    the activity's."""
    _touch(conn, activity_id)
    removed = site_of(conn, activity_id, site_id)
    conn.execute(text("DELETE FROM delivery_site WHERE id = :id"), {"id": site_id})
    _record(conn, activity_id, "remove_delivery_site", removed, None, actor_id)
    return removed


def sites(conn: Connection, activity_id: int) -> list[Site]:
    """The activity's delivery sites, first (the one it is placed at) first, in public
    form. Raises NotFoundError when there is no such activity."""
    found = _read(conn, activity_id)
    if (
        not found
        and conn.execute(
            text("SELECT NOT EXISTS (SELECT 1 FROM activity WHERE id = :id)"), {"id": activity_id}
        ).scalar_one()
    ):
        raise NotFoundError(f"no activity with id {activity_id}")
    return found


def site_of(conn: Connection, activity_id: int, site_id: int) -> Site:
    """One of the activity's sites, in public form, or NotFoundError."""
    found = _read(conn, activity_id, site_id)
    if not found:
        raise NotFoundError(f"activity {activity_id} has no delivery site with id {site_id}")
    return found[0]


_SITES = """
    SELECT d.id, d.activity_id, d.label, d.address, d.postcode, d.location_precision,
           t.code AS territory_code, t.name AS territory_name, n.code AS need_area_code,
           ST_Y(d.geom) AS lat, ST_X(d.geom) AS lon,
           CAST(ST_AsGeoJSON(d.service_area, 6) AS json) AS service_area, a.safeguarding,
           d.created_at
    FROM delivery_site d
    JOIN activity a ON a.id = d.activity_id
    JOIN territory t ON t.id = d.territory_id
    LEFT JOIN need_area n ON n.id = d.need_area_id
    WHERE d.activity_id = :activity AND (CAST(:site AS int) IS NULL OR d.id = :site)
    ORDER BY d.id
"""


def _read(conn: Connection, activity_id: int, site_id: int | None = None) -> list[Site]:
    rows = conn.execute(text(_SITES), {"activity": activity_id, "site": site_id}).mappings()
    return [_public(cast(Site, dict(row))) for row in rows]


def _public(site: Site) -> Site:
    """The safeguarding rules of :func:`registry.privacy.redact_record`, and no area
    served either: a tight area would show where a refuge is as well as its point."""
    shown = privacy.redact_record(site)
    if shown["safeguarding"]:
        shown["service_area"] = None
    return shown


def _place_point(conn: Connection, lon: float, lat: float) -> Place:
    """A lon/lat point (degrees) placed in its territory and need area, as an import
    places coordinates (the geocoder over the current boundaries)."""
    placed = (
        Geocoder(gazetteer_for(conn, []), repository.locator(conn))
        .geocode(lat=pd.Series([lat]), lon=pd.Series([lon]))
        .iloc[0]
    )
    if placed["error"]:
        raise InvalidInputError(f"delivery site: {placed['error']}")
    return Place(
        postcode="",
        lat=float(placed["lat"]),
        lon=float(placed["lon"]),
        precision=str(placed["precision"]),
        territory_code=str(placed["territory_code"]),
        need_area_code=None if pd.isna(placed["need_area_code"]) else str(placed["need_area_code"]),
    )


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _touch(conn: Connection, activity_id: int) -> None:
    """Lock the activity's row (its sites change one at a time) and date the change."""
    found = conn.execute(
        text("UPDATE activity SET updated_at = now() WHERE id = :id RETURNING id"),
        {"id": activity_id},
    ).one_or_none()
    if found is None:
        raise NotFoundError(f"no activity with id {activity_id}")


def _record(
    conn: Connection,
    activity_id: int,
    action: str,
    before: Site | None,
    after: Site | None,
    actor_id: int | None,
) -> None:
    """The change in the activity's history: ``delivery_site`` → [before, after]."""
    before_, after_ = (
        None if site is None else jsonable({k: v for k, v in site.items() if k in _HISTORY_FIELDS})
        for site in (before, after)
    )
    record_event(conn, activity_id, actor_id, action, {"delivery_site": [before_, after_]})
