"""Tables as downloads: JSON, CSV (with the attribution in a header), or GeoJSON,
GeoPackage or GeoParquet points."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from fastapi import Response
from fastapi.responses import JSONResponse

from api.downloads import geo_file, points
from geo.attribution import SHORT
from geo.jsonable import records

Format = Literal["json", "csv", "geojson", "gpkg", "parquet"]
ASCII_ATTRIBUTION = SHORT.replace("©", "(c)")  # HTTP headers are ASCII


def table_response(frame: pd.DataFrame, format: Format, name: str) -> Response:
    headers = {"X-Attribution": ASCII_ATTRIBUTION}
    if format in ("gpkg", "parquet"):
        return geo_file(points(frame), format, name, SHORT)
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        listed = frame.copy()
        for column in listed.columns:
            if listed[column].map(lambda v: isinstance(v, list | tuple)).any():
                listed[column] = listed[column].map(
                    lambda v: ";".join(v) if isinstance(v, list | tuple) else v
                )
        return Response(listed.to_csv(index=False), media_type="text/csv", headers=headers)
    if format == "geojson":
        features = [
            {
                "type": "Feature",
                "geometry": None
                if row.get("lon") is None
                else {"type": "Point", "coordinates": [row.pop("lon"), row.pop("lat")]},
                "properties": row,
            }
            for row in records(frame)
        ]
        return JSONResponse(
            {"type": "FeatureCollection", "features": features, "attribution": SHORT},
            headers=headers,
            media_type="application/geo+json",
        )
    return JSONResponse({"rows": records(frame), "attribution": SHORT}, headers=headers)
