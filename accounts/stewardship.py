"""Who may look after an activity's record: its own provider, a buyer's staff for its
territory, or an operator's admin. The rule joins the registry (the activity, its provider
and territory) to accounts (the person and their organisation), so it lives here, above
both records and people.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

from accounts.users import User, require_role
from geo.errors import PermissionDeniedError
from registry.queries import activity_owner
from registry.records import Registered, register_activity

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
