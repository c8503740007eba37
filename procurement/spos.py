"""The SPO lifecycle's commands: draft, edit, submit, withdraw, score, award, complete, vary.

Every rule about who may do what, and when, is here (never in the API's routers); every
change is one transaction that locks the SPO row, checks the state machine
(:mod:`procurement.states`, also enforced by a database trigger) through the shared steps
of :mod:`procurement.lifecycle`, checks the capacity ledger where value is promised
(:mod:`procurement.ledger`) and that every activity committed to is eligible and current
or allowed by the tender's buyer (:mod:`procurement.allowances`: on draft, edit, submit
and award), and appends to the audit trail (:mod:`procurement.audit`).
Reading SPOs is :mod:`procurement.spo_queries`; delivery is :mod:`procurement.delivery`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import pandas as pd
import shapely
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from accounts import permissions
from accounts.permissions import Action
from accounts.users import User
from geo.errors import ConflictError, InvalidInputError
from matching.need import NeedIndex, served_need
from matching.profiles import default_radius
from matching.queries import default_radii
from matching.spo_score import Rubric, SpoScore, score_spo
from matching.valuation import HOUR_VALUE_GBP
from procurement import audit, ledger
from procurement.allowances import unallowed
from procurement.lifecycle import authorise, change_state, check_move, commitment, find_spo, locked
from procurement.records import ScoreResult, SpoState, TenderRecord
from procurement.spo_queries import get_spo, submission_problems
from procurement.states import (
    AWARDED,
    COMPLETED,
    DELIVERING,
    DRAFT,
    LAPSED,
    LIVE,
    NOT_AWARDED,
    SCORED,
    SUBMITTED,
    WITHDRAWN,
)
from procurement.tables import COMMITMENT_KINDS
from procurement.tenders import get_tender
from procurement.visibility import Viewer


@dataclass(frozen=True)
class CommitmentSpec:
    """One commitment: what, how much, where, for whom and by when."""

    activity_id: int
    kind: str
    quantity: float
    what: str
    where: str
    for_whom: str
    by_when: date


def value_gbp(kind: str, quantity: float) -> float:
    """What a commitment is worth against an activity's gap, in pounds."""
    return {
        "money": quantity,
        "in_kind": quantity,
        "volunteer_hours": quantity * HOUR_VALUE_GBP,
        "jobs": 0.0,
    }[kind]


def draft(
    conn: Connection,
    user: User,
    tender_id: int,
    summary: str,
    commitments: list[CommitmentSpec],
) -> int:
    """A supplier starts an SPO for a tender; returns its id."""
    permissions.require(user, Action.DRAFT_SPO)
    tender = get_tender(conn, tender_id)
    if datetime.now(UTC) > tender["bid_deadline"]:
        raise ConflictError(
            f"the bid deadline ({tender['bid_deadline']:%d %b %Y %H:%M}) has passed"
        )
    _check_shape(conn, tender_id, commitments)
    try:
        with conn.begin_nested():
            spo_id: int = conn.execute(
                text(
                    "INSERT INTO spo (tender_id, supplier_id, summary, created_by)"
                    " VALUES (:t, :s, :summary, :u) RETURNING id"
                ),
                {"t": tender_id, "s": user.organisation_id, "summary": summary, "u": user.id},
            ).scalar_one()
    except IntegrityError:
        raise ConflictError(
            f"{user.organisation_name} already has a live SPO for tender {tender_id}"
        ) from None
    _insert_commitments(conn, spo_id, commitments)
    audit.append(
        conn, spo_id, user.id, "drafted", to_state=DRAFT, payload={"commitments": len(commitments)}
    )
    return spo_id


def replace_commitments(
    conn: Connection, user: User, spo_id: int, commitments: list[CommitmentSpec]
) -> None:
    """Rewrite a draft's commitments (only drafts can be edited)."""
    spo = locked(conn, spo_id, user)
    authorise(conn, user, Action.EDIT_SPO, spo)
    if spo["status"] != DRAFT:
        raise ConflictError(f"SPO {spo_id} is {spo['status']}: only a draft can be edited")
    _check_shape(conn, spo["tender_id"], commitments)
    conn.execute(text("DELETE FROM spo_commitment WHERE spo_id = :id"), {"id": spo_id})
    _insert_commitments(conn, spo_id, commitments)
    audit.append(
        conn, spo_id, user.id, "commitments replaced", payload={"commitments": len(commitments)}
    )


