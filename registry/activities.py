"""Activities: the fields an import may carry, the layouts we know, and the upsert.

Natural key: ``source_key`` — the file's own id (``<namespace>:<id>``; the namespace is the
source unless a layout shares ids with others, as 360Giving files do), or the activity's
normalised name and postcode. A row matching a stored activity of another source, by key
or by name and postcode, is *merged* into it (gaps filled, themes and evidence joined),
never doubled.
Values a file leaves empty never erase stored ones. Themes a person set
(``themes_source = 'override'``) are never replaced by an import. Every activity an import
writes is assessed again by the eligibility rules (:mod:`registry.eligibility`), except one
whose eligibility a person decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geo.bulk import copy_rows, ewkb
from registry import eligibility, layouts, privacy
from registry.fields import Field, Problems
from registry.importer import ImportSpec, place_text
from registry.merge import fold_duplicates
from registry.names import charity_number, company_number, name_key, org_id
from registry.oruk import EXPORT_PREFIX
from registry.themes import VOCABULARY, classify, needs_safeguarding
from registry.upsert import Upsert

FIELDS: tuple[Field, ...] = (
    Field("id", aliases=("activity_id", "service_id", "ref", "reference")),
    Field("name", required=True, aliases=("activity", "activity_name", "service_name", "title")),
    Field("description", aliases=("summary", "details", "activity_description")),
    Field("themes", "themes", aliases=("theme", "categories")),
    Field("provider_name", aliases=("provider", "organisation", "organization", "charity")),
    Field("org_identifier", aliases=("org_id", "organisation_identifier")),
    Field("charity_number", aliases=("registered_charity_number", "charity_no")),
    Field("company_number", aliases=("companies_house_number", "company_no")),
    Field("postcode", aliases=("post_code", "postal_code")),
    Field("address", aliases=("street_address", "address_1", "locality")),
    Field("lat", aliases=("latitude",)),
    Field("lon", aliases=("lng", "long", "longitude")),
    Field("service_radius_km", "number", aliases=("radius_km", "area_served_km")),
    Field("people_reached_per_year", "int", aliases=("people_reached", "beneficiaries")),
    Field("annual_running_cost", "money", aliases=("running_cost", "annual_cost")),
    Field("funding_gap", "money", aliases=("gap", "shortfall")),
    Field("status", "status"),
    Field("closing_date", "date", aliases=("closes", "close_date")),
    Field("evidence_links", "urls", aliases=("evidence", "url", "website")),
    Field("safeguarding", "bool", aliases=("sensitive", "confidential_location")),
    Field("grant_count", "int", aliases=("n_grants",)),
    Field("grant_total_gbp", "money", aliases=("total_awarded_gbp",)),
    Field("last_award_year", "int"),
    Field("funders"),
    Field("grant_titles"),
)

# What an activity is and does, beside its keys and place (staged and stored alike).
_FIGURES = [
    "service_radius_m",
    "service_area",
    "people_reached_per_year",
    "annual_running_cost",
    "funding_gap",
    "status",
    "closing_date",
    "evidence_links",
    "safeguarding",
    "grant_count",
    "grant_total_gbp",
    "last_award_year",
    "funders",
    "grant_titles",
    "location_basis",
]
_COLUMNS = [
    "source_key",
    "source",
    "name",
    "name_key",
    "description",
    "themes",
    "themes_source",
    "provider_key",
    "provider_name",
    "provider_name_key",
    "charity_number",
    "company_number",
    "postcode",
    "address",
    "geom",
    "location_precision",
    "territory_code",
    "need_area_code",
    *_FIGURES,
]
# Stored columns an import may set; compared to tell "updated" from "unchanged".
_VALUE_COLUMNS = [
    "name",
    "description",
    "provider_id",
    "postcode",
    "address",
    "geom",
    "location_precision",
    "territory_id",
    "need_area_id",
    *_FIGURES,
]


def prepare(records: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Keys, themes, safeguarding and the rules that need more than one field."""
    records = records.copy()
    records["name_key"] = name_key(records["name"])
    story = records["name"].fillna("") + " " + records["description"].fillna("")
    given = records["themes"].notna()
    records["themes_source"] = np.where(given, "file", "classifier")
    records["themes"] = records["themes"].where(given, classify(story))
    # Safeguarding is set by the file or by the text (refuges...), never cleared by either;
    # left empty it keeps whatever is stored (None here).
    flagged = needs_safeguarding(story).to_numpy()
    given = records["safeguarding"].to_numpy(dtype=object)
    records["safeguarding"] = [
        True if f or g is True else (False if g is False else None)
        for f, g in zip(flagged, given, strict=True)
    ]
    at_risk_undated = (records["status"] == "at_risk") & records["closing_date"].isna()
    for row in records.loc[at_risk_undated, "row"]:
        problems.add(row, "closing_date", "", "an at-risk activity needs a closing_date")
    records["service_radius_m"] = records["service_radius_km"] * 1000.0
    records["evidence_links"] = records["evidence_links"].apply(lambda v: v or [])

    provider = records["provider_name"].fillna(records["name"])
    records["provider_name"] = provider
    records["provider_name_key"] = name_key(provider)
    identified = org_id(
        records["org_identifier"], records["charity_number"], records["company_number"]
    )
    # Stored as normalised; a placeholder ("0", "N/A") is no number.
    for column, normalise in (
        ("charity_number", charity_number),
        ("company_number", company_number),
    ):
        number = normalise(records[column])
        records[column] = number.where(number != "", None)
    place = place_text(records)
    records["provider_key"] = identified.where(
        identified != "", "name:" + records["provider_name_key"] + "|" + place
    )
    own_id = records["id"].fillna("").astype(str).str.strip()
    # Ids of our own exports carry the record's key (or its safeguarded hash) as they are,
    # so a round trip finds the same record.
    ours = own_id.str.startswith(EXPORT_PREFIX)
    hidden = own_id.str.startswith(privacy.SAFEGUARDED_PREFIX)
    records["source_key"] = (
        (records["namespace"] + ":" + own_id.where(own_id != "", records["name_key"] + "|" + place))
        .where(~ours, own_id.str.slice(len(EXPORT_PREFIX)))
        .where(~hidden, own_id)
    )
    return records


