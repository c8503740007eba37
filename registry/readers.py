"""Read the files people bring (CSV, XLSX, GeoJSON, JSON) into text columns.

Every value is kept as text, exactly as given, so that validation can name the row, the
column and the offending value. ``row`` numbers what a person sees: the spreadsheet row
(the header is row 1) or the GeoJSON feature (from 1).

A CSV row with more fields than the header is refused on its own ("row 7 has 9 fields, the
header has 8"), never shifting the columns of the others; extra fields left empty (a
trailing comma) are no problem. A workbook is read from its first sheet, or the one asked
for by name or number.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import shape

from geo.errors import DataFileError, InvalidInputError

FORMATS = ("csv", "xlsx", "geojson", "json")


@dataclass(frozen=True)
class RawTable:
    """Text columns, the row number of each record, and geometry when the file had it.

    ``refused`` lists rows that could not be read as records (row, reason); they are not
    in ``frame``. ``source_rows`` gives, for records folded from several rows of the file
    (360Giving grants), every row each record came from.
    """

    frame: pd.DataFrame
    row: npt.NDArray[np.int64]
    geometry: npt.NDArray[np.object_] | None = None
    document: object = None  # the parsed JSON, for formats with nested records
    refused: tuple[tuple[int, str], ...] = ()
    source_rows: tuple[tuple[int, ...], ...] | None = None


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("geojson",):
        return "geojson"
    if suffix == "json":
        return "json"
    return "csv"


def read_table(
    path: Path,
    file_format: str | None = None,
    encoding: str = "utf-8",
    sheet: str | None = None,
) -> RawTable:
    """Read ``path`` as text columns; a missing, empty or unreadable file is a clear error.

    Parameters
    ----------
    path
        The file.
    file_format
        One of :data:`FORMATS`; ``None`` guesses it from the extension.
    encoding
        Text encoding of a CSV or JSON file.
    sheet
        For a workbook: the sheet's name, or its number counting from 1 (default: the
        first sheet).
    """
    if not path.is_file():
        raise DataFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataFileError(path, "file is empty")
    file_format = file_format or detect_format(path)
    if file_format not in FORMATS:
        raise DataFileError(
            path, f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}"
        )
    if sheet is not None and file_format != "xlsx":
        raise InvalidInputError(
            f"--sheet applies to Excel workbooks; {path.name} is read as {file_format}"
        )
    if file_format == "csv":
        table = _read_csv(path, encoding)
    elif file_format == "xlsx":
        table = _read_xlsx(path, sheet)
    elif file_format == "geojson":
        table = _read_geojson(path, encoding)
    else:
        table = RawTable(pd.DataFrame(), np.zeros(0, np.int64), document=_read_json(path, encoding))
    if file_format != "json" and table.frame.empty:
        raise DataFileError(
            path, [reason for _, reason in table.refused] or "has a header but no rows"
        )
    return table


def _read_csv(path: Path, encoding: str) -> RawTable:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding
    try:
        with path.open(encoding=codec, newline="") as handle:
            reader = csv.reader(handle)
            try:
                records = list(reader)
            except csv.Error as exc:
                raise DataFileError(
                    path, f"is not a valid CSV (line {reader.line_num}): {exc}"
                ) from exc
    except LookupError as exc:
        raise DataFileError(path, f"{encoding!r} is not a text encoding Python knows") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            path,
            f"is not {_label(encoding)} text (byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"position {exc.start}); save it as UTF-8, or pass --encoding cp1252 for a "
            "Windows/Excel file",
        ) from exc
    return _records(path, records)


def _records(path: Path, records: list[list[str]]) -> RawTable:
    """The first non-blank record is the header; rows longer than it are refused alone."""
    first = next((i for i, fields in enumerate(records) if any(f.strip() for f in fields)), None)
    if first is None:
        raise DataFileError(path, "file is empty")
    header = _header(records[first])
    width = len(header)
    rows, numbers, refused = [], [], []
    for number, fields in enumerate(records[first + 1 :], start=first + 2):
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            refused.append(
                (number, f"row {number} has {len(fields)} fields, the header has {width}")
            )
            continue
        rows.append(fields[:width] + [""] * (width - len(fields)))
        numbers.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header)
    table = _rows_of(frame, np.array(numbers, dtype=np.int64))
    return RawTable(table.frame, table.row, refused=tuple(refused))


def _header(names: list[str]) -> list[str]:
    """Column names stripped; empty names at the end (a trailing comma) are no columns, an
    empty one inside is ``column N``; a repeated name gets ``.1``, ``.2`` as pandas does."""
    stripped = [name.strip() for name in names]
    while stripped and not stripped[-1]:
        stripped.pop()
    header: list[str] = []
    for i, name in enumerate(stripped, start=1):
        name = name or f"column {i}"
        candidate, n = name, 0
        while candidate in header:
            n += 1
            candidate = f"{name}.{n}"
        header.append(candidate)
    return header


def _rows_of(frame: pd.DataFrame, row: npt.NDArray[np.int64] | None = None) -> RawTable:
    """Spreadsheet row numbers (default: the header is row 1, then every row), then blank
    rows left out."""
    frame.columns = [str(c).strip() for c in frame.columns]
    row = np.arange(len(frame), dtype=np.int64) + 2 if row is None else row
    blank = (frame.fillna("").astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)
    keep = ~blank.to_numpy()
    return RawTable(frame[keep].reset_index(drop=True), row[keep])


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            name = _sheet(path, [str(n) for n in book.sheet_names], sheet)
            frame = pd.read_excel(book, sheet_name=name, dtype=str, keep_default_na=False)
    except DataFileError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise DataFileError(path, f"cannot be read as an Excel workbook: {exc}") from exc
    return _rows_of(frame)


def _sheet(path: Path, names: list[str], asked: str | None) -> str:
    """The sheet asked for: by name (any case), else by number from 1; the first if none."""
    if asked is None:
        return names[0]
    by_case = [name for name in names if name.casefold() == asked.strip().casefold()]
    if asked in names or len(by_case) == 1:
        return asked if asked in names else by_case[0]
    if asked.strip().isdigit() and 1 <= int(asked) <= len(names):
        return names[int(asked) - 1]
    listed = ", ".join(f"{i} {name!r}" for i, name in enumerate(names, start=1))
    raise DataFileError(
        path,
        f"no sheet {asked!r}; the workbook's sheets are {listed}: pass --sheet a name or a "
        "number (1 is the first sheet)",
    )


def _read_json(path: Path, encoding: str) -> object:
    try:
        return json.loads(path.read_text(encoding=encoding))
    except LookupError as exc:
        raise DataFileError(path, f"{encoding!r} is not a text encoding Python knows") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(path, f"is not {_label(encoding)} text; save it as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"is not valid JSON: {exc}") from exc


def _read_geojson(path: Path, encoding: str) -> RawTable:
    document = _read_json(path, encoding)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise DataFileError(path, "is not a GeoJSON FeatureCollection (no 'features' list)")
    records, geometries = [], []
    for feature in features:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        records.append({k: "" if v is None else str(v) for k, v in (properties or {}).items()})
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        try:
            geometries.append(shape(geometry) if geometry else None)
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException):
            geometries.append("invalid")
    frame = pd.DataFrame.from_records(records).fillna("").astype(str)
    return RawTable(
        frame,
        np.arange(len(frame), dtype=np.int64) + 1,
        geometry=np.array(geometries, dtype=object),
    )


def _label(encoding: str) -> str:
    return "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
