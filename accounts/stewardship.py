"""Who may look after an activity's record: its own provider, a buyer's staff for its
territory, or an operator's admin (the rules are rows of :data:`accounts.permissions.
PERMISSIONS`). The rule joins the registry (the activity, its provider and territory) to
accounts (the person and their organisation), so it lives here, above both records and
people; so does the activity's history, which names the people who changed it.

Changes that touch the capacity ledger (the funding gap) are made through
:mod:`procurement.activity_changes`, which checks them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, cast

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action, Grant, Target
from accounts.users import User
from geo.jsonable import jsonable
from registry import queries
from registry.history import record_event
from registry.records import Registered, register_activity


class ActivityEvent(TypedDict):
    """One change in an activity's history: when, who (``None`` for the command line) and
    for which organisation, what it is called, each field's [before, after], and why."""

    at: datetime
    actor: str | None
    organisation: str | None
    action: str
    changes: dict[str, list[Any]]
    reason: str | None


def target(conn: Connection, activity_id: int) -> Target:
    """What the organisation rules look at for an activity: its provider and territory.

    Raises
    ------
    NotFoundError
        There is no such activity.
    """
    provider_id, territory = queries.activity_owner(conn, activity_id)
    return Target(provider_id=provider_id, territory=territory)


def require(conn: Connection, user: User, action: Action, activity_id: int) -> Grant:
    """Refuse (PermissionDeniedError) ``action`` on the activity unless ``user`` may do it
    (:func:`accounts.permissions.require`); returns the grant used."""
    return permissions.require(user, action, target(conn, activity_id))


def register_for(conn: Connection, user: User, record: Mapping[str, object]) -> Registered:
    """A provider registers its own activity; a buyer's community-facing staff connect in
    activities of their territories. A record matching one already stored updates it, if
    the user may change that one; otherwise nothing is stored (the caller's transaction
    is rolled back by the error)."""
    permissions.require_role(user, Action.REGISTER_ACTIVITY)
    registered = register_activity(conn, record, source=f"api:{user.organisation_id}")
    activity_id = registered.activity_id
    if not registered.created:
        require(conn, user, Action.EDIT_ACTIVITY, activity_id)
    else:
        require(conn, user, Action.REGISTER_ACTIVITY, activity_id)
        if user.role == "provider":
            _claim_own(conn, user, activity_id)
        else:  # connected in by a person who knows it runs today: heard of now
            conn.execute(
                text("UPDATE activity SET confirmed_at = now() WHERE id = :id"),
                {"id": activity_id},
            )
    _drop_unused_provider(conn, registered.provider_key)
    return registered


def _claim_own(conn: Connection, user: User, activity_id: int) -> None:
    """A provider's own new record: theirs, and claimed (the first rung it would otherwise
    climb by :func:`accounts.verification.claim`), recorded in its history."""
    row = conn.execute(
        text(
            """
            UPDATE activity SET provider_id = :owner, verification = 'claimed',
                   claimed_at = now(), confirmed_at = now()
            WHERE id = :id RETURNING claimed_at
            """
        ),
        {"owner": user.organisation_id, "id": activity_id},
    ).one()
    changes: dict[str, list[Any]] = {
        "verification": ["listed", "claimed"],
        "claimed_at": [None, jsonable(row[0])],
    }
    record_event(conn, activity_id, user.id, "claimed", changes, "registered by its own provider")


def add_evidence(conn: Connection, user: User, activity_id: int, url: str) -> None:
    """Attach a link (``https://...``) to evidence of what the activity achieves."""
    require(conn, user, Action.ADD_EVIDENCE, activity_id)
    queries.add_evidence(conn, activity_id, url)


def history(conn: Connection, user: User, activity_id: int) -> list[ActivityEvent]:
    """Every recorded change of the activity, oldest first, for its provider, buyers of
    its territory and admins (never the public: it names who changed a refuge's flag)."""
    require(conn, user, Action.READ_ACTIVITY_HISTORY, activity_id)
    rows = conn.execute(
        text(
            """
            SELECT e.at, u.name AS actor, o.name AS organisation, e.action, e.changes,
                   e.reason
            FROM activity_event e LEFT JOIN app_user u ON u.id = e.actor_id
            LEFT JOIN organisation o ON o.id = u.organisation_id
            WHERE e.activity_id = :id ORDER BY e.id
            """
        ),
        {"id": activity_id},
    ).mappings()
    return [cast(ActivityEvent, dict(row)) for row in rows]


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
