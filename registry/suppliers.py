"""Suppliers and their sites: fields, the Contracts Finder layout, and the upsert.

A supplier is identified by its Companies House number (``GB-COH-…``, normalised by
:mod:`registry.names`) or, without one (a placeholder such as ``0`` is none), by its
normalised name, so name variants of one company fold together. A site is a supplier
at a place (postcode, or coordinates): the same supplier at the same postcode is one site,
however many notices name it. Values a file leaves empty never erase stored ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geo.bulk import copy_rows, ewkb
from registry import layouts
from registry.fields import Field, Problems
from registry.importer import ImportSpec, place_text
from registry.merge import fold_duplicates
from registry.names import company_id_of, company_number, name_key
from registry.upsert import Upsert

FIELDS: tuple[Field, ...] = (
    Field("id", aliases=("site_id", "reference")),
    Field(
        "supplier_name",
        required=True,
        aliases=("supplier", "company", "company_name", "organisation", "name"),
    ),
    Field("company_number", aliases=("companies_house_number", "company_no", "crn")),
    Field("sector", aliases=("industry", "cpv_description")),
    Field("is_sme", "bool", aliases=("sme",)),
    Field("is_vcse", "bool", aliases=("vcse",)),
    Field("site_name", aliases=("site", "depot", "location_name")),
    Field("address", aliases=("street_address", "address_1")),
    Field("postcode", aliases=("post_code", "postal_code")),
    Field("lat", aliases=("latitude",)),
    Field("lon", aliases=("lng", "long", "longitude")),
    Field("employees", "int", aliases=("staff", "headcount")),
)

_COLUMNS = [
    "source_key",
    "source",
    "supplier_key",
    "supplier_name",
    "name_key",
    "company_number",
    "sector",
    "is_sme",
    "is_vcse",
    "name",
    "address",
    "postcode",
    "geom",
    "location_precision",
    "territory_code",
    "need_area_code",
    "employees",
]
_VALUE_COLUMNS = [
    "supplier_id",
    "name",
    "address",
    "postcode",
    "geom",
    "location_precision",
    "territory_id",
    "need_area_id",
    "employees",
]


def prepare(records: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    del problems  # suppliers need no rule across fields
    records = records.copy()
    records["name_key"] = name_key(records["supplier_name"])
    number = company_number(records["company_number"])
    # A row without a number takes the number other rows give the same name (only if one).
    numbers_by_name = (
        pd.DataFrame({"name_key": records["name_key"], "number": number})[number != ""]
        .drop_duplicates()
        .groupby("name_key")["number"]
        .agg(lambda n: n.iloc[0] if len(n) == 1 else "")
    )
    number = number.where(
        number != "", records["name_key"].map(numbers_by_name.to_dict()).astype(object).fillna("")
    )
    records["company_number"] = number.where(number != "", None)
    supplier_id = company_id_of(number)
    records["supplier_key"] = supplier_id.where(supplier_id != "", "name:" + records["name_key"])
    place = place_text(records)
    own_id = records["id"].fillna("").astype(str).str.strip()
    records["source_key"] = (records["source"] + ":" + own_id).where(
        own_id != "", records["supplier_key"] + "|" + place
    )
    records["name"] = records["site_name"].fillna(records["supplier_name"] + " (" + place + ")")
    return records


def merge(records: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    return fold_duplicates(records, [["source_key"]])


def write(conn: Connection, records: pd.DataFrame) -> dict[str, int]:
    conn.execute(
        text(
            """
            CREATE TEMP TABLE supplier_site_in (
                source_key text, source text, supplier_key text, supplier_name text,
                name_key text, company_number text, sector text, is_sme bool, is_vcse bool,
                name text, address text, postcode text, geom geometry(Point, 4326),
                location_precision text, territory_code text, need_area_code text,
                employees int, target_id int, merged bool NOT NULL DEFAULT false
            ) ON COMMIT DROP
            """
        )
    )
    copy_rows(conn, f"supplier_site_in ({', '.join(_COLUMNS)})", _rows(records))
    conn.execute(text(_KNOWN_BY_NAME))
    conn.execute(text(_SUPPLIERS))
    # The same site from another file (another source) only fills gaps.
    conn.execute(
        text(
            "UPDATE supplier_site_in i SET target_id = s.id, merged = (s.source <> i.source)"
            " FROM supplier_site s WHERE s.source_key = i.source_key"
        )
    )
    return UPSERT.run(conn)


def _rows(records: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    frame = records.copy()
    frame["geom"] = ewkb(
        shapely.points(frame["placed_lon"].to_numpy(float), frame["placed_lat"].to_numpy(float))
    )
    frame["location_precision"] = frame["placed_precision"].astype(object)
    frame["territory_code"] = frame["placed_territory_code"].astype(object)
    frame["need_area_code"] = frame["placed_need_area_code"].astype(object)
    frame = frame[_COLUMNS].astype(object)
    return (
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    )


# A supplier named without a number is the stored company of that name, if only one.
_KNOWN_BY_NAME = """
    UPDATE supplier_site_in i SET supplier_key = o.natural_key, company_number = o.company_number
    FROM (
        SELECT name_key, min(natural_key) AS natural_key, min(company_number) AS company_number
        FROM organisation WHERE kind = 'supplier' AND company_number IS NOT NULL
        GROUP BY name_key HAVING count(*) = 1
    ) o
    WHERE i.company_number IS NULL AND o.name_key = i.name_key
"""

_SUPPLIERS = """
    INSERT INTO organisation
        (kind, natural_key, name, name_key, company_number, sector, is_sme, is_vcse)
    SELECT DISTINCT ON (supplier_key) 'supplier', supplier_key, supplier_name, name_key,
           company_number, sector, is_sme, is_vcse
    FROM supplier_site_in ORDER BY supplier_key, sector NULLS LAST, supplier_name
    ON CONFLICT (kind, natural_key) DO UPDATE SET
        company_number = coalesce(organisation.company_number, EXCLUDED.company_number),
        sector = coalesce(organisation.sector, EXCLUDED.sector),
        is_sme = coalesce(organisation.is_sme, EXCLUDED.is_sme),
        is_vcse = coalesce(organisation.is_vcse, EXCLUDED.is_vcse),
        updated_at = now()
    WHERE (organisation.company_number, organisation.sector, organisation.is_sme,
           organisation.is_vcse)
          IS DISTINCT FROM (coalesce(organisation.company_number, EXCLUDED.company_number),
                            coalesce(organisation.sector, EXCLUDED.sector),
                            coalesce(organisation.is_sme, EXCLUDED.is_sme),
                            coalesce(organisation.is_vcse, EXCLUDED.is_vcse))
"""  # Gaps are filled; the first name and values an organisation is stored with stay.

UPSERT = Upsert(
    table="supplier_site",
    owner="supplier",
    values=_VALUE_COLUMNS,
    inserted_only=["source_key", "source"],
)

SPEC = ImportSpec(
    kind="suppliers",
    fields=FIELDS,
    layouts=(layouts.SHARED_SUPPLIER_SITES,),
    prepare=prepare,
    merge=merge,
    write=write,
)
