"""The steps every change to an SPO shares: finding (and locking) the SPO or commitment it
is about, checking who is asking, and moving the SPO through its state machine.

:mod:`procurement.spos` (bids, scoring, award, variations) and
:mod:`procurement.delivery` (claims, confirmation, sign-off) build their commands from
these, so the rules are written once: an SPO the user may not see is "not found"
(:mod:`procurement.visibility`); who may act on one it may see is a row of
:data:`accounts.permissions.PERMISSIONS`; a move must be a legal pair of
:mod:`procurement.states`, made by one of its roles; every move is in the audit trail.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action, Target
from accounts.users import User
from geo.errors import ConflictError, NotFoundError, PermissionDeniedError
from procurement import audit
from procurement.records import CommitmentTerms, SpoState
from procurement.states import TRANSITIONS, allowed_next
from procurement.visibility import Viewer, sealed_message, spo_filter


def find_spo(conn: Connection, spo_id: int, user: User, *, lock: bool = False) -> SpoState:
    """The SPO's state, if ``user`` may see it (else "not found", revealing nothing).

    Parameters
    ----------
    conn
        The connection (its transaction holds the lock when ``lock`` is set).
    spo_id
        The SPO.
    user
        Who is asking.
    lock
        Lock the SPO row (``FOR UPDATE``) until the transaction ends.

    Raises
    ------
    ConflictError
        ``user`` works for the tender's buyer and the SPO is a submitted bid still sealed
        (the bid deadline has not passed): the message says when evaluation opens.
    NotFoundError
        There is no such SPO, or ``user`` may not see it.
    """
    condition, params = spo_filter(Viewer.of(user))
    row = (
        conn.execute(
            text(
                f"SELECT s.id, s.tender_id, s.supplier_id, s.status FROM spo s"
                f" JOIN tender t ON t.id = s.tender_id WHERE s.id = :id AND {condition}"
                + (" FOR UPDATE OF s" if lock else "")
            ),
            {"id": spo_id, **params},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        _refuse_sealed(conn, spo_id, user)
        raise NotFoundError(f"no SPO with id {spo_id} that you may see")
    return cast(SpoState, dict(row))


def _refuse_sealed(conn: Connection, spo_id: int, user: User) -> None:
    """Refuse (ConflictError, saying when evaluation opens) a bid on one of ``user``'s
    organisation's tenders that is submitted but still sealed; a draft stays unknown."""
    deadline = conn.execute(
        text(
            "SELECT t.bid_deadline FROM spo s JOIN tender t ON t.id = s.tender_id"
            " WHERE s.id = :id AND t.buyer_id = :org AND s.submitted_at IS NOT NULL"
            " AND t.bid_deadline > now()"
        ),
        {"id": spo_id, "org": user.organisation_id},
    ).scalar()
    if deadline is not None:
        raise ConflictError(sealed_message(deadline))


def locked(conn: Connection, spo_id: int, user: User) -> SpoState:
    """The SPO's state, its row locked for this transaction, if ``user`` may see it."""
    return find_spo(conn, spo_id, user, lock=True)


def commitment(conn: Connection, commitment_id: int) -> CommitmentTerms:
    """A commitment's promised terms (callers lock and check its SPO before acting).

    Raises
    ------
    NotFoundError
        There is no such commitment.
    """
    row = (
        conn.execute(
            text(
                "SELECT id, spo_id, kind, quantity::float8 AS quantity, what, where_text,"
                " for_whom, by_when FROM spo_commitment WHERE id = :id"
            ),
            {"id": commitment_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no commitment with id {commitment_id}")
    return cast(CommitmentTerms, dict(row))


def authorise(conn: Connection, user: User, action: Action, spo: SpoState) -> None:
    """Refuse (PermissionDeniedError) ``action`` on the SPO unless the permissions table
    lets ``user`` do it (:func:`accounts.permissions.require`): the rules look at the
    SPO's supplier and its tender's buyer and territory."""
    buyer_id, territory = conn.execute(
        text("SELECT buyer_id, territory_code FROM tender WHERE id = :id"),
        {"id": spo["tender_id"]},
    ).one()
    permissions.require(
        user,
        action,
        Target(supplier_id=spo["supplier_id"], buyer_id=buyer_id, territory=territory),
    )


def check_move(spo: SpoState, to: str, user: User, *, check_role: bool = True) -> None:
    """Refuse a move the state machine does not allow from the SPO's state, or (unless
    ``check_role`` is off) one that ``user``'s role may not make.

    Raises
    ------
    ConflictError
        ``spo`` cannot become ``to`` from its state.
    PermissionDeniedError
        ``user``'s role may not make the move.
    """
    roles = TRANSITIONS.get((spo["status"], to))
    if roles is None:
        nexts = ", ".join(allowed_next(spo["status"])) or "none: it is final"
        raise ConflictError(
            f"SPO {spo['id']} is {spo['status']}: it cannot become {to} (next: {nexts})"
        )
    if check_role and user.role not in roles:
        raise PermissionDeniedError(
            f"only a {' or '.join(sorted(r.replace('_', ' ') for r in roles))} can make an SPO {to}"
        )


def change_state(
    conn: Connection,
    spo: SpoState,
    to: str,
    user: User,
    action: str,
    *,
    reason: str | None = None,
    payload: dict[str, object] | None = None,
    check_role: bool = True,
) -> None:
    """Move a locked SPO to state ``to`` and record the move in its audit trail.

    Parameters
    ----------
    conn
        The connection whose transaction holds the SPO's row lock.
    spo
        The SPO's state; its ``status`` is updated to ``to``.
    to
        The new state.
    user
        Who makes the move.
    action
        The audit trail's name for the move ("submitted", "awarded", ...).
    reason, payload
        Recorded with the event.
    check_role
        Check ``user``'s role may make the move (off when a move follows from another,
        as losing bids do when a tender is awarded).
    """
    check_move(spo, to, user, check_role=check_role)
    conn.execute(text("UPDATE spo SET status = :to WHERE id = :id"), {"to": to, "id": spo["id"]})
    audit.append(
        conn,
        spo["id"],
        user.id,
        action,
        from_state=spo["status"],
        to_state=to,
        reason=reason,
        payload=payload,
    )
    spo["status"] = to
