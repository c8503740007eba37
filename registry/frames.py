"""Contract of the registry's activity frame other packages read, as a pandera schema.

:func:`registry.queries.activities` returns activities as a GeoDataFrame of points
(EPSG:4326) that maps and the notebooks read, each saying how far it can be trusted. The
test suite validates the real output against :class:`Activities` (``tests/test_frames.py``).
pandera (in the ``dev`` extra) is slow to import, so only tests and analysts import this
module.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from pandera.typing.geopandas import GeoSeries

from boundaries.frames import WGS84Geometry
from geo.geocode import PRECISIONS
from registry.categories import SLUGS as CATEGORY_SLUGS
from registry.tables import (
    ACTIVITY_STATUSES,
    ELIGIBILITY,
    ELIGIBILITY_SOURCES,
    EVIDENCE_LEVELS,
    LOCATION_BASES,
    THEME_SOURCES,
    VERIFICATION,
)

# What an activity's point is: its first delivery site, or its own point (where it is
# delivered, or its organisation's registered office).
LOCATED_AT = ("delivery_site", *LOCATION_BASES)
# Inside the UK, with a margin: lon/lat degrees, EPSG:4326.
UK_LON = {"min_value": -9.0, "max_value": 2.5}
UK_LAT = {"min_value": 49.5, "max_value": 61.5}


class Activities(pa.DataFrameModel):
    """Activities with their provider, place (territory, need area, point), figures and
    trust: eligibility (categories when eligible, a reason when not; by the rules or a
    person's decision), effective verification, evidence level (Nesta 1-5), the date last
    heard of and whether that is within the lapse period, delivery sites, trusted (eligible
    and not lapsed). Money in pounds; ``service_radius_km`` in
    kilometres."""

    id: Series[int] = pa.Field(unique=True)
    source_key: Series[str] = pa.Field(unique=True)
    name: Series[str]
    description: Series[str] = pa.Field(nullable=True)
    themes: Series[object]
    themes_source: Series[str] = pa.Field(isin=THEME_SOURCES)
    provider_key: Series[str] = pa.Field(nullable=True)
    provider_name: Series[str] = pa.Field(nullable=True)
    postcode: Series[str] = pa.Field(nullable=True)
    address: Series[str] = pa.Field(nullable=True)
    lat: Series[float] = pa.Field(in_range=UK_LAT)
    lon: Series[float] = pa.Field(in_range=UK_LON)
    location_precision: Series[str] = pa.Field(isin=PRECISIONS)
    territory_code: Series[str]
    territory_name: Series[str]
    need_area_code: Series[str] = pa.Field(nullable=True)
    uk_imd_decile: Series[float] = pa.Field(ge=1, le=10, nullable=True, coerce=True)
    status: Series[str] = pa.Field(isin=ACTIVITY_STATUSES)
    closing_date: Series[object] = pa.Field(nullable=True)
    funding_gap: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    annual_running_cost: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    people_reached_per_year: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    service_radius_km: Series[float] = pa.Field(gt=0, nullable=True, coerce=True)
    evidence_links: Series[object]
    safeguarding: Series[bool]
    grant_count: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    grant_total_gbp: Series[float] = pa.Field(ge=0, nullable=True, coerce=True)
    last_award_year: Series[float] = pa.Field(nullable=True, coerce=True)
    funders: Series[str] = pa.Field(nullable=True)
    source: Series[str]
    eligibility: Series[str] = pa.Field(isin=ELIGIBILITY)
    eligibility_categories: Series[object]
    eligibility_reason: Series[str] = pa.Field(nullable=True)
    eligibility_source: Series[str] = pa.Field(isin=ELIGIBILITY_SOURCES)
    verification: Series[str] = pa.Field(isin=VERIFICATION)
    evidence_level: Series[float] = pa.Field(
        ge=EVIDENCE_LEVELS.start, le=EVIDENCE_LEVELS.stop - 1, nullable=True, coerce=True
    )
    fresh_on: Series[object] = pa.Field(nullable=True)
    fresh: Series[bool]
    delivery_site_count: Series[int] = pa.Field(ge=0)
    trusted: Series[bool]
    located_at: Series[str] = pa.Field(isin=LOCATED_AT)
    geom: GeoSeries[WGS84Geometry]

    @pa.dataframe_check
    @classmethod
    def categories_only_when_eligible(cls, frame: pd.DataFrame) -> pd.Series:
        """Known categories, at least one exactly when eligible; a reason when ineligible."""
        categories = frame["eligibility_categories"]
        known = categories.map(lambda c: set(c) <= set(CATEGORY_SLUGS))
        eligible = frame["eligibility"] == "eligible"
        reasoned = (frame["eligibility"] != "ineligible") | frame["eligibility_reason"].notna()
        return known & (categories.map(len).gt(0) == eligible) & reasoned

    @pa.dataframe_check
    @classmethod
    def trusted_when_eligible_and_not_lapsed(cls, frame: pd.DataFrame) -> pd.Series:
        """Trusted exactly when eligible and not lapsed."""
        expected = (frame["eligibility"] == "eligible") & (frame["verification"] != "lapsed")
        return frame["trusted"] == expected

    class Config:
        strict = True
