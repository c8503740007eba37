"""A territory report a procurement lead can hand to a board: one printable HTML page of
headline figures, the gap map, the most underserved places, activities at risk, the public
SPO register, how much of it is verified or assumed, and the data attribution.

The page is the same document on screen (``/territory/{code}/report``) and on paper
(``dualimpact report``, printed by headless Chromium): one Jinja template
(``templates/territory_report.html``) with its stylesheet inlined, so the printed copy
needs nothing from the web. Public data only: the register and the SPO value come from
:mod:`procurement.reporting`, which reads awarded SPOs alone, so a bid before award cannot
reach the report. Figures count the trusted activities (eligible, not lapsed), as the
coverage a buyer sees does, and say how many more are listed.

The gap map is drawn as inline SVG from geometry, in British National Grid metres scaled
to the page: need areas as their small-area polygons where the database holds them (LSOAs
of England and Wales), on H3 hexagons elsewhere (Scotland, Northern Ireland), one shade
per gap class (light to dark, so it reads in black and white too), with the territory's
boundary, local authority names and the most underserved areas numbered as in the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy import Connection

from boundaries import repository
from geo import attribution, hexes
from maps import render, report
from maps.coverage import DEFAULT_CAPACITY, DEPRIVED_DECILE
from procurement import reporting
from procurement.records import RegisterEntry
from registry import trust

TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = TEMPLATES / "territory_report.css"
_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
)


def _day(value: Any) -> str:
    """A date as people write it ("3 March 2027"), or "not known"."""
    return "not known" if value is None or pd.isna(value) else f"{value.day} {value:%B %Y}"


_ENVIRONMENT.filters.update(
    money=render.money,  # "£12,345"
    money2=lambda value: f"£{float(value):,.2f}",
    count=lambda value: f"{float(value):,.0f}",
    share=lambda value: f"{float(value):.0%}",
    index=lambda value: f"{float(value):.2f}",
    day=_day,
)

UNDERSERVED_ROWS = 12  # the most underserved need areas listed, and numbered on the map
REGISTER_ROWS = 40  # awarded SPOs listed (the rest are counted)
MAP_WIDTH = 1000.0  # the map's width in SVG units (its height follows the territory)
SHAPE_TOLERANCE_M = 40.0  # need-area polygons simplified in the database (metres)
DRAW_TOLERANCE = 0.6  # and again once scaled to the map (SVG units)
MARKER_RADIUS = 13.0  # numbered markers (SVG units; the stylesheet sizes their text)
MARKER_CHAR_WIDTH = 9.0  # about how wide a character of a marker's numbers is (SVG units)
PLACE_CHAR_WIDTH = 12.5  # about how wide a character of a place name is (SVG units)
PLACE_HALF_HEIGHT = 11.0
# Need areas with no polygon go on H3 hexagons: coarser ones on a territory this wide
# (Scotland), so its people's areas read at the map's scale.
LARGE_WIDTH_M = 250_000.0
LARGE_RESOLUTION = 6
HEXAGON_KM2 = {6: 36, 7: 5}  # H3's average cell areas, rounded
SCALE_BAR_KM = (1, 2, 5, 10, 20, 50, 100)
# Gap classes: the web maps' scale (0 to 0.8 and over, render.GAP_SCALE) in five steps,
# light to dark so the classes stay apart in black and white.
GAP_BREAKS = (0.16, 0.32, 0.48, 0.64)
GAP_LABELS = (
    "under 0.16 (well served)",
    "0.16 to 0.32",
    "0.32 to 0.48",
    "0.48 to 0.64",
    "0.64 or more (high need, little reach)",
)
# An LSOA's name is its local authority's and a number ("Oxford 008A").
_LSOA_NAME = re.compile(r"^(?P<place>.+) \d{3}[A-Z]$")


@dataclass(frozen=True)
class GapClass:
    colour: str  # fill, from render.GAP_SCALE
    label: str  # the legend's words
    path: str  # SVG path data of every area in the class


@dataclass(frozen=True)
class Label:
    """Text on the map (a place name, or the numbers of a marker), centred on (x, y) in
    SVG units, and the half-size of the box it covers."""

    text: str  # escaped by the template
    x: float
    y: float
    half_width: float
    half_height: float

    def overlaps(self, other: Label) -> bool:
        return (
            abs(self.x - other.x) < self.half_width + other.half_width
            and abs(self.y - other.y) < self.half_height + other.half_height
        )


@dataclass(frozen=True)
class GapMap:
    """The gap map in SVG units (x to the east, y down), ready for the template."""

    width: float
    height: float
    classes: list[GapClass]
    outline: str  # SVG path data of the territory's boundary
    places: list[Label]  # local authority names
    markers: list[Label]  # the most underserved areas, numbered as in the table
    scale_km: int  # the scale bar's length
    scale_length: float  # the same in SVG units
    polygons: int  # need areas drawn as their own polygon
    on_hexagons: int  # need areas with no polygon, drawn on H3 hexagons
    hexagon_km2: int  # about how large those hexagons are (square kilometres)


@dataclass(frozen=True)
class BoardReport:
    """Everything the territory report shows, as plain values."""

    code: str
    name: str
    nation: str
    generated: date
    figures: Mapping[str, Any]  # the territory's row of maps.report's summary
    trust: Mapping[str, Any]  # registry.trust's counts for the territory (all open)
    trust_lines: list[str]  # the same in plain sentences
    underserved: list[dict[str, Any]]  # worst first, with their place
    at_risk: list[dict[str, Any]]  # at-risk activities in high-need areas
    register: list[RegisterEntry]  # awarded SPOs only
    register_size: int
    gap_map: GapMap
    default_capacity: float = DEFAULT_CAPACITY
    deprived_decile: int = DEPRIVED_DECILE


@dataclass(frozen=True)
class ReportPage:
    """The report as a whole HTML document, and the ``'sha256-…'`` source of its one
    inline style element (for a strict Content-Security-Policy)."""

    html: str
    styles: tuple[str, ...]


def build(conn: Connection, found: report.CoverageReport, territory: str) -> BoardReport:
    """Gather a territory's report from the database and national coverage.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Any connection (the report reads only public data).
    found : maps.report.CoverageReport
        National coverage of the trusted activities (:func:`maps.report.build`).
    territory : str
        A territory code (``E23000029``).

    Returns
    -------
    BoardReport
        Headline figures, the gap map, the underserved areas, at-risk activities, the
        register of awarded SPOs and the trust counts.

    Raises
    ------
    NotFoundError
        ``territory`` is not a current territory.
    """
    report.known_territory(found, territory)
    (figures,) = found.summary[found.summary["territory_code"] == territory].to_dict("records")
    counts = trust.trust_summary(conn, territory).iloc[0]
    areas = report.territory_areas(found, territory)
    underserved = report.area_table(found, territory).head(UNDERSERVED_ROWS)
    outline = shapely.geometry.shape(repository.territory_outline(conn, territory)["geometry"])
    shapes = repository.need_area_shapes(conn, territory, tolerance_m=SHAPE_TOLERANCE_M)
    return BoardReport(
        code=territory,
        name=str(figures["name"]),
        nation=str(figures["nation"]),
        generated=date.today(),
        figures=figures,
        trust=counts.to_dict(),
        trust_lines=trust.sentences(counts),
        underserved=underserved.to_dict("records"),
        at_risk=[
            {
                **row,
                "verification_text": render.verification_words(row),
                "eligibility_text": render.eligibility_words(row),
            }
            for row in report.at_risk_table(found, territory).to_dict("records")
        ],
        register=reporting.register(conn, territory, limit=REGISTER_ROWS),
        register_size=reporting.register_size(conn, territory),
        gap_map=gap_map(areas, shapes, outline, areas.loc[underserved.index]),
    )


def gap_map(
    areas: pd.DataFrame,
    shapes: gpd.GeoDataFrame,
    outline: shapely.Geometry,
    numbered: pd.DataFrame,
    *,
    width: float = MAP_WIDTH,
) -> GapMap:
    """Draw a territory's gap map (pure: frames in, SVG path data out).

    Parameters
    ----------
    areas : pandas.DataFrame
        The territory's need-area coverage (:func:`maps.report.territory_areas`): code,
        name, gap, population, need, reach, gap_people, lon/lat (EPSG:4326) and x/y
        (EPSG:27700 metres).
    shapes : geopandas.GeoDataFrame
        Need-area polygons (area_code, geometry in EPSG:4326); areas missing here are
        drawn on H3 hexagons (:func:`maps.render.need_hexagons`).
    outline : shapely.Geometry
        The territory's boundary, EPSG:4326.
    numbered : pandas.DataFrame
        The areas to number on the map, in order (code, x, y).
    width : float
        The map's width in SVG units.

    Returns
    -------
    GapMap
        One path per gap class, the boundary, place names, numbered markers and a scale bar.
    """
    known = areas["code"].isin(shapes["area_code"])
    shape_of = shapes.set_index("area_code").geometry
    drawn = gpd.GeoDataFrame(
        {"gap": areas.loc[known, "gap"].to_numpy()},
        geometry=shape_of.loc[areas.loc[known, "code"]].to_numpy(),
        crs="EPSG:4326",
    )
    boundary = gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(27700).iloc[0]
    west, south, east, north = boundary.bounds  # the territory fills the map's width
    resolution = LARGE_RESOLUTION if east - west > LARGE_WIDTH_M else render.NEED_RESOLUTION
    cells = render.need_hexagons(areas[~known], resolution)
    hexagons = gpd.GeoDataFrame(
        {"gap": cells["gap_index"].to_numpy()},
        geometry=[shapely.Polygon(hexes.outline(int(c))) for c in cells["cell"]],
        crs="EPSG:4326",
    )
    polygons = pd.concat([drawn, hexagons], ignore_index=True).to_crs(27700)
    scale = width / (east - west)

    def to_map(geometry: Any) -> Any:
        moved = shapely.transform(geometry, lambda xy: (xy - [west, north]) * [scale, -scale])
        return shapely.simplify(moved, DRAW_TOLERANCE, preserve_topology=True)

    def at(x: float, y: float) -> tuple[float, float]:
        """A point in EPSG:27700 metres, in the map's units."""
        return (x - west) * scale, (north - y) * scale

    gap_class = np.digitize(polygons["gap"].fillna(0.0).to_numpy(), GAP_BREAKS)
    classes = [
        GapClass(
            colour,
            label,
            _path(to_map(shapely.union_all(polygons.geometry[gap_class == k], grid_size=1.0))),
        )
        for k, (colour, label) in enumerate(zip(render.GAP_SCALE, GAP_LABELS, strict=True))
    ]
    markers = _markers([at(x, y) for x, y in zip(numbered["x"], numbered["y"], strict=True)])
    km = next((k for k in reversed(SCALE_BAR_KM) if k * 1000 * scale <= width / 4), 1)
    return GapMap(
        width=width,
        height=round((north - south) * scale, 1),
        classes=classes,
        outline=_path(to_map(boundary)),
        places=_placed([(place, *at(x, y)) for place, x, y in _places(areas)], markers),
        markers=markers,
        scale_km=km,
        scale_length=km * 1000 * scale,
        polygons=int(known.sum()),
        on_hexagons=int((~known).sum()),
        hexagon_km2=HEXAGON_KM2[resolution],
    )


