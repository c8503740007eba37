"""Read the files people bring (CSV, XLSX, GeoJSON, JSON) into text columns.

Every value is kept as text, exactly as given, so that validation can name the row, the
column and the offending value. ``row`` numbers what a person sees: the spreadsheet row
(the header is row 1) or the GeoJSON feature (from 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import shape

from geo.errors import DataFileError

FORMATS = ("csv", "xlsx", "geojson", "json")


@dataclass(frozen=True)
class RawTable:
    """Text columns, the row number of each record, and geometry when the file had it."""

    frame: pd.DataFrame
    row: npt.NDArray[np.int64]
    geometry: npt.NDArray[np.object_] | None = None
    document: object = None  # the parsed JSON, for formats with nested records


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("geojson",):
        return "geojson"
    if suffix == "json":
        return "json"
    return "csv"


def read_table(path: Path, file_format: str | None = None, encoding: str = "utf-8") -> RawTable:
    """Read ``path`` as text columns; a missing, empty or unreadable file is a clear error."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataFileError(path, "file is empty")
    file_format = file_format or detect_format(path)
    if file_format not in FORMATS:
        raise DataFileError(
            path, f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}"
        )
    if file_format == "csv":
        table = _read_csv(path, encoding)
    elif file_format == "xlsx":
        table = _read_xlsx(path)
    elif file_format == "geojson":
        table = _read_geojson(path, encoding)
    else:
        table = RawTable(pd.DataFrame(), np.zeros(0, np.int64), document=_read_json(path, encoding))
    if file_format != "json" and table.frame.empty:
        raise DataFileError(path, "has a header but no rows")
    return table


def _read_csv(path: Path, encoding: str) -> RawTable:
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding,
            skip_blank_lines=False,
        )
    except LookupError as exc:
        raise DataFileError(path, f"{encoding!r} is not a text encoding Python knows") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            path,
            f"is not {_label(encoding)} text (byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"position {exc.start}); save it as UTF-8, or pass --encoding cp1252 for a "
            "Windows/Excel file",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(path, "file is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataFileError(path, f"is not a valid CSV: {exc}") from exc
    return _rows_of(frame)


def _rows_of(frame: pd.DataFrame) -> RawTable:
    """Spreadsheet row numbers (the header is row 1), then blank rows left out."""
    frame.columns = [str(c).strip() for c in frame.columns]
    row = np.arange(len(frame), dtype=np.int64) + 2
    blank = (frame.fillna("").astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)
    keep = ~blank.to_numpy()
    return RawTable(frame[keep].reset_index(drop=True), row[keep])


def _read_xlsx(path: Path) -> RawTable:
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise DataFileError(path, f"cannot be read as an Excel workbook: {exc}") from exc
    return _rows_of(frame)


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
