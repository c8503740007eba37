"""The delivery map of an awarded tender, for its buyer: where the contract is delivered
(the tender's delivery locations) and the activities its SPO backs, each joined by a line
to the contract's nearest delivery location. A safeguarded activity is drawn at the centre
of its H3 cell (about 5 km²), never at its address. Every text passes through
:func:`maps.render.safe_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import cos, radians

import folium
import pandas as pd

from geo import hexes
from maps.render import (
    DEFAULT_TILES,
    SAFEGUARDED_RESOLUTION,
    SPO_COLOUR,
    SPO_DASHES,
    Assets,
    _popup,
    _square,
    add_layer_control,
    add_legend,
    base_map,
    safe_text,
)
from procurement.records import TenderLocation

ACTIVITY_COLOUR = "#d95f0e"


def _shown_at(link: pd.Series) -> tuple[tuple[float, float], str]:
    """Where an activity is drawn (lat, lon degrees, EPSG:4326) and the name shown: a
    safeguarded one at its H3 cell's centre, as "a safeguarded service"."""
    if not link["safeguarding"]:
        return (float(link["lat"]), float(link["lon"])), str(link["activity"])
    cell = hexes.cells([link["lat"]], [link["lon"]], SAFEGUARDED_RESOLUTION)[0]
    lat, lon = hexes.centres([cell])
    return (float(lat[0]), float(lon[0])), "a safeguarded service"


def _nearest(
    point: tuple[float, float], locations: Sequence[TenderLocation]
) -> TenderLocation | None:
    """The delivery location nearest ``point`` (lat, lon degrees; an equirectangular
    distance, plenty to choose among a contract's few sites)."""
    if not locations:
        return None
    scale = cos(radians(point[0]))
    return min(
        locations,
        key=lambda loc: (loc["lat"] - point[0]) ** 2 + ((loc["lon"] - point[1]) * scale) ** 2,
    )


def delivery_map(
    title: str,
    locations: Sequence[TenderLocation],
    links: pd.DataFrame,
    mode: Assets = "served",
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """An awarded tender's delivery: its delivery locations and the activities backed.

    Parameters
    ----------
    title
        The tender's title (for the legend).
    locations
        The tender's delivery locations (lat/lon degrees, EPSG:4326).
    links
        The awarded SPO's commitments (:func:`procurement.reporting.awarded_links` rows of
        the SPO: ``activity``, ``safeguarding``, ``value_gbp`` in pounds, ``lat``, ``lon``).
    mode, tiles
        Leaflet served by the app or inlined; the base layer (None for none).

    Returns
    -------
    folium.Map
        The map, centred on the delivery locations (else the activities).
    """
    placed = links.dropna(subset=["lat", "lon"])
    points = [(loc["lat"], loc["lon"]) for loc in locations] or list(
        zip(placed["lat"].astype(float), placed["lon"].astype(float), strict=True)
    )
    centre = (
        (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        if points
        else (54.0, -2.5)
    )
    fmap = base_map(centre, 11 if points else 6, mode, tiles, f"Map: the delivery of {title}")
    sites = folium.FeatureGroup(name="Where the contract is delivered")
    for loc in locations:
        _square((loc["lat"], loc["lon"]), 14, f"Contract delivered at {loc['label']}").add_to(sites)
    sites.add_to(fmap)
    backed = folium.FeatureGroup(name="Activities the SPO backs")
    for _, link in placed.iterrows():
        point, name = _shown_at(link)
        text = f"{name}: £{float(link['value_gbp']):,.0f} committed"
        folium.CircleMarker(
            location=point,
            radius=9,
            color=ACTIVITY_COLOUR,
            fill=True,
            fill_opacity=0.9,
            tooltip=safe_text(text),
            popup=_popup(f"<b>{safe_text(name)}</b>", safe_text(text)),
        ).add_to(backed)
        site = _nearest(point, locations)
        if site is not None:
            folium.PolyLine(
                [(site["lat"], site["lon"]), point],
                color=SPO_COLOUR,  # as on the territory map: an SPO link, dashed
                dash_array=SPO_DASHES,
                weight=3,
                opacity=0.9,
                tooltip=safe_text(f"{site['label']} → {name}"),
            ).add_to(backed)
    backed.add_to(fmap)
    add_legend(
        fmap,
        f"Delivery: {title}",
        [
            ("#ffffff", "□ where the contract is delivered"),
            (ACTIVITY_COLOUR, "● activity backed (safeguarded: area only)"),
            (SPO_COLOUR, "SPO link to the nearest delivery location (dashed)", "line"),
        ],
    )
    add_layer_control(fmap)
    return fmap