def submit(conn: Connection, user: User, spo_id: int) -> None:
    """Submit with the bid: before the deadline, every commitment specific and inside the
    tender's territory, no activity promised more than its gap."""
    spo = locked(conn, spo_id, user)
    authorise(conn, user, Action.SUBMIT_SPO, spo)
    check_move(spo, SUBMITTED, user)
    tender = get_tender(conn, spo["tender_id"])
    if datetime.now(UTC) > tender["bid_deadline"]:
        raise ConflictError(
            f"the bid deadline ({tender['bid_deadline']:%d %b %Y %H:%M}) has passed: "
            "the SPO can no longer be submitted"
        )
    problems = submission_problems(conn, spo_id)
    if problems:
        raise InvalidInputError("the SPO cannot be submitted: " + "; ".join(problems))
    ledger.check(conn, spo_id)
    conn.execute(text("UPDATE spo SET submitted_at = now() WHERE id = :id"), {"id": spo_id})
    change_state(conn, spo, SUBMITTED, user, "submitted")


def withdraw(conn: Connection, user: User, spo_id: int, reason: str) -> None:
    """The supplier withdraws its draft or submitted SPO, saying why."""
    spo = locked(conn, spo_id, user)
    authorise(conn, user, Action.WITHDRAW_SPO, spo)
    change_state(conn, spo, WITHDRAWN, user, "withdrawn", reason=reason)


def score(
    conn: Connection,
    user: User,
    spo_id: int,
    need: NeedIndex,
    *,
    override: float | None = None,
    reason: str | None = None,
    rubric: Rubric = Rubric(),
) -> ScoreResult:
    """The buyer scores a submitted SPO with the standard rubric; it may override the
    score, with a recorded reason. Rescoring a scored SPO is allowed (and audited)."""
    spo = locked(conn, spo_id, user)
    authorise(conn, user, Action.SCORE_SPO, spo)
    tender = get_tender(conn, spo["tender_id"])
    if spo["status"] not in (SUBMITTED, SCORED):
        raise ConflictError(f"SPO {spo_id} is {spo['status']}: only a submitted SPO is scored")
    if override is not None and not 0 <= override <= 100:
        raise InvalidInputError(f"an override must be between 0 and 100 (got {override})")
    if override is not None and len((reason or "").strip()) < 10:
        raise InvalidInputError("an override needs a reason (at least a sentence) for the record")
    result = _assess(conn, spo_id, tender, need, rubric)
    conn.execute(
        text(
            """
            UPDATE spo SET score = :score, score_components = CAST(:components AS jsonb),
                score_rubric = :rubric, score_override = :override, override_reason = :reason
            WHERE id = :id
            """
        ),
        {
            "score": result.score,
            "components": pd.Series(result.components).to_json(),
            "rubric": result.rubric,
            "override": override,
            "reason": reason.strip() if override is not None and reason else None,
            "id": spo_id,
        },
    )
    scored: ScoreResult = {
        "score": result.score,
        "components": result.components,
        "rubric": result.rubric,
        "override": override,
        "reasons": result.reasons,
    }
    details = {k: v for k, v in scored.items() if k != "reasons"}
    if spo["status"] == SUBMITTED:
        change_state(conn, spo, SCORED, user, "scored", reason=reason, payload=details)
    else:
        audit.append(conn, spo_id, user.id, "rescored", reason=reason, payload=details)
    return scored


def assess(
    conn: Connection, viewer: Viewer, spo_id: int, need: NeedIndex, rubric: Rubric = Rubric()
) -> SpoScore:
    """The standard rubric's score of an SPO ``viewer`` may see, with its components and
    the reasons for each, computed exactly as :func:`score` computes it but recording
    nothing (for the buyer's side-by-side comparison, and the supplier's own preview).

    Raises
    ------
    NotFoundError
        There is no such SPO, or ``viewer`` may not see it.
    InvalidInputError
        The SPO has no commitment of value to score.
    """
    spo = get_spo(conn, viewer, spo_id)
    return _assess(conn, spo_id, get_tender(conn, spo["tender_id"]), need, rubric)


