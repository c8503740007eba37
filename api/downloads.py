"""GeoPackage and GeoParquet downloads of GeoDataFrames, beside the CSV and GeoJSON ones.

Written by geopandas (pyogrio's GDAL for the GeoPackage, pyarrow for GeoParquet 1.0 with
its CRS in the file's ``geo`` metadata); the licence attribution travels in the
``X-Attribution`` header and, in a GeoPackage, in the layer's description.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
from fastapi import Response

from geo.errors import InvalidInputError

GeoFormat = Literal["gpkg", "parquet"]
MEDIA_TYPES: dict[GeoFormat, str] = {
    "gpkg": "application/geopackage+sqlite3",  # OGC GeoPackage, registered with IANA
    "parquet": "application/vnd.apache.parquet",
}


def _flat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lists joined with ";" and other objects as text: a GeoPackage column holds one
    value of a simple type."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name or out[column].dtype != object:
            continue
        out[column] = out[column].map(
            lambda v: (
                ";".join(map(str, v))
                if isinstance(v, list | tuple)
                else (v if v is None or isinstance(v, str | int | float | bool) else str(v))
            )
        )
    return out


def geo_file(frame: gpd.GeoDataFrame, format: GeoFormat, name: str, attribution: str) -> Response:
    """``frame`` (EPSG:4326) as a GeoPackage (one layer called ``name``) or GeoParquet
    file, sent as an attachment ``name.gpkg`` / ``name.parquet``."""
    flat = _flat(frame)
    if format == "gpkg":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.gpkg"
            flat.to_file(
                path,
                driver="GPKG",
                layer=name,
                engine="pyogrio",
                layer_options={"DESCRIPTION": attribution},
            )
            content = path.read_bytes()
    else:
        buffer = io.BytesIO()
        flat.to_parquet(buffer, index=False)
        content = buffer.getvalue()
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{format}"',
            "X-Attribution": attribution.replace("©", "(c)").encode("ascii", "replace").decode(),
        },
    )


def points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A table with ``lon``/``lat`` columns (degrees) as points in EPSG:4326; a row without
    them has no geometry. An :class:`InvalidInputError` when the table has no points."""
    if "lon" not in frame or "lat" not in frame:
        raise InvalidInputError("this table has no points: download it as csv or json")
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry)
