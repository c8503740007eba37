"""Coverage for the whole UK in one pass, and the views of it each user needs.

Catchments cross territory borders (a youth club near the edge serves both sides), so
coverage is always computed nationally and then cut by territory.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from boundaries import repository
from geo.errors import InvalidInputError, NotFoundError
from maps import coverage, queries, render
from matching.need import NeedIndex, served_need
from matching.valuation import HOUR_VALUE_GBP
from procurement.reporting import awarded_links, value_by_territory

# When an activity's running cost per place is unknown, the budget buys places at this
# price (an explicit, illustrative assumption; `cost_assumed` marks it in every output).
DEFAULT_COST_PER_PLACE_GBP = 250.0
# Need-area shapes on a territory map are simplified by this many metres: a small page.
SHAPE_TOLERANCE_M = 50.0


@dataclass(frozen=True)
class CoverageReport:
    areas: pd.DataFrame  # one row per need area (coverage.area_coverage + name, lon, lat)
    activities: pd.DataFrame  # open activities, with catchment need
    summary: pd.DataFrame  # one row per territory
    a_ref: float  # the UK reference access (places per resident)
    include_all: bool = False  # every open activity (True) or the trusted ones only

    @property
    def capacities_assumed(self) -> int:
        """How many activities' capacities are the assumed
        :data:`maps.coverage.DEFAULT_CAPACITY` (no recorded reach)."""
        return int(self.activities["capacity_assumed"].sum())


def build(conn: Connection, *, include_all: bool = False) -> CoverageReport:
    """National coverage from the database (about a second for the whole UK), from the
    trusted activities (eligible, not lapsed), or every open one with ``include_all``."""
    need_areas = queries.need_areas(conn)
    activities = queries.activities(conn, include_all=include_all)
    return compute(
        need_areas,
        activities,
        value_by_territory(conn),
        repository.territories_overview(conn),
        include_all=include_all,
    )


def compute(
    need_areas: pd.DataFrame,
    activities: pd.DataFrame,
    spo_value: pd.DataFrame,
    territories: pd.DataFrame,
    *,
    include_all: bool = False,
) -> CoverageReport:
    """The same from frames (tests and notebooks pass their own; ``include_all`` says
    whether ``activities`` holds every open activity or the trusted ones only)."""
    a_ref = coverage.reference_access(need_areas, activities)
    areas = coverage.area_coverage(need_areas, activities, a_ref)
    areas[["name", "lon", "lat"]] = need_areas[["name", "lon", "lat"]]
    need = NeedIndex.from_points(
        need_areas["x"], need_areas["y"], need_areas["population"], need_areas["uk_imd_decile"]
    )
    # The one catchment-need model (as the SPO score and the finder measure it); the drawn
    # areas are used here and go no further.
    activities = activities.assign(
        need_score=served_need(activities, need, activities["radius_m"])["need_score"]
    ).drop(columns=["service_area"], errors="ignore")
    summary = coverage.territory_summary(areas, spo_value)
    flagged = activities.assign(
        at_risk_high_need=(activities["status"] == "at_risk")
        & (activities["need_score"] >= coverage.HIGH_NEED)
    )
    counts = flagged.groupby("territory_code").agg(
        activities=("activity_id", "size"),
        backed_activities=("backed", "sum"),
        at_risk_high_need=("at_risk_high_need", "sum"),
        capacities_assumed=("capacity_assumed", "sum"),
    )
    summary = (
        territories[["code", "name", "nation"]]
        .rename(columns={"code": "territory_code"})
        .merge(summary, on="territory_code", how="left")
        .merge(counts, left_on="territory_code", right_index=True, how="left")
        .fillna(dict.fromkeys(counts.columns, 0))
    )
    return CoverageReport(areas, activities, summary, a_ref, include_all)


def territory_areas(report: CoverageReport, territory: str) -> pd.DataFrame:
    return report.areas[report.areas["territory_code"] == territory]


def territory_activities(report: CoverageReport, territory: str) -> pd.DataFrame:
    return report.activities[report.activities["territory_code"] == territory]


def what_if(
    report: CoverageReport, territory: str, *, budget_gbp: float = 0.0, hours: float = 0.0
) -> pd.DataFrame:
    """Where the next ``budget_gbp`` (and/or ``hours`` of volunteering, valued at the
    National Living Wage) would close most of the territory's gap, best first."""
    known_territory(report, territory)
    if not (budget_gbp >= 0 and hours >= 0) or budget_gbp + hours <= 0:
        raise InvalidInputError("give a budget in £ and/or volunteer hours, more than zero")
    money = budget_gbp + hours * HOUR_VALUE_GBP
    candidates = territory_activities(report, territory).copy()
    candidates["cost_assumed"] = candidates["cost_per_place"].isna()
    candidates["cost_per_place"] = candidates["cost_per_place"].fillna(DEFAULT_COST_PER_PLACE_GBP)
    # Every area a candidate can reach counts, across the border too.
    ranked = coverage.what_if(report.areas, candidates, money, report.a_ref)
    return ranked[ranked["gap_closed"] > 0]


