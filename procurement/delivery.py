"""Delivery against awarded commitments, two-sided: the supplier claims what it gave, the
activity's provider confirms or disputes it, the buyer signs off what was confirmed.

Only confirmed delivery counts as delivered in the register and the KPI exports; claims
waiting for the provider are shown as claimed. Every step is in the SPO's audit trail.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, text

from accounts import permissions
from accounts.permissions import Action, Target
from accounts.users import User
from geo.errors import ConflictError, InvalidInputError, NotFoundError
from procurement import audit
from procurement.lifecycle import authorise, change_state, commitment, locked
from procurement.records import DeliveryState, SpoState
from procurement.states import AWARDED, DELIVERING


def claim(
    conn: Connection,
    user: User,
    commitment_id: int,
    *,
    money_paid_gbp: float = 0.0,
    hours_given: float = 0.0,
    people_reached: int = 0,
    evidence_links: list[str] | None = None,
    note: str | None = None,
) -> int:
    """The supplier records what it delivered against a commitment; returns the claim id."""
    spo = locked(conn, commitment(conn, commitment_id)["spo_id"], user)
    authorise(conn, user, Action.CLAIM_DELIVERY, spo)
    if spo["status"] not in (AWARDED, DELIVERING):
        raise ConflictError(f"SPO {spo['id']} is {spo['status']}: delivery starts after award")
    amounts = {
        "money paid": money_paid_gbp,
        "hours given": hours_given,
        "people reached": people_reached,
    }
    negative = [name for name, value in amounts.items() if not value >= 0]
    if negative:
        raise InvalidInputError(f"{', '.join(negative)} must be zero or more")
    links = evidence_links or []
    if not any(amounts.values()) and not links:
        raise InvalidInputError("a delivery claim needs an amount, hours, people or evidence")
    bad = [link for link in links if not link.startswith(("https://", "http://"))]
    if bad:
        raise InvalidInputError(f"evidence {bad[0]!r} is not a web address (https://...)")
    if spo["status"] == AWARDED:
        change_state(conn, spo, DELIVERING, user, "delivery started")
    delivery_id: int = conn.execute(
        text(
            """
            INSERT INTO spo_delivery (commitment_id, money_paid_gbp, hours_given, people_reached,
                                      evidence_links, note, claimed_by)
            VALUES (:c, :money, :hours, :people, :links, :note, :user) RETURNING id
            """
        ),
        {
            "c": commitment_id,
            "money": money_paid_gbp,
            "hours": hours_given,
            "people": people_reached,
            "links": links,
            "note": note,
            "user": user.id,
        },
    ).scalar_one()
    audit.append(
        conn,
        spo["id"],
        user.id,
        "delivery claimed",
        payload={
            "delivery": delivery_id,
            "commitment": commitment_id,
            **amounts,
            "evidence": links,
        },
    )
    return delivery_id


def respond(
    conn: Connection, user: User, delivery_id: int, *, confirm: bool, note: str | None = None
) -> None:
    """The activity's provider confirms or disputes a claim (once)."""
    row, spo = _locked(conn, user, delivery_id)
    permissions.require(user, Action.RESPOND_TO_DELIVERY, Target(provider_id=row["provider_id"]))
    if row["provider_status"] != "pending":
        raise ConflictError(f"delivery {delivery_id} was already {row['provider_status']}")
    if not confirm and len((note or "").strip()) < 10:
        raise InvalidInputError("a dispute needs a note saying what is wrong")
    status = "confirmed" if confirm else "disputed"
    _update(
        conn,
        delivery_id,
        "provider_status = :s, provider_by = :u, provider_note = :n",
        "provider_status = 'pending'",
        {"s": status, "u": user.id, "n": note},
    )
    audit.append(
        conn,
        spo["id"],
        user.id,
        f"delivery {status} by provider",
        reason=note,
        payload={"delivery": delivery_id},
    )


def sign_off(conn: Connection, user: User, delivery_id: int) -> None:
    """The buyer signs off a delivery the provider confirmed."""
    row, spo = _locked(conn, user, delivery_id)
    permissions.require(user, Action.SIGN_OFF_DELIVERY, Target(buyer_id=row["buyer_id"]))
    if row["provider_status"] != "confirmed":
        raise ConflictError(
            f"delivery {delivery_id} is {row['provider_status']}: the provider must confirm it "
            "before sign-off"
        )
    if row["signed_off_by"] is not None:
        raise ConflictError(f"delivery {delivery_id} is already signed off")
    _update(
        conn,
        delivery_id,
        "signed_off_by = :u",
        "provider_status = 'confirmed' AND signed_off_by IS NULL",
        {"u": user.id},
    )
    audit.append(conn, spo["id"], user.id, "delivery signed off", payload={"delivery": delivery_id})


def _locked(conn: Connection, user: User, delivery_id: int) -> tuple[DeliveryState, SpoState]:
    """The delivery claim and its SPO, both locked for this transaction (the SPO first, as
    every command on an SPO locks it, so two commands never wait on each other), the claim
    read after the locks: a racing answer or sign-off has either committed or not begun."""
    spo = locked(conn, _delivery(conn, delivery_id)["spo_id"], user)
    return _delivery(conn, delivery_id, lock=True), spo


def _update(
    conn: Connection, delivery_id: int, assignments: str, expected: str, values: dict[str, object]
) -> None:
    """Set ``assignments`` on the claim only while it is still in the ``expected`` state
    (SQL conditions), refusing (ConflictError) when it no longer is."""
    changed = conn.execute(
        text(f"UPDATE spo_delivery SET {assignments} WHERE id = :id AND {expected}"),
        {**values, "id": delivery_id},
    ).rowcount
    if changed != 1:
        raise ConflictError(
            f"delivery {delivery_id} was changed by someone else meanwhile: reload it and try again"
        )


def _delivery(conn: Connection, delivery_id: int, *, lock: bool = False) -> DeliveryState:
    """The delivery claim with who may confirm it (the activity's provider) and sign it
    off (the tender's buyer); its row locked until the transaction ends with ``lock``."""
    row = (
        conn.execute(
            text(
                """
            SELECT d.id, d.provider_status, d.signed_off_by, c.spo_id, a.provider_id,
                   t.buyer_id
            FROM spo_delivery d JOIN spo_commitment c ON c.id = d.commitment_id
            JOIN activity a ON a.id = c.activity_id JOIN spo s ON s.id = c.spo_id
            JOIN tender t ON t.id = s.tender_id WHERE d.id = :id
            """
                + (" FOR UPDATE OF d" if lock else "")
            ),
            {"id": delivery_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no delivery claim with id {delivery_id}")
    return cast(DeliveryState, dict(row))
