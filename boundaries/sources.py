"""The boundary generations the platform ships with, and where their files live.

Each generation records its source and vintage so that a later one can be loaded beside it
(see ``boundaries.tables.boundary_set``). Facts are from ``shared/data/geography/PROVENANCE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class BoundaryGeneration:
    kind: str
    name: str
    vintage: str
    source: str
    licence: str
    path: Path
    # The polygons of the areas that have them (GeoParquet), when the layer comes with any.
    shapes: Path | None = None

    def with_file(self, path: Path, vintage: str | None = None) -> BoundaryGeneration:
        """The same layer read from another file, optionally as another generation."""
        return replace(self, path=path, vintage=vintage or self.vintage)


def territories_2023(data_dir: Path) -> BoundaryGeneration:
    return BoundaryGeneration(
        kind="territory",
        name="UK policing territories: 43 police force areas, Police Scotland, PSNI",
        vintage="Police force areas December 2023 (unchanged since December 2020)",
        source=(
            "ONS Police Force Areas (December 2020) EW BUC, assigned to ONS LTLA BSC boundaries "
            "(ONSvisual/uk-topojson b2fde50); Scotland and Northern Ireland by nation"
        ),
        licence="Open Government Licence v3.0 (ONS, OS)",
        path=data_dir / "geography" / "territories.geojson",
    )


def need_areas_2019(data_dir: Path) -> BoundaryGeneration:
    return BoundaryGeneration(
        kind="need_area",
        name="UK small areas with the composite UK deprivation index",
        vintage=(
            "LSOA 2011 (England, Wales), Data Zone 2011 (Scotland), SOA 2001 (NI); "
            "composite UK IMD v3.4.0 (IMD 2019, WIMD 2019, SIMD 2020v2, NIMDM 2017)"
        ),
        source=(
            "mySociety composite_uk_imd af4866b (uk_index v3.4.0); ONS LSOA 2011 points; "
            "Scottish Government Data Zone Centroids 2011; NISRA SOA centres (drkane/geo-lookups); "
            "LSOA 2011 polygons of England and Wales (martinjc/UK-GeoJSON 8833900)"
        ),
        licence=(
            "CC BY 4.0 (mySociety); underlying indices and points Open Government Licence v3.0; "
            "LSOA polygons CC BY 4.0 (Martin Chorley) and Open Government Licence v3.0"
        ),
        path=data_dir / "geography" / "need_areas.csv",
        shapes=data_dir / "geography" / "need_area_polygons.parquet",
    )


@dataclass(frozen=True)
class PostcodeGeneration:
    """The unit postcode table and its sector and district centroids (one release)."""

    name: str
    vintage: str
    source: str
    licence: str
    units: Path
    sectors: Path
    districts: Path

    @property
    def kind(self) -> str:
        return "postcode"


def postcodes_2025(data_dir: Path) -> PostcodeGeneration:
    geography = data_dir / "geography"
    return PostcodeGeneration(
        name="UK unit postcodes with sector and district centroids",
        vintage="ONS NSPL (2021 Census) May 2025; live and terminated postcodes",
        source=(
            "ONS National Statistics Postcode Lookup via odileeds/Postcodes2LatLon 9322263; "
            "sector and district centroids are means of the unit postcodes"
        ),
        licence="Open Government Licence v3.0 (ONS, OS, Royal Mail, LPS)",
        units=geography / "postcodes.parquet",
        sectors=geography / "postcode_sectors.csv",
        districts=geography / "postcode_districts.csv",
    )