AREA_COLUMNS = [
    "code", "name", "territory_code", "population", "uk_imd_decile", "need", "access",
    "reach", "reach_backed", "backed_in_reach", "gap", "gap_people", "lon", "lat",
]  # fmt: skip
TRUST_COLUMNS = [
    "eligibility", "eligibility_categories", "verification", "evidence_level", "located_at",
]  # fmt: skip
ACTIVITY_COLUMNS = [
    "activity_id", "name", "provider_name", "themes", "status", "closing_date",
    "funding_gap", "need_score", "backed", "safeguarding", *TRUST_COLUMNS,
]  # fmt: skip
WHAT_IF_COLUMNS = [
    "activity_id", "name", "provider_name", "themes", "status", "money_gbp", "extra_places",
    "gap_closed", "cost_per_place", "cost_assumed", "capacity_assumed", *TRUST_COLUMNS,
]  # fmt: skip
SUMMARY_COLUMNS = [
    "territory_code", "name", "nation", "population", "deprived_population", "need_areas",
    "mean_reach", "gap_index", "deprived_backed_share", "activities", "backed_activities",
    "at_risk_high_need", "capacities_assumed", "committed_gbp", "delivered_gbp",
    "committed_per_head", "committed_per_deprived_head", "delivered_per_head",
    "delivered_per_deprived_head",
]  # fmt: skip


def known_territory(report: CoverageReport, territory: str) -> None:
    if territory not in set(report.summary["territory_code"]):
        raise NotFoundError(f"unknown territory {territory!r} (codes look like E23000029)")


def area_table(report: CoverageReport, territory: str | None = None) -> pd.DataFrame:
    """Need-area coverage rows (all, or one territory's), worst gap first."""
    areas = report.areas if territory is None else territory_areas(report, territory)
    return areas[AREA_COLUMNS].sort_values(["gap_people", "code"], ascending=[False, True])


def at_risk_table(report: CoverageReport, territory: str) -> pd.DataFrame:
    """At-risk activities in high-need areas (no coordinates: some are safeguarded)."""
    return coverage.at_risk_in_high_need(territory_activities(report, territory))[ACTIVITY_COLUMNS]


def what_if_table(
    report: CoverageReport, territory: str, *, budget_gbp: float = 0.0, hours: float = 0.0
) -> pd.DataFrame:
    """:func:`what_if` as a table people read (no coordinates)."""
    ranked = what_if(report, territory, budget_gbp=budget_gbp, hours=hours)
    return ranked[WHAT_IF_COLUMNS]


def territory_map(
    conn: Connection,
    found: CoverageReport,
    territory: str,
    *,
    mode: render.Assets = "served",
    tiles: str | None = render.DEFAULT_TILES,
    outlines: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """The territory map (need by small area where the need areas have shapes, hexagons
    elsewhere; activities, supplier sites, density, awarded SPO links, boundary), as the
    web page, the CLI and the notebooks draw it. ``outlines``: the simplified territories
    if the caller holds them (else they are read)."""
    known_territory(found, territory)
    if outlines is None:
        outlines = repository.territory_outlines(conn)
    return render.territory_map(
        territory_areas(found, territory),
        territory_activities(found, territory),
        queries.supplier_sites(conn, territory),
        awarded_links(conn, territory),
        outline=outlines[outlines["code"] == territory],
        mode=mode,
        tiles=tiles,
        shapes=repository.need_area_shapes(conn, territory, tolerance_m=SHAPE_TOLERANCE_M),
    )
