"""The Python API for GIS analysts: everything the notebooks use, as (Geo)DataFrames.

Every function reads through the same domain code as the web app and the CLI, so numbers
agree everywhere; public data only (safeguarded activities have no point, bids before
award are never read). Typical use::

    from maps import analyst
    engine = analyst.connect()
    found = analyst.coverage(engine)
    analyst.underserved(found, "E23000029", top=20)
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon
from sqlalchemy import Engine

from boundaries import repository
from geo import hexes
from geo.crs import to_bng
from geo.db import make_engine
from geo.settings import get_settings
from maps import density as density_module
from maps import queries, report
from maps.report import CoverageReport
from matching import impact, valueset
from matching import queries as matching_queries
from matching.batch import recommend_batch
from matching.need import NeedIndex
from matching.profiles import WeightProfile
from matching.recommend import served_need
from procurement.reporting import awarded_commitments
from registry import privacy
from registry import queries as registry_queries

WGS84 = "EPSG:4326"


def connect(url: str | None = None) -> Engine:
    """The platform's database (``DATABASE_URL``, or the project's own cluster)."""
    return make_engine(url or get_settings().sqlalchemy_url)


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    )


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
    """Rows keyed by an int64 H3 ``cell`` as hexagon polygons (EPSG:4326)."""
    shapes = [Polygon(hexes.outline(int(c))) for c in counts["cell"].to_numpy(np.int64)]
    return gpd.GeoDataFrame(counts, geometry=shapes, crs=WGS84)


def density(points: pd.DataFrame, resolution: int, sums: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Points (``lat``/``lon`` columns) counted per H3 cell, as hexagons."""
    return hexagons(density_module.density(points, resolution, tuple(sums)))


def hot_spots(counts: pd.DataFrame, column: str = "count") -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots on H3 cells, as hexagons."""
    return hexagons(density_module.hot_spots(counts, column))


def recommend_for_sites(
    engine: Engine,
    sites: pd.DataFrame,
    territory: str,
    profile: WeightProfile | None = None,
    *,
    outcomes: Sequence[str] = (),
    top: int = 5,
    include_all: bool = False,
) -> pd.DataFrame:
    """Top trusted activities of ``territory`` (``include_all``: every listed one) for
    every site (``site_id``, ``lat``, ``lon``) with a weight profile (default: the
    territory's), so that profiles can be compared. The same ranking rule as the API's
    recommendations (:mod:`matching.batch`)."""
    with engine.connect() as conn:
        chosen = profile or matching_queries.profile_for(conn, territory)
        candidates = matching_queries.territory_activities(conn, territory, include_all=include_all)
        need = NeedIndex.from_frame(repository.need_areas(conn))
    candidates = candidates.join(served_need(candidates, need, chosen.default_service_radius_m))
    candidates["x"], candidates["y"] = to_bng(candidates["lon"], candidates["lat"])
    x, y = to_bng(sites["lon"], sites["lat"])
    ranked = recommend_batch(sites.assign(x=x, y=y), candidates, chosen, outcomes=outcomes, top=top)
    names = candidates[["activity_id", "name", "safeguarding"]]
    return ranked.merge(names, on="activity_id", how="left").assign(profile=chosen.name)


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
