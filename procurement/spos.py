"""The SPO lifecycle: draft, submit, score, award, deliver, vary, withdraw.

Every rule about who may do what, and when, is here (never in the API's routers); every
change is one transaction that locks the SPO row, checks the state machine
(:mod:`procurement.states`, also enforced by a database trigger), checks the capacity
ledger where value is promised (:mod:`procurement.ledger`), and appends to the audit trail
(:mod:`procurement.audit`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from accounts.users import User, require_role
from geo.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from matching.allocate import HOUR_VALUE_GBP
from matching.need import NeedIndex
from matching.recommend import served_need
from matching.spo_score import Rubric, score_spo
from procurement import audit, ledger
from procurement.states import (
    AWARDED,
    DELIVERING,
    DRAFT,
    LAPSED,
    LIVE,
    NOT_AWARDED,
    SCORED,
    SUBMITTED,
    TRANSITIONS,
    WITHDRAWN,
    allowed_next,
)
from procurement.visibility import Viewer, spo_filter

KINDS = ("money", "volunteer_hours", "in_kind", "jobs")
_VAGUE = re.compile(
    r"^(?:tbc|tbd|to be (?:confirmed|decided)|n/?a|none|various|misc\w*|etc\.?|see above|"
    r"-+|\?+|x+|\.+)$",
    re.IGNORECASE,
)
_ASKS = {
    "what": "what is given",
    "where": "where it is delivered",
    "for_whom": "who benefits",
}


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
    require_role(user, ["supplier"], "draft an SPO")
    tender = _tender(conn, tender_id)
    if datetime.now(UTC) > tender["bid_deadline"]:
        raise ConflictError(
            f"the bid deadline ({tender['bid_deadline']:%d %b %Y %H:%M}) has passed"
        )
    _check_shape(conn, commitments)
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
    _require_supplier(user, spo, "change this SPO")
    if spo["status"] != DRAFT:
        raise ConflictError(f"SPO {spo_id} is {spo['status']}: only a draft can be edited")
    _check_shape(conn, commitments)
    conn.execute(text("DELETE FROM spo_commitment WHERE spo_id = :id"), {"id": spo_id})
    _insert_commitments(conn, spo_id, commitments)
    audit.append(
        conn, spo_id, user.id, "commitments replaced", payload={"commitments": len(commitments)}
    )


def submission_problems(conn: Connection, spo_id: int) -> list[str]:
    """Why this SPO could not be submitted now (empty when it can): commitments outside
    the tender's territory, closed activities, vague or late commitments."""
    rows = (
        conn.execute(
            text(
                """
            SELECT c.id, c.activity_id, a.name, a.status AS activity_status, t.code AS
                   territory, tn.territory_code AS wanted, c.kind, c.quantity::float8 AS
                   quantity, c.what, c.where_text, c.for_whom, c.by_when, tn.contract_start
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN tender tn ON tn.id = s.tender_id
            JOIN activity a ON a.id = c.activity_id JOIN territory t ON t.id = a.territory_id
            WHERE c.spo_id = :id ORDER BY c.id
            """
            ),
            {"id": spo_id},
        )
        .mappings()
        .all()
    )
    if not rows:
        return ["the SPO has no commitments"]
    problems = []
    for n, row in enumerate(rows, start=1):
        label = f"commitment {n} (activity {row['activity_id']} {row['name']!r})"
        if row["territory"] != row["wanted"]:
            problems.append(
                f"{label}: the activity is in {row['territory']}, outside the tender's "
                f"territory {row['wanted']}"
            )
        if row["activity_status"] == "closed":
            problems.append(f"{label}: the activity has closed")
        for field, column in (("what", "what"), ("where", "where_text"), ("for_whom", "for_whom")):
            value = (row[column] or "").strip()
            if len(value) < 4 or _VAGUE.match(value):
                problems.append(f"{label}: {field} {value!r} is too vague: say {_ASKS[field]}")
        if row["by_when"] < row["contract_start"]:
            problems.append(
                f"{label}: by_when {row['by_when']} is before the contract starts "
                f"({row['contract_start']})"
            )
    return problems


