"""The Python API for GIS analysts: everything the notebooks use, as (Geo)DataFrames.

Every function reads through the same domain code as the web app and the CLI, so numbers
agree everywhere; public data only (safeguarded activities have no point, bids before
award are never read). Typical use::

    from maps import analyst
    engine = analyst.connect()
    found = analyst.coverage(engine)
    analyst.underserved(found, "E23000029", top=20)

Points come in as GeoDataFrames (geometry in any CRS, converted to EPSG:4326) or as plain
frames with ``lat``/``lon`` columns; results with a place are GeoDataFrames in EPSG:4326.
H3 cells leave as hexadecimal strings in an ``h3`` column (``"87195da49ffffff"``, as GIS
tools name them); the int64 cells stay inside (:mod:`geo.hexes`). Maps are self-contained
(Leaflet inlined), so they draw in a notebook with no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon
from sqlalchemy import Engine

from boundaries import repository
from geo import hexes
from geo.attribution import SHORT
from geo.crs import to_bng
from geo.db import make_engine
from geo.errors import InvalidInputError
from geo.settings import get_settings
from maps import density as density_module
from maps import queries, render, report
from maps.report import CoverageReport
from matching import impact, valueset
from matching import queries as matching_queries
from matching.batch import recommend_batch
from matching.need import NeedIndex, served_need
from matching.profiles import WeightProfile
from matching.recommend import RESULT_COLUMNS
from matching.score import explain, score
from procurement.reporting import awarded_commitments
from registry import privacy
from registry import queries as registry_queries

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WGS84 = "EPSG:4326"
SPOT_COLOURS = {"hot": "#d7301f", "cold": "#2b8cbe", "": "#cccccc"}
SPOT_WORDS = {
    "hot": "a hot spot (more activities than chance would give, p < 0.05)",
    "cold": "a cold spot (fewer activities than chance would give, p < 0.05)",
    "": "no significant cluster",
}


def connect(url: str | None = None) -> Engine:
    """The platform's database (``DATABASE_URL``, or the project's own cluster)."""
    return make_engine(url or get_settings().sqlalchemy_url)


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    )


def located(points: pd.DataFrame) -> pd.DataFrame:
    """``points`` with ``lat``/``lon`` columns (degrees, EPSG:4326).

    A GeoDataFrame's geometry decides, in whatever CRS it has (converted to EPSG:4326; a
    line or polygon counts at its representative point; an empty or missing geometry
    gives no place, NaN). A plain frame must already have ``lat`` and ``lon``.

    Raises
    ------
    InvalidInputError
        When the geometry has no CRS, or there is neither a geometry nor lat/lon columns.
    """
    if isinstance(points, gpd.GeoDataFrame) and points.geometry.name in points.columns:
        if points.crs is None:
            raise InvalidInputError(
                "the GeoDataFrame's geometry has no CRS, so its places cannot be read: "
                "set the one it is in, e.g. frame.set_crs('EPSG:27700')"
            )
        shapes = points.geometry
        kinds = shapes.geom_type
        other = kinds.notna() & (kinds != "Point")
        if other.any():
            shapes = shapes.where(~other, shapes[other].representative_point())
        wgs84 = shapes.to_crs(WGS84).to_numpy()
        known = ~(shapely.is_missing(wgs84) | shapely.is_empty(wgs84))
        lat, lon = np.full(len(wgs84), np.nan), np.full(len(wgs84), np.nan)
        lat[known], lon[known] = shapely.get_y(wgs84[known]), shapely.get_x(wgs84[known])
        return pd.DataFrame(points.drop(columns=points.geometry.name)).assign(lat=lat, lon=lon)
    if not {"lat", "lon"} <= set(points.columns):
        raise InvalidInputError(
            "points need a place: a GeoDataFrame with a geometry (and its CRS) or "
            f"'lat' and 'lon' columns in degrees (got columns {list(points.columns)})"
        )
    return points


def territories(engine: Engine) -> gpd.GeoDataFrame:
    """The 45 territories with their overview figures (population, need areas, share in the
    UK's most-deprived 20 %), boundaries in EPSG:4326."""
    with engine.connect() as conn:
        shapes = repository.territories(conn)
        overview = repository.territories_overview(conn)
    return shapes[["code", "geometry"]].merge(overview, on="code")


def activities(
    engine: Engine, territory: str | None = None, *, include_all: bool = False
) -> gpd.GeoDataFrame:
    """Activities as points, the trusted ones (eligible, not lapsed) or all with
    ``include_all``, each with its eligibility and verification; safeguarded ones keep
    their row but lose their point."""
    with engine.connect() as conn:
        frame = registry_queries.activities(conn, territory, include_all=include_all)
    return _points(privacy.redact(pd.DataFrame(frame.drop(columns="geom"))))


def supplier_sites(engine: Engine, territory: str | None = None) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return _points(queries.supplier_sites(conn, territory))


def coverage(engine: Engine, *, include_all: bool = False) -> CoverageReport:
    """National coverage (2SFCA reach, gap index) for every need area, about a second,
    from the trusted activities (or every open one with ``include_all``)."""
    with engine.connect() as conn:
        return report.build(conn, include_all=include_all)


def coverage_areas(found: CoverageReport, territory: str | None = None) -> gpd.GeoDataFrame:
    """Need areas (points) with access, reach, need, gap and gap people, worst first."""
    return _points(report.area_table(found, territory))


def territory_summary(found: CoverageReport) -> pd.DataFrame:
    """One row per territory: reach, gap index, backed reach, SPO value per head."""
    return found.summary[report.SUMMARY_COLUMNS].sort_values("gap_index", ascending=False)


def underserved(found: CoverageReport, territory: str, top: int = 20) -> gpd.GeoDataFrame:
    """A territory's need areas with most need-weighted people out of reach."""
    report.known_territory(found, territory)
    return coverage_areas(found, territory).head(top)


def what_if(
    found: CoverageReport, territory: str, *, budget_gbp: float = 10_000.0, hours: float = 0.0
) -> pd.DataFrame:
    """Where the next ``budget_gbp`` and/or ``hours`` would close most of the gap."""
    return report.what_if_table(found, territory, budget_gbp=budget_gbp, hours=hours)


def hexagons(counts: pd.DataFrame) -> gpd.GeoDataFrame:
    """Rows keyed by an int64 H3 ``cell`` as hexagon polygons (EPSG:4326), the cell
    named by its hexadecimal ``h3`` string instead."""
    cells = counts["cell"].to_numpy(np.int64)
    shapes = [Polygon(hexes.outline(int(c))) for c in cells]
    named = counts.drop(columns="cell")
    named.insert(0, "h3", hexes.labels(cells))
    return gpd.GeoDataFrame(named, geometry=shapes, crs=WGS84)


def density(points: pd.DataFrame, resolution: int, sums: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Points (a GeoDataFrame in any CRS, or ``lat``/``lon`` columns) counted per H3 cell
    at ``resolution`` (6-9), as hexagons with the cell's ``h3`` name, ``count`` and the
    sum of each column in ``sums``."""
    return hexagons(density_module.density(located(points), resolution, tuple(sums)))


def hot_spots(counts: pd.DataFrame, column: str = "count") -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots on H3 cells (``h3`` names, as :func:`density`
    gives them), as hexagons."""
    if "h3" not in counts.columns:
        raise InvalidInputError(
            f"counts need an 'h3' column of H3 cell names (got columns {list(counts.columns)})"
        )
    cells = pd.DataFrame({"cell": hexes.from_labels(counts["h3"]), column: counts[column]})
    return hexagons(density_module.hot_spots(cells, column))


def hot_spot_map(spots: pd.DataFrame, tiles: str | None = render.DEFAULT_TILES) -> folium.Map:
    """The UK with the cells of :func:`hot_spots` that hold activities, coloured hot,
    cold or neither, each described in words; self-contained (Leaflet inlined), so it
    draws with no network (``tiles``: a base layer, or None for none)."""
    fmap = render.base_map(
        render.UK_CENTRE, render.UK_ZOOM, "inline", tiles, "Map: hot spots of activities"
    )
    shown = spots[spots["count"] > 0]
    if not shown.empty:
        west, south, east, north = shown.total_bounds
        fmap.fit_bounds([(south, west), (north, east)])
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [hexes.outline(int(cell))]},
            "properties": {
                "spot": spot,
                "label": render.safe_text(
                    f"{int(count):,} activit{'y' if count == 1 else 'ies'} in this hexagon: "
                    f"{SPOT_WORDS[spot]} (z = {z:.2f})"
                ),
            },
        }
        for cell, spot, count, z in zip(
            hexes.from_labels(shown["h3"]), shown["spot"], shown["count"], shown["z"], strict=True
        )
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="Hot spots of activities (Getis-Ord Gi*)",
        style_function=lambda f: {
            "fillColor": SPOT_COLOURS[f["properties"]["spot"]],
            "color": "#777",
            "weight": 0.3,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)
    render.add_legend(
        fmap,
        "Activity clusters",
        [(SPOT_COLOURS[s], words) for s, words in SPOT_WORDS.items()],
    )
    render.add_layer_control(fmap)
    return fmap


