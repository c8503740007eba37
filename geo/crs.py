"""Coordinate reference systems and the UK extent.

Geometry is stored in WGS84 lon/lat (EPSG:4326); anything in metres is measured in British
National Grid (EPSG:27700). pyproj's 4326 → 27700 transform without the OSTN15 grid file
uses a Helmert fallback that is about 1.7 m off (at most 4.4 m): fine for matching
activities to places, but it is not survey grade. Northern Ireland is measured on the same
grid; distances there are distorted by well under 1 %.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

# A generous lon/lat box around Great Britain and Northern Ireland (Scilly to Shetland,
# Lough Erne to Lowestoft). The Channel Islands (south of 49.8°N) fall outside it; the Isle
# of Man falls inside it but outside every territory.
UK_MIN_LON, UK_MAX_LON = -8.8, 2.0
UK_MIN_LAT, UK_MAX_LAT = 49.8, 61.0

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=1)
def _to_bng() -> Transformer:
    return Transformer.from_crs(WGS84, BNG, always_xy=True)


@lru_cache(maxsize=1)
def _from_bng() -> Transformer:
    return Transformer.from_crs(BNG, WGS84, always_xy=True)


def to_bng(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project lon/lat degrees (EPSG:4326) to easting/northing metres (EPSG:27700)."""
    x, y = _to_bng().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def from_bng(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project easting/northing metres (EPSG:27700) back to lon/lat degrees (EPSG:4326)."""
    lon, lat = _from_bng().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def in_uk_extent(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a lon/lat point lies inside the UK's bounding box."""
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (
        (lon_a >= UK_MIN_LON)
        & (lon_a <= UK_MAX_LON)
        & (lat_a >= UK_MIN_LAT)
        & (lat_a <= UK_MAX_LAT)
    )
