"""Contracts of the coverage frames, as pandera schemas.

The coverage functions (:mod:`maps.coverage`) read need areas and activities placed in
British National Grid metres (EPSG:27700) and return per-area coverage and per-territory
summaries that the web app, the CLI and the notebooks read. The test suite validates the
real frames against these schemas (``tests/test_frames.py``). pandera (in the ``dev`` extra)
is slow to import, so only tests and analysts import this module.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from registry.tables import ELIGIBILITY, LOCATION_BASES, VERIFICATION

SHARE = {"min_value": 0.0, "max_value": 1.0}


class CoverageNeedAreas(pa.DataFrameModel):
    """Need areas as coverage reads them (:func:`maps.queries.need_areas`): point in lon/lat
    (EPSG:4326) and x/y metres (EPSG:27700), population, UK decile."""

    code: Series[str] = pa.Field(unique=True)
    name: Series[str]
    territory_code: Series[str]
    population: Series[float] = pa.Field(ge=0)
    uk_imd_decile: Series[int] = pa.Field(ge=1, le=10)
    lon: Series[float]
    lat: Series[float]
    x: Series[float]
    y: Series[float]


class CoverageActivities(pa.DataFrameModel):
    """Open activities as coverage reads them (:func:`maps.queries.activities`): capacity
    (people a year; assumed where unknown), catchment radius (metres), whether an awarded
    SPO backs them, x/y metres (EPSG:27700), and how far each is trusted (eligibility,
    effective verification, what its point is)."""

    activity_id: Series[int] = pa.Field(unique=True)
    eligibility: Series[str] = pa.Field(isin=ELIGIBILITY)
    verification: Series[str] = pa.Field(isin=VERIFICATION)
    located_at: Series[str] = pa.Field(isin=(*LOCATION_BASES, "delivery_site"))
    delivery_site_count: Series[int] = pa.Field(ge=0)
    trusted: Series[bool]
    capacity: Series[float] = pa.Field(gt=0)
    capacity_assumed: Series[bool]
    radius_m: Series[float] = pa.Field(gt=0)
    backed: Series[bool]
    committed_gbp: Series[float] = pa.Field(ge=0)
    cost_per_place: Series[float] = pa.Field(gt=0, nullable=True)
    x: Series[float]
    y: Series[float]


class AreaCoverage(pa.DataFrameModel):
    """Per need area: access (places per resident), reach and need (0-1), gap index (0-1)
    and the people it stands for."""

    code: Series[str] = pa.Field(unique=True)
    territory_code: Series[str]
    population: Series[float] = pa.Field(ge=0)
    uk_imd_decile: Series[int] = pa.Field(ge=1, le=10)
    access: Series[float] = pa.Field(ge=0)
    access_backed: Series[float] = pa.Field(ge=0)
    backed_in_reach: Series[bool]
    reach: Series[float] = pa.Field(in_range=SHARE)
    reach_backed: Series[float] = pa.Field(in_range=SHARE)
    need: Series[float] = pa.Field(in_range=SHARE)
    gap: Series[float] = pa.Field(in_range=SHARE)
    gap_people: Series[float] = pa.Field(ge=0)


class TerritoryCoverage(pa.DataFrameModel):
    """Per territory: population, mean reach, gap index, backed share (0-1) and SPO money
    committed and delivered (pounds, also per head)."""

    territory_code: Series[str] = pa.Field(unique=True)
    population: Series[float] = pa.Field(ge=0)
    deprived_population: Series[float] = pa.Field(ge=0)
    mean_reach: Series[float] = pa.Field(in_range=SHARE, nullable=True)
    gap_index: Series[float] = pa.Field(in_range=SHARE, nullable=True)
    deprived_backed_share: Series[float] = pa.Field(in_range=SHARE)
    committed_gbp: Series[float] = pa.Field(ge=0)
    delivered_gbp: Series[float] = pa.Field(ge=0)
