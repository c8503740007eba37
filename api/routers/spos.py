"""Social Purchase Orders: the lifecycle actions, the audit trail and the ledger view.

Every rule lives in :mod:`procurement`; these endpoints only translate HTTP. An SPO you may
not see answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from api.deps import CurrentUser, IndexesDep, ReadConn, ViewerDep, WriteConn
from api.schemas import CommitmentsIn, DeliveryIn, Id, ReasonIn, ResponseIn, ScoreIn, VariationIn
from geo.jsonable import jsonable, records
from procurement import audit, delivery, ledger, spo_queries, spos
from procurement.visibility import Viewer

router = APIRouter(tags=["SPOs"])


def _spo(conn: ReadConn | WriteConn, user: Any, spo_id: int) -> dict[str, Any]:
    return jsonable(spo_queries.get_spo(conn, Viewer.of(user), spo_id))


@router.get("/spos")
def list_spos(
    conn: ReadConn,
    viewer: ViewerDep,
    territory: Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$")] = None,
    tender: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """The SPOs you may see: your own bids, bids on your tenders, and awarded SPOs."""
    return {
        "spos": jsonable(spo_queries.list_spos(conn, viewer, tender_id=tender, territory=territory))
    }


@router.get("/spos/{spo_id}")
def get_spo(spo_id: Id, conn: ReadConn, viewer: ViewerDep) -> dict[str, Any]:
    """An SPO with its commitments, delivery so far and the states it may move to."""
    return jsonable(spo_queries.get_spo(conn, viewer, spo_id))


@router.put("/spos/{spo_id}/commitments")
def replace_commitments(
    spo_id: Id, body: CommitmentsIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Rewrite a draft's commitments (only a draft can be edited)."""
    spos.replace_commitments(conn, user, spo_id, [c.spec() for c in body.commitments])
    return _spo(conn, user, spo_id)


@router.post("/spos/{spo_id}/submit")
def submit(spo_id: Id, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Submit with the bid: refused after the deadline, with activities outside the
    tender's territory, vague commitments, more than an activity still needs, or an
    activity not eligible (or lapsed) that the tender's buyer has not allowed."""
    spos.submit(conn, user, spo_id)
    return _spo(conn, user, spo_id)


@router.post("/spos/{spo_id}/withdraw")
def withdraw(spo_id: Id, body: ReasonIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    spos.withdraw(conn, user, spo_id, body.reason)
    return _spo(conn, user, spo_id)


@router.post("/spos/{spo_id}/score")
def score(
    spo_id: Id, body: ScoreIn, conn: WriteConn, user: CurrentUser, indexes: IndexesDep
) -> dict[str, Any]:
    """The buyer scores a submitted SPO with the standard SPO score (an override needs a
    reason, recorded in the audit trail)."""
    result = spos.score(
        conn, user, spo_id, indexes.need(), override=body.override, reason=body.reason
    )
    return {**_spo(conn, user, spo_id), "scoring": jsonable(result)}


@router.post("/spos/{spo_id}/award")
def award(spo_id: Id, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Award the tender to this SPO: it becomes public, its commitments are locked, and
    the other bids are closed unpublished."""
    spos.award(conn, user, spo_id)
    return _spo(conn, user, spo_id)


@router.post("/spos/{spo_id}/complete")
def complete(spo_id: Id, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    spos.complete(conn, user, spo_id)
    return _spo(conn, user, spo_id)


@router.get("/spos/{spo_id}/audit")
def audit_trail(spo_id: Id, conn: ReadConn, viewer: ViewerDep) -> dict[str, Any]:
    """Every event of the SPO (who, when, from → to, reason), hash-chained, and whether the
    chain still verifies."""
    spo_queries.get_spo(conn, viewer, spo_id)
    problems = audit.verify(conn, spo_id)
    return {
        "spo": spo_id,
        "verified": not problems,
        "problems": problems,
        "events": jsonable(audit.events(conn, spo_id)),
    }


@router.get("/spos/{spo_id}/ledger")
def ledger_view(spo_id: Id, conn: ReadConn, viewer: ViewerDep) -> dict[str, Any]:
    """For each activity the SPO backs: its gap, what awarded SPOs already promise it, and
    what would remain — so a buyer sees a bid leaning on already-committed activities."""
    spo_queries.get_spo(conn, viewer, spo_id)
    return {"spo": spo_id, "activities": records(ledger.leaning(conn, spo_id))}


@router.post("/commitments/{commitment_id}/variations", status_code=status.HTTP_201_CREATED)
def vary(
    commitment_id: Id, body: VariationIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Change an awarded commitment: recorded as a variation with its reason, never an
    edit."""
    changes = body.model_dump(exclude_none=True, exclude={"reason"})
    if "where" in changes:
        changes["where_text"] = changes.pop("where")
    spo_id = spos.vary(conn, user, commitment_id, changes, body.reason)
    return _spo(conn, user, spo_id)


@router.post("/commitments/{commitment_id}/deliveries", status_code=status.HTTP_201_CREATED)
def claim(
    commitment_id: Id, body: DeliveryIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """The supplier records what it delivered; the activity's provider then confirms or
    disputes it, and the buyer signs it off."""
    delivery_id = delivery.claim(conn, user, commitment_id, **body.model_dump())
    return {"delivery": delivery_id, "provider_status": "pending"}


@router.post("/deliveries/{delivery_id}/sign-off")
def sign_off(delivery_id: Id, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    delivery.sign_off(conn, user, delivery_id)
    return {"delivery": delivery_id, "signed_off": True}


@router.post("/deliveries/{delivery_id}/{answer}")
def respond(
    delivery_id: Id,
    answer: Literal["confirm", "dispute"],
    body: ResponseIn,
    conn: WriteConn,
    user: CurrentUser,
) -> dict[str, Any]:
    """The activity's provider confirms or disputes a delivery the supplier reported."""
    confirm = answer == "confirm"
    delivery.respond(conn, user, delivery_id, confirm=confirm, note=body.note)
    return {"delivery": delivery_id, "provider_status": "confirmed" if confirm else "disputed"}
