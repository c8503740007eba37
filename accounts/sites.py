"""Changing where an activity is delivered, as a signed-in person: the activity's
stewards (its provider, a buyer's staff for its territory, admins) and the community team
of its territory (:data:`accounts.permissions.PERMISSIONS`, ``EDIT_DELIVERY_SITES``).

A person bound to territories must work in the activity's territory *and* in the site's:
a team cannot move an activity into, or out of, a territory it does not work in. Each
change is written to the activity's history with who made it
(:mod:`registry.delivery_sites`), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from accounts import permissions, stewardship
from accounts.permissions import Action, Target
from accounts.users import User
from registry import delivery_sites
from registry.delivery_sites import Site


def add_site(
    conn: Connection,
    user: User,
    activity_id: int,
    *,
    postcode: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    label: str | None = None,
    address: str | None = None,
    service_area: Mapping[str, Any] | None = None,
) -> Site:
    """Add a delivery site to the activity as ``user``, if they may.

    Parameters are those of :func:`registry.delivery_sites.prepare` (a postcode, or lon and
    lat in degrees; a label, an address, the area served as GeoJSON).

    Raises
    ------
    NotFoundError
        There is no such activity.
    PermissionDeniedError
        ``user`` may not change the activity's sites, or not in the site's territory.
    InvalidInputError
        The site cannot be placed, or its area served is not a usable polygon.
    """
    owner = stewardship.target(conn, activity_id)
    permissions.require(user, Action.EDIT_DELIVERY_SITES, owner)
    site = delivery_sites.prepare(
        conn,
        postcode=postcode,
        lon=lon,
        lat=lat,
        label=label,
        address=address,
        service_area=service_area,
    )
    _require_in(user, owner, site.place.territory_code)
    return delivery_sites.add(conn, activity_id, site, actor_id=user.id)


def remove_site(conn: Connection, user: User, activity_id: int, site_id: int) -> Site:
    """Remove one of the activity's delivery sites as ``user``, if they may; returns the
    site removed (NotFoundError for a site that is not the activity's)."""
    owner = stewardship.target(conn, activity_id)
    permissions.require(user, Action.EDIT_DELIVERY_SITES, owner)
    _require_in(user, owner, delivery_sites.site_of(conn, activity_id, site_id)["territory_code"])
    return delivery_sites.remove(conn, activity_id, site_id, actor_id=user.id)


def _require_in(user: User, owner: Target, territory: str) -> None:
    """Refuse unless ``user`` may change the activity's sites in ``territory`` too."""
    if territory != owner.territory:
        permissions.require(user, Action.EDIT_DELIVERY_SITES, replace(owner, territory=territory))
