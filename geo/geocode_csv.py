"""Geocode a CSV file end to end, fast: Arrow reads and writes, the geocoder places.

Every input row appears in the output, in order, with its columns untouched and ``lat``,
``lon``, ``precision``, ``territory_code``, ``need_area_code`` and ``error`` added (input
columns of those names are replaced).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import DataFileError
from geo.geocode import Geocoder

OUTPUT_COLUMNS = ["lat", "lon", "precision", "territory_code", "need_area_code", "error"]


def read_texts(path: Path, encoding: str = "utf-8") -> pa.Table:
    """Every column of a CSV as text, empty cells as empty strings."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataFileError(path, "file is empty; expected a header row")
    header = _header(path, encoding)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataFileError(
            path, f"column name(s) {', '.join(repeated)} appear twice in the header"
        )
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise DataFileError(path, f"is not {encoding} text; {_ENCODING_HINT}") from exc
        raise DataFileError(path, f"is not a valid CSV: {exc}") from exc


_ENCODING_HINT = "save it as UTF-8, or pass --encoding cp1252 for a Windows/Excel file"


def _header(path: Path, encoding: str) -> list[str]:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding
    try:
        with path.open(encoding=codec, newline="") as handle:
            first = handle.readline()
    except LookupError as exc:
        raise DataFileError(path, f"{encoding!r} is not a text encoding Python knows") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(path, f"is not {encoding} text; {_ENCODING_HINT}") from exc
    return next(csv.reader([first]), [])


def geocode_table(
    table: pa.Table,
    geocoder: Geocoder,
    postcode_column: str | None = "postcode",
    lat_column: str = "lat",
    lon_column: str = "lon",
    path: object = "input",
) -> pa.Table:
    """The input table with the geocoder's columns added (postcode, or lat/lon, or both)."""
    names = table.schema.names
    has_postcode = postcode_column is not None and postcode_column in names
    has_coordinates = lat_column in names and lon_column in names
    if not has_postcode and not has_coordinates:
        raise DataFileError(
            path,
            f"needs a {postcode_column!r} column, or {lat_column!r} and {lon_column!r}; found "
            f"{', '.join(names)} (use --postcode-column or --lat-column/--lon-column)",
        )

    def column(name: str) -> pd.Series:
        return table.column(name).to_pandas()

    placed = geocoder.geocode(
        column(postcode_column) if has_postcode else None,  # type: ignore[arg-type]
        column(lat_column) if has_coordinates else None,
        column(lon_column) if has_coordinates else None,
    )
    out = table.drop_columns([c for c in OUTPUT_COLUMNS if c in names])
    for name in OUTPUT_COLUMNS:
        values = placed[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            array = pa.array(values.astype(object), type=pa.string(), from_pandas=True)
        elif name == "error":
            array = pa.array(values.to_numpy(dtype=object), type=pa.string())
        else:
            array = pa.array(values.to_numpy(), type=pa.float64(), from_pandas=True)
        out = out.append_column(name, array)
    return out


def write_csv(table: pa.Table, path: Path | None) -> bytes | None:
    """Write ``table`` to ``path``; with no path, return the CSV bytes."""
    sink = pa.BufferOutputStream() if path is None else str(path)
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes() if path is None else None  # type: ignore[union-attr]