def caption(figure: Figure, text: str = "") -> Figure:
    """Put ``text`` and the data attribution under a chart, as its caption."""
    words = f"{text}\n{SHORT}" if text else SHORT
    figure.text(0.0, -0.02, words, ha="left", va="top", fontsize=7, wrap=True)
    return figure


def recommend_for_sites(
    engine: Engine,
    sites: pd.DataFrame,
    territory: str,
    profile: WeightProfile | None = None,
    *,
    outcomes: Sequence[str] = (),
    top: int = 5,
    include_all: bool = False,
) -> gpd.GeoDataFrame:
    """Top trusted activities of ``territory`` (``include_all``: every listed one) for
    every site with a weight profile (default: the territory's), so that profiles can be
    compared. The same ranking rule as the API's recommendations (:mod:`matching.batch`).

    Parameters
    ----------
    sites : DataFrame
        One row per site with a ``site_id`` (and optionally a ``site`` name) and its place:
        a GeoDataFrame's geometry in any CRS, or ``lat``/``lon`` columns (degrees).

    Returns
    -------
    GeoDataFrame
        One row per (``site_id``, ``rank``): the activity, ``distance_m`` (metres), every
        score component, ``total``, the ``reason`` in words, its trust, and its point
        (EPSG:4326). A safeguarded activity has no point, and its distance (and what is
        scored from it) is banded to whole kilometres.

    Raises
    ------
    InvalidInputError
        When a site has no ``site_id`` or no place.
    """
    placed = located(sites)
    if "site_id" not in placed.columns:
        raise InvalidInputError(f"sites need a 'site_id' column (got {list(placed.columns)})")
    unplaced = placed.loc[placed[["lat", "lon"]].isna().any(axis=1), "site_id"]
    if not unplaced.empty:
        raise InvalidInputError(f"sites with no place: {unplaced.tolist()}")
    with engine.connect() as conn:
        chosen = profile or matching_queries.profile_for(conn, territory)
        candidates = matching_queries.territory_activities(conn, territory, include_all=include_all)
        need = NeedIndex.from_frame(repository.need_areas(conn))
    candidates = candidates.join(served_need(candidates, need, chosen.default_service_radius_m))
    candidates["x"], candidates["y"] = to_bng(candidates["lon"], candidates["lat"])
    x, y = to_bng(placed["lon"], placed["lat"])
    ranked = recommend_batch(
        placed.assign(x=x, y=y), candidates, chosen, outcomes=outcomes, top=top
    )
    names = placed["site"] if "site" in placed.columns else "site " + placed["site_id"].astype(str)
    origins = dict(zip(placed["site_id"], names, strict=True))
    pairs = ranked[["site_id", "activity_id", "distance_m"]].merge(
        candidates.drop(columns=["origin", "distance_m", "x", "y", "service_area"]),
        on="activity_id",
    )
    pairs["origin"] = pairs["site_id"].map(origins)
    scored = score(privacy.redact(pairs), chosen, outcomes)  # scored from banded distances
    scored["reason"] = [explain(row, outcomes) for _, row in scored.iterrows()]
    scored = scored.sort_values(
        ["site_id", "total", "distance_m", "activity_id"], ascending=[True, False, True, True]
    )
    scored["rank"] = scored.groupby("site_id").cumcount() + 1
    columns = ["site_id", "rank", *(c for c in RESULT_COLUMNS if c not in ("lat", "lon"))]
    return _points(scored[[*columns, "lat", "lon"]].reset_index(drop=True)).assign(
        profile=chosen.name
    )


