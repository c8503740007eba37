"""The import pipeline shared by activities and suppliers.

read → recognise the layout → map columns → parse values → geocode → drop bad rows → merge
duplicates → write, all inside one transaction: good rows are stored, bad rows are listed
(row, column, value, reason) in an errors file, and a crash or Ctrl-C leaves the database as
it was before the file. The errors file is written (to a temporary file, then renamed into
place) before the transaction commits: an import whose errors cannot be written is rolled
back, so no import is ever stored without its rejected rows recorded.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from boundaries import repository
from boundaries.gazetteer import gazetteer_for
from geo.errors import DataFileError, InvalidInputError
from geo.geocode import Geocoder
from registry.fields import DROPPED, NOTED, Field, Problems, map_columns, parse_fields
from registry.readers import FORMATS, RawTable, read_table

Step = Callable[[str], None]


@dataclass(frozen=True)
class Layout:
    """A known file layout: how to spot it, reshape it and map its columns."""

    name: str
    source: str  # label for records from this layout; empty: the file's name
    detect: Callable[[RawTable], bool]
    mapping: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    reshape: Callable[[RawTable], RawTable] | None = None
    # Layouts sharing a namespace use the same ids for the same record (e.g. 360Giving
    # org-ids); without one, ids are only unique within their source.
    namespace: str = ""
    # What a record's own place is (registry.tables.LOCATION_BASES): where it is delivered,
    # or its organisation's registered office (360Giving recipients).
    location_basis: str = "delivery"


@dataclass(frozen=True)
class ImportSpec:
    """What is imported: its fields, known layouts, and how rows become records."""

    kind: str
    fields: Sequence[Field]
    layouts: Sequence[Layout]
    prepare: Callable[[pd.DataFrame, Problems], pd.DataFrame]
    merge: Callable[[pd.DataFrame], tuple[pd.DataFrame, int]]
    write: Callable[[Connection, pd.DataFrame], dict[str, int]]


@dataclass(frozen=True)
class ImportReport:
    """Every record lands in exactly one of stored, updated, merged, unchanged, rejected.

    ``merged`` counts records folded into another row of the file or into a stored record
    from another source. ``source_rows`` differs from ``rows`` when a layout folds rows
    (360Giving grants into one record per recipient). ``rows`` counts the rows refused
    before they could become records (more fields than the header) among the rejected.
    ``errors`` lists every problem (row, column, value, reason, outcome): those that
    rejected their row, and values dropped from rows that were imported.
    """

    source_rows: int
    rows: int
    stored: int
    updated: int
    merged: int
    unchanged: int
    rejected: int
    layout: str
    errors: pd.DataFrame

    @property
    def dropped(self) -> int:
        """How many values were dropped from rows that were imported."""
        return int((self.errors["outcome"] == DROPPED).sum())

    def summary(self) -> str:
        folded = f" from {self.source_rows:,} rows" if self.source_rows != self.rows else ""
        return (
            f"{self.rows:,} records{folded} ({self.layout}): {self.stored:,} stored, "
            f"{self.updated:,} updated, {self.merged:,} merged, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected"
        )


def run_import(
    engine: Engine,
    spec: ImportSpec,
    path: Path,
    *,
    file_format: str | None = None,
    mapping: dict[str, str] | None = None,
    source: str | None = None,
    encoding: str = "utf-8",
    sheet: str | None = None,
    errors: Path | None = None,
    step: Step = lambda _: None,
) -> ImportReport:
    """Import ``path`` in one transaction and report what happened to every row.

    Parameters
    ----------
    engine
        The database.
    spec
        What is imported (:data:`registry.activities.SPEC`, :data:`registry.suppliers.SPEC`).
    path
        The file.
    file_format
        A format of :data:`registry.readers.FORMATS` or a layout's name; ``None``: from the
        extension and the headers.
    mapping
        ``field → column`` for columns the importer would not recognise by name.
    source
        Label of the records' source (default: the file's name without extension).
    encoding
        Text encoding of a CSV or JSON file.
    sheet
        A workbook's sheet, by name or number from 1 (default: the first).
    errors
        Where to write the problems (CSV), if there are any. The path is checked before
        anything is read, and the file written before the import commits: if it cannot be
        written, nothing is imported.
    step
        Called with the name of each step, for progress.

    Returns
    -------
    ImportReport
        What happened to every row.
    """
    if errors is not None:
        check_errors_path(errors)
    step("Reading")
    layouts = {layout.name for layout in spec.layouts}
    if file_format is not None and file_format not in FORMATS and file_format not in layouts:
        raise InvalidInputError(
            f"unknown format {file_format!r}; use one of {', '.join([*FORMATS, *sorted(layouts)])}"
        )
    raw = read_table(path, file_format if file_format in FORMATS else None, encoding, sheet)
    with engine.begin() as conn:
        report = import_table(
            conn,
            spec,
            raw,
            layout=_layout(spec, raw, file_format),
            mapping=mapping,
            source=source or path.stem,
            label=path,
            step=step,
        )
        if errors is not None and not report.errors.empty:
            write_errors(report.errors, errors)
    return report


def check_errors_path(path: Path) -> None:
    """Refuse, before any work, an errors file that could not be written.

    Parameters
    ----------
    path
        Where the errors file is to go.

    Raises
    ------
    DataFileError
        ``path`` is a folder, its folder is missing or is a file, or the folder or an
        existing file there cannot be written; the message says what to do.
    """
    folder = path.parent
    if path.is_dir():
        problem = f"is a folder: pass --errors a file name, e.g. --errors {path / 'errors.csv'}"
    elif folder.exists() and not folder.is_dir():
        problem = f"{folder} is not a folder: pass --errors a path in a folder"
    elif not folder.is_dir():
        problem = f"the folder {folder} does not exist: create it, or pass --errors elsewhere"
    elif not os.access(folder, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    ):
        problem = "cannot be written (permission denied): pass --errors a writable path"
    else:
        return
    raise DataFileError(path, f"the errors file {problem}")


def write_errors(errors: pd.DataFrame, path: Path) -> None:
    """Write the problems to ``path`` whole or not at all.

    Parameters
    ----------
    errors
        The problems (:attr:`ImportReport.errors`).
    path
        The errors file (CSV). It is written to a temporary file in the same folder, then
        renamed into place, so an earlier file there stays whole until then.

    Raises
    ------
    DataFileError
        The file could not be written (a full disk, say); raised inside an import's
        transaction, it rolls the import back.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8", newline="") as handle:
            errors.to_csv(handle, index=False)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise DataFileError(
            path,
            f"the errors file cannot be written ({exc.strerror or exc}), so nothing was "
            "imported: free some space or pass --errors another path, then import again",
        ) from exc


