"""Contracts of the boundaries frames other packages read, as pandera schemas.

:func:`boundaries.repository.territories`, :func:`boundaries.repository.need_areas` and
:func:`boundaries.repository.need_area_shapes` return GeoDataFrames in EPSG:4326 that
matching (the need index), maps and the geocoder read. The schemas name their columns,
types and ranges once; the test suite validates the real outputs against them
(``tests/test_frames.py``, ``tests/test_need_area_polygons.py``). pandera (in the ``dev``
extra) is slow to import, so only tests and analysts import this module.
"""

from __future__ import annotations

from typing import Annotated

import pandera.pandas as pa
from pandera.engines.geopandas_engine import Geometry
from pandera.typing import Series
from pandera.typing.geopandas import GeoSeries

from boundaries.tables import NATIONS, TERRITORY_METHODS

WGS84Geometry = Annotated[Geometry, "EPSG:4326"]  # lon/lat degrees


class Territories(pa.DataFrameModel):
    """The current territories: one row per code, MultiPolygons in EPSG:4326."""

    code: Series[str] = pa.Field(unique=True, str_length={"min_value": 9, "max_value": 9})
    name: Series[str]
    nation: Series[str] = pa.Field(isin=NATIONS)
    force_name: Series[str] = pa.Field(nullable=True)
    area_km2: Series[float] = pa.Field(gt=0)
    geometry: GeoSeries[WGS84Geometry]

    class Config:
        strict = True


class NeedAreas(pa.DataFrameModel):
    """The current need areas: representative points (EPSG:4326), deprivation on the UK
    composite index (decile 1 most deprived) and the nation's own, and the territory each
    was assigned to."""

    code: Series[str] = pa.Field(unique=True)
    name: Series[str]
    nation: Series[str] = pa.Field(isin=NATIONS)
    population: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    uk_imd_score: Series[float]
    uk_imd_rank: Series[float] = pa.Field(ge=1)
    uk_imd_decile: Series[int] = pa.Field(ge=1, le=10)
    national_imd_score: Series[float] = pa.Field(nullable=True)
    national_imd_decile: Series[float] = pa.Field(ge=1, le=10, nullable=True, coerce=True)
    territory_code: Series[str]
    territory_method: Series[str] = pa.Field(isin=TERRITORY_METHODS)
    geometry: GeoSeries[WGS84Geometry]

    class Config:
        strict = True


class NeedAreaShapes(pa.DataFrameModel):
    """The polygons of the current need areas that have one (England and Wales):
    MultiPolygons in EPSG:4326, one row per area code, from
    :func:`boundaries.repository.need_area_shapes`."""

    area_code: Series[str] = pa.Field(unique=True)
    name: Series[str]
    geometry: GeoSeries[WGS84Geometry]

    class Config:
        strict = True
