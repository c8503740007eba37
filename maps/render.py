"""Folium maps: the UK by territory, one territory in detail, and a supplier's finder.

Every map carries a layer control, a legend, a scale bar and the Open Government Licence
attribution. National maps draw simplified territory outlines and hexagons, never the
~42,000 need-area shapes (a folium choropleth of those is a 270 MB page). Safeguarded
activities appear only as the H3 cell around them, with no name and no point. Every
activity drawn says, in plain words, how far it is verified, whether it is eligible (with
its categories, or why not) and whether its point is only its registered office.

Names come from providers, suppliers and imported files, so every text a map shows passes
through :func:`safe_text` first, and a page carries no inline style attribute: its inline
scripts and style elements are listed by hash (:class:`MapPage`) for a strict
Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from geo import hexes
from geo.attribution import SHORT
from maps import assets
from maps.coverage import DEFAULT_CAPACITY
from maps.density import SMALL_COUNT, density, suppress
from registry.categories import LABELS as CATEGORY_LABELS
from registry.themes import LABELS

Assets = Literal["served", "inline"]
UK_CENTRE, UK_ZOOM = (54.5, -3.0), 5
SAFEGUARDED_RESOLUTION = 7  # about 5 km²: where a refuge is, coarsely
NEED_RESOLUTION = 7  # need areas drawn on 5 km² hexagons
DENSITY_RESOLUTION = 7
# Kelly's 20 colours of maximum contrast (without white and black), one per theme: no two
# themes share a hue family, so "Youth" is never mistaken for another theme or an SPO link.
PALETTE = (
    "#0067a5", "#8db600", "#be0032", "#f38400", "#875692", "#882d17", "#a1caf1", "#008856",
    "#e68fac", "#f3c300", "#604e97", "#c2b280", "#e25822", "#2b3d26", "#b3446c", "#dcd300",
    "#654522", "#f99379", "#848482", "#f6a600",
)  # fmt: skip
THEME_COLOURS = dict(zip(LABELS, PALETTE, strict=True))
UNTHEMED = "#444444"
# Awarded SPO links: a magenta no theme uses, dashed, so a line never reads as a theme.
SPO_COLOUR, SPO_DASHES = "#e800e8", "8 6"
# Marker clusters' own colours (Leaflet.markercluster): small, medium and large groups.
CLUSTER_COLOURS = (
    ("#b5e28c", "a numbered circle: a group of fewer than 10 activities (click to zoom in)"),
    ("#f1d357", "a group of 10 to 99 activities"),
    ("#fd9c73", "a group of 100 or more activities"),
)
# A cluster says how many activities it holds and what Enter does, as its accessible name.
CLUSTER_ICON = """function (cluster) {
    var count = cluster.getChildCount();
    var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    return L.divIcon({
        html: "<div><span>" + count + "<span class=\\"di-hidden\\"> activities here: "
            + "press Enter to zoom in</span></span></div>",
        className: "marker-cluster marker-cluster-" + size,
        iconSize: new L.Point(40, 40)
    });
}"""
UNTRUSTED_OPACITY = 0.3  # activities not trusted (shown only when all are asked for)
VERIFICATION_WORDS = {
    "listed": "listed from open data (not yet claimed or verified)",
    "claimed": "claimed by its provider (not yet verified by a community team)",
    "verified": "verified by a community team",
    "lapsed": "lapsed (not confirmed within the lapse period)",
}
LOCATION_WORDS = {
    "delivery_site": "a delivery site",
    "delivery": "where it is delivered",
    "registered_office": "its registered office (where it delivers is not known)",
}
DEFAULT_TILES = "OpenStreetMap"
GAP_SCALE = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
# The maps' own look, as classes: a strict Content-Security-Policy allows no style attribute.
STYLE = """<style>
.di-attribution { position: fixed; bottom: 18px; right: 0; z-index: 1000; max-width: 60%;
  background: rgba(255, 255, 255, .85); font: 11px sans-serif; padding: 2px 6px; }
.di-legend { position: fixed; top: 80px; left: 10px; z-index: 1000; max-height: 60%;
  overflow: auto; background: rgba(255, 255, 255, .9); padding: 6px 8px;
  font: 12px sans-serif; border-radius: 4px; }
