"""The import pipeline shared by activities and suppliers.

read → recognise the layout → map columns → parse values → geocode → drop bad rows → merge
duplicates → write, all inside one transaction: good rows are stored, bad rows are listed
(row, column, value, reason) in an errors file, and a crash or Ctrl-C leaves the database as
it was before the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from boundaries import repository
from boundaries.gazetteer import gazetteer_for
from geo.errors import InvalidInputError
from geo.geocode import Geocoder
from registry.fields import Field, Problems, map_columns, parse_fields
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
    (360Giving grants into one record per recipient).
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
    step: Step = lambda _: None,
) -> ImportReport:
    """Import ``path`` in one transaction and report what happened to every row."""
    step("Reading")
    layouts = {layout.name for layout in spec.layouts}
    if file_format is not None and file_format not in FORMATS and file_format not in layouts:
        raise InvalidInputError(
            f"unknown format {file_format!r}; use one of {', '.join([*FORMATS, *sorted(layouts)])}"
        )
    raw = read_table(path, file_format if file_format in FORMATS else None, encoding)
    with engine.begin() as conn:
        return import_table(
            conn,
            spec,
            raw,
            layout=_layout(spec, raw, file_format),
            mapping=mapping,
            source=source or path.stem,
            label=path,
            step=step,
        )


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
    source_rows = len(raw.frame)
    if layout is not None and layout.reshape is not None:
        raw = layout.reshape(raw)
    if nested:  # the records came out of a JSON document
        source_rows = len(raw.frame)
    problems = Problems()
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
        rows=len(records),
        stored=counts["stored"],
        updated=counts["updated"],
        merged=counts["merged"] + merged_in_file,
        unchanged=counts["unchanged"],
        rejected=len(rejected),
        layout=layout.name if layout else "columns by name",
        errors=problems.frame(),
    )


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
    placed = Geocoder(gazetteer_for(conn, postcode), locator).geocode(postcode, lat, lon)
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
