"""A community team's map: the most underserved need areas of its territory, each with the
activities delivered nearest to it (any state: listed, claimed, verified or lapsed, so the
team sees what it could connect in or verify there; not those found ineligible).

The areas come from the national coverage (:func:`maps.report.area_table`, worst gap
first); "nearby" is the registry's own search (:func:`registry.queries.nearby`: distance in
metres on the sphere to each activity's nearest place of delivery), redacted for
safeguarded services as everywhere else (no point, distance banded). Every text drawn
passes through :func:`maps.render.safe_text`.
"""

from __future__ import annotations

from typing import TypedDict

import folium
import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from maps import render, report
from registry import privacy
from registry.queries import NearbyActivity, nearby

NEARBY_RADIUS_M = 10_000.0  # metres: how far from an area's centre an activity counts as near
PER_AREA = 3  # activities listed per area
TOP_AREAS = 20  # underserved areas shown


class UnderservedArea(TypedDict):
    """A need area with people out of reach of activities: its code and name, centre
    (lon/lat degrees, EPSG:4326), population, UK deprivation decile (1 = most deprived),
    need (0-1), reach (places per resident against the UK reference), gap index (0-1),
    need-weighted people without reach, and the activities of the territory nearest to it
    (nearest first)."""

    code: str
    name: str
    lon: float
    lat: float
    population: int
    uk_imd_decile: int | None
    need: float
    reach: float
    gap: float
    gap_people: float
    activities: list[NearbyActivity]


def underserved_areas(
    conn: Connection,
    found: report.CoverageReport,
    territory: str,
    *,
    top: int = TOP_AREAS,
    per_area: int = PER_AREA,
    radius_m: float = NEARBY_RADIUS_M,
) -> list[UnderservedArea]:
    """The ``top`` most underserved need areas of ``territory`` (most need-weighted people
    without reach first), each with up to ``per_area`` of the territory's open activities
    within ``radius_m`` metres of its centre, trusted or not.

    Parameters
    ----------
    conn
        A connection to the registry.
    found
        National coverage (:func:`maps.report.build`).
    territory
        A territory code (``E23000029``).
    top, per_area
        How many areas, and activities per area.
    radius_m
        How far from an area's centre to look, metres.

    Raises
    ------
    NotFoundError
        ``territory`` is not a current territory.
    """
    report.known_territory(found, territory)
    table = report.area_table(found, territory)
    worst = table[table["gap_people"] > 0].head(top)
    areas: list[UnderservedArea] = []
    for row in worst.to_dict("records"):
        near = [
            privacy.redact_record(found_)
            for found_ in nearby(
                conn, float(row["lat"]), float(row["lon"]), radius_m, 50, include_all=True
            )
            # Records found not to be dual-impact activities are left out: nothing to do.
            if found_["territory_code"] == territory and found_["eligibility"] != "ineligible"
        ]
        decile = row["uk_imd_decile"]
        areas.append(
            UnderservedArea(
                code=str(row["code"]),
                name=str(row["name"]),
                lon=float(row["lon"]),
                lat=float(row["lat"]),
                population=int(row["population"]),
                uk_imd_decile=None if pd.isna(decile) else int(decile),
                need=float(row["need"]),
                reach=float(row["reach"]),
                gap=float(row["gap"]),
                gap_people=float(row["gap_people"]),
                activities=near[:per_area],
            )
        )
    return areas


def _area_popup(area: UnderservedArea) -> folium.Popup:
    """The area in plain words, and links (out of the map's frame) to the review page of
    each activity nearby."""
    decile = area["uk_imd_decile"]
    lines = [
        f"<b>{render.safe_text(area['name'])}</b>",
        f"{area['population']:,} people"
        + (f"; UK deprivation decile {decile} of 10 (1 = most deprived)" if decile else ""),
        f"Gap index {area['gap']:.2f} (0 = well served); reach {area['reach']:.2f}",
    ]
    if not area["activities"]:
        lines.append(f"No activity within {NEARBY_RADIUS_M / 1000:.0f} km.")
    else:
        lines.append("Nearby:")
        lines += [
            f'<a href="/team/activities/{int(a["id"])}" target="_top">'
            f"{render.safe_text(a['name'])}</a> ({render.safe_text(distance_words(a))}; "
            f"{render.safe_text(render.trust_label(a))})"
            for a in area["activities"]
        ]
    return folium.Popup(folium.Element(f"<div>{'<br>'.join(lines)}</div>"), max_width=320)


def distance_words(activity: NearbyActivity) -> str:
    """How far an activity is from where it was looked for from ("1.2 km"; a safeguarded
    service's distance is banded, so "within 2 km")."""
    km = activity["distance_m"] / 1000.0
    return f"within {km:.0f} km" if activity["safeguarding"] else f"{km:.1f} km"


def team_map(
    areas: list[UnderservedArea],
    outline: gpd.GeoDataFrame | None = None,
    tiles: str | None = render.DEFAULT_TILES,
) -> folium.Map:
    """The underserved areas as circles coloured by gap index at their centres, each
    popup linking to the activities nearby, within the territory's ``outline``."""
    colours = render.gap_colours()
    centre = (
        (sum(a["lat"] for a in areas) / len(areas), sum(a["lon"] for a in areas) / len(areas))
        if areas
        else render.UK_CENTRE
    )
    fmap = render.base_map(centre, 9, "served", tiles, "Map: the most underserved need areas")
    render.add_outline(fmap, outline)
    group = folium.FeatureGroup(name="Most underserved need areas")
    for rank, area in enumerate(areas, start=1):
        folium.CircleMarker(
            location=(area["lat"], area["lon"]),
            radius=10,
            color="#0b0c0c",
            weight=1,
            fill=True,
            fill_color=colours(min(area["gap"], 0.8)),
            fill_opacity=0.85,
            tooltip=render.safe_text(
                f"#{rank} {area['name']}: gap {area['gap']:.2f}, "
                f"{len(area['activities'])} activities nearby"
            ),
            popup=_area_popup(area),
        ).add_to(group)
    group.add_to(fmap)
    render.add_legend(fmap, "Underserved need areas", render.gap_entries())
    render.add_layer_control(fmap)
    return fmap
