"""GeoJSON for activities, always through the safeguarding rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from geo.jsonable import jsonable
from registry import privacy

WITHHELD = "exact location withheld to keep people safe"
# Safeguarded records already carry a hashed provider_key and source_key (registry.privacy).
_HIDDEN = ("safeguarding", "lat", "lon")


def features(
    records: Iterable[Mapping[str, Any]], backing: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """Features of activity records; safeguarded ones have no geometry, a district postcode."""
    out = []
    for record in records:
        row = privacy.redact_record(record)
        safe = bool(row.get("safeguarding"))
        properties = {k: jsonable(v) for k, v in row.items() if k not in _HIDDEN}
        properties["location"] = WITHHELD if safe else "point"
        if backing is not None:
            properties["backed_by_spos"] = backing.get(int(row["id"]), 0)
        geometry = (
            None
            if safe
            else {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
        )
        out.append(
            {
                "type": "Feature",
                "id": int(row["id"]),
                "geometry": geometry,
                "properties": properties,
            }
        )
    return out
