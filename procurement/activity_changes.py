"""Changes to an activity's record, checked against who may make them and against the
capacity ledger, and recorded in the activity's history.

* The funding gap is a capacity-ledger input (:mod:`procurement.ledger`): only the
  activity's own provider changes it, or a buyer lead of its territory as an *override*
  with a reason; either way it never falls below what awarded SPOs already promise.
* Safeguarding: anyone looking after the record may turn it on (safer); only the
  activity's own provider may turn it off (wider exposure).
* Everything else (figures, status, area served, themes) is for the record's stewards.

Who may do what is a row of :data:`accounts.permissions.PERMISSIONS`; the write and the
history entry (``activity_event``: who, from what to what, why) are
:func:`registry.queries.update_activity`'s. This lives in procurement because the ledger
does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sqlalchemy import Connection

from accounts import permissions, stewardship
from accounts.permissions import Action
from accounts.users import User
from geo.errors import InvalidInputError
from geo.jsonable import jsonable
from procurement import ledger
from registry import queries
from registry.queries import Changes
from registry.records import Registered

# A registration names these only as a new record's first values; on a record already
# stored they are changes, made by the rules of :func:`change_activity`.
_GUARDED = ("funding_gap", "safeguarding")


def change_activity(
    conn: Connection,
    user: User,
    activity_id: int,
    changes: Mapping[str, object],
    reason: str | None = None,
) -> Changes:
    """Change an activity's record as ``user``, if they may, and record the change.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change.
    user
        Who asks.
    activity_id
        The activity.
    changes
        New values by name (:data:`registry.queries.UPDATABLE`): money in pounds a year,
        ``service_radius_m`` in metres.
    reason
        Why; required (a sentence at least) when a buyer lead overrides the funding gap.

    Returns
    -------
    Changes
        Each field that changed, with its value before and after.

    Raises
    ------
    PermissionDeniedError
        ``user`` may not make one of the changes (nothing is changed).
    InvalidInputError
        A bad value, or an override without a reason.
    ConflictError
        The new funding gap is below what awarded SPOs already promise.
    """
    target = stewardship.target(conn, activity_id)
    permissions.require(user, Action.EDIT_ACTIVITY, target)
    ledger.lock_activities(conn, [activity_id])
    (current,) = queries.activity(conn, activity_id).to_dict("records")
    action = "updated"
    gap = changes.get("funding_gap", current["funding_gap"])
    if jsonable(gap) != jsonable(current["funding_gap"]):
        if permissions.require(user, Action.SET_FUNDING_GAP, target).override:
            if len((reason or "").strip()) < 10:
                raise InvalidInputError(
                    f"changing activity {activity_id}'s funding gap is an override for a "
                    f"{user.role.replace('_', ' ')}: give a reason (a sentence at least) for "
                    "the record"
                )
            action = "funding gap override"
        ledger.check_gap(conn, activity_id, None if gap is None else float(cast(float, gap)))
    flag = changes.get("safeguarding")
    if flag is not None and flag != current["safeguarding"]:
        raise_or_clear = Action.RAISE_SAFEGUARDING if flag else Action.CLEAR_SAFEGUARDING
        permissions.require(user, raise_or_clear, target)
    return queries.update_activity(
        conn, activity_id, changes, actor_id=user.id, action=action, reason=reason
    )


def register(conn: Connection, user: User, record: Mapping[str, object]) -> Registered:
    """Register an activity (:func:`accounts.stewardship.register_for`). A new record
    keeps the funding gap and safeguarding flag it gives; on a record already stored they
    are changes under :func:`change_activity`'s rules (a registration never clears the
    flag, as no import does)."""
    given = {name: record[name] for name in _GUARDED if record.get(name) is not None}
    registered = stewardship.register_for(
        conn, user, {name: value for name, value in record.items() if name not in _GUARDED}
    )
    if given.get("safeguarding") is False:
        del given["safeguarding"]
    if registered.created and given:
        queries.update_activity(
            conn, registered.activity_id, given, actor_id=user.id, action="registered"
        )
    elif given:
        change_activity(conn, user, registered.activity_id, given)
    return registered