def award(conn: Connection, user: User, spo_id: int) -> None:
    """Award the tender to this SPO: it becomes public and its commitments are locked; the
    other bids are not awarded (and never published). One winner per tender, even when two
    awards race: the tender row is locked and a unique index has the last word."""
    spo = find_spo(conn, spo_id, user)
    authorise(conn, user, Action.AWARD_SPO, spo)
    tender = get_tender(conn, spo["tender_id"])
    conn.execute(text("SELECT id FROM tender WHERE id = :id FOR UPDATE"), {"id": tender["id"]})
    spo = locked(conn, spo_id, user)
    winner = conn.execute(
        text(
            "SELECT id FROM spo WHERE tender_id = :t AND status IN ('awarded', 'delivering',"
            " 'completed')"
        ),
        {"t": tender["id"]},
    ).scalar()
    if winner is not None:
        raise ConflictError(f"tender {tender['id']} was already awarded (to SPO {winner})")
    check_move(spo, AWARDED, user)
    backed = conn.execute(
        text("SELECT activity_id FROM spo_commitment WHERE spo_id = :id"), {"id": spo_id}
    ).scalars()
    problems = unallowed(conn, tender["id"], list(backed))
    if problems:
        raise InvalidInputError("the SPO cannot be awarded: " + "; ".join(problems))
    ledger.check(conn, spo_id)
    try:
        with conn.begin_nested():
            conn.execute(text("UPDATE spo SET awarded_at = now() WHERE id = :id"), {"id": spo_id})
            change_state(conn, spo, AWARDED, user, "awarded")
    except IntegrityError:
        raise ConflictError(f"tender {tender['id']} was awarded by someone else first") from None
    others = conn.execute(
        text(
            "SELECT id, tender_id, supplier_id, status FROM spo WHERE tender_id = :t"
            " AND id <> :id AND status = ANY(:live) ORDER BY id FOR UPDATE"
        ),
        {"t": tender["id"], "id": spo_id, "live": list(LIVE)},
    ).mappings()
    for other in [cast(SpoState, dict(row)) for row in others]:
        to = LAPSED if other["status"] == DRAFT else NOT_AWARDED
        change_state(
            conn,
            other,
            to,
            user,
            "not awarded",
            check_role=False,
            reason=f"tender awarded to another SPO ({spo_id})",
        )


def complete(conn: Connection, user: User, spo_id: int) -> None:
    """The buyer records that a delivering SPO's contract is complete."""
    spo = locked(conn, spo_id, user)
    authorise(conn, user, Action.COMPLETE_SPO, spo)
    change_state(conn, spo, COMPLETED, user, "completed")


def vary(
    conn: Connection, user: User, commitment_id: int, changes: dict[str, Any], reason: str
) -> int:
    """Change an awarded commitment: recorded as a variation (never an edit), agreed by
    the buyer lead, with a reason, re-checked against the capacity ledger."""
    row = commitment(conn, commitment_id)
    spo = locked(conn, row["spo_id"], user)
    authorise(conn, user, Action.VARY_COMMITMENT, spo)
    if spo["status"] not in (AWARDED, DELIVERING):
        raise ConflictError(f"SPO {spo['id']} is {spo['status']}: only awarded SPOs are varied")
    if len(reason.strip()) < 10:
        raise InvalidInputError("a variation needs a reason (at least a sentence)")
    allowed = {"quantity", "what", "where_text", "for_whom", "by_when"}
    unknown = set(changes) - allowed
    if unknown or not changes:
        raise InvalidInputError(f"a variation can change {', '.join(sorted(allowed))}")
    if "quantity" in changes and not float(changes["quantity"]) > 0:
        raise InvalidInputError("quantity must be more than zero")
    terms: Mapping[str, object] = row
    before = {k: terms[k] for k in changes}
    conn.execute(text("SELECT set_config('dualimpact.variation', 'on', true)"))
    assignments = ", ".join(f"{k} = :{k}" for k in changes)
    quantity = float(changes.get("quantity", row["quantity"]))
    conn.execute(
        text(f"UPDATE spo_commitment SET {assignments}, value_gbp = :value WHERE id = :id"),
        {**changes, "value": value_gbp(row["kind"], quantity), "id": commitment_id},
    )
    conn.execute(text("SELECT set_config('dualimpact.variation', 'off', true)"))
    ledger.check(conn, spo["id"])
    conn.execute(
        text(
            "INSERT INTO spo_variation (spo_id, commitment_id, changes, reason, created_by)"
            " VALUES (:spo, :c, CAST(:changes AS jsonb), :reason, :user)"
        ),
        {
            "spo": spo["id"],
            "c": commitment_id,
            "reason": reason.strip(),
            "user": user.id,
            "changes": pd.Series({"before": before, "after": changes}).to_json(default_handler=str),
        },
    )
    audit.append(
        conn,
        spo["id"],
        user.id,
        "varied",
        reason=reason.strip(),
        payload={"commitment": commitment_id, "before": before, "after": changes},
    )
    return int(spo["id"])


