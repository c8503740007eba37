"""An activity's history: who changed its figures, flags, status, places or standing, when,
from what to what and why (the append-only ``activity_event`` table). Every command that
changes an activity writes its row here, in the same transaction as the change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

# A change as the history records it: field -> [before, after], as JSON values.
Changes = Mapping[str, list[Any]]


def record_event(
    conn: Connection,
    activity_id: int,
    actor_id: int | None,
    action: str,
    changes: Changes,
    reason: str | None = None,
) -> None:
    """Write one row of the activity's history in this transaction.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change the row records.
    activity_id
        The activity.
    actor_id
        Who made the change (an ``app_user`` id; ``None`` from the command line).
    action
        What the history calls it ("claimed", "verified", "add_delivery_site"...).
    changes
        Each changed field's ``[before, after]``, as JSON values.
    reason
        Why, if said (surrounding blanks dropped; blank is no reason).
    """
    conn.execute(
        text(
            "INSERT INTO activity_event (activity_id, actor_id, action, changes, reason)"
            " VALUES (:id, :actor, :action, CAST(:changes AS jsonb), :reason)"
        ),
        {
            "id": activity_id,
            "actor": actor_id,
            "action": action,
            "changes": json.dumps(dict(changes)),
            "reason": (reason or "").strip() or None,
        },
    )
