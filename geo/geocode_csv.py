"""Geocode a CSV file end to end, fast: Arrow reads and writes, the geocoder places.

Every input row appears in the output, in order, with its columns untouched and the
geocoder's columns added (:data:`OUTPUT_COLUMNS`). An input column is never overwritten: an
added column whose name the input already has takes a suffix (``lat_geocoded``), and if
that name is taken too the file is refused (:func:`output_names`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import DataFileError
from geo.geocode import COLUMNS, Geocoder

# The geocoder's columns but the postcode (the input has its own).
OUTPUT_COLUMNS = [name for name in COLUMNS if name != "postcode"]
SUFFIX = "_geocoded"


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


def output_names(
    existing: Sequence[str], added: Sequence[str], suffix: str, path: object
) -> dict[str, str]:
    """The name each added column takes in the output: its own, or with ``suffix`` where
    the input already has a column of that name, so no input column is overwritten.

    Raises a :class:`DataFileError` naming the columns when even the suffixed name is
    taken (or ``suffix`` is empty), and saying how to choose another suffix.
    """
    taken = set(existing)
    names = {name: f"{name}{suffix}" if name in taken else name for name in added}
    clashes = [names[name] for name in added if names[name] in taken]
    if clashes:
        raise DataFileError(
            path,
            f"already has column(s) {', '.join(clashes)}, which the output would overwrite; "
            "choose a suffix for the added columns with --suffix (e.g. --suffix _new)",
        )
    return names


def renamed(names: dict[str, str]) -> str:
    """A sentence naming the added columns :func:`output_names` renamed (empty if none)."""
    moved = {old: new for old, new in names.items() if old != new}
    if not moved:
        return ""
    return (
        f"Column(s) {', '.join(moved)} already in the file are kept as they were; "
        f"the added ones are {', '.join(moved.values())}."
    )


def geocode_table(
    table: pa.Table,
    geocoder: Geocoder,
    postcode_column: str | None = "postcode",
    lat_column: str = "lat",
    lon_column: str = "lon",
    path: object = "input",
    *,
    address_column: str | None = "address",
    suffix: str = SUFFIX,
) -> pa.Table:
    """The input table with the geocoder's columns added.

    Parameters
    ----------
    table
        Text columns, one row per record.
    geocoder
        Places the rows (its gazetteer must hold the postcodes they need).
    postcode_column, lat_column, lon_column
        Where the postcode and the coordinates (degrees, WGS84) are; a row with
        coordinates is placed by them, else by its postcode.
    path
        What to call the input in errors.
    address_column
        Used where present: a row whose postcode is empty, impossible or unknown takes the
        postcode at the end of its address (shown in ``postcode_from_address``).
    suffix
        Added to the name of an output column the input already has (:func:`output_names`).

    Returns
    -------
    pyarrow.Table
        The input columns, then :data:`OUTPUT_COLUMNS` (renamed where they clash):
        ``lat``/``lon`` in degrees, ``territory_share`` 0-1, ``ambiguous`` true where the
        sector or district placing the row straddles territories, ``postcode_from_address``
        the postcode taken from the address (empty if none was), ``error`` why a row could
        not be placed (empty if placed).
    """
    names = table.schema.names
    has_postcode = postcode_column is not None and postcode_column in names
    has_coordinates = lat_column in names and lon_column in names
    if not has_postcode and not has_coordinates:
        raise DataFileError(
            path,
            f"needs a {postcode_column!r} column, or {lat_column!r} and {lon_column!r}; found "
            f"{', '.join(names)} (use --postcode-column or --lat-column/--lon-column)",
        )
    renamed = output_names(names, OUTPUT_COLUMNS, suffix, path)

    def column(name: str | None) -> pd.Series | None:
        return table.column(name).to_pandas() if name is not None and name in names else None

    placed = geocoder.geocode(
        column(postcode_column),
        column(lat_column) if has_coordinates else None,
        column(lon_column) if has_coordinates else None,
        column(address_column) if has_postcode else None,
    )
    placed["postcode_from_address"] = placed["postcode"].where(placed["postcode_from_address"], "")
    out = table
    for name in OUTPUT_COLUMNS:
        values = placed[name]
        if name in ("lat", "lon", "territory_share"):
            array = pa.array(values.to_numpy(), type=pa.float64(), from_pandas=True)
        elif name == "ambiguous":
            array = pa.array(values, type=pa.bool_(), from_pandas=True)
        else:  # text and categoricals; missing values stay empty
            array = pa.array(values.astype(object), type=pa.string(), from_pandas=True)
        out = out.append_column(renamed[name], array)
    return out


def write_csv(table: pa.Table, path: Path | None) -> bytes | None:
    """Write ``table`` to ``path``; with no path, return the CSV bytes."""
    sink = pa.BufferOutputStream() if path is None else str(path)
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes() if path is None else None  # type: ignore[union-attr]
