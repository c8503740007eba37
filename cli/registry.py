"""Commands over postcodes, activities and suppliers: load, import, export, geocode."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from accounts import verification
from boundaries import repository
from boundaries.gazetteer import gazetteer_for, load_postcodes, read_gazetteer
from boundaries.sources import postcodes_2025
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
from geo.geocode import Geocoder
from geo.geocode_csv import (
    OUTPUT_COLUMNS,
    SUFFIX,
    geocode_table,
    output_names,
    read_texts,
    renamed,
    write_csv,
)
from geo.settings import get_settings
from maps import render
from matching.queries import territory_id
from procurement import ledger
from registry import activities, eligibility, oruk, privacy, queries, suppliers
from registry.importer import ImportReport, ImportSpec, run_import
from registry.readers import FORMATS
from registry.tables import ELIGIBILITY

# Above this many rows the whole gazetteer is read once rather than the rows it needs.
WHOLE_GAZETTEER_ROWS = 200_000
IMPORT_FORMATS = ", ".join((*FORMATS, "360giving", "oruk"))

import_app = typer.Typer(
    help="Import activities or suppliers from CSV, XLSX, GeoJSON, 360Giving or Open Referral.",
    no_args_is_help=True,
)
export_app = typer.Typer(help="Export registry records.", no_args_is_help=True)
activities_app = typer.Typer(help="Look after activity records.", no_args_is_help=True)


def load_postcodes_command(
    force: bool = typer.Option(False, help="Rewrite even when nothing has changed."),
) -> None:
    """Load the postcode gazetteer (2.7 M unit postcodes, sectors, districts) into PostGIS.

    Every postcode is placed in its territory and need area at load time. Needs the
    geography loaded first. Loading the same files again changes nothing.
    """
    source = postcodes_2025(get_settings().require_data_dir())
    with open_engine() as engine, steps("Loading postcodes", 4) as step:
        report = load_postcodes(engine, source, force=force, step=step)
    if report.unchanged:
        console.print("Postcodes already loaded from these files: nothing changed.")
    console.print(
        f"{report.units:,} postcodes ({report.snapped:,} snapped to the nearest territory, "
        f"{report.outside_territories:,} outside every territory), {report.sectors:,} sectors, "
        f"{report.districts:,} districts."
    )


def _import(
    spec: ImportSpec,
    file: Path,
    file_format: str | None,
    mapping: list[str],
    source: str | None,
    errors: Path | None,
    encoding: str,
    as_json: bool,
    sheet: str | None = None,
) -> ImportReport:
    pairs = {}
    for item in mapping:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            raise typer.BadParameter(f"--map {item!r}: use field=column")
        pairs[field.strip()] = column.strip()
    errors_path = errors or Path.cwd() / f"{file.stem}.errors.csv"
    with open_engine() as engine, steps(f"Importing {spec.kind}", 4) as step:
        report = run_import(
            engine,
            spec,
            file,
            file_format=file_format,
            mapping=pairs,
            source=source,
            encoding=encoding,
            sheet=sheet,
            errors=errors_path,
            step=step,
        )
    if as_json:
        print_json(
            {
                "file": str(file),
                "layout": report.layout,
                "source_rows": report.source_rows,
                "records": report.rows,
                "stored": report.stored,
                "updated": report.updated,
                "merged": report.merged,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
                "values_dropped": report.dropped,
                "errors_file": str(errors_path) if not report.errors.empty else None,
            }
        )
    else:
        console.print(f"{file.name}: {report.summary()}.")
        if not report.errors.empty:
            console.print(
                f"{len(report.errors):,} problems ({report.rejected:,} rows rejected, "
                f"{report.dropped:,} values dropped from imported rows) written to "
                f"{errors_path} (row, column, value, reason, outcome)."
            )
    return report


_FORMAT_HELP = f"File layout: {IMPORT_FORMATS} (default: from the extension and headers)."
_MAP_HELP = "Map a field to a column, e.g. --map name='Project title' (repeatable)."
_ERRORS_HELP = (
    "Where to write the problems: rejected rows and values dropped (default: "
    "./<file>.errors.csv). Checked first and written before the import commits: if it "
    "cannot be written, nothing is imported."
)
_SHEET_HELP = "Workbook sheet to read, by name or number from 1 (default: the first)."


def _import_command(spec: ImportSpec, file_help: str, doc: str) -> Callable[..., None]:
    """One ``dualimpact import`` command for ``spec`` (the options are the same for all)."""

    def command(
        file: Path = typer.Argument(..., help=file_help),
        file_format: str | None = typer.Option(None, "--format", help=_FORMAT_HELP),
        mapping: list[str] = typer.Option([], "--map", help=_MAP_HELP),
        source: str | None = typer.Option(None, help="Label for where the records came from."),
        errors: Path | None = typer.Option(None, help=_ERRORS_HELP),
        encoding: str = typer.Option("utf-8", help="Text encoding of a CSV (e.g. cp1252)."),
        sheet: str | None = typer.Option(None, help=_SHEET_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        _import(spec, file, file_format, mapping, source, errors, encoding, as_json, sheet)

    command.__doc__ = doc
    return command


import_app.command("activities")(
    _import_command(
        activities.SPEC,
        "CSV, XLSX, GeoJSON, 360Giving or Open Referral JSON.",
        """Import activities: geocode, classify themes, upsert, and list every rejected row.

    Fields (matched by column name or alias, or --map): id, name (required), description,
    themes, provider_name, org_identifier, charity_number, company_number, postcode,
    address, lat, lon, service_radius_km, people_reached_per_year, annual_running_cost,
    funding_gap, status (active, at risk, closed), closing_date, evidence_links,
    safeguarding, grant_count, grant_total_gbp, last_award_year, funders. Re-importing the
    same file changes nothing; an activity with the same name and postcode as a stored one
    is merged into it. The whole file is one transaction.

    A row with a bad value, a control character or more fields than the header is
    rejected; an evidence link that is not a web address or an unknown theme is dropped
    and the row imported. Both are listed in the errors file. Placeholder charity and
    company numbers (0, N/A, TBC) are no identifier.
    """,
    )
)
import_app.command("suppliers")(
    _import_command(
        suppliers.SPEC,
        "CSV, XLSX or GeoJSON of supplier sites.",
        """Import suppliers and their sites: geocode, fold name variants, upsert.

    Fields: id, supplier_name (required), company_number, sector, is_sme, is_vcse,
    site_name, address, postcode, lat, lon, employees. The same supplier at the same
    postcode is one site however many rows name it; a placeholder company number (0, N/A)
    is no number, so it never merges different suppliers.
    """,
    )
)


def load_activities_command() -> None:
    """Import the shared activity data: 360Giving recipients, then their raw grants."""
    settings = get_settings()
    data = settings.require_data_dir() / "activities"
    for file in (data / "activity_organisations.csv", data / "raw" / "grants_360giving_flat.csv"):
        _import(activities.SPEC, file, None, [], None, _errors_file(file), "utf-8", False)


def load_suppliers_command() -> None:
    """Import the shared supplier sites (Contracts Finder award notices)."""
    data = get_settings().require_data_dir() / "suppliers"
    for file in (data / "supplier_sites_ocds.csv", data / "supplier_sites_more.csv"):
        _import(suppliers.SPEC, file, None, [], None, _errors_file(file), "utf-8", False)


def _errors_file(file: Path) -> Path:
    folder = get_settings().import_errors_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{file.stem}.errors.csv"


EXPORT_FORMATS = ("oruk", "csv", "json")
# List columns written to CSV as one cell, ";"-separated (as the importer reads them back).
_CSV_LISTS = ("themes", "evidence_links", "eligibility_categories")


@export_app.command("activities")
def export_activities(
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    territory: str | None = typer.Option(None, help="Only this territory (code)."),
    file_format: str = typer.Option(
        "oruk",
        "--format",
        help="oruk (Open Referral UK, HSDS 3.0 JSON), csv, or json (a plain list of records).",
    ),
    trusted_only: bool = typer.Option(
        False,
        "--trusted-only",
        help="Only trusted activities (eligible, not lapsed), as rankings and maps use them.",
    ),
) -> None:
    """Export activities as Open Referral UK service records, CSV or a JSON list.

    A data export: every stored activity is written, trusted or not (--trusted-only keeps
    the eligible, non-lapsed ones). Each record says how far it can be trusted:
    eligibility (eligible, ineligible, needs_review), eligibility_categories,
    eligibility_reason, verification (listed, claimed, verified, lapsed), evidence_level,
    fresh_on (when last heard of), located_at (delivery_site, delivery or
    registered_office) and delivery_site_count, with its provider_key and source_key. In
    CSV, lists are ";"-separated.

    Safeguarded activities (refuges and the like) never carry their point or full postcode.
    """
    if file_format not in EXPORT_FORMATS:
        raise InvalidInputError(
            f"unknown export format {file_format!r}; use {', '.join(EXPORT_FORMATS)}"
        )
    writable(output)
    with open_engine() as engine, engine.connect() as conn:
        if territory:
            territory_id(conn, territory)  # a clear error for an unknown code
        frame = queries.activities(conn, territory, include_all=not trusted_only)
    rows = pd.DataFrame(frame.drop(columns="geom"))
    if file_format == "oruk":
        document = oruk.services(rows)  # redacts the safeguarded ones itself
        document["attribution"] = attribution.ACTIVITIES
        text = json_text(document)
    else:
        public = privacy.redact(rows)
        if file_format == "json":
            text = json_text(public.to_dict(orient="records"))
        else:
            lists = {column: public[column].map(";".join) for column in _CSV_LISTS}
            text = public.assign(**lists).to_csv(index=False)
        err_console.print(attribution.ACTIVITIES)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"{len(frame):,} activities written to {output}.")


def geocode_command(
    file: Path = typer.Argument(..., help="CSV with a postcode column, or lat and lon."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    postcode_column: str = typer.Option("postcode", help="Postcode column."),
    lat_column: str = typer.Option("lat", help="Latitude column."),
    lon_column: str = typer.Option("lon", help="Longitude column."),
    address_column: str = typer.Option(
        "address", help="Address column (used where present) to take missing postcodes from."
    ),
    suffix: str = typer.Option(
        SUFFIX, help="Added to an output column's name when the file already has that column."
    ),
    encoding: str = typer.Option("utf-8", help="Text encoding of the CSV (e.g. cp1252)."),
    as_json: bool = typer.Option(False, "--json", help="Write JSON records instead of CSV."),
) -> None:
    """Geocode a CSV without storing it: adds lat, lon, precision, territory_code,
    need_area_code, territory_share, ambiguous, postcode_from_address and error to every
    row, in order.

    Postcodes are normalised (case, spaces) and looked up exactly, then by sector, then by
    district (precision says which); rows with lat/lon use those, checked. territory_share
    is the share (0-1) of the sector's or district's postcodes in the territory given;
    ambiguous is true below 0.9 (the area straddles territories). Where a postcode is
    empty, impossible or unknown, one at the end of the address column is used, and shown
    in postcode_from_address.

    Input columns are never overwritten: an added column the file already has (lat, lon,
    error...) is written with the suffix (lat_geocoded); if that name is taken too, nothing
    is written and the clashing columns are named.
    """
    writable(output)
    table = read_texts(file, encoding)
    names = table.schema.names
    added = output_names(names, OUTPUT_COLUMNS, suffix, file)
    if address_column not in names and address_column != "address":
        raise DataFileError(
            file, f"has no column {address_column!r} (--address-column); found {', '.join(names)}"
        )
    addresses = table.column(address_column).to_pandas() if address_column in names else None
    with open_engine() as engine, engine.connect() as conn:
        # The territory index is needed only for rows placed by coordinates.
        locator = repository.locator(conn) if lat_column in names else None
        if postcode_column not in names:
            gazetteer = gazetteer_for(conn, [])  # coordinates only: no postcodes to look up
        elif table.num_rows > WHOLE_GAZETTEER_ROWS:
            gazetteer = read_gazetteer(conn)
        else:
            postcodes = table.column(postcode_column).to_pandas()
            gazetteer = gazetteer_for(conn, postcodes, addresses=addresses)
    placed = geocode_table(
        table,
        Geocoder(gazetteer, locator),
        postcode_column,
        lat_column,
        lon_column,
        file,
        address_column=address_column,
        suffix=suffix,
    )
    if as_json:
        text = placed.to_pandas().to_json(orient="records", indent=2, force_ascii=False)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
    elif output:
        write_csv(placed, output)
    else:
        sys.stdout.buffer.write(write_csv(placed, None) or b"")
    failed = int((placed.column(added["error"]).to_pandas() != "").sum())
    rescued = int((placed.column(added["postcode_from_address"]).to_pandas() != "").sum())
    ambiguous = int(placed.column(added["ambiguous"]).to_pandas().fillna(False).sum())
    err_console.print(
        f"{placed.num_rows:,} rows: {placed.num_rows - failed:,} placed, {failed:,} with an error"
        + (
            f"; {rescued:,} postcode{'' if rescued == 1 else 's'} taken from the address"
            if rescued
            else ""
        )
        + (f"; {ambiguous:,} ambiguous (straddling sector or district)" if ambiguous else "")
        + (f"; written to {output}" if output else "")
    )
    if renamed(added):
        err_console.print(renamed(added))


@activities_app.command("themes")
def activity_themes(
    activity_id: int = typer.Argument(..., help="Activity id."),
    themes: list[str] = typer.Argument(None, help="Themes to set (omit with --classifier)."),
    classifier: bool = typer.Option(False, help="Hand the themes back to the classifier."),
) -> None:
    """Set an activity's themes by hand (kept across re-imports), or reset them."""
    if not themes and not classifier:
        raise typer.BadParameter("give themes to set, or --classifier to reset")
    with open_engine() as engine, engine.begin() as conn:
        chosen = queries.set_themes(conn, activity_id, None if classifier else list(themes))
    console.print(f"Activity {activity_id}: {', '.join(chosen) or '(no themes)'}")