def submit(conn: Connection, user: User, spo_id: int) -> None:
    """Submit with the bid: before the deadline, every commitment specific and inside the
    tender's territory, no activity promised more than its gap."""
    spo = locked(conn, spo_id, user)
    _require_supplier(user, spo, "submit this SPO")
    _check_move(spo, SUBMITTED, user)
    tender = _tender(conn, spo["tender_id"])
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
    spo = locked(conn, spo_id, user)
    _require_supplier(user, spo, "withdraw this SPO")
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
) -> dict[str, Any]:
    """The buyer scores a submitted SPO with the standard rubric; it may override the
    score, with a recorded reason. Rescoring a scored SPO is allowed (and audited)."""
    spo = locked(conn, spo_id, user)
    require_role(user, ["buyer_lead", "buyer_evaluator"], "score an SPO")
    tender = _tender(conn, spo["tender_id"])
    _require_buyer(user, tender, "score this SPO")
    if spo["status"] not in (SUBMITTED, SCORED):
        raise ConflictError(f"SPO {spo_id} is {spo['status']}: only a submitted SPO is scored")
    if override is not None and not 0 <= override <= 100:
        raise InvalidInputError(f"an override must be between 0 and 100 (got {override})")
    if override is not None and len((reason or "").strip()) < 10:
        raise InvalidInputError("an override needs a reason (at least a sentence) for the record")
    result = score_spo(
        _scoring_inputs(conn, spo_id, tender, need),
        tender["contract_value_gbp"],
        contract_start=tender["contract_start"],
        rubric=rubric,
    )
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
    details = {
        "score": result.score,
        "components": result.components,
        "rubric": result.rubric,
        "override": override,
    }
    if spo["status"] == SUBMITTED:
        change_state(conn, spo, SCORED, user, "scored", reason=reason, payload=details)
    else:
        audit.append(conn, spo_id, user.id, "rescored", reason=reason, payload=details)
    return {**details, "reasons": result.reasons}


def award(conn: Connection, user: User, spo_id: int) -> None:
    """Award the tender to this SPO: it becomes public and its commitments are locked; the
    other bids are not awarded (and never published). One winner per tender, even when two
    awards race: the tender row is locked and a unique index has the last word."""
    require_role(user, ["buyer_lead"], "award an SPO")
    spo = _spo(conn, spo_id, user)
    tender = _tender(conn, spo["tender_id"])
    _require_buyer(user, tender, "award this SPO")
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
    _check_move(spo, AWARDED, user)
    ledger.check(conn, spo_id)
    try:
        with conn.begin_nested():
            conn.execute(text("UPDATE spo SET awarded_at = now() WHERE id = :id"), {"id": spo_id})
            change_state(conn, spo, AWARDED, user, "awarded")
    except IntegrityError:
        raise ConflictError(f"tender {tender['id']} was awarded by someone else first") from None
    others = (
        conn.execute(
            text(
                "SELECT id, status FROM spo WHERE tender_id = :t AND id <> :id"
                " AND status = ANY(:live) ORDER BY id FOR UPDATE"
            ),
            {"t": tender["id"], "id": spo_id, "live": list(LIVE)},
        )
        .mappings()
        .all()
    )
    for other in others:
        to = LAPSED if other["status"] == DRAFT else NOT_AWARDED
        change_state(
            conn,
            dict(other),
            to,
            user,
            "not awarded",
            check_role=False,
            reason=f"tender awarded to another SPO ({spo_id})",
        )


def complete(conn: Connection, user: User, spo_id: int) -> None:
    spo = locked(conn, spo_id, user)
    _require_buyer(user, _tender(conn, spo["tender_id"]), "complete this SPO")
    change_state(conn, spo, "completed", user, "completed")