def _check_shape(conn: Connection, tender_id: int, commitments: list[CommitmentSpec]) -> None:
    """Refuse (InvalidInputError) unknown kinds, quantities of zero or less, part jobs,
    unknown activities and activities the tender's SPOs may not commit to
    (:func:`procurement.allowances.unallowed`), naming every problem at once."""
    problems = []
    for n, c in enumerate(commitments, start=1):
        if c.kind not in COMMITMENT_KINDS:
            problems.append(
                f"commitment {n}: kind {c.kind!r} must be one of {', '.join(COMMITMENT_KINDS)}"
            )
        if not c.quantity > 0:
            problems.append(f"commitment {n}: quantity must be more than zero")
        if c.kind == "jobs" and c.quantity != int(c.quantity):
            problems.append(f"commitment {n}: jobs are counted in whole numbers")
    ids = sorted({c.activity_id for c in commitments})
    known = set(
        conn.execute(text("SELECT id FROM activity WHERE id = ANY(:ids)"), {"ids": ids}).scalars()
    )
    problems += [f"no activity with id {i}" for i in ids if i not in known]
    problems += unallowed(conn, tender_id, [i for i in ids if i in known])
    if problems:
        raise InvalidInputError("; ".join(problems))


def _insert_commitments(conn: Connection, spo_id: int, commitments: list[CommitmentSpec]) -> None:
    """Add the commitments to the SPO, each valued against its activity's gap."""
    for c in commitments:
        conn.execute(
            text(
                """
                INSERT INTO spo_commitment (spo_id, activity_id, kind, quantity, value_gbp,
                    what, where_text, for_whom, by_when)
                VALUES (:spo, :activity, :kind, :quantity, :value, :what, :where, :whom, :by)
                """
            ),
            {
                "spo": spo_id,
                "activity": c.activity_id,
                "kind": c.kind,
                "quantity": c.quantity,
                "value": value_gbp(c.kind, c.quantity),
                "what": c.what.strip(),
                "where": c.where.strip(),
                "whom": c.for_whom.strip(),
                "by": c.by_when,
            },
        )


def _assess(
    conn: Connection, spo_id: int, tender: TenderRecord, need: NeedIndex, rubric: Rubric
) -> SpoScore:
    """The SPO's score under ``rubric`` against its tender (callers check who may see it)."""
    return score_spo(
        _scoring_inputs(conn, spo_id, tender, need),
        tender["contract_value_gbp"],
        contract_start=tender["contract_start"],
        rubric=rubric,
    )


def _scoring_inputs(
    conn: Connection, spo_id: int, tender: TenderRecord, need: NeedIndex
) -> pd.DataFrame:
    """Each commitment with its activity's scoring inputs, need (the one catchment model,
    :func:`matching.need.served_need`, with the activity's territory profile and drawn area)
    and distance from the nearest place the activity is delivered to the contract's nearest
    delivery location."""
    frame = pd.read_sql(
        text(
            """
            SELECT c.activity_id, c.value_gbp::float8 AS value_gbp,
                   a.territory_code = :territory AS in_territory,
                   a.funding_gap::float8 AS funding_gap,
                   a.annual_running_cost::float8 AS annual_running_cost, a.status,
                   a.closing_date, a.themes, a.people_reached_per_year, a.evidence_links,
                   a.grant_count, a.service_radius_m, a.lon, a.lat,
                   a.territory_code AS activity_territory,
                   ST_AsBinary(a.service_area) AS service_area_wkb,
                   (SELECT min(ST_Distance(p.geom::geography, l.geom::geography))
                    FROM activity_location p CROSS JOIN tender_location l
                    WHERE p.activity_id = a.id AND l.tender_id = :tender) AS distance_m
            FROM spo_commitment c JOIN activity_placed a ON a.id = c.activity_id
            WHERE c.spo_id = :spo AND c.kind <> 'jobs'
            """
        ),
        conn,
        params={"territory": tender["territory_code"], "tender": tender["id"], "spo": spo_id},
    )
    if frame.empty:
        raise InvalidInputError("the SPO has no commitments of value to score")
    areas = frame.pop("service_area_wkb")
    frame["service_area"] = shapely.from_wkb([None if a is None else bytes(a) for a in areas])
    radius = default_radius(frame["activity_territory"], default_radii(conn))
    served = served_need(frame, need, radius)
    frame["need_score"] = served["need_score"].to_numpy()
    frame["distance_m"] = pd.to_numeric(frame["distance_m"]).astype(float)
    return frame