def import_table(
    conn: Connection,
    spec: ImportSpec,
    raw: RawTable,
    *,
    layout: Layout | None = None,
    mapping: dict[str, str] | None = None,
    source: str | None = None,
    default_source: str = "input",
    label: object = "input",
    step: Step = lambda _: None,
) -> ImportReport:
    """Validate, geocode, merge and write already-read records on the caller's transaction
    (files come through :func:`run_import`; the API sends single records here too, so they
    meet exactly the same checks and errors)."""
    nested = raw.document is not None
    refused = raw.refused  # rows that never became records (a reshape starts afresh)
    source_rows = len(raw.frame) + len(refused)
    problems = Problems()
    for row, reason in refused:
        problems.add(row, "", "", reason)
    if layout is not None and layout.reshape is not None:
        raw = layout.reshape(raw)
    if nested:  # the records came out of a JSON document
        source_rows = len(raw.frame)
    columns = map_columns(
        [c for c in raw.frame.columns if layout is None or c not in layout.ignore],
        spec.fields,
        {**(layout.mapping if layout else {}), **(mapping or {})},
        label,
    )
    step("Checking values")
    records = parse_fields(raw.frame, raw.row, spec.fields, columns, problems)
    records["row"] = raw.row
    records["source"] = source or (layout.source if layout and layout.source else default_source)
    records["namespace"] = layout.namespace if layout and layout.namespace else records["source"]
    records["location_basis"] = layout.location_basis if layout else "delivery"
    _geometry(records, raw, problems)

    step("Geocoding")
    _geocode(conn, records, columns, problems)
    records = spec.prepare(records, problems)
    rejected = problems.rejected_rows()
    good = records[~records["row"].isin(rejected)]
    good, merged_in_file = spec.merge(good)
    step("Writing")
    counts = spec.write(conn, good)
    return ImportReport(
        source_rows=source_rows,
        rows=len(records) + len(refused),
        stored=counts["stored"],
        updated=counts["updated"],
        merged=counts["merged"] + merged_in_file,
        unchanged=counts["unchanged"],
        rejected=len(rejected),
        layout=layout.name if layout else "columns by name",
        errors=_every_source_row(problems.frame(), raw),
    )