@activities_app.command("update")
def activity_update(
    activity_id: int = typer.Argument(..., help="Activity id."),
    people_reached: int | None = typer.Option(None, help="People reached per year."),
    running_cost: float | None = typer.Option(None, help="Annual running cost, £."),
    funding_gap: float | None = typer.Option(None, help="Funding gap, £ a year."),
    status: str | None = typer.Option(None, help="active, at_risk or closed."),
    closing_date: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="When it closes without funding (YYYY-MM-DD)."
    ),
    radius_km: float | None = typer.Option(None, help="Radius of the area served, km."),
    safeguarding: bool | None = typer.Option(
        None, "--safeguarding/--no-safeguarding", help="Keep its exact place private."
    ),
) -> None:
    """Record what a provider knows about an activity: reach, costs, gap, risk of closing."""
    changes = {
        "people_reached_per_year": people_reached,
        "annual_running_cost": running_cost,
        "funding_gap": funding_gap,
        "status": status,
        "closing_date": closing_date.date() if closing_date else None,
        "service_radius_m": radius_km * 1000 if radius_km is not None else None,
        "safeguarding": safeguarding,
    }
    with open_engine() as engine, engine.begin() as conn:
        ledger.lock_activities(conn, [activity_id])
        queries.update_activity(
            conn, activity_id, {k: v for k, v in changes.items() if v is not None}
        )
        if funding_gap is not None:  # a capacity-ledger input: never below what is promised
            ledger.check_gap(conn, activity_id, funding_gap)  # refused: all rolled back
    console.print(f"Activity {activity_id} updated.")


