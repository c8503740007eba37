"""File layouts the importers recognise without a column mapping.

* the shared ``activity_organisations`` file (one row per 360Giving recipient);
* 360Giving grant files, flat: one row per grant, folded into one activity per recipient
  organisation, with every grant's title (the shared ``grants_360giving_flat.csv`` and the
  standard 360Giving spreadsheet headings both work);
* Open Referral UK / HSDS service records (JSON), see :mod:`registry.oruk`;
* the shared Contracts Finder supplier files (one row per supplier per notice).

Both 360Giving layouts place a record at its organisation's registered office
(``location_basis``): the only address they give. Every other source gives where an
activity is delivered.

Anything else is mapped by column names and aliases, or ``--map field=column``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from registry import oruk
from registry.importer import Layout
from registry.names import org_id_of
from registry.readers import RawTable

SOURCE_360GIVING = "360giving"
# 360Giving files give a recipient's registered address, not where it delivers.
REGISTERED_OFFICE = "registered_office"
# A recipient's grant titles are kept whole up to this many characters (a few dozen titles).
GRANT_TITLES_MAX = 2000


def _has(*columns: str) -> object:
    def detect(raw: RawTable) -> bool:
        return set(columns) <= set(raw.frame.columns)

    return detect


def _drop_missing_markers(raw: RawTable) -> RawTable:
    """The shared file joins title and description, writing a missing half as "nan"."""
    frame = raw.frame.copy()
    frame["activity_description"] = frame["activity_description"].str.replace(
        r"^nan\s*-\s*|\s*-\s*nan$", "", regex=True
    )
    return RawTable(frame, raw.row)


SHARED_ACTIVITY_ORGANISATIONS = Layout(
    name="activity-organisations",
    source=SOURCE_360GIVING,
    detect=_has("org_key", "org_name", "activity_description"),  # type: ignore[arg-type]
    mapping={
        "id": "org_key",
        "name": "org_name",
        "description": "activity_description",
        "provider_name": "org_name",
        "org_identifier": "org_identifier",
        "address": "locality",
        "evidence_links": "url",
        "grant_count": "n_grants",
        "grant_total_gbp": "total_awarded_gbp",
    },
    # The file's own theme tags come from its publisher's rules; ours are applied instead.
    ignore=("themes", "dual_impact_core"),
    reshape=_drop_missing_markers,
    namespace=SOURCE_360GIVING,
    location_basis=REGISTERED_OFFICE,
)

# Our flat file's columns, and the standard 360Giving spreadsheet headings, by role.
_GRANT_COLUMNS = {
    "recipient_key": ("org_key", "Recipient Org:Identifier", "recipient_id"),
    # The recipient's org-id keys its organisation as the recipients file does.
    "org_identifier": ("Recipient Org:Identifier", "recipient_id"),
    "name": ("recipient_name", "Recipient Org:Name"),
    "title": ("title", "Title"),
    "description": ("description", "Description"),
    "amount": ("amount_awarded_gbp", "Amount Awarded"),
    "date": ("award_date", "Award Date"),
    "funder": ("funder_name", "Funding Org:Name"),
    "postcode": ("postcode", "recipient_postcode_raw", "Recipient Org:Postal Code"),
    "locality": ("recipient_locality", "Recipient Org:City"),
    "charity_number": ("recipient_charity_number", "Recipient Org:Charity Number"),
    "company_number": ("recipient_company_number", "Recipient Org:Company Number"),
    "url": ("recipient_url", "Recipient Org:Web Address"),
}


def _grant_columns(raw: RawTable) -> dict[str, str]:
    found = {}
    for role, names in _GRANT_COLUMNS.items():
        for name in names:
            if name in raw.frame.columns:
                found[role] = name
                break
    return found


def grant_titles(titles: pd.Series) -> str:
    """One recipient's grant titles: distinct, in the order given (award order), ``; ``-joined
    and cut at :data:`GRANT_TITLES_MAX` characters (at a title boundary where possible)."""
    distinct = dict.fromkeys(t.strip() for t in titles.fillna("").astype(str) if t.strip())
    joined = "; ".join(distinct)
    if len(joined) <= GRANT_TITLES_MAX:
        return joined
    cut = joined[:GRANT_TITLES_MAX]
    return cut[: cut.rfind("; ")] if "; " in cut else cut


def _is_grants(raw: RawTable) -> bool:
    return {"name", "amount", "date"} <= set(_grant_columns(raw))


def _fold_grants(raw: RawTable) -> RawTable:
    """One activity per recipient organisation: latest grant's text, every grant's title,
    totals, funders."""
    columns = _grant_columns(raw)
    grants = pd.DataFrame({role: raw.frame[name] for role, name in columns.items()})
    for role in _GRANT_COLUMNS:
        if role not in grants:
            grants[role] = ""
    grants["row"] = raw.row
    grants["org_identifier"] = grants["org_identifier"].map(org_id_of)
    grants["year"] = grants["date"].str.extract(r"((?:19|20)\d{2})", expand=False)
    grants["amount_value"] = pd.to_numeric(grants["amount"], errors="coerce")
    key = grants["recipient_key"].where(
        grants["recipient_key"] != "", grants["name"].str.lower() + "|" + grants["postcode"]
    )
    grants = grants.assign(key=key).sort_values(["key", "year"], kind="stable")

    def non_empty(values: pd.Series) -> str:
        present = values[values != ""]
        return str(present.iloc[-1]) if len(present) else ""

    def story(group: pd.DataFrame) -> str:
        latest = group.iloc[-1]
        parts = [latest["title"], latest["description"]]
        return " - ".join(dict.fromkeys(p for p in parts if p))[:600]

    grouped = grants.groupby("key", sort=False)
    folded = pd.DataFrame(
        {
            "id": grouped["recipient_key"].agg(non_empty),
            "org_identifier": grouped["org_identifier"].agg(non_empty),
            "name": grouped["name"].agg(non_empty),
            "description": grouped[["title", "description"]].apply(story),
            "grant_titles": grouped["title"].agg(grant_titles),
            "postcode": grouped["postcode"].agg(non_empty),
            "address": grouped["locality"].agg(non_empty),
            "charity_number": grouped["charity_number"].agg(non_empty),
            "company_number": grouped["company_number"].agg(non_empty),
            "evidence_links": grouped["url"].agg(non_empty),
            "grant_count": grouped.size().astype(str),
            "grant_total_gbp": grouped["amount_value"]
            .sum(min_count=1)
            .map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
            "last_award_year": grouped["year"].max().fillna(""),
            "funders": grouped["funder"].agg(lambda v: "; ".join(sorted(set(v) - {""}))),
        }
    )
    first_row = grouped["row"].min()
    order = np.argsort(first_row.to_numpy(), kind="stable")
    rows = grouped["row"].agg(lambda r: tuple(sorted(int(n) for n in r)))
    return RawTable(
        folded.iloc[order].reset_index(drop=True),
        first_row.to_numpy()[order].astype(np.int64),
        source_rows=tuple(rows.iloc[order]),
    )


GRANTS_360GIVING = Layout(
    name="360giving",
    # A source of its own: grants enrich the recipient's activity (merged by name and
    # postcode, filling gaps) rather than overwrite what the curated file says.
    source="360giving-grants",
    detect=_is_grants,
    mapping={"provider_name": "name"},
    reshape=_fold_grants,
    namespace=SOURCE_360GIVING,
    location_basis=REGISTERED_OFFICE,
)

ORUK = Layout(
    name="oruk",
    source="oruk",
    detect=lambda raw: oruk.is_services(raw.document),
    reshape=oruk.services_table,
)


def _sector_by_supplier(raw: RawTable) -> RawTable:
    """Each supplier's sector: the CPV description most of its notices carry."""
    frame = raw.frame.copy()
    if "cpv_description" in frame:
        named = frame[frame["cpv_description"] != ""]
        modal = named.groupby("supplier_name")["cpv_description"].agg(
            lambda v: v.value_counts().index[0]
        )
        frame["sector"] = frame["supplier_name"].map(modal).fillna("")
    frame["address"] = frame.get("supplier_street_address", "")
    return RawTable(frame, raw.row)


SHARED_SUPPLIER_SITES = Layout(
    name="contracts-finder-suppliers",
    source="",  # each extract is a source of its own (the file name)
    detect=_has("supplier_name", "companies_house_number", "postcode", "buyer_name"),  # type: ignore[arg-type]
    mapping={"company_number": "companies_house_number"},
    ignore=("supplier_street_address", "supplier_postcode_raw", "supplier_locality"),
    reshape=_sector_by_supplier,
)
