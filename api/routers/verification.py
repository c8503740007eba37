"""The verification ladder and eligibility decisions over HTTP: a provider claims a listed
record, an admin approves a claim no identifier proves, a territory's community team
verifies a record (evidence level on the Nesta Standards of Evidence, 1-5), marks it
lapsed or decides whether it is a dual-impact activity. Every rule and the history entry
are :mod:`accounts.verification`'s; each endpoint answers with the record's new state."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import Field

from accounts import verification
from api.deps import CurrentUser, ReadConn, WriteConn
from api.schemas import Body, Id, Links, Text
from geo.jsonable import jsonable
from registry.categories import SLUGS

router = APIRouter(tags=["activities"])

Category = Annotated[str, Field(max_length=60, description=", ".join(SLUGS))]


class ClaimIn(Body):
    """What shows the record is the organisation's (for the admin, when no charity or
    company number proves it)."""

    evidence_note: Text | None = None


class ApproveIn(Body):
    """The organisation whose pending claim is approved."""

    provider_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


class VerifyIn(Body):
    """An evidence level on the Nesta Standards of Evidence (1: a clear account of what it
    does and why; 5: manuals and systems for consistent replication), links to the
    evidence (``https://...``) and what was checked."""

    evidence_level: Annotated[int, Field(ge=1, le=5)]
    links: Links = Field(default_factory=list)
    note: Text | None = None


class LapseIn(Body):
    """Why the activity is no longer known to run (a sentence at least)."""

    reason: Text


class EligibilityIn(Body):
    """The decision: eligible with its dual-impact categories, or ineligible or to be
    reviewed with none; and why (a sentence at least)."""

    eligibility: Literal["eligible", "ineligible", "needs_review"]
    categories: Annotated[list[Category], Field(max_length=len(SLUGS))] = Field(
        default_factory=list
    )
    reason: Text


@router.post("/activities/{activity_id}/claim")
def claim(
    activity_id: Id, body: ClaimIn, response: Response, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Claim a listed (or lapsed) activity's record for your provider organisation: at
    once (200) when its charity or company number matches the record's provider's,
    otherwise recorded to wait for an admin's approval (202)."""
    outcome = verification.claim(conn, user, activity_id, evidence_note=body.evidence_note)
    if outcome.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return jsonable(
        {
            **outcome.state,
            "claim": "pending" if outcome.pending else "claimed",
            "proof": outcome.proof,
        }
    )


@router.get("/claims")
def waiting_claims(conn: ReadConn, user: CurrentUser) -> dict[str, Any]:
    """Claims no identifier proved, waiting for an admin's approval, oldest first (admins)."""
    return {"claims": jsonable(verification.waiting_claims(conn, user))}


@router.post("/activities/{activity_id}/claim/approve")
def approve_claim(
    activity_id: Id, body: ApproveIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Approve an organisation's pending claim (admins)."""
    return jsonable(verification.approve_claim(conn, user, activity_id, body.provider_id))


@router.post("/activities/{activity_id}/verify")
def verify(activity_id: Id, body: VerifyIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Verify a claimed (or lapsed, or re-verify a verified) record: the territory's
    community team, or admins."""
    return jsonable(
        verification.verify(conn, user, activity_id, body.evidence_level, body.links, body.note)
    )


@router.post("/activities/{activity_id}/lapse")
def lapse(activity_id: Id, body: LapseIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """Mark the activity lapsed, with a reason: the territory's community team, or admins."""
    return jsonable(verification.mark_lapsed(conn, user, activity_id, body.reason))


@router.post("/activities/{activity_id}/eligibility")
def decide_eligibility(
    activity_id: Id, body: EligibilityIn, conn: WriteConn, user: CurrentUser
) -> dict[str, Any]:
    """Decide whether the activity is a dual-impact activity (the territory's community
    team, or admins): the decision, who made it, when and why are kept, and the automatic
    rules never replace it."""
    return jsonable(
        verification.decide_eligibility(
            conn, user, activity_id, body.eligibility, body.categories, body.reason
        )
    )
