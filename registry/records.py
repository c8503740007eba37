"""Activities registered one at a time (through the API), checked and geocoded exactly like
a file import: the record becomes a one-row table and goes through
:func:`registry.importer.import_table`, so it meets the same rules and the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import InvalidInputError
from registry import activities
from registry.importer import ImportReport, import_table
from registry.readers import RawTable


@dataclass(frozen=True)
class Registered:
    activity_id: int
    created: bool  # False: the record matched one already stored (and updated it)
    report: ImportReport
    provider_key: str  # the provider organisation the record named (or implied)


def register_activity(conn: Connection, record: Mapping[str, object], source: str) -> Registered:
    """Store one activity (``record`` holds activity fields, e.g. name, postcode, themes)
    from ``source`` (who sent it); refused as a whole with every problem named."""
    report = import_table(
        conn,
        activities.SPEC,
        RawTable(pd.DataFrame([_as_text(record)]), np.array([1], dtype=np.int64)),
        source=source,
        label="the activity",
    )
    if not report.errors.empty:  # one record: a value a file import would drop is refused
        problems = "; ".join(
            f"{row.column}: {row.reason}" + (f" (got {row.value!r})" if row.value else "")
            for row in report.errors.itertuples()
        )
        raise InvalidInputError(f"the activity cannot be stored: {problems}")
    row = conn.execute(
        text(
            "SELECT coalesce(i.target_id, a.id) AS id, i.provider_key FROM activity_in i"
            " LEFT JOIN activity a ON a.source_key = i.source_key LIMIT 1"
        )
    ).one()
    # The staging table lives until commit; drop it so the transaction can stage again.
    conn.execute(text("DROP TABLE activity_in"))
    return Registered(int(row.id), report.stored == 1, report, row.provider_key)


def _as_text(record: Mapping[str, object]) -> dict[str, str]:
    """Field values as the text a file would carry (lists joined, booleans as yes/no)."""
    out = {}
    for name, value in record.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "yes" if value else "no"
        elif isinstance(value, list | tuple):
            out[name] = ";".join(str(v) for v in value)
        elif isinstance(value, date):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out