def _places(areas: pd.DataFrame) -> list[tuple[str, float, float]]:
    """Each local authority named by its LSOAs ("Oxford 008A"), most people first, at its
    need-area point nearest the population-weighted centre of them (so the name sits
    inside it), in EPSG:27700 metres. Scottish and Northern Irish need areas name no
    authority."""
    named = areas.assign(place=areas["name"].str.extract(_LSOA_NAME)["place"]).dropna(
        subset=["place"]
    )
    found = []
    by_size = named.groupby("place")["population"].sum().sort_values(ascending=False)
    for place in by_size.index:
        group = named[named["place"] == place]
        weights = group["population"].clip(lower=1.0)
        cx, cy = np.average(group["x"], weights=weights), np.average(group["y"], weights=weights)
        nearest = int(np.argmin(np.hypot(group["x"] - cx, group["y"] - cy)))
        found.append((str(place), float(group["x"].iloc[nearest]), float(group["y"].iloc[nearest])))
    return found


def _markers(points: Sequence[tuple[float, float]]) -> list[Label]:
    """Numbered markers at ``points`` (SVG units), numbered from 1 in order; markers that
    would overlap share one ("2, 6, 10") at the first one's place."""
    groups: list[tuple[float, float, list[int]]] = []
    for number, (x, y) in enumerate(points, 1):
        near = next((g for g in groups if np.hypot(g[0] - x, g[1] - y) < 2 * MARKER_RADIUS), None)
        if near is None:
            groups.append((x, y, [number]))
        else:
            near[2].append(number)
    return [
        Label(
            ", ".join(map(str, numbers)),
            x,
            y,
            max(MARKER_RADIUS, MARKER_CHAR_WIDTH * len(", ".join(map(str, numbers))) / 2 + 6),
            MARKER_RADIUS,
        )
        for x, y, numbers in groups
    ]


