"""Read and validate boundary files before anything touches the database.

Every check collects all the problems it finds (with row numbers) and raises one
:class:`~geo.errors.DataFileError`, so a malformed file is rejected whole and the message
says what to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from boundaries.tables import NATIONS
from geo.crs import BNG, WGS84, in_uk_extent
from geo.errors import DataFileError

TERRITORY_COUNT = 45
GSS_TERRITORY = re.compile(r"^(E23|W15|S23|N23)\d{6}$")

NEED_AREA_COLUMNS = {
    "area_code": "code",
    "name": "name",
    "nation": "nation",
    "lat": "lat",
    "lon": "lon",
    "centroid_method": "point_method",
    "population": "population",
    "uk_imd_score": "uk_imd_score",
    "uk_imd_rank": "uk_imd_rank",
    "uk_imd_decile": "uk_imd_decile",
    "national_imd_score": "national_imd_score",
    "national_imd_decile": "national_imd_decile",
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_territories(path: Path) -> gpd.GeoDataFrame:
    """The 45 territories as valid MultiPolygons in EPSG:4326, with area in km² (EPSG:27700).

    Columns: ``code``, ``name``, ``nation``, ``force_name``, ``area_km2``, ``geometry``;
    sorted by code.
    """
    _require_file(path)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        reason = _json_error(path) or str(exc)
        raise DataFileError(path, f"cannot be read as GeoJSON: {reason}") from exc

    problems = _missing_columns(frame.columns, ["code", "name", "nation"])
    if problems:
        raise DataFileError(path, problems)
    if "force_name" not in frame.columns:
        frame["force_name"] = None
    if frame.crs is None:
        problems.append("has no CRS; expected EPSG:4326 lon/lat")
    elif not frame.crs.equals(WGS84) and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(WGS84)

    codes = frame["code"].astype("string").str.strip()
    if len(frame) != TERRITORY_COUNT:
        problems.append(f"has {len(frame)} features; expected the {TERRITORY_COUNT} territories")
    for row, code in enumerate(codes, start=1):
        if pd.isna(code) or not GSS_TERRITORY.match(str(code)):
            problems.append(
                f"feature {row}: code {code!r} is not a territory GSS code "
                "(E23, W15, S23 or N23 and 6 digits)"
            )
    duplicated = sorted(set(codes[codes.duplicated()].dropna()))
    if duplicated:
        problems.append(f"duplicate codes: {', '.join(duplicated)}")
    for row, nation in enumerate(frame["nation"], start=1):
        if nation not in NATIONS:
            problems.append(f"feature {row}: nation {nation!r} is not one of {', '.join(NATIONS)}")

    geometries = []
    for row, (code, geom) in enumerate(zip(codes, frame.geometry, strict=True), start=1):
        multipolygon = _as_valid_multipolygon(geom)
        if multipolygon is None:
            problems.append(f"feature {row} ({code}): geometry is missing or not a polygon")
        elif not in_uk_extent(*np.asarray(multipolygon.bounds).reshape(2, 2).T).all():
            problems.append(
                f"feature {row} ({code}): geometry lies outside the UK (lon/lat swapped?)"
            )
        geometries.append(multipolygon)
    if problems:
        raise DataFileError(path, problems)

    territories = gpd.GeoDataFrame(
        {
            "code": codes.astype(str),
            "name": frame["name"].astype(str).str.strip(),
            "nation": frame["nation"].astype(str),
            "force_name": frame["force_name"].where(frame["force_name"].notna(), None),
        },
        geometry=gpd.GeoSeries(geometries, crs=WGS84),
    )
    territories["area_km2"] = territories.geometry.to_crs(BNG).area / 1e6
    return territories.sort_values("code", ignore_index=True)


def read_need_areas(path: Path) -> gpd.GeoDataFrame:
    """Need areas with deprivation and a representative point (EPSG:4326), sorted by code."""
    _require_file(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(path, f"cannot be read as UTF-8 CSV: {exc}") from exc

    problems = _missing_columns(raw.columns, list(NEED_AREA_COLUMNS))
    if problems:
        raise DataFileError(path, problems)
    frame = raw[list(NEED_AREA_COLUMNS)].rename(columns=NEED_AREA_COLUMNS)
    frame = frame.apply(lambda col: col.str.strip())
    line = pd.Series(np.arange(len(frame)) + 2, index=frame.index)  # header is line 1

    if frame.empty:
        raise DataFileError(path, "has no rows")
    problems += _blank(frame, line, ["code", "name", "nation", "point_method"])
    required_numbers = ["lat", "lon", "uk_imd_score", "uk_imd_rank", "uk_imd_decile"]
    optional_numbers = ["population", "national_imd_score", "national_imd_decile"]
    for column in required_numbers + optional_numbers:
        text = frame[column]
        number = pd.to_numeric(text, errors="coerce")
        bad = number.isna() & ((text != "") | (column in required_numbers))
        problems += [
            f"line {line[i]}: {column} {text[i]!r} is not a number" for i in frame.index[bad]
        ]
        frame[column] = number

    bad_nation = ~frame["nation"].isin(NATIONS)
    problems += [
        f"line {line[i]}: nation {frame.at[i, 'nation']!r} is not one of {', '.join(NATIONS)}"
        for i in frame.index[bad_nation]
    ]
    fractional = frame["population"].notna() & (frame["population"] % 1 != 0)
    problems += [
        f"line {line[i]}: population {frame.at[i, 'population']} is not a whole number"
        for i in frame.index[fractional]
    ]
    for column in ("uk_imd_decile", "national_imd_decile"):
        values = frame[column]
        bad = values.notna() & ~values.isin(range(1, 11))
        problems += [f"line {line[i]}: {column} {values[i]} is not 1-10" for i in frame.index[bad]]
    placed = frame["lat"].notna() & frame["lon"].notna()
    outside = placed & ~in_uk_extent(frame["lon"], frame["lat"])
    problems += [
        f"line {line[i]}: point (lat {frame.at[i, 'lat']}, lon {frame.at[i, 'lon']}) "
        "is outside the UK"
        for i in frame.index[outside]
    ]
    duplicated = frame["code"].duplicated(keep="first") & (frame["code"] != "")
    problems += [
        f"line {line[i]}: area code {frame.at[i, 'code']} repeats an earlier row"
        for i in frame.index[duplicated]
    ]
    if problems:
        raise DataFileError(path, problems)

    geometry = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"), crs=WGS84)
    for column in ("uk_imd_decile", "population", "national_imd_decile"):
        frame[column] = frame[column].astype("Int64")
    return gpd.GeoDataFrame(frame, geometry=geometry).sort_values("code", ignore_index=True)


def read_need_area_shapes(path: Path) -> tuple[gpd.GeoDataFrame, int]:
    """Need-area polygons (GeoParquet) as valid MultiPolygons in EPSG:4326, sorted by code.

    Returns
    -------
    tuple
        The frame (columns ``code``, ``geometry``) and how many polygons were invalid and
        repaired with ``shapely.make_valid`` (keeping their polygonal parts).
    """
    _require_file(path)
    try:
        frame = gpd.read_parquet(path, columns=["area_code", "geometry"])
    except Exception as exc:  # pyarrow and geopandas raise several types for bad files
        raise DataFileError(
            path, f"cannot be read as GeoParquet with area_code and geometry: {exc}"
        ) from exc
    if frame.crs is None:
        raise DataFileError(path, "has no CRS; expected EPSG:4326 lon/lat")
    if frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(WGS84)
    codes = frame["area_code"].astype("string").str.strip()
    problems = [f"row {i + 1}: area_code is empty" for i in np.flatnonzero(codes.fillna("") == "")]
    duplicated = sorted(set(codes[codes.duplicated()].dropna()))
    if duplicated:
        problems.append(f"duplicate area codes: {', '.join(duplicated[:10])}")
    geometries = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(geometries)
    repaired = [_as_valid_multipolygon(g) for g in geometries[invalid]]
    geometries[invalid] = repaired
    polygonal = shapely.get_type_id(geometries) == shapely.GeometryType.MULTIPOLYGON
    single = shapely.get_type_id(geometries) == shapely.GeometryType.POLYGON
    geometries[single] = [MultiPolygon([polygon]) for polygon in geometries[single]]
    problems += [
        f"row {i + 1} ({codes.iloc[i]}): geometry is missing or not a polygon"
        for i in np.flatnonzero(~(polygonal | single) | shapely.is_empty(geometries))
    ]
    west, south, east, north = shapely.total_bounds(geometries[polygonal | single])
    if len(frame) and not in_uk_extent(np.array([west, east]), np.array([south, north])).all():
        problems.append("geometries lie outside the UK (lon/lat swapped?)")
    if problems:
        raise DataFileError(path, problems)
    shapes = gpd.GeoDataFrame(
        {"code": codes.astype(str)}, geometry=gpd.GeoSeries(geometries, crs=WGS84)
    )
    return shapes.sort_values("code", ignore_index=True), int(invalid.sum())


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataFileError(path, "file not found (check DUALIMPACT_DATA_DIR)")


def _missing_columns(columns: pd.Index, required: list[str]) -> list[str]:
    missing = [c for c in required if c not in columns]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _blank(frame: pd.DataFrame, line: pd.Series, columns: list[str]) -> list[str]:
    return [
        f"line {line[i]}: {column} is empty"
        for column in columns
        for i in frame.index[frame[column] == ""]
    ]


def _as_valid_multipolygon(geom: BaseGeometry | None) -> MultiPolygon | None:
    """Repair the geometry and keep its polygonal parts as one MultiPolygon."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    # make_valid may nest a MultiPolygon inside a GeometryCollection: flatten twice.
    parts = shapely.get_parts(shapely.get_parts(geom))
    polygons = [part for part in parts if isinstance(part, Polygon)]
    return MultiPolygon(polygons) if polygons else None


def _json_error(path: Path) -> str | None:
    """Why ``path`` is not JSON at all, when it is not (clearer than the driver's message)."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return str(exc)
    return None
