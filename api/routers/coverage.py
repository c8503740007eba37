"""Coverage, gaps, what-if and H3 density as data (JSON, CSV, GeoJSON).

All public: built only from activities, need areas and awarded SPOs. Definitions are in
:mod:`maps.coverage` and the README's "Coverage" section. Coverage counts the trusted
activities (eligible, not lapsed) unless ``?include=all``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import IndexesDep, ReadConn
from api.schemas import Include
from api.tables import Format, table_response
from geo import hexes
from maps import density, queries, report
from maps.report import CoverageReport

router = APIRouter(prefix="/coverage", tags=["coverage"])
Territory = Annotated[str, Query(pattern=r"^[A-Z]\d{8}$", examples=["E23000029"])]


def coverage_of(indexes: IndexesDep, include: Include = "trusted") -> CoverageReport:
    """National coverage of the trusted activities, or of every open activity with
    ``?include=all``; each kept for a minute."""
    return indexes.coverage(include_all=include == "all")


CoverageDep = Annotated[CoverageReport, Depends(coverage_of)]


@router.get("/territories")
def territories(found: CoverageDep, format: Format = "json") -> Response:
    """Per territory: mean reach, gap index, the most-deprived population's share within
    reach of an SPO-backed activity, SPO value committed and delivered per head, and how
    many activities count (and how many of their capacities were assumed)."""
    summary = found.summary[report.SUMMARY_COLUMNS]
    return table_response(summary.sort_values("gap_index", ascending=False), format, "territories")


@router.get("/areas")
def areas(
    found: CoverageDep,
    territory: Territory,
    format: Format = "json",
    top: Annotated[int | None, Query(ge=1, le=50_000)] = None,
) -> Response:
    """Need areas of a territory with access, reach, need and gap, worst first (``top``
    keeps the most underserved)."""
    report.known_territory(found, territory)
    table = report.area_table(found, territory)
    return table_response(table.head(top) if top else table, format, f"coverage-{territory}")


@router.get("/at-risk")
def at_risk(found: CoverageDep, territory: Territory, format: Format = "json") -> Response:
    """Activities at risk of closing in high-need areas, soonest first."""
    report.known_territory(found, territory)
    return table_response(report.at_risk_table(found, territory), format, f"at-risk-{territory}")


@router.get("/what-if")
def what_if(
    found: CoverageDep,
    territory: Territory,
    budget_gbp: Annotated[float, Query(ge=0, le=1e9)] = 10_000.0,
    hours: Annotated[float, Query(ge=0, le=1e7)] = 0.0,
    top: Annotated[int, Query(ge=1, le=500)] = 20,
    format: Format = "json",
) -> Response:
    """Where the next ``budget_gbp`` (and/or ``hours`` of volunteering) would bring most
    need-weighted people within reach, from the same coverage model
    (``capacity_assumed``, ``cost_assumed``: the row's reach or cost was not recorded)."""
    table = report.what_if_table(found, territory, budget_gbp=budget_gbp, hours=hours).head(top)
    return table_response(table, format, f"what-if-{territory}")


@router.get("/density")
def cluster_density(
    conn: ReadConn,
    found: CoverageDep,
    layer: Literal["activities", "sites"] = "activities",
    territory: Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$")] = None,
    zoom: Annotated[float | None, Query(ge=0, le=22)] = None,
    resolution: Annotated[
        int | None, Query(ge=hexes.MIN_RESOLUTION, le=hexes.MAX_RESOLUTION)
    ] = None,
    hot_spots: bool = False,
    format: Format = "json",
) -> Response:
    """Open activities (with how many an awarded SPO backs and the SPO value committed to
    them) or supplier sites per H3 cell, nationally or in one territory. The resolution
    follows ``zoom`` unless given; counts under 3 are suppressed. ``hot_spots`` adds
    Getis-Ord Gi* (z, p, hot/cold) on the counts."""
    if territory is not None:
        report.known_territory(found, territory)
    chosen = resolution or hexes.resolution_for_zoom(zoom if zoom is not None else 6)
    sums: tuple[str, ...] = ()
    if layer == "sites":
        points = queries.supplier_sites(conn, territory)
    else:
        points = found.activities
        if territory is not None:
            points = report.territory_activities(found, territory)
        sums = ("backed", "committed_gbp")
    counts = density.density(points, chosen, sums=sums)
    if hot_spots and not counts.empty:
        spots = density.hot_spots(counts)[["cell", "z", "p", "spot"]]
        counts = counts.merge(spots, on="cell", how="left")
    counts = density.suppress(counts)
    for column in sums:
        counts[column] = counts[column].where(~counts["suppressed"], None)
    counts["h3"] = [hexes.label(int(c)) for c in counts["cell"]]
    counts["lat"], counts["lon"] = hexes.centres(counts["cell"])
    return table_response(counts.drop(columns="cell"), format, f"density-{layer}-r{chosen}")
