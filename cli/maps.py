"""Commands for coverage and maps: coverage tables, map files, the map libraries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from boundaries import repository
from cli.common import console, json_text, open_engine
from geo.jsonable import records
from maps import assets, render, report


def coverage_command(
    territory: str | None = typer.Option(None, help="One territory's need areas (code)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    top: int = typer.Option(20, min=1, help="Need areas listed for a territory."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead."),
) -> None:
    """Coverage by territory (or a territory's most underserved need areas): reach of
    activities (2SFCA), gap index = need × missing reach, the most-deprived population
    within reach of an SPO-backed activity, SPO value per head. Definitions: README,
    "Coverage"."""
    with open_engine() as engine, engine.connect() as conn:
        found = report.build(conn)
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
                       "activities", "SPO £/head"):  # fmt: skip
            grid.add_column(column, justify="left" if column == "territory" else "right")
        for row in table.itertuples():
            grid.add_row(
                row.name, f"{row.gap_index:.2f}", f"{row.mean_reach:.2f}",
                f"{row.deprived_backed_share:.0%}", f"{row.activities:,.0f}",
                f"£{row.committed_per_head:.2f}",
            )  # fmt: skip
    console.print(grid)


def map_command(
    output: Path = typer.Option(..., "-o", "--output", help="The HTML file to write."),
    territory: str | None = typer.Option(
        None, help="A territory's detailed map (default: the UK by territory)."
    ),
) -> None:
    """Write a self-contained map (Leaflet inlined: opens offline) of the UK by gap index,
    or of one territory: need hexagons, activities by theme, supplier sites, activity
    density and awarded SPO links, with the data attribution."""
    if output.parent and not output.parent.exists():
        raise typer.BadParameter(f"folder {output.parent} does not exist", param_hint="-o")
    with open_engine() as engine, engine.connect() as conn:
        found = report.build(conn)
        if territory:
            fmap = report.territory_map(conn, found, territory, mode="inline")
        else:
            fmap = render.uk_map(found.summary, repository.territory_outlines(conn), "inline")
    page = render.html_page(fmap)
    output.write_text(page, encoding="utf-8")
    console.print(f"Wrote {output} ({len(page.encode()) / 1e6:.1f} MB).")


def assets_command() -> None:
    """Fetch the map libraries (Leaflet, Leaflet.markercluster, jQuery) from the npm
    registry into .dualimpact/vendor (pinned versions, hashes checked)."""
    folder = assets.ensure()
    console.print(f"Map libraries ready in {folder}.")
