"""Open Referral UK (HSDS 3.0) service records: exchange activities with directories.

Export writes one ``service`` per activity with its ``organization``, one
``service_at_location`` (latitude, longitude, postal address), the themes as ``attributes``
in the ``dualimpact-themes`` taxonomy and its dual-impact categories in the
``dualimpact-categories`` taxonomy; what HSDS has no field for (funding gap, people
reached, closing date, safeguarding, and how far the record can be trusted: eligibility
with its reason, verification, evidence level, when last heard of, what its point is,
delivery sites) travels in ``x_dualimpact``, which other directories ignore. A safeguarded
activity (a refuge, say) is exported as :func:`registry.privacy.redact` allows: no point, no
address, its postcode district only, and a hashed id.

Import reads the same records back, or any HSDS 3.0 service list (a bare list, or a page
with ``contents``). Eligibility and verification are never imported: this register decides
them (its rules, its people), whatever another directory says.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from registry import categories, privacy
from registry.queries import TRUST_COLUMNS  # carried in ``x_dualimpact``
from registry.readers import RawTable
from registry.themes import LABELS

THEME_VOCABULARY = "dualimpact-themes"
CATEGORY_VOCABULARY = "dualimpact-categories"
# Ids of our own exports carry this prefix before the record's key.
EXPORT_PREFIX = "dualimpact:"
_STATUS_OUT = {"active": "active", "at_risk": "active", "closed": "defunct"}


def is_services(document: object) -> bool:
    services = _services(document)
    return bool(services) and all(isinstance(s, dict) and "name" in s for s in services[:5])


def _services(document: object) -> list[Any]:
    if isinstance(document, dict):
        document = document.get("contents", document.get("content"))
    return document if isinstance(document, list) else []


def services_table(raw: RawTable) -> RawTable:
    """HSDS services as rows with the activity importer's column names."""
    rows = [_service_row(service) for service in _services(raw.document)]
    frame = pd.DataFrame(rows).fillna("").astype(str)
    return RawTable(frame, np.arange(len(frame), dtype=np.int64) + 1)


def _service_row(service: dict[str, Any]) -> dict[str, str]:
    organisation = service.get("organization") or {}
    location = next(
        (sal.get("location") or {} for sal in service.get("service_at_locations") or []), {}
    )
    address: dict[str, Any] = next(
        iter(location.get("addresses") or location.get("physical_addresses") or []), {}
    )
    extra = service.get("x_dualimpact") or {}
    themes = [
        (a.get("taxonomy_term") or {}).get("code", "")
        for a in service.get("attributes") or []
        if (a.get("taxonomy_term") or {}).get("vocabulary") == THEME_VOCABULARY
    ]
    status = service.get("status", "")
    if status == "active" and extra.get("status") == "at_risk":
        status = "at_risk"
    return {
        "id": str(service.get("id", "")),
        "name": service.get("name", ""),
        "description": service.get("description", ""),
        "provider_name": organisation.get("name", ""),
        "org_identifier": organisation.get("id", "")
        if str(organisation.get("id", "")).startswith("GB-")
        else "",
        "evidence_links": service.get("url", "") or "",
        "status": status,
        "themes": ";".join(t for t in themes if t),
        # A safeguarded service carries only its postcode district: it is located there.
        "postcode": address.get("postal_code", ""),
        "address": address.get("city", "") or address.get("address_1", ""),
        "lat": _text(location.get("latitude")),
        "lon": _text(location.get("longitude")),
        "people_reached_per_year": _text(extra.get("people_reached_per_year")),
        "annual_running_cost": _text(extra.get("annual_running_cost")),
        "funding_gap": _text(extra.get("funding_gap")),
        "closing_date": _text(extra.get("closing_date")),
        "service_radius_km": _text(extra.get("service_radius_km")),
        "safeguarding": "yes" if extra.get("safeguarding") else "",
    }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def services(activities: pd.DataFrame) -> dict[str, Any]:
    """An HSDS 3.0 page of services from activity rows (as ``registry.queries`` gives)."""
    public = privacy.redact(activities)
    contents = [_service(row) for row in public.to_dict(orient="records")]
    return {
        "total_items": len(contents),
        "total_pages": 1,
        "page_number": 1,
        "size": len(contents),
        "first_page": True,
        "last_page": True,
        "empty": not contents,
        "contents": contents,
    }


def _service(a: dict[str, Any]) -> dict[str, Any]:
    safe = bool(a["safeguarding"])
    location: dict[str, Any] = {
        "id": f"location-{_exported_id(a['source_key'])}",
        "name": a["name"],
        "addresses": [
            {
                "address_1": "" if safe else (a.get("address") or ""),
                "city": a.get("address") or "",
                "postal_code": (a.get("postcode") or "").split(" ")[0]
                if safe
                else (a.get("postcode") or ""),
                "country": "GB",
            }
        ],
    }
    if not safe:
        location["latitude"] = a["lat"]
        location["longitude"] = a["lon"]
    else:
        location["description"] = "Exact location withheld to keep people safe."
    extra = {
        key: _plain(a.get(key))
        for key in (
            "people_reached_per_year",
            "annual_running_cost",
            "funding_gap",
            "closing_date",
            "service_radius_km",
            "territory_code",
            "need_area_code",
            *TRUST_COLUMNS,
        )
    }
    extra["status"] = a["status"]
    extra["safeguarding"] = safe
    return {
        "id": _exported_id(a["source_key"]),
        "name": a["name"],
        "description": a.get("description") or "",
        "url": (a.get("evidence_links") or [None])[0],
        "status": _STATUS_OUT[a["status"]],
        "organization": {"id": a.get("provider_key") or "", "name": a.get("provider_name") or ""},
        "service_at_locations": [
            {"id": f"sal-{_exported_id(a['source_key'])}", "location": location}
        ],
        "attributes": [
            {"taxonomy_term": {"code": code, "name": names[code], "vocabulary": vocabulary}}
            for vocabulary, names, codes in (
                (THEME_VOCABULARY, LABELS, a.get("themes")),
                (CATEGORY_VOCABULARY, categories.LABELS, a.get("eligibility_categories")),
            )
            for code in _listed(codes)
        ],
        "x_dualimpact": {k: v for k, v in extra.items() if v is not None},
    }


def _exported_id(source_key: str) -> str:
    """The record's key, marked as ours so that an import recognises it (a round trip
    finds the same record); safeguarded keys are already hashed and marked."""
    if source_key.startswith(privacy.SAFEGUARDED_PREFIX):
        return source_key
    return EXPORT_PREFIX + source_key


def _listed(values: object) -> list[str]:
    """A list column's value as a list (missing: empty)."""
    return list(values) if isinstance(values, list | tuple | np.ndarray) else []


def _plain(value: object) -> object:
    """A JSON-ready value: dates as ISO text, whole amounts as integers, gaps as None, lists
    as lists."""
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value
