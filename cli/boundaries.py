"""Commands over territories and need areas: load, locate, overview."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from boundaries import repository
from boundaries.sources import BoundaryGeneration, need_areas_2019, territories_2023
from boundaries.store import load_geography
from cli.common import (
    console,
    err_console,
    json_text,
    open_engine,
    print_json,
    steps,
    writable,
)
from geo import attribution
from geo.errors import DataFileError, InvalidInputError
from geo.geocode_csv import output_names, renamed
from geo.jsonable import records as frame_records
from geo.settings import get_settings
from registry import placement, queries
from registry.readers import read_table

LOCATE_COLUMNS = [
    "territory_code",
    "territory_name",
    "territory_method",
    "need_area_code",
    "need_area_name",
    "need_area_uk_decile",
    "error",
]
LOAD_STEPS = 8


def load_geography_command(
    territories: Path | None = typer.Option(
        None, help="Territory GeoJSON (default: DATA_DIR/geography/territories.geojson)."
    ),
    territory_vintage: str | None = typer.Option(
        None, help="Load the territories as a new boundary generation with this vintage."
    ),
    need_areas: Path | None = typer.Option(
        None, help="Need-area CSV (default: DATA_DIR/geography/need_areas.csv)."
    ),
    need_area_vintage: str | None = typer.Option(
        None, help="Load the need areas as a new generation with this vintage."
    ),
    force: bool = typer.Option(False, help="Rewrite even when the files are unchanged."),
) -> None:
    """Load the 45 territories and every need area into PostGIS, in one transaction.

    Files are validated first; a missing or malformed file stops with the list of problems
    and the previous load stays as it was. Loading the same files again changes nothing.
    """
    territory_generation = _generation(territories_2023, territories, territory_vintage)
    need_generation = _generation(need_areas_2019, need_areas, need_area_vintage)

    with open_engine() as engine, steps("Loading geography", LOAD_STEPS) as step:
        report = load_geography(
            engine,
            territory_generation,
            need_generation,
            force=force,
            step=step,
            replace=placement.replace,
        )
    if report.unchanged:
        console.print("Geography already loaded from these files: nothing changed.")
    console.print(
        f"{report.territories} territories ({report.territory_pieces} indexed pieces), "
        f"{report.need_areas:,} need areas ({report.need_area_shapes:,} with polygons"
        + (
            f", {report.need_area_shapes_repaired} repaired"
            if report.need_area_shapes_repaired
            else ""
        )
        + ")"
        + (
            f" ({report.need_areas_snapped} snapped to the nearest territory)"
            if report.need_areas_snapped
            else ""
        )
        + "."
    )
    if not report.unchanged:
        console.print(
            f"{report.replaced:,} activities and supplier sites re-placed on these boundaries. "
            "Place the postcode gazetteer on them with `dualimpact load postcodes`."
        )


def locate(
    file: Path | None = typer.Argument(
        None, help="CSV with lat and lon columns to place in bulk (omit for one point)."
    ),
    lat: float | None = typer.Option(None, help="Latitude in degrees (WGS84)."),
    lon: float | None = typer.Option(None, help="Longitude in degrees (WGS84)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the bulk result (default: stdout)."
    ),
    lat_column: str = typer.Option("lat", help="Latitude column in FILE."),
    lon_column: str = typer.Option("lon", help="Longitude column in FILE."),
    suffix: str = typer.Option(
        "_located", help="Added to an output column's name when FILE already has that column."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table / CSV."),
) -> None:
    """Find the territory and need area of a point, or of every row of a CSV.

    One point: `dualimpact locate --lat 51.752 --lon -1.258`. Bulk: `dualimpact locate
    points.csv -o placed.csv` keeps every input row, in order, and adds territory_code,
    territory_name, territory_method, need_area_code, need_area_name, need_area_uk_decile
    and error (why a row could not be placed: bad numbers, outside the UK, at sea).
    territory_method is `nearest` for points just off the generalised coastline (snapped
    within 2 km) and `boundary` for points on an edge between two territories. Input
    columns are never overwritten: an added column FILE already has (territory_code,
    error...) is written with the suffix (territory_code_located); if that name is taken
    too, nothing is written and the clashing columns are named.
    """
    if file is None and (lat is None or lon is None):
        raise typer.BadParameter("give --lat and --lon, or a CSV FILE")
    if file is not None and (lat is not None or lon is not None):
        raise typer.BadParameter("give either a FILE or --lat/--lon, not both")

    with open_engine() as engine, engine.connect() as conn:
        locator = repository.locator(conn)

    if file is None:
        result = locator.locate(np.array([lat]), np.array([lon])).iloc[0]
        if result["error"]:
            raise InvalidInputError(result["error"])
        if as_json:
            print_json({"lat": lat, "lon": lon, **result[LOCATE_COLUMNS[:-1]].to_dict()})
        else:
            _print_point(lat, lon, result)
        return

    writable(output)
    rows = _read_points_csv(file, lat_column, lon_column)
    added = output_names(rows.columns, LOCATE_COLUMNS, suffix, file)
    located = locator.locate(rows[lat_column].to_numpy(), rows[lon_column].to_numpy())
    out = pd.concat([rows, located[LOCATE_COLUMNS].rename(columns=added)], axis=1)
    if as_json:
        _emit(json_text(frame_records(out)), output)
    else:
        _emit(out.to_csv(index=False), output)
    placed = int((located["error"] == "").sum())
    snapped = int(located["territory_method"].isin(["nearest", "boundary"]).sum())
    err_console.print(
        f"{len(out):,} rows: {placed:,} placed ({snapped:,} flagged nearest/boundary), "
        f"{len(out) - placed:,} with an error" + (f"; written to {output}" if output else "")
    )
    if renamed(added):
        err_console.print(renamed(added))


def territories_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    include_unverified: bool = typer.Option(
        False,
        "--include-unverified",
        help="Count every activity listed, not only eligible ones that have not lapsed.",
    ),
) -> None:
    """The 45 territories: area, population, need areas and share of people in deprivation.

    "UK most-deprived 20%" uses the UK composite deprivation index (UK-wide population
    deciles 1-2), so territories in different nations can be compared; the nation's own
    index is shown beside it. Activities counted are eligible dual-impact activities that
    have not lapsed (``--include-unverified``: every activity listed); supplier sites are
    those imported so far.
    """
    with open_engine() as engine, engine.connect() as conn:
        overview = repository.territories_overview(conn).merge(
            queries.counts_by_territory(conn, include_all=include_unverified),
            on="code",
            how="left",
        )
    if as_json:
        print_json(frame_records(overview))
        return
    table = Table(
        title="UK territories",
        caption=(
            "Most-deprived 20 %: population in deciles 1-2 of the UK composite index (compare "
            "across nations) and of the nation's own index.\n" + attribution.SHORT
        ),
    )
    for column, justify in [
        ("Code", "left"),
        ("Territory", "left"),
        ("Nation", "left"),
        ("Area km²", "right"),
        ("Population", "right"),
        ("Need areas", "right"),
        ("UK most-deprived 20%", "right"),
        ("Nation's most-deprived 20%", "right"),
        ("Activities", "right"),
        ("Supplier sites", "right"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in overview.itertuples():
        table.add_row(
            str(row.code),
            str(row.name),
            str(row.nation),
            f"{row.area_km2:,.0f}",
            f"{row.population:,}",
            f"{row.need_areas:,}",
            f"{row.deprived_share:.1%}",
            f"{row.national_deprived_share:.1%}",
            f"{row.activities:,}",
            f"{row.supplier_sites:,}",
        )
    console.print(table)


def _print_point(lat: float | None, lon: float | None, result: pd.Series) -> None:
    table = Table(show_header=False, title=f"lat {lat}, lon {lon}")
    table.add_row("Territory", f"{result['territory_name']} ({result['territory_code']})")
    if result["territory_method"] != "contains":
        table.add_row(
            "Placed by", f"{result['territory_method']} (just outside the generalised boundary)"
        )
    table.add_row("Need area", f"{result['need_area_name']} ({result['need_area_code']})")
    table.add_row(
        "UK deprivation decile", f"{result['need_area_uk_decile']:.0f} (1 = most deprived)"
    )
    console.print(table)


def _read_points_csv(path: Path, lat_column: str, lon_column: str) -> pd.DataFrame:
    rows = read_table(path, "csv").frame
    missing = [c for c in (lat_column, lon_column) if c not in rows.columns]
    if missing:
        raise DataFileError(
            path,
            f"missing column(s) {', '.join(missing)}; found {', '.join(rows.columns)} "
            "(use --lat-column/--lon-column)",
        )
    return rows


def _generation(
    default: Callable[[Path], BoundaryGeneration], path: Path | None, vintage: str | None
) -> BoundaryGeneration:
    """The shipped generation, or the same layer from the user's file (as ``vintage``)."""
    if path is None:
        return default(get_settings().require_data_dir())
    return default(path.parent).with_file(path, vintage)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        output.write_text(text, encoding="utf-8")