def _every_source_row(errors: pd.DataFrame, raw: RawTable) -> pd.DataFrame:
    """A problem of a record folded from several rows, listed once for each of them."""
    if raw.source_rows is None:
        return errors
    folded = dict(zip(raw.row.tolist(), raw.source_rows, strict=True))
    errors = errors.assign(row=errors["row"].map(lambda row: folded.get(row, (row,))))
    errors = errors.explode("row").astype({"row": "int64"})
    return errors.sort_values(["row", "column"], kind="stable", ignore_index=True)


def _layout(spec: ImportSpec, raw: RawTable, requested: str | None) -> Layout | None:
    by_name = {layout.name: layout for layout in spec.layouts}
    if requested in by_name:
        return by_name[requested]
    return next((layout for layout in spec.layouts if layout.detect(raw)), None)


def _geometry(records: pd.DataFrame, raw: RawTable, problems: Problems) -> None:
    """GeoJSON features: a point gives the location; a polygon is the area served, and its
    representative point the location when the row has neither coordinates nor postcode."""
    records["service_area"] = None
    if raw.geometry is None:
        return
    for i, geom in enumerate(raw.geometry):
        index = records.index[i]
        if geom is None:
            continue
        if isinstance(geom, str):
            problems.add(raw.row[i], "geometry", "", "geometry is not valid GeoJSON")
            continue
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            geom = shapely.make_valid(geom)
            if geom.area == 0:
                problems.add(raw.row[i], "geometry", "", "the area served has no area")
                continue
            records.at[index, "service_area"] = geom
            use_point = pd.isna(records.at[index, "postcode"])
            point = geom.representative_point()
        elif geom.geom_type == "Point":
            use_point, point = True, geom
        else:
            problems.add(
                raw.row[i], "geometry", geom.geom_type, "geometry must be a point or polygon"
            )
            continue
        if use_point and pd.isna(records.at[index, "lat"]):
            records.at[index, "lat"] = f"{point.y:.6f}"
            records.at[index, "lon"] = f"{point.x:.6f}"


def _geocode(
    conn: Connection, records: pd.DataFrame, columns: dict[str, str], problems: Problems
) -> None:
    """Place every row (postcode, or coordinates where given) and record failures."""
    postcode = records["postcode"].fillna("").astype(str)
    lat = records["lat"].fillna("").astype(str)
    lon = records["lon"].fillna("").astype(str)
    by_coordinates = ((lat.str.strip() != "") | (lon.str.strip() != "")).to_numpy()
    # Placing coordinates needs every boundary in memory (about a second): only when asked.
    locator = repository.locator(conn) if by_coordinates.any() else None
    # A postcode missing from its field is often at the end of the address.
    address = records["address"].fillna("").astype(str) if "address" in records else None
    placed = Geocoder(gazetteer_for(conn, postcode, addresses=address), locator).geocode(
        postcode, lat, lon, address
    )
    for i in np.flatnonzero(placed["postcode_from_address"].to_numpy()):
        problems.add(
            records["row"].iloc[i],
            columns.get("postcode", "postcode"),
            postcode.iloc[i],
            f"postcode {placed['postcode'].iloc[i]} taken from the end of the address",
            outcome=NOTED,
        )
    for i in np.flatnonzero(placed["ambiguous"].fillna(False).to_numpy(bool)):
        problems.add(
            records["row"].iloc[i],
            columns.get("postcode", "postcode"),
            postcode.iloc[i],
            f"placed by its {placed['precision'].iloc[i]}, which straddles territories: "
            f"{placed['territory_share'].iloc[i]:.0%} of its postcodes are in "
            f"{placed['territory_code'].iloc[i]}; check the territory",
            outcome=NOTED,
        )
    for i in np.flatnonzero((placed["error"] != "").to_numpy()):
        if by_coordinates[i]:
            column, value = columns.get("lat", "geometry"), f"{lat.iloc[i]}, {lon.iloc[i]}"
        else:
            column, value = columns.get("postcode", "postcode"), postcode.iloc[i]
        problems.add(records["row"].iloc[i], column, value, placed["error"].iloc[i])
    for name in ("lat", "lon", "precision", "territory_code", "need_area_code"):
        records[f"placed_{name}"] = placed[name].to_numpy()
    records["postcode"] = placed["postcode"].where(placed["postcode"] != "", None).to_numpy()


def place_text(records: pd.DataFrame) -> pd.Series:
    """Where a record is, as text for natural keys: its postcode, else its coordinates."""
    coordinates = (
        records["placed_lat"].round(4).astype(str)
        + ","
        + records["placed_lon"].round(4).astype(str)
    )
    postcode = records["postcode"].astype(object)
    return postcode.where(postcode.notna(), coordinates).astype(str)
