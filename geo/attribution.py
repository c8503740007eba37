"""Licence attributions that must travel with the data (maps, exports, the About page).

Texts are as required by ``shared/data/geography/PROVENANCE.md`` and
``shared/data/DATA-SOURCES.md``.
"""

from __future__ import annotations

GEOGRAPHY = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2025. "
    "Contains Royal Mail data © Royal Mail copyright and database right 2025. "
    "Contains National Statistics data © Crown copyright and database right 2025. "
    "Contains LPS Intellectual Property © Crown copyright and database right 2025 "
    "(Northern Ireland postcode locations). "
    "Contains Scottish Government data © Crown copyright and database right 2014 "
    "(Data Zone Centroids 2011) and NISRA data © Crown copyright (Super Output Area boundaries), "
    "both under the Open Government Licence v3.0. "
    "UK composite deprivation index © mySociety, CC BY 4.0, derived from IMD 2019 (MHCLG), "
    "WIMD 2019 (Welsh Government), SIMD 2020v2 (Scottish Government) and NIMDM 2017 (NISRA), "
    "all under the Open Government Licence v3.0. Area points compiled by David Kane, "
    "drkane/geo-lookups. "
    "Small-area boundaries (England and Wales): GeoJSON UK Boundary Data by Martin Chorley "
    "(https://github.com/martinjc/UK-GeoJSON), CC BY 4.0. Contains Ordnance Survey, Office of "
    "National Statistics, National Records Scotland and LPS Intellectual Property data "
    "© Crown copyright and database right 2016, licensed under the Open Government Licence v3.0."
)

# One line for map corners and table captions.
SHORT = (
    "Contains public sector information licensed under the Open Government Licence v3.0; "
    "OS data © Crown copyright and database right 2025; deprivation index © mySociety (CC BY 4.0)."
)

ACTIVITIES = (
    "Contains grants data published by The Dulverton Trust, Wolfson Foundation, Nominet "
    "Trust, Oxfordshire Community Foundation, The Baring Foundation, Indigo Trust and the "
    "COVID-19 grant makers listed in DATA-SOURCES.md, using the 360Giving Data Standard "
    "(https://www.threesixtygiving.org), licensed under CC BY 4.0 or as stated by each "
    "publisher."
)

SUPPLIERS = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(Contracts Finder)."
)