def merge(records: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    return fold_duplicates(
        records, [["source_key"], ["name_key", "postcode"]], ["themes", "evidence_links"]
    )


def write(conn: Connection, records: pd.DataFrame) -> dict[str, int]:
    """Upsert providers, then activities, set-based, then run the eligibility rules on every
    activity written (:func:`registry.eligibility.reassess`; a person's decision stays);
    returns stored/updated/merged/unchanged."""
    conn.execute(
        text(
            """
            CREATE TEMP TABLE activity_in (
                source_key text, source text, name text, name_key text, description text,
                themes varchar[], themes_source text, provider_key text, provider_name text,
                provider_name_key text,
                charity_number text, company_number text, postcode text, address text,
                geom geometry(Point, 4326), location_precision text, territory_code text,
                need_area_code text, service_radius_m float8,
                service_area geometry(MultiPolygon, 4326), people_reached_per_year int,
                annual_running_cost numeric, funding_gap numeric, status text,
                closing_date date, evidence_links varchar[], safeguarding bool,
                grant_count int, grant_total_gbp numeric, last_award_year int, funders text,
                grant_titles text, location_basis text,
                target_id int, merged bool NOT NULL DEFAULT false
            ) ON COMMIT DROP
            """
        )
    )
    copy_rows(conn, f"activity_in ({', '.join(_COLUMNS)})", _rows(records))
    for statement in _MATCH:
        conn.execute(text(statement))
    conn.execute(text(_PROVIDERS))
    counts = UPSERT.run(conn)
    written = conn.execute(
        text(
            "SELECT coalesce(i.target_id, a.id) FROM activity_in i"
            " LEFT JOIN activity a ON a.source_key = i.source_key"
        )
    ).scalars()
    eligibility.reassess(conn, [int(i) for i in written if i is not None])
    return counts


def _rows(records: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    frame = records.copy()
    frame["geom"] = ewkb(
        shapely.points(frame["placed_lon"].to_numpy(float), frame["placed_lat"].to_numpy(float))
    )
    frame["service_area"] = [
        None if area is None else ewkb(shapely.multipolygons(shapely.get_parts(area)))
        for area in frame["service_area"]
    ]
    for column in ("themes", "evidence_links"):
        frame[column] = [value or [] for value in frame[column]]
    frame["location_precision"] = frame["placed_precision"].astype(object)
    frame["territory_code"] = frame["placed_territory_code"].astype(object)
    frame["need_area_code"] = frame["placed_need_area_code"].astype(object)
    frame = frame[_COLUMNS].astype(object)
    return (
        tuple(None if _missing(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    )


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, list | str) and bool(pd.isna(value)))


# A row merged into a stored record that has its provider leaves that provider in place: it
# makes no organisation of its own (which nothing would use), only fills a known one's gaps.
_PROVIDERS = """
    INSERT INTO organisation (kind, natural_key, name, name_key, charity_number, company_number)
    SELECT DISTINCT ON (provider_key) 'provider', provider_key, provider_name,
           provider_name_key, charity_number, company_number
    FROM activity_in i
    WHERE i.target_id IS NULL OR NOT i.merged
       OR (SELECT a.provider_id FROM activity a WHERE a.id = i.target_id) IS NULL
       OR EXISTS (SELECT 1 FROM organisation o
                  WHERE o.kind = 'provider' AND o.natural_key = i.provider_key)
    ORDER BY provider_key, provider_name
    ON CONFLICT (kind, natural_key) DO UPDATE SET
        charity_number = coalesce(organisation.charity_number, EXCLUDED.charity_number),
        company_number = coalesce(organisation.company_number, EXCLUDED.company_number),
        updated_at = now()
    WHERE (organisation.charity_number, organisation.company_number)
          IS DISTINCT FROM (coalesce(organisation.charity_number, EXCLUDED.charity_number),
                            coalesce(organisation.company_number, EXCLUDED.company_number))
"""  # The first name an organisation is stored under stays (files disagree on names).

_MATCH = (
    # The same record from another source (same namespace and id) only fills gaps.
    """
    UPDATE activity_in i SET target_id = a.id, merged = (a.source <> i.source)
    FROM activity a WHERE a.source_key = i.source_key
    """,
    # A safeguarded record exported by us comes back under the hash of its key.
    f"""
    UPDATE activity_in i SET target_id = a.id, merged = true FROM activity a
    WHERE i.target_id IS NULL AND i.source_key LIKE '{privacy.SAFEGUARDED_PREFIX}%'
      AND '{privacy.SAFEGUARDED_PREFIX}' || left(encode(sha256(a.source_key::bytea), 'hex'), 16)
          = i.source_key
    """,
    """
    UPDATE activity_in i SET target_id = a.id, merged = true FROM activity a
    WHERE i.target_id IS NULL AND a.name_key = i.name_key AND a.postcode = i.postcode
    """,
)

_VOCABULARY = "ARRAY[" + ", ".join(f"'{t}'" for t in VOCABULARY) + "]::varchar[]"
_OVERRIDDEN = "t0.themes_source = 'override'"
# An activity claimed by a provider with accounts on the platform keeps that provider.
_CLAIMED = "t0.provider_id IN (SELECT organisation_id FROM app_user)"
UPSERT = Upsert(
    table="activity",
    owner="provider",
    values=[*_VALUE_COLUMNS, "name_key", "themes", "themes_source"],
    lists=["themes", "evidence_links"],
    inserted_only=["source_key", "source"],
    insert_defaults={
        "status": "'active'",
        "safeguarding": "false",
        "location_basis": "'delivery'",
    },
    sticky=["safeguarding"],
    protected={"themes": _OVERRIDDEN, "themes_source": _OVERRIDDEN, "provider_id": _CLAIMED},
    ordering={"themes": f"array_position({_VOCABULARY}, t)"},
)

SPEC = ImportSpec(
    kind="activities",
    fields=FIELDS,
    layouts=(layouts.SHARED_ACTIVITY_ORGANISATIONS, layouts.GRANTS_360GIVING, layouts.ORUK),
    prepare=prepare,
    merge=merge,
    write=write,
)