.di-swatch { width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px;
  border: 1px solid #555; }
.di-site { background: #fff; border: 2px solid #000; box-sizing: border-box; }
.di-swatch.di-wide { width: 18px; border: 0; }
.di-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.di-num { border: 2px solid #fff; border-radius: 50%; box-sizing: border-box;
  font: bold 12px/20px sans-serif; text-align: center; box-shadow: 0 0 0 1px #333; }
.di-place { font: italic 12px sans-serif; color: #333; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
.di-place.di-major { font: bold 14px sans-serif; }
@media (max-width: 480px) { .leaflet-control-layers, .di-legend { font-size: 11px; } }
/* On a phone the legend sits below the map, not over it, and the credits below that. */
@media (max-width: 600px) {
  .folium-map { height: 66% !important; }
  .di-legend { top: 66%; bottom: 56px; left: 0; right: 0; max-height: none;
    border-radius: 0; border-top: 1px solid #999; }
  .di-attribution { left: 0; right: 0; max-width: 100%; bottom: 0; height: 56px;
    font-size: 10px; }
}
@media (min-width: 1000px) {  /* a whole window: room for the open list */
  .leaflet-control-layers { padding: 6px 10px 6px 6px; color: #333; background: #fff; }
  .leaflet-container .leaflet-control-layers .leaflet-control-layers-toggle { display: none; }
  .leaflet-container .leaflet-control-layers .leaflet-control-layers-list {
    display: block; position: relative; }
}
</style>"""


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (``#rrggbb``)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#fff"


# A numbered marker's colours, one class per theme (a class, as a style attribute is barred).
THEME_STYLE = (
    "<style>"
    + "".join(
        f".di-t{i} {{ background: {c}; color: {_ink(c)}; }}"
        for i, c in enumerate((*PALETTE, UNTHEMED))
    )
    + "</style>"
)
# Pinch-zoom allowed (folium's own viewport forbids it).
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')

# Every character that could end or change the context a name lands in on a map: HTML
# elements and attributes (& < > " '), JavaScript strings and template literals (` $ \ and
# line ends), and the Jinja templates folium compiles its own output with ({ }).
_CHARACTER_REFERENCES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}  # as html.escape
    | {c: f"&#{ord(c)};" for c in "`${}\\\n\r\u2028\u2029"}
)


def safe_text(value: object) -> str:
    """``value`` as text for a map, safe in every context folium puts it in.

    Folium places tooltip and popup text in HTML, inside JavaScript template literals,
    and compiles its output as Jinja templates; a name such as ``X ${alert(1)}``, one
    with a backtick, ``</script>`` or ``{{ … }}`` would otherwise run in the browser or
    on the server. Each character that could end or change any of those contexts becomes
    a numeric character reference, which the browser shows as the character itself.

    Parameters
    ----------
    value : object
        Any value; it is shown as ``str(value)``.

    Returns
    -------
    str
        HTML text with no markup, quote, backtick, ``$``, brace, backslash or line end.
    """
    return str(value).translate(_CHARACTER_REFERENCES)


def base_map(
    location: tuple[float, float],
    zoom: int,
    mode: Assets,
    tiles: str | None,
    title: str = "Map",
) -> folium.Map:
    """A map with local (or inlined) Leaflet, a base layer (``tiles``: a folium tile
    name such as "OpenStreetMap", or None for none), a scale bar, the data attribution
    and ``title`` as its document's title (escaped by :func:`page`); the first press on
    it focuses it without scrolling the page that frames it."""
    fmap = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    fmap.options["maxZoom"] = 18  # marker clusters need it, even with no base tiles
    if tiles:
        folium.TileLayer(tiles, name=tiles, control=False).add_to(fmap)
    use_assets(fmap, (assets.LEAFLET, assets.JQUERY), mode, fmap)
    _figure(fmap).header.add_child(Element(STYLE), name="di_style")
    _figure(fmap).header.add_child(Element(THEME_STYLE), name="di_theme_style")
    _figure(fmap).html.add_child(Element(f'<div class="di-attribution">{safe_text(SHORT)}</div>'))
    _figure(fmap).title = title
    FocusWithoutScrolling().add_to(fmap)
    return fmap


class FocusWithoutScrolling(MacroElement):
    """Focus the map at the first press without scrolling the page around it.

    Leaflet focuses the map when it is first pressed, and focusing scrolls the page that
    frames the map to show all of it: the click then lands elsewhere on the map and the
    popup under the pointer does not open. Focusing first, with ``preventScroll``, leaves
    Leaflet nothing to do.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
(function (container) {
    container.addEventListener("pointerdown", function () {
        container.focus({preventScroll: true});
    });
})({{ this._parent.get_name() }}.getContainer());
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's is untyped


def add_layer_control(fmap: folium.Map) -> None:
    """The layer control, collapsed to its button in a page's frame and on a phone (the
    map stays visible) and open on a map that has a whole wide window (:data:`STYLE`)."""
    folium.LayerControl(collapsed=True).add_to(fmap)


def _figure(fmap: folium.Map) -> Figure:
    return cast(Figure, fmap.get_root())


def use_assets(
    element: Any, libraries: tuple[assets.Library, ...], mode: Assets, fmap: folium.Map
) -> None:
    """Point an element's scripts at the app's own copies, or inline them into ``fmap``'s
    page."""
    element.default_js, element.default_css = [], []
    for library in libraries:
        if mode == "served":
            js_links, css_links = assets.links(library)
            element.default_js += js_links
            element.default_css += css_links
            continue
        js, css = assets.inline(library)
        header = _figure(fmap).header
        header.add_child(Element(f"<style>{css}</style>"), name=f"{library.name}_css_inline")
        header.add_child(Element(f"<script>{js}</script>"), name=f"{library.name}_js_inline")


def add_legend(
    fmap: folium.Map,
    title: str,
    entries: Iterable[tuple[str, str] | tuple[str, str, str]],
    *,
    open_: bool = True,
) -> None:
    """A legend of swatches (``(colour, label)``) and dashed lines (``(colour, label,
    "line")``), open or folded (``open_``); on a phone it sits below the map."""
    rows = "".join(f"<div>{_swatch(*entry)}{safe_text(entry[1])}</div>" for entry in entries)
    _figure(fmap).html.add_child(
        Element(
            f'<details class="di-legend"{" open" if open_ else ""}>'
            f"<summary><b>{safe_text(title)}</b></summary>{rows}</details>"
        )
    )


def _swatch(colour: str, _label: str, kind: str = "box") -> str:
    # SVG: a fill or stroke attribute is not a style, so the policy need not allow one.
    shape = (
        f'<line x1="0" y1="6" x2="18" y2="6" stroke="{safe_text(colour)}" stroke-width="3"'
        f' stroke-dasharray="{SPO_DASHES.replace(" ", ",")}"/>'
        if kind == "line"
        else f'<rect width="12" height="12" fill="{safe_text(colour)}"/>'
    )
    width, wide = (18, " di-wide") if kind == "line" else (12, "")
    return (
        f'<svg class="di-swatch{wide}" width="{width}" viewBox="0 0 {width} 12"'
        f' aria-hidden="true">{shape}</svg>'
    )


def add_outline(fmap: folium.Map, outline: gpd.GeoDataFrame | None) -> None:
    """Draw a territory's boundary (EPSG:4326) on ``fmap`` and fit the map to it."""
    if outline is None or outline.empty:
        return
    folium.GeoJson(
        json.loads(outline[["geometry"]].to_json(drop_id=True)),
        name="Territory boundary",
        style_function=lambda _: {"color": "#0b0c0c", "weight": 2, "fill": False},
    ).add_to(fmap)
    west, south, east, north = outline.total_bounds
    fmap.fit_bounds([(south, west), (north, east)])


def gap_colours() -> cm.LinearColormap:
    return cm.LinearColormap(
        GAP_SCALE, vmin=0.0, vmax=0.8, caption="Gap index (need × missing reach)"
    )


def gap_entries() -> list[tuple[str, str]]:
    return [
        (GAP_SCALE[0], "gap 0 (well served)"),
        (GAP_SCALE[2], "gap 0.4"),
        (GAP_SCALE[4], "gap 0.8+ (high need, no reach)"),
    ]


def uk_map(
    summary: pd.DataFrame,
    outlines: gpd.GeoDataFrame,
    mode: Assets = "served",
    tiles: str | None = DEFAULT_TILES,
    *,
    include_all: bool = False,
) -> folium.Map:
    """The 45 territories coloured by gap index, with a second layer for the share of the
    most-deprived population within reach of an SPO-backed activity. ``include_all``:
    the summary counts every open activity, not only the trusted ones (the tooltips say
    which). Served (``mode``), a territory's popup links to its page in the app."""
    fmap = base_map(
        UK_CENTRE, UK_ZOOM, mode, tiles, f"Map: the {len(outlines)} territories by gap index"
    )
    data = outlines[["code", "geometry"]].merge(
        summary, left_on="code", right_on="territory_code", how="left"
    )
    colours = gap_colours()
    backed = cm.LinearColormap(["#f7fcf5", "#74c476", "#00441b"], vmin=0.0, vmax=1.0)
    tooltip = {
        "name": "Territory",
        "gap_index": "Gap index",
        "mean_reach": "Mean reach",
        "deprived_backed_share": "Most deprived within backed reach",
        "activities": "Open activities (all)" if include_all else "Trusted activities",
        "capacities_assumed": f"Of which reach assumed ({DEFAULT_CAPACITY:.0f} a year)",
    }
    fields, aliases = list(tooltip), list(tooltip.values())
    frame = data[["code", *fields, "geometry"]].copy()
    frame["name"] = frame["name"].map(safe_text, na_action="ignore")  # tooltips: HTML
    # ~10 m of precision is plenty at national zoom, and halves the page.
    frame["geometry"] = shapely.set_precision(frame.geometry.to_numpy(), 1e-4, mode="pointwise")
    frame[fields[1:4]] = frame[fields[1:4]].astype(float).round(3)
    frame[fields[4:]] = frame[fields[4:]].fillna(0).astype(int)
    if mode == "served":
        frame["page"] = [
            f'<a href="/territory/{safe_text(code)}" target="_top">'
            f"{safe_text(f'Open {name}’s page')}</a>"
            for code, name in zip(frame["code"], data["name"].fillna(frame["code"]), strict=True)
        ]
    layer = json.loads(frame.to_json(drop_id=True))
    layers = (
        ("Gap index by territory", "gap_index", colours, True),
        ("Most deprived within reach of a backed activity", "deprived_backed_share", backed, False),
    )
    for name, field, scale, show in layers:
        folium.GeoJson(
            layer,
            name=name,
            show=show,
            style_function=lambda f, field=field, scale=scale: {
                "fillColor": scale(f["properties"][field] or 0.0),
                "color": "#333",
                "weight": 1,
                "fillOpacity": 0.75,
            },
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
            popup=folium.GeoJsonPopup(fields=["page"], labels=False, localize=False)
            if mode == "served"
            else None,
            highlight_function=lambda _: {"weight": 3},
        ).add_to(fmap)
    if not tiles:
        add_place_names(fmap, territory_labels(outlines))
    add_legend(fmap, "Gap index", gap_entries())
    add_layer_control(fmap)
    return fmap


def _hex_layer(
    cells: pd.DataFrame,
    value: str,
    colours: cm.LinearColormap,
    name: str,
    describe: Callable[[Mapping[str, Any]], str],
    show: bool = True,
) -> folium.GeoJson | folium.FeatureGroup:
    """Hexagons coloured by ``value``, each with ``describe(cell)`` (plain words, escaped
    here) as its tooltip."""
    if cells.empty:  # nothing to draw, but the layer is still listed (and empty)
        return folium.FeatureGroup(name=name, show=show)
    # Columns, not rows: iterating rows would turn the int64 cells into floats.
    values = cells[value].astype(object).where(cells[value].notna(), None).tolist()
    labels = [safe_text(describe(cell)) for cell in cells.to_dict("records")]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [hexes.outline(int(cell))]},
            "properties": {value: values[i], "label": labels[i]},
        }
        for i, cell in enumerate(cells["cell"].to_numpy(dtype=np.int64))
    ]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        show=show,
        style_function=lambda f: {
            "fillColor": colours(f["properties"][value] or 0.0)
            if f["properties"][value] is not None
            else "#bbbbbb",
            "color": "#777",
            "weight": 0.3,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    )


def _share(value: Any) -> str:
    return f"{float(value):.2f}" if _known(value) else "not known"


def need_words(cell: Mapping[str, Any]) -> str:
    """A need hexagon in plain words ("Gap 0.85 (0 = fully served) · need 0.95 (1 = the
    most deprived tenth) · reach 0.09 (1 = the UK average or better) · 1,234 people in 3
    need areas"); ``cell`` carries ``gap_index``, ``need``, ``reach``, ``population`` and
    ``need_areas``."""
    areas = int(cell["need_areas"])
    return (
        f"Gap {_share(cell['gap_index'])} (0 = fully served) · "
        f"need {_share(cell['need'])} (1 = the most deprived tenth) · "
        f"reach {_share(cell['reach'])} (1 = the UK average or better) · "
        f"{int(cell['population']):,} people in {areas} need area{'' if areas == 1 else 's'}"
    )


def density_words(cell: Mapping[str, Any]) -> str:
    """A density hexagon in plain words ("12 activities in this area", or fewer than
    :data:`SMALL_COUNT`, not counted exactly); ``cell`` carries ``count``."""
    count = cell["count"]
    if not _known(count):
        return f"Fewer than {SMALL_COUNT} activities in this area (not counted exactly)"
    return f"{int(count):,} activit{'y' if int(count) == 1 else 'ies'} in this area"


def need_hexagons(areas: pd.DataFrame, resolution: int = NEED_RESOLUTION) -> pd.DataFrame:
    """Need areas gathered on H3 cells: population, population-weighted need, reach and
    gap index (need areas are points in the shared data, so hexagons draw them)."""
    frame = areas.assign(
        cell=hexes.cells(areas["lat"], areas["lon"], resolution),
        w_need=areas["need"] * areas["population"],
        w_reach=areas["reach"] * areas["population"],
    )
    grouped = frame.groupby("cell").agg(
        population=("population", "sum"),
        w_need=("w_need", "sum"),
        w_reach=("w_reach", "sum"),
        gap_people=("gap_people", "sum"),
        need_areas=("code", "size"),
    )
    people = grouped["population"].where(grouped["population"] > 0)
    grouped["need"] = (grouped["w_need"] / people).round(3)
    grouped["reach"] = (grouped["w_reach"] / people).round(3)
    grouped["gap_index"] = (grouped["gap_people"] / people).round(3)
    grouped["population"] = grouped["population"].astype(int)
    return grouped.drop(columns=["w_need", "w_reach", "gap_people"]).reset_index()


def _square(location: tuple[float, float], size: int, name: str) -> folium.Marker:
    """A supplier site: a white square (a plain Leaflet DivIcon, no plugin needed), with
    ``name`` as its tooltip and, for screen readers and keyboards, its accessible name."""
    icon = folium.DivIcon(
        icon_size=(size, size),
        icon_anchor=(size // 2, size // 2),
        class_name="di-site",
        html=f'<span class="di-hidden">{safe_text(name)}</span>',
    )
    return folium.Marker(location=location, icon=icon, tooltip=safe_text(name))


def _popup(*lines: str) -> folium.Popup:
    """A popup of already escaped lines (no style attribute, unlike folium's own HTML)."""
    return folium.Popup(Element(f"<div>{'<br>'.join(lines)}</div>"), max_width=320)


def _themes(value: Any) -> list[str]:
    """An activity's themes as a list (they come as arrays, lists or missing)."""
    return [str(t) for t in value] if isinstance(value, list | tuple | np.ndarray) else []


def _theme_colour(value: Any) -> str:
    themes = _themes(value)
    return THEME_COLOURS.get(themes[0], UNTHEMED) if themes else UNTHEMED


def money(value: Any) -> str:
    """An amount of pounds to the pound ("£999,999", "£12,345,678"), or "not known".

    Parameters
    ----------
    value : object
        A number of pounds, or None or NaN when it is not known.

    Returns
    -------
    str
        The amount with a pound sign and thousands separators.
    """
    return "not known" if value is None or pd.isna(value) else f"£{float(value):,.0f}"


def _known(value: Any) -> bool:
    return value is not None and not (np.isscalar(value) and pd.isna(value))


def _evidence_level(record: Mapping[str, Any]) -> int | None:
    """The Nesta Standards of Evidence level (1-5) a verifier recorded, if any."""
    level: Any = record.get("evidence_level")
    return int(level) if _known(level) else None


def verification_words(record: Mapping[str, Any]) -> str:
    """Where an activity stands on the verification ladder, in plain words ("verified
    by a community team (evidence level 3 of 5)"); ``record`` carries ``verification``
    and ``evidence_level`` (missing: "listed")."""
    state = record.get("verification")
    level = _evidence_level(record)
    if state == "verified":
        evidence = f" (evidence level {level} of 5)" if level is not None else ""
        return f"verified by a community team{evidence}"
    return VERIFICATION_WORDS.get(str(state), VERIFICATION_WORDS["listed"])


def eligibility_words(record: Mapping[str, Any]) -> str:
    """Whether an activity is an eligible dual-impact activity, in plain words with its
    categories or the reason it is not ("eligible: Youth diversion"); ``record`` carries
    ``eligibility``, ``eligibility_categories`` and ``eligibility_reason``."""
    eligibility = record.get("eligibility")
    if eligibility == "eligible":
        categories = _themes(record.get("eligibility_categories"))
        labels = ", ".join(CATEGORY_LABELS.get(c, c) for c in categories)
        return f"eligible: {labels}" if labels else "eligible"
    if eligibility == "ineligible":
        reason = record.get("eligibility_reason")
        return f"not eligible: {reason}" if _known(reason) and reason else "not eligible"
    return "not yet reviewed (eligibility unknown)"


def location_words(record: Mapping[str, Any]) -> str:
    """What an activity's point on a map is: a delivery site or, labelled as such, its
    registered office (where it delivers is not known); ``record`` carries ``located_at``
    (missing: a place of delivery)."""
    return LOCATION_WORDS.get(str(record.get("located_at")), LOCATION_WORDS["delivery"])


def trust_lines(record: Mapping[str, Any]) -> list[str]:
    """An activity's verification, eligibility and location as escaped popup lines."""
    return [
        f"Verification: {safe_text(verification_words(record))}",
        f"Eligibility: {safe_text(eligibility_words(record))}",
        f"Shown at: {safe_text(location_words(record))}",
    ]


def trust_label(record: Mapping[str, Any]) -> str:
    """A short tooltip suffix: the verification state, and "registered office" where the
    point is one ("verified, level 3 · registered office")."""
    state = str(record.get("verification") or "listed")
    level = _evidence_level(record)
    if state == "verified" and level is not None:
        state = f"verified, level {level}"
    if record.get("eligibility") != "eligible":
        state += ", not eligible" if record.get("eligibility") == "ineligible" else ", unreviewed"
    if record.get("located_at") == "registered_office":
        state += " · registered office"
    return state


def _activity_popup(row: Mapping[str, Any]) -> folium.Popup:
    themes = ", ".join(LABELS.get(t, t) for t in _themes(row["themes"]))
    status = (
        f"at risk, closing {row['closing_date']}" if row["status"] == "at_risk" else row["status"]
    )
    return _popup(
        f"<b>{safe_text(row['name'])}</b>",
        safe_text(row.get("provider_name") or ""),
        *trust_lines(row),
        f"Themes: {safe_text(themes or 'not classified')}",
        f"Status: {safe_text(status)}",
        f"Funding gap: {safe_text(money(row.get('funding_gap')))}",
        f"Backed by an awarded SPO: {'yes' if row.get('backed') else 'no'}",
    )


def add_activities(fmap: folium.Map, activities: pd.DataFrame, mode: Assets) -> None:
    """Open activities, clustered, coloured by theme (faded when not trusted: not eligible
    or lapsed), each saying how far it is verified; safeguarded ones as their H3 cell."""
    safe = activities["safeguarding"].fillna(False).astype(bool)
    cluster = MarkerCluster(name="Activities (by theme)", icon_create_function=CLUSTER_ICON)
    use_assets(cluster, (assets.MARKERCLUSTER,), mode, fmap)
    for row in activities[~safe].to_dict("records"):
        folium.CircleMarker(
            location=(row["lat"], row["lon"]),
            radius=7,
            color=_theme_colour(row["themes"]),
            fill=True,
            fill_opacity=0.85 if row.get("trusted", True) else UNTRUSTED_OPACITY,
            weight=2 if row["status"] == "at_risk" else 1,
            popup=_activity_popup(row),
            tooltip=safe_text(f"{row['name']} ({trust_label(row)})"),
        ).add_to(cluster)
    cluster.add_to(fmap)
    if safe.any():
        group = folium.FeatureGroup(name="Safeguarded services (area only)")
        cells = hexes.cells(
            activities.loc[safe, "lat"], activities.loc[safe, "lon"], SAFEGUARDED_RESOLUTION
        )
        for cell, count in zip(*np.unique(cells, return_counts=True), strict=True):
            folium.Polygon(
                locations=[(lat, lon) for lon, lat in hexes.outline(int(cell))],
                color="#6a3d9a",
                fill=True,
                fill_opacity=0.3,
                tooltip=safe_text(
                    f"{count} safeguarded service(s) in this area: exact places withheld"
                    if count >= SMALL_COUNT
                    else "Safeguarded service(s) in this area: exact places withheld"
                ),
            ).add_to(group)
        group.add_to(fmap)


def territory_map(
    areas: pd.DataFrame,
    activities: pd.DataFrame,
    sites: pd.DataFrame,
    links: pd.DataFrame,
    outline: gpd.GeoDataFrame | None = None,
    mode: Assets = "served",
    tiles: str | None = DEFAULT_TILES,
    shapes: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """One territory: need and gap by small area (the need areas' ``shapes`` where they
    have one, hexagons elsewhere), activities, supplier sites, activity density, and the
    awarded SPOs' links from supplier sites to the activities they back (titled with the
    ``outline``'s name, when it has one). Areas are always drawn beneath the points, and
    with no base ``tiles`` the map names its territory and local authorities."""
    centre = (float(areas["lat"].mean()), float(areas["lon"].mean()))
    names = outline["name"] if outline is not None and "name" in outline else pd.Series()
    place = str(names.iloc[0]) if len(names) else "one territory"
    fmap = base_map(centre, 9, mode, tiles, f"Map: {place} — need, activities and awarded SPOs")
    add_outline(fmap, outline)
    drawn = shapes if shapes is not None else gpd.GeoDataFrame(columns=["area_code", "geometry"])
    polygons = area_polygons(areas, drawn)
    below: list[folium.GeoJson | folium.FeatureGroup] = [] if polygons is None else [polygons]
    cells = need_hexagons(areas[~areas["code"].isin(drawn["area_code"])])
    if not cells.empty or not below:  # no empty hexagon layer when every area has a shape
        below.append(
            _hex_layer(
                cells, "gap_index", gap_colours(), "Gap index (need areas on hexagons)", need_words
            )
        )
    for layer in below:
        layer.add_to(fmap)
    add_activities(fmap, activities, mode)
    group = folium.FeatureGroup(name="Supplier sites", show=True)
    for _, site in sites.iterrows():
        _square((site["lat"], site["lon"]), 10, f"{site['supplier']}: {site['site']}").add_to(group)
    group.add_to(fmap)
    counts = suppress(density(activities, DENSITY_RESOLUTION))
    top = max(float(pd.to_numeric(counts["count"], errors="coerce").max() or 1.0), 1.0)
    density_layer = _hex_layer(
        counts,
        "count",
        cm.LinearColormap(["#deebf7", "#3182bd", "#08306b"], vmin=0, vmax=top),
        "Activity density (H3; fewer than 3 not shown)",
        density_words,
        show=False,
    )
    density_layer.add_to(fmap)
    add_links(fmap, links)
    KeepAreasBelow([*below, density_layer]).add_to(fmap)
    if not tiles:
        add_place_names(fmap, territory_places(areas, outline))
    untrusted = "trusted" in activities and not activities["trusted"].fillna(False).all()
    add_legend(
        fmap,
        "Map key",
        [
            *((c, LABELS[t]) for t, c in THEME_COLOURS.items() if t in _themes_in(activities)),
            (UNTHEMED, "not classified"),
            *([("#dddddd", "faded: not trusted (not eligible, or lapsed)")] if untrusted else []),
            *CLUSTER_COLOURS,
            ("#ffffff", "□ supplier site"),
            (SPO_COLOUR, "awarded SPO (dashed line: supplier site → activity)", "line"),
            *gap_entries(),
        ],
        open_=False,
    )
    add_layer_control(fmap)
    return fmap


def area_words(area: Mapping[str, Any]) -> str:
    """A need area in plain words ("Oxford 008A: gap 0.85 (0 = fully served) · need 0.95
    (1 = the most deprived tenth) · reach 0.09 (1 = the UK average or better) · 1,234
    people"); ``area`` carries ``name``, ``gap``, ``need``, ``reach`` and ``population``."""
    return (
        f"{area['name']}: gap {_share(area['gap'])} (0 = fully served) · "
        f"need {_share(area['need'])} (1 = the most deprived tenth) · "
        f"reach {_share(area['reach'])} (1 = the UK average or better) · "
        f"{int(area['population']):,} people"
    )


def area_polygons(areas: pd.DataFrame, shapes: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """The need areas that have a shape, coloured by gap, each with :func:`area_words` as
    its tooltip; None when none has one."""
    drawn = shapes[["area_code", "geometry"]].merge(
        areas, left_on="area_code", right_on="code", how="inner"
    )
    if drawn.empty:
        return None
    frame = gpd.GeoDataFrame(
        {
            "gap_index": drawn["gap"].astype(float).round(3),
            "label": [safe_text(area_words(a)) for a in drawn.to_dict("records")],
        },
        geometry=shapely.set_precision(drawn.geometry.to_numpy(), 1e-4, mode="pointwise"),
        crs="EPSG:4326",
    )
    colours = gap_colours()
    return folium.GeoJson(
        json.loads(frame.to_json(drop_id=True)),
        name="Gap index by need area (small areas)",
        style_function=lambda f: {
            "fillColor": colours(f["properties"]["gap_index"] or 0.0),
            "color": "#777",
            "weight": 0.3,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    )


class KeepAreasBelow(MacroElement):
    """Keep the area layers (polygons, hexagons) beneath the points and lines whenever one
    is switched on or the clusters redraw, so a marker over an area is the one clicked."""

    _template = Template(
        """{% macro script(this, kwargs) %}
(function (map, areas) {
    function lower() {
        areas.forEach(function (layer) { if (map.hasLayer(layer)) layer.bringToBack(); });
    }
    map.on("overlayadd zoomend", lower);
    lower();
})({{ this._parent.get_name() }}, [{{ this.layers }}]);
{% endmacro %}"""
    )

    def __init__(self, layers: Iterable[folium.GeoJson | folium.FeatureGroup]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's is untyped
        self.layers = ", ".join(
            layer.get_name() for layer in layers if isinstance(layer, folium.GeoJson)
        )


LSOA_NAME = re.compile(r"^(?P<authority>.+) \d{3}[A-Z]$")  # "Oxford 008A": Oxford


def territory_places(areas: pd.DataFrame, outline: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Names to read a territory's map by without base tiles: the territory's
    (:func:`territory_labels`) and its local authorities' (:func:`authority_labels`)."""
    labels = [authority_labels(areas)]
    if outline is not None and not outline.empty and "name" in outline:
        labels.insert(0, territory_labels(outline))
    return pd.concat(labels, ignore_index=True)


def territory_labels(outlines: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each territory's name at a point inside it (``name``, ``lat``, ``lon`` in degrees,
    ``major`` true)."""
    inside = outlines.geometry.representative_point()
    return pd.DataFrame(
        {"name": outlines["name"].to_numpy(), "lat": inside.y.to_numpy(),
         "lon": inside.x.to_numpy(), "major": True}
    )  # fmt: skip


def authority_labels(areas: pd.DataFrame) -> pd.DataFrame:
    """Each local authority's name at the median point of its need areas, for England and
    Wales, whose need areas are named after their authority ("Oxford 008A"); ``areas``
    carries ``name``, ``lat`` and ``lon`` (degrees)."""
    authority = authority_names(areas["name"])
    return (
        areas.assign(authority=authority)
        .dropna(subset=["authority"])
        .groupby("authority")[["lat", "lon"]]
        .median()
        .reset_index()
        .rename(columns={"authority": "name"})
        .assign(major=False)
    )


def authority_names(names: pd.Series) -> pd.Series:
    """The local authority an England or Wales need area is named after ("Oxford" for
    "Oxford 008A"); missing for the others (Scotland's and Northern Ireland's)."""
    return names.astype(str).str.extract(LSOA_NAME)["authority"]


def add_place_names(fmap: folium.Map, places: pd.DataFrame) -> None:
    """A light reference layer of place names (``name``, ``lat``, ``lon``, ``major``):
    text only, not clickable and out of the keyboard's way."""
    group = folium.FeatureGroup(name="Place names")
    for place in places.to_dict("records"):
        size = (160, 18)
        folium.Marker(
            location=(place["lat"], place["lon"]),
            icon=folium.DivIcon(
                html=safe_text(place["name"]),
                icon_size=size,
                icon_anchor=(size[0] // 2, size[1] // 2),
                class_name="di-place di-major" if place["major"] else "di-place",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(group)
    group.add_to(fmap)


def _themes_in(activities: pd.DataFrame) -> set[str]:
    return {themes[0] for themes in map(_themes, activities["themes"]) if themes}


def add_links(fmap: folium.Map, links: pd.DataFrame) -> None:
    """Awarded SPOs as lines from the supplier's nearest site to each activity backed
    (to the centre of the activity's H3 cell when it is safeguarded)."""
    group = folium.FeatureGroup(name="Awarded SPOs (site → activity)")
    for _, link in links.dropna(subset=["site_lat"]).iterrows():
        end = (link["lat"], link["lon"])
        name = str(link["activity"])
        if link["safeguarding"]:
            cell = hexes.cells([link["lat"]], [link["lon"]], SAFEGUARDED_RESOLUTION)[0]
            lat, lon = hexes.centres([cell])
            end, name = (float(lat[0]), float(lon[0])), "a safeguarded service"
        folium.PolyLine(
            [(link["site_lat"], link["site_lon"]), end],
            color=SPO_COLOUR,
            dash_array=SPO_DASHES,
            weight=3,
            opacity=0.9,
            tooltip=safe_text(f"{link['supplier']} → {name}: {money(link['value_gbp'])} committed"),
        ).add_to(group)
    group.add_to(fmap)


def finder_map(
    origin: tuple[float, float, str],
    ranked: pd.DataFrame,
    mode: Assets = "served",
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """A supplier's site and the ranked activities near it, each numbered as in the list
    beside the map and coloured by its theme (safeguarded ones: no point, but their
    number is kept so the others still match the list)."""
    fmap = base_map(
        (origin[0], origin[1]), 12, mode, tiles, f"Map: activities recommended near {origin[2]}"
    )
    _square((origin[0], origin[1]), 14, f"Your site: {origin[2]}").add_to(fmap)
    group = folium.FeatureGroup(name="Recommended activities")
    for rank, row in enumerate(ranked.to_dict("records"), start=1):
        if pd.isna(row["lat"]):
            continue
        name = f"{rank}. {row['name']}"
        folium.Marker(
            location=(row["lat"], row["lon"]),
            icon=folium.DivIcon(
                html=f'<span aria-hidden="true">{rank}</span>'
                f'<span class="di-hidden">{safe_text(name)}</span>',
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name=f"di-num di-t{_theme_index(row['themes'])}",
            ),
            tooltip=safe_text(f"{name} (score {row['total']:.2f}; {trust_label(row)})"),
            popup=_popup(
                f"<b>{safe_text(name)}</b>",
                safe_text(row["reason"]),
                *trust_lines(row),
            ),
        ).add_to(group)
    group.add_to(fmap)
    add_legend(
        fmap,
        "Supplier finder",
        [
            ("#ffffff", "□ your site"),
            ("#ffffff", "numbers: the activity's place in the list beside the map"),
            *((c, LABELS[t]) for t, c in THEME_COLOURS.items() if t in _themes_in(ranked)),
            *([(UNTHEMED, "not classified")] if _unthemed(ranked) else []),
        ],
    )
    add_layer_control(fmap)
    return fmap


def _theme_index(value: Any) -> int:
    """The position of an activity's first theme in :data:`PALETTE` (its colour class);
    one past the end when it has none."""
    themes = _themes(value)
    order = list(THEME_COLOURS)
    return order.index(themes[0]) if themes and themes[0] in order else len(order)


def _unthemed(activities: pd.DataFrame) -> bool:
    return any(not _themes(themes) for themes in activities["themes"])


@dataclass(frozen=True)
class MapPage:
    """A map as one HTML document, with the Content-Security-Policy sources its inline
    scripts and style elements need (``'sha256-…'``, one per distinct element)."""

    html: str
    scripts: tuple[str, ...]
    styles: tuple[str, ...]


DOCUMENT = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<title>{title}</title>
{header}
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""


class _InlineBlocks(HTMLParser):
    """The text of each inline ``<script>`` and ``<style>`` element of trusted markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.blocks and "src" not in dict(attrs):
            self._open, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self.blocks[tag].append("".join(self._text))
            self._open = None


def csp_hash(block: str) -> str:
    """The Content-Security-Policy source (``'sha256-…'``) that allows one inline block."""
    digest = hashlib.sha256(block.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _lines(markup: str) -> str:
    """Line ends as the browser reads them (it hashes what it has normalised)."""
    return re.sub(r"\r\n?", "\n", markup)


def page(fmap: folium.Map) -> MapPage:
    """The map as a whole HTML document (titled, in British English, zoomable with two
    fingers), and the hashes that let its own inline scripts and styles run under a
    strict Content-Security-Policy.

    The hashes are taken from what this module and folium generate (the head, which holds
    no name, and the map's script), never from the finished page: markup that a name
    smuggled in would match none of them.

    Parameters
    ----------
    fmap : folium.Map
        A map drawn by this module.

    Returns
    -------
    MapPage
        The document and the ``'sha256-…'`` sources of its inline scripts and styles.
    """
    fmap.render()  # fills the figure's head, body and script
    figure = _figure(fmap)
    header = _FOLIUM_VIEWPORT.sub(VIEWPORT, _lines(figure.header.render()))
    script = _lines(figure.script.render())
    inline = _InlineBlocks()
    inline.feed(header)
    inline.close()
    scripts = [*inline.blocks["script"], script]
    return MapPage(
        html=DOCUMENT.format(
            title=safe_text(figure.title or "Map"),
            header=header,
            body=figure.html.render(),
            script=script,
        ),
        scripts=tuple(dict.fromkeys(map(csp_hash, scripts))),
        styles=tuple(dict.fromkeys(map(csp_hash, inline.blocks["style"]))),
    )


def html_page(fmap: folium.Map) -> str:
    """The map as a whole HTML document (see :func:`page`)."""
    return page(fmap).html


def tile_origin(tiles: str | None) -> str | None:
    """The origin a base layer's tiles come from (``https://*.example.org`` when the
    layer picks a subdomain), for a Content-Security-Policy; None for no base layer.

    Parameters
    ----------
    tiles : str or None
        A folium tile name such as "OpenStreetMap", a tile URL template, or None.
    """
    if not tiles:
        return None
    parts = urlsplit(str(folium.TileLayer(tiles).tiles))
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"