def awarded_activities(engine: Engine, territory: str) -> pd.DataFrame:
    """The activities that awarded SPOs back in a territory, with what each SPO commits."""
    with engine.connect() as conn:
        return awarded_commitments(conn, territory)


def secondary_impact(activities_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Avoided frontline cost a year by agency group (low/central/high £), and the value
    set's assumptions, for activities (``activity_id``, ``name``, ``themes``,
    ``people_reached_per_year``)."""
    value_set = valueset.open_value_set(get_settings().require_data_dir())
    rows = []
    for record in activities_frame.to_dict("records"):
        facts = impact.ActivityFacts(
            activity_id=int(record["activity_id"]),
            name=str(record["name"]),
            themes=list(record["themes"]),
            people_reached_per_year=record["people_reached_per_year"],
        )
        estimate = impact.estimate(facts, value_set)
        rows += [
            {"activity_id": facts.activity_id, "name": facts.name, "agency_group": group,
             "low_gbp": band.low, "central_gbp": band.central, "high_gbp": band.high}
            for group, band in estimate.by_agency.items()
        ]  # fmt: skip
    columns = ["activity_id", "name", "agency_group", "low_gbp", "central_gbp", "high_gbp"]
    return pd.DataFrame(rows, columns=columns), value_set.assumptions


def territory_map(
    engine: Engine, found: CoverageReport, territory: str, tiles: str | None = "OpenStreetMap"
) -> folium.Map:
    """The web app's territory map, self-contained (Leaflet inlined) for a notebook."""
    with engine.connect() as conn:
        return report.territory_map(conn, found, territory, mode="inline", tiles=tiles)
