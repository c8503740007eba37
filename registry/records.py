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

from accounts.users import User, require_role
from geo.errors import InvalidInputError, PermissionDeniedError
from registry import activities
from registry.importer import ImportReport, import_table
from registry.queries import activity_owner
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
    if report.rejected:
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


STEWARDS = ("provider", "buyer_lead", "buyer_evaluator", "admin")


def require_steward(conn: Connection, user: User, activity_id: int) -> None:
    """Only the activity's own provider, a buyer's staff for its territory, or an admin
    may change an activity."""
    provider_id, territory = activity_owner(conn, activity_id)
    if user.role == "admin":
        return
    if user.role == "provider" and provider_id == user.organisation_id:
        return
    if user.is_buyer and territory in user.territories:
        return
    raise PermissionDeniedError(
        f"only activity {activity_id}'s own provider, a buyer for territory {territory} or an "
        "admin can change it"
    )


def register_for(conn: Connection, user: User, record: Mapping[str, object]) -> Registered:
    """A provider registers its own activity; a buyer's community-facing staff connect in
    activities of their territories. A record matching one already stored updates it, if
    the user may change that one; otherwise nothing is stored."""
    require_role(user, STEWARDS, "register an activity")
    registered = register_activity(conn, record, source=f"api:{user.organisation_id}")
    activity_id = registered.activity_id
    if not registered.created:
        require_steward(conn, user, activity_id)
    else:
        _, territory = activity_owner(conn, activity_id)
        if user.is_buyer and territory not in user.territories:
            raise PermissionDeniedError(
                f"the activity is in territory {territory}; {user.organisation_name} buys "
                f"for {', '.join(user.territories) or 'no territory'}"
            )
        if user.role == "provider":
            conn.execute(
                text("UPDATE activity SET provider_id = :owner WHERE id = :id"),
                {"owner": user.organisation_id, "id": activity_id},
            )
    _drop_unused_provider(conn, registered.provider_key)
    return registered


def _drop_unused_provider(conn: Connection, provider_key: str) -> None:
    """The import makes a provider organisation from the record's text; drop it when the
    activity went to a signed-in provider instead (nothing else uses it)."""
    conn.execute(
        text(
            """
            DELETE FROM organisation o WHERE o.kind = 'provider' AND o.natural_key = :key
              AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.provider_id = o.id)
              AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.organisation_id = o.id)
            """
        ),
        {"key": provider_key},
    )