def vary(
    conn: Connection, user: User, commitment_id: int, changes: dict[str, Any], reason: str
) -> int:
    """Change an awarded commitment: recorded as a variation (never an edit), agreed by
    the buyer lead, with a reason, re-checked against the capacity ledger."""
    require_role(user, ["buyer_lead"], "record a variation")
    row = (
        conn.execute(
            text(
                "SELECT spo_id, kind, quantity::float8 AS quantity, what, where_text, for_whom,"
                " by_when FROM spo_commitment WHERE id = :id"
            ),
            {"id": commitment_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no commitment with id {commitment_id}")
    spo = locked(conn, row["spo_id"], user)
    _require_buyer(user, _tender(conn, spo["tender_id"]), "vary this SPO")
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
    before = {k: row[k] for k in changes}
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


def get_spo(conn: Connection, viewer: Viewer, spo_id: int) -> dict[str, Any]:
    """An SPO with its commitments and delivery, if ``viewer`` may see it; otherwise "not
    found" (its existence is not revealed)."""
    condition, params = spo_filter(viewer)
    row = (
        conn.execute(
            text(
                f"""
            SELECT s.id, s.tender_id, t.title AS tender, t.territory_code, s.supplier_id,
                   o.name AS supplier, s.status, s.summary, s.score::float8 AS score,
                   s.score_components, s.score_rubric, s.score_override::float8 AS
                   score_override, s.override_reason, s.created_at, s.submitted_at, s.awarded_at
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id
            WHERE s.id = :id AND {condition}
            """
            ),
            {"id": spo_id, **params},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no SPO with id {spo_id} that you may see")
    spo = dict(row)
    spo["next_states"] = allowed_next(spo["status"])
    spo["commitments"] = commitments_of(conn, [spo_id])
    return spo


def list_spos(
    conn: Connection,
    viewer: Viewer,
    *,
    tender_id: int | None = None,
    territory: str | None = None,
) -> list[dict[str, Any]]:
    """The SPOs ``viewer`` may see (by tender or territory), newest first."""
    condition, params = spo_filter(viewer)
    rows = conn.execute(
        text(
            f"""
            SELECT s.id, s.tender_id, t.title AS tender, t.territory_code, o.name AS supplier,
                   s.status, s.score::float8 AS score, s.created_at
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN organisation o ON o.id = s.supplier_id
            WHERE {condition}
              AND (CAST(:tender AS int) IS NULL OR s.tender_id = :tender)
              AND (CAST(:territory AS text) IS NULL OR t.territory_code = :territory)
            ORDER BY s.id DESC
            """
        ),
        {"tender": tender_id, "territory": territory, **params},
    ).mappings()
    return [dict(row) for row in rows]


def commitments_of(conn: Connection, spo_ids: list[int]) -> list[dict[str, Any]]:
    """Commitments with what was claimed, confirmed by the provider and signed off."""
    rows = conn.execute(
        text(
            """
            SELECT c.id, c.spo_id, c.activity_id, a.name AS activity, c.kind,
                   c.quantity::float8 AS quantity, c.value_gbp::float8 AS value_gbp, c.what,
                   c.where_text AS where, c.for_whom, c.by_when,
                   coalesce(sum(d.money_paid_gbp), 0)::float8 AS money_claimed_gbp,
                   coalesce(sum(d.money_paid_gbp) FILTER (WHERE d.provider_status =
                       'confirmed'), 0)::float8 AS money_confirmed_gbp,
                   coalesce(sum(d.hours_given) FILTER (WHERE d.provider_status =
                       'confirmed'), 0)::float8 AS hours_confirmed,
                   coalesce(sum(d.people_reached) FILTER (WHERE d.provider_status =
                       'confirmed'), 0)::int AS people_confirmed,
                   count(d.id) FILTER (WHERE d.signed_off_by IS NOT NULL) AS signed_off
            FROM spo_commitment c JOIN activity a ON a.id = c.activity_id
            LEFT JOIN spo_delivery d ON d.commitment_id = c.id
            WHERE c.spo_id = ANY(:ids) GROUP BY c.id, a.id ORDER BY c.id
            """
        ),
        {"ids": spo_ids},
    ).mappings()
    return [dict(row) for row in rows]


# --- helpers -------------------------------------------------------------------------


def _tender(conn: Connection, tender_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            text(
                "SELECT id, buyer_id, territory_code, contract_value_gbp::float8 AS"
                " contract_value_gbp, bid_deadline, contract_start FROM tender WHERE id = :id"
            ),
            {"id": tender_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no tender with id {tender_id}")
    return dict(row)


def _spo(conn: Connection, spo_id: int, user: User, *, lock: bool = False) -> dict[str, Any]:
    """The SPO, if the user may see it (else "not found", revealing nothing)."""
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
        raise NotFoundError(f"no SPO with id {spo_id} that you may see")
    return dict(row)


def locked(conn: Connection, spo_id: int, user: User) -> dict[str, Any]:
    """The SPO row, locked for this transaction, if the user may see it."""
    return _spo(conn, spo_id, user, lock=True)


def _require_supplier(user: User, spo: dict[str, Any], action: str) -> None:
    if user.organisation_id != spo["supplier_id"]:
        raise PermissionDeniedError(f"only the SPO's own supplier can {action}")


def _require_buyer(user: User, tender: dict[str, Any], action: str) -> None:
    if user.organisation_id != tender["buyer_id"]:
        raise PermissionDeniedError(f"only the tender's buyer can {action}")


def _check_move(spo: dict[str, Any], to: str, user: User, *, check_role: bool = True) -> None:
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
    spo: dict[str, Any],
    to: str,
    user: User,
    action: str,
    *,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    check_role: bool = True,
) -> None:
    _check_move(spo, to, user, check_role=check_role)
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


def _check_shape(conn: Connection, commitments: list[CommitmentSpec]) -> None:
    problems = []
    for n, c in enumerate(commitments, start=1):
        if c.kind not in KINDS:
            problems.append(f"commitment {n}: kind {c.kind!r} must be one of {', '.join(KINDS)}")
        if not c.quantity > 0:
            problems.append(f"commitment {n}: quantity must be more than zero")
        if c.kind == "jobs" and c.quantity != int(c.quantity):
            problems.append(f"commitment {n}: jobs are counted in whole numbers")
    ids = sorted({c.activity_id for c in commitments})
    known = set(
        conn.execute(text("SELECT id FROM activity WHERE id = ANY(:ids)"), {"ids": ids}).scalars()
    )
    problems += [f"no activity with id {i}" for i in ids if i not in known]
    if problems:
        raise InvalidInputError("; ".join(problems))


def _insert_commitments(conn: Connection, spo_id: int, commitments: list[CommitmentSpec]) -> None:
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


def _scoring_inputs(
    conn: Connection, spo_id: int, tender: dict[str, Any], need: NeedIndex
) -> pd.DataFrame:
    """Each commitment with its activity's scoring inputs, need and distance to the
    contract's nearest delivery location."""
    frame = pd.read_sql(
        text(
            """
            SELECT c.activity_id, c.value_gbp::float8 AS value_gbp,
                   t.code = :territory AS in_territory, a.funding_gap::float8 AS funding_gap,
                   a.annual_running_cost::float8 AS annual_running_cost, a.status,
                   a.closing_date, a.themes, a.people_reached_per_year, a.evidence_links,
                   a.grant_count, a.service_radius_m, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,
                   (SELECT min(ST_Distance(a.geom::geography, l.geom::geography))
                    FROM tender_location l WHERE l.tender_id = :tender) AS distance_m
            FROM spo_commitment c JOIN activity a ON a.id = c.activity_id
            JOIN territory t ON t.id = a.territory_id
            WHERE c.spo_id = :spo AND c.kind <> 'jobs'
            """
        ),
        conn,
        params={"territory": tender["territory_code"], "tender": tender["id"], "spo": spo_id},
    )
    if frame.empty:
        raise InvalidInputError("the SPO has no commitments of value to score")
    frame["service_area"] = None
    served = served_need(frame, need, 3_000.0)
    frame["need_score"] = served["need_score"].to_numpy()
    frame["distance_m"] = pd.to_numeric(frame["distance_m"]).astype(float)
    return frame