def _placed(places: Sequence[tuple[str, float, float]], markers: Sequence[Label]) -> list[Label]:
    """Place names where they cover no marker and no other name: at their point, or a
    little above or below it; a name with no room is left off (the table names every
    numbered area). ``places`` come largest first."""
    taken = list(markers)
    shown = []
    for text, x, y in places:
        half_width = PLACE_CHAR_WIDTH * len(text) / 2
        for dy in (0.0, -2.2 * MARKER_RADIUS, 2.2 * MARKER_RADIUS, -3.4 * MARKER_RADIUS):
            label = Label(text, x, y + dy, half_width, PLACE_HALF_HEIGHT)
            if not any(label.overlaps(other) for other in taken):
                taken.append(label)
                shown.append(label)
                break
    return shown


def _path(geometry: shapely.Geometry) -> str:
    """SVG path data of a (multi)polygon's rings (one decimal place; fill-rule evenodd
    draws the holes)."""
    parts = shapely.get_parts(geometry)
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON])
    return "".join(
        "M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in shapely.get_coordinates(ring)[:-1]) + "Z"
        for ring in rings
    )


def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def page(board: BoardReport) -> ReportPage:
    """The report as a whole HTML document (every name escaped by the template), with
    the hash of its inline stylesheet.

    Parameters
    ----------
    board : BoardReport
        From :func:`build`.

    Returns
    -------
    ReportPage
        The document and its style element's ``'sha256-…'`` source.
    """
    css = _stylesheet()
    html = _ENVIRONMENT.get_template("territory_report.html").render(
        r=board,
        css=Markup(css),  # the package's own file: no user text
        attribution=_attributions(),
    )
    return ReportPage(html=html, styles=(render.csp_hash(css),))


def _attributions() -> Sequence[str]:
    return (attribution.GEOGRAPHY, attribution.ACTIVITIES, attribution.SUPPLIERS)
