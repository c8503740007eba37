"""Commands for coverage and maps: coverage tables, map files, the map libraries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from boundaries import repository
from cli.common import console, json_text, open_engine
from geo.jsonable import records
from geo.settings import get_settings
from maps import assets, coverage, render, report
from registry import trust

INCLUDE_UNVERIFIED = typer.Option(
    False,
    "--include-unverified",
    help="Count every open activity, not only the trusted ones (eligible, not lapsed).",
)


def coverage_command(
    territory: str | None = typer.Option(None, help="One territory's need areas (code)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    top: int = typer.Option(20, min=1, help="Need areas listed for a territory."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead."),
    include_unverified: bool = INCLUDE_UNVERIFIED,
) -> None:
    """Coverage by territory (or a territory's most underserved need areas): reach of
    the trusted activities (2SFCA), gap index = need × missing reach, the most-deprived
    population within reach of an SPO-backed activity, SPO value per head, and how many
    activities' reach was assumed. Definitions: README, "Coverage"."""
    with open_engine() as engine, engine.connect() as conn:
        found = report.build(conn, include_all=include_unverified)
    if territory:
        report.known_territory(found, territory)
        table = report.area_table(found, territory).head(top)
    else:
        table = found.summary[report.SUMMARY_COLUMNS].sort_values("gap_index", ascending=False)
    if as_csv:
        text = table.to_csv(index=False)
    elif as_json:
        text = json_text(records(table))
    else:
        _print(table, territory)
        counted = "open" if include_unverified else "trusted"
        console.print(
            f"Activities counted ({counted}): {len(found.activities):,}; with no recorded "
            f"reach, so {coverage.DEFAULT_CAPACITY:.0f} people a year assumed: "
            f"{found.capacities_assumed:,}."
        )
        return
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {len(table):,} rows to {output}.")
    else:
        print(text, end="")


def _print(table: pd.DataFrame, territory: str | None) -> None:
    if territory:
        grid = Table(title=f"Most underserved need areas in {territory}")
        for column in ("need area", "UK decile", "reach", "gap", "people"):
            grid.add_column(column, justify="left" if column == "need area" else "right")
        for row in table.itertuples():
            grid.add_row(
                f"{row.name} ({row.code})", str(row.uk_imd_decile), f"{row.reach:.2f}",
                f"{row.gap:.2f}", f"{row.population:,.0f}",
            )  # fmt: skip
    else:
        grid = Table(title="Coverage by territory (worst gap first)")
        for column in ("territory", "gap index", "mean reach", "deprived in backed reach",
                       "activities", "reach assumed", "SPO £/head"):  # fmt: skip
            grid.add_column(column, justify="left" if column == "territory" else "right")
        for row in table.itertuples():
            grid.add_row(
                row.name, f"{row.gap_index:.2f}", f"{row.mean_reach:.2f}",
                f"{row.deprived_backed_share:.0%}", f"{row.activities:,.0f}",
                f"{row.capacities_assumed:,.0f}", f"£{row.committed_per_head:.2f}",
            )  # fmt: skip
    console.print(grid)


def map_command(
    output: Path = typer.Option(..., "-o", "--output", help="The HTML file to write."),
    territory: str | None = typer.Option(
        None, help="A territory's detailed map, by code in any case (default: the UK)."
    ),
    include_unverified: bool = INCLUDE_UNVERIFIED,
) -> None:
    """Write a self-contained map (Leaflet inlined: opens offline) of the UK by gap index,
    or of one territory: need hexagons, the trusted activities by theme (each with its
    verification), supplier sites, activity density and awarded SPO links, with the data
    attribution, over the base map DUALIMPACT_MAP_TILES names ("none": no base map)."""
    if output.parent and not output.parent.exists():
        raise typer.BadParameter(f"folder {output.parent} does not exist", param_hint="-o")
    tiles = get_settings().tiles
    with open_engine() as engine, engine.connect() as conn:
        found = report.build(conn, include_all=include_unverified)
        if territory:
            code = territory.strip().upper()
            fmap = report.territory_map(conn, found, code, mode="inline", tiles=tiles)
        else:
            outlines = repository.territory_outlines(conn)
            fmap = render.uk_map(
                found.summary, outlines, "inline", tiles, include_all=found.include_all
            )
    page = render.html_page(fmap)
    output.write_text(page, encoding="utf-8")
    console.print(f"Wrote {output} ({len(page.encode()) / 1e6:.1f} MB).")


def trust_command(
    territory: str | None = typer.Option(None, help="One territory (code); default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """How much to trust each territory's map: of its open activities, how many are
    eligible, verified by a community team, classified, have a known delivery site, a
    recorded reach and funding gap, and were heard of within the lapse period."""
    with open_engine() as engine, engine.connect() as conn:
        summary = trust.trust_summary(conn, territory)
    if as_json:
        print(json_text(records(summary)), end="")
        return
    if territory:
        row = summary.iloc[0]
        console.print(f"[bold]How much to trust the map of {row['territory_name']}[/bold]")
        for line in trust.sentences(row):
            console.print(f"  {line}", highlight=False)
        return
    grid = Table(title="How much to trust each territory's map (share of open activities)")
    grid.add_column("territory")
    grid.add_column("activities", justify="right")
    for measure in trust.MEASURES:
        grid.add_column(measure.replace("_", " "), justify="right")
    for _, row in summary.iterrows():
        grid.add_row(
            str(row["territory_name"]),
            f"{row['activities']:,}",
            *(f"{row[f'share_{m}']:.0%}" for m in trust.MEASURES),
        )
    console.print(grid)


def assets_command() -> None:
    """Fetch the map libraries (Leaflet, Leaflet.markercluster, jQuery) from the npm
    registry into .dualimpact/vendor (pinned versions, hashes checked)."""
    folder = assets.ensure()
    console.print(f"Map libraries ready in {folder}.")