@activities_app.command("assess")
def activity_assess(
    activity: list[int] = typer.Option(
        [], "--activity", help="Only this activity, by id (repeatable; default: every one)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Run the eligibility rules again on stored activities and count the outcome.

    Each activity comes out eligible (with its dual-impact categories), ineligible (with
    a reason) or needs_review, from its name, grants' titles, description and
    identifiers. Activities a person decided are kept as decided and not counted.
    """
    with open_engine() as engine, engine.begin() as conn:
        for activity_id in activity:
            queries.activity(conn, activity_id)  # a clear error for an unknown id
        counts = eligibility.reassess(conn, activity or None)
    counts = {outcome: counts.get(outcome, 0) for outcome in ELIGIBILITY}
    if as_json:
        print_json(counts)
        return
    assessed = sum(counts.values())
    console.print(
        f"{assessed:,} activit{'y' if assessed == 1 else 'ies'} assessed by the rules: "
        f"{counts['eligible']:,} eligible, {counts['ineligible']:,} ineligible, "
        f"{counts['needs_review']:,} need review (hand decisions kept).",
        highlight=False,
    )


@activities_app.command("show")
def activity_show(
    activity_id: int = typer.Argument(..., help="Activity id."),
    as_json: bool = typer.Option(
        False, "--json", help="Its state as JSON (with any claims waiting for an admin)."
    ),
) -> None:
    """How far an activity can be trusted, in plain words: eligibility (categories or the
    reason), verification and evidence level, when it was last heard of, where it is
    placed and its delivery sites."""
    with open_engine() as engine, engine.connect() as conn:
        if as_json:
            print_json(verification.state(conn, activity_id))
            return
        (record,) = queries.activity(conn, activity_id).to_dict(orient="records")
    for line in trust_lines(record, get_settings().lapse_years):
        console.print(line, markup=False, highlight=False)


def trust_lines(record: dict[str, Any], lapse_years: int) -> list[str]:
    """An activity's record (as :func:`registry.queries.activity` gives it) in plain words:
    eligibility and who decided it, verification, freshness against the lapse period
    (years), where it is placed, its delivery sites and whether it is trusted."""
    decided = "a person's decision" if record["eligibility_source"] == "decision" else "the rules"
    heard = record["fresh_on"]
    if heard is None or pd.isna(heard):
        freshness = "never (no grant, claim, verification or confirmed delivery on record)"
    elif record["fresh"]:
        freshness = f"{heard:%d %B %Y}, within the {lapse_years}-year lapse period"
    else:
        freshness = f"{heard:%d %B %Y}, longer ago than the {lapse_years}-year lapse period"
    sites = int(record["delivery_site_count"])
    trusted = (
        "yes: rankings, maps and matching use it"
        if record["trusted"]
        else "no: shown only when all activities are asked for (--include-unverified)"
    )
    return [
        f"Activity {record['id']}: {record['name']}"
        + (f" ({record['provider_name']})" if record["provider_name"] else ""),
        f"Eligibility: {render.eligibility_words(record)} (by {decided})",
        f"Verification: {render.verification_words(record)}",
        f"Last heard of: {freshness}",
        f"Placed at: {render.location_words(record)}, in {record['territory_code']}",
        f"Delivery sites: {sites if sites else 'none recorded'}",
        f"Trusted: {trusted}",
    ]
