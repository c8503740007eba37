"""How far an activity's record can be trusted, moved on by the people who may say so.

The verification ladder (issue 12):

* ``listed``: the record came from open data; nobody has vouched for it.
* ``claimed``: a provider organisation took the record over. At once when its charity or
  company number matches the record's provider's (or the record already names it);
  otherwise the claim waits (an ``activity_event`` row, action ``claim_requested``) until
  an operator's admin approves it (:func:`approve_claim`).
* ``verified``: a community-team user for the activity's territory (or an admin)
  confirmed it, with an evidence level on the Nesta Standards of Evidence (1-5) and links
  to the evidence.
* ``lapsed``: marked so with a reason (:func:`mark_lapsed`), or a claimed or verified
  record not heard of for the lapse period (the ``activity_placed`` view reads it so;
  ``Settings.lapse_years``, default 3).

Whether an activity is a dual-impact activity at all (its *eligibility*) is the rules'
(:mod:`registry.eligibility`) until a person decides it (:func:`decide_eligibility`): a
decision is never replaced by the rules.

Every change is checked against :data:`accounts.permissions.PERMISSIONS` and written with
an ``activity_event`` row (who, what changed from what to what, why) in the caller's
transaction. The transitions read the *effective* state (``activity_placed``), so a
claimed record gone quiet counts as lapsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypedDict, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from accounts import permissions, stewardship
from accounts.permissions import Action
from accounts.users import User
from geo.errors import ConflictError, InvalidInputError, NotFoundError
from geo.jsonable import jsonable
from registry.categories import LABELS, SLUGS
from registry.fields import Field, Problems, parse_fields
from registry.history import record_event
from registry.tables import ELIGIBILITY, EVIDENCE_LEVELS

# The Nesta Standards of Evidence (Puttick and Ludlow, Nesta 2013), level by level.
NESTA_LEVELS: Mapping[int, str] = {
    1: "a clear account of what it does and why that matters",
    2: "data showing positive change, though not that the activity caused it",
    3: "causality shown against a control or comparison group",
    4: "one or more independent evaluations replicating that result",
    5: "manuals, systems and procedures for consistent replication and impact",
}
MIN_REASON = 10  # characters: a reason is a sentence at least


class PendingClaim(TypedDict):
    """A claim waiting for an admin: the organisation that asked, who asked for it, when,
    and their note."""

    activity_id: int
    organisation_id: int
    organisation: str
    requested_by: str
    requested_at: datetime
    note: str | None


class TrustState(TypedDict):
    """Where an activity stands: its provider, its place on the ladder (``verification``
    as every reader sees it, ``recorded_verification`` as stored), its evidence, when it
    was last heard of, its eligibility and whether it is trusted (eligible, not lapsed)."""

    activity_id: int
    name: str
    territory_code: str
    provider_id: int | None
    provider_name: str | None
    verification: str
    recorded_verification: str
    evidence_level: int | None
    evidence_links: list[str]
    claimed_at: datetime | None
    verified_at: datetime | None
    confirmed_at: datetime | None
    fresh_on: date | None
    fresh: bool
    trusted: bool
    eligibility: str
    eligibility_categories: list[str]
    eligibility_reason: str | None
    eligibility_source: str
    eligibility_decided_at: datetime | None
    pending_claims: list[PendingClaim]


class ClaimOutcome(NamedTuple):
    """What a claim did: ``pending`` when it waits for an admin; ``proof`` says what
    proved it when it did not."""

    pending: bool
    proof: str | None
    state: TrustState


_STATE = """
    SELECT p.id AS activity_id, p.name, p.territory_code, p.provider_id, p.provider_name,
           p.verification, a.verification AS recorded_verification, p.evidence_level,
           p.evidence_links, p.claimed_at, p.verified_at, a.confirmed_at, p.fresh_on,
           p.fresh, p.trusted, p.eligibility, p.eligibility_categories,
           p.eligibility_reason, p.eligibility_source, p.eligibility_decided_at
    FROM activity_placed p JOIN activity a ON a.id = p.id
    WHERE p.id = :id
"""

# Claims asked for since the record last changed hands: one activity's (``:id``) or all.
_PENDING = """
    SELECT DISTINCT ON (e.activity_id, o.id) e.activity_id, o.id AS organisation_id,
           o.name AS organisation, u.name AS requested_by, e.at AS requested_at,
           e.reason AS note
    FROM activity_event e
    JOIN organisation o ON o.id = (e.changes -> 'provider_id' ->> 1)::int
    JOIN app_user u ON u.id = e.actor_id
    WHERE e.action = 'claim_requested'
      AND (CAST(:id AS int) IS NULL OR e.activity_id = :id)
      AND e.id > coalesce((SELECT max(t.id) FROM activity_event t
                           WHERE t.activity_id = e.activity_id
                             AND t.action IN ('claimed', 'claim_approved')), 0)
    ORDER BY e.activity_id, o.id, e.id
"""


def state(conn: Connection, activity_id: int) -> TrustState:
    """Where the activity stands on the ladder and in eligibility, with pending claims.

    Raises
    ------
    NotFoundError
        There is no such activity.
    """
    row = conn.execute(text(_STATE), {"id": activity_id}).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    pending = conn.execute(text(_PENDING), {"id": activity_id}).mappings()
    found = {
        **row,
        "evidence_links": list(row["evidence_links"]),
        "eligibility_categories": list(row["eligibility_categories"]),
        "pending_claims": [dict(claim) for claim in pending],
    }
    return cast(TrustState, found)


class WaitingClaim(PendingClaim):
    """A claim waiting for an admin, with the activity's name, territory and provider."""

    activity: str
    territory_code: str
    provider_name: str | None


def waiting_claims(conn: Connection, user: User) -> list[WaitingClaim]:
    """Every claim that waits for an admin's approval, oldest first (admins only).

    Raises
    ------
    PermissionDeniedError
        ``user`` is not an admin.
    """
    permissions.require(user, Action.APPROVE_CLAIM)
    rows = conn.execute(
        text(
            f"""
            SELECT w.activity_id, p.name AS activity, p.territory_code, p.provider_name,
                   w.organisation_id, w.organisation, w.requested_by, w.requested_at, w.note
            FROM ({_PENDING}) w JOIN activity_placed p ON p.id = w.activity_id
            ORDER BY w.requested_at, w.activity_id
            """
        ),
        {"id": None},
    ).mappings()
    return [cast(WaitingClaim, dict(row)) for row in rows]


def claim(
    conn: Connection, user: User, activity_id: int, *, evidence_note: str | None = None
) -> ClaimOutcome:
    """A provider takes a listed (or lapsed) activity's record over for its organisation.

    The claim is proved at once when the organisation's charity or company number matches
    the record's provider's, or the record already names the organisation as its
    provider: the record is then ``claimed`` (its provider becomes the user's
    organisation; claimed and confirmed now). Otherwise it waits for an admin
    (:func:`approve_claim`), recorded as a ``claim_requested`` event.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change.
    user
        A provider (their organisation claims the record).
    activity_id
        The activity.
    evidence_note
        What shows the record is theirs (kept with the claim for the admin).

    Returns
    -------
    ClaimOutcome
        Whether the claim waits for an admin, what proved it otherwise, the new state.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not a provider.
    ConflictError
        The record is already claimed or verified (by this organisation or another), or
        this organisation's claim already waits for an admin.
    """
    stewardship.require(conn, user, Action.CLAIM_ACTIVITY, activity_id)
    current = _locked(conn, activity_id)
    _claimable(current, user.organisation_id)
    note = evidence_note.strip() if evidence_note and evidence_note.strip() else None
    proof = _proof(conn, current, user.organisation_id)
    if proof is not None:
        reason = proof if note is None else f"{proof}; {note}"
        _take_over(conn, user, current, user.organisation_id, "claimed", reason)
        return ClaimOutcome(False, proof, state(conn, activity_id))
    if any(c["organisation_id"] == user.organisation_id for c in current["pending_claims"]):
        raise ConflictError(
            f"{user.organisation_name}'s claim to activity {activity_id} already waits for "
            "an admin's approval"
        )
    requested: dict[str, list[Any]] = {
        "provider_id": [current["provider_id"], user.organisation_id],
        "provider_name": [current["provider_name"], user.organisation_name],
    }
    record_event(conn, activity_id, user.id, "claim_requested", requested, note)
    return ClaimOutcome(True, None, state(conn, activity_id))


def approve_claim(conn: Connection, user: User, activity_id: int, provider_id: int) -> TrustState:
    """An admin approves the pending claim of organisation ``provider_id`` (one no
    identifier proved): the record becomes ``claimed`` by that organisation.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not an admin.
    NotFoundError
        No claim by that organisation waits on the activity.
    ConflictError
        The record has been claimed or verified since.
    """
    stewardship.require(conn, user, Action.APPROVE_CLAIM, activity_id)
    current = _locked(conn, activity_id)
    waiting = [c for c in current["pending_claims"] if c["organisation_id"] == provider_id]
    if not waiting:
        asked = ", ".join(
            f"{c['organisation']} (organisation {c['organisation_id']})"
            for c in current["pending_claims"]
        )
        raise NotFoundError(
            f"no claim by organisation {provider_id} waits on activity {activity_id}"
            + (f"; waiting: {asked}" if asked else "")
        )
    _claimable(current, provider_id)
    (pending,) = waiting
    reason = (
        f"claim by {pending['organisation']} of {pending['requested_at']:%Y-%m-%d} approved"
        + (f": {pending['note']}" if pending["note"] else "")
    )
    _take_over(conn, user, current, provider_id, "claim_approved", reason)
    return state(conn, activity_id)


def verify(
    conn: Connection,
    user: User,
    activity_id: int,
    evidence_level: int,
    links: Sequence[str],
    note: str | None = None,
) -> TrustState:
    """A community-team user of the activity's territory (or an admin) confirms a claimed,
    verified or lapsed record: it becomes ``verified`` (by them, now) at an evidence level
    of the Nesta Standards of Evidence, with ``links`` added to its evidence.

    Parameters
    ----------
    conn
        The connection whose transaction makes the change.
    user
        Who confirms it.
    activity_id
        The activity.
    evidence_level
        Its level on the Nesta Standards of Evidence, 1 (a clear account of what it does
        and why) to 5 (manuals and systems for consistent replication): :data:`NESTA_LEVELS`.
    links
        Web addresses (``https://...``) of the evidence; the record must hold at least
        one afterwards.
    note
        What was checked, for the record.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not in the territory's community team (nor an admin).
    InvalidInputError
        An evidence level outside 1-5, a link that is not a web address, or no evidence.
    ConflictError
        The record is only listed (its provider must claim it first) or ineligible.
    """
    stewardship.require(conn, user, Action.VERIFY_ACTIVITY, activity_id)
    if evidence_level not in EVIDENCE_LEVELS:
        scale = "; ".join(f"{level}: {what}" for level, what in NESTA_LEVELS.items())
        raise InvalidInputError(
            f"evidence level must be a whole number from 1 to 5 on the Nesta Standards of "
            f"Evidence ({scale}); got {evidence_level}"
        )
    checked = web_addresses(links)
    current = _locked(conn, activity_id)
    if current["verification"] == "listed":
        raise ConflictError(
            f"activity {activity_id} is listed: its provider must claim it before it can be "
            "verified"
        )
    if current["eligibility"] == "ineligible":
        raise ConflictError(
            f"activity {activity_id} is ineligible ({current['eligibility_reason']}): decide "
            "its eligibility again before verifying it"
        )
    evidence = list(dict.fromkeys([*current["evidence_links"], *checked]))
    if not evidence:
        raise InvalidInputError(
            f"verifying activity {activity_id} needs at least one link to its evidence "
            "(https://...)"
        )
    row = conn.execute(
        text(
            """
            UPDATE activity SET verification = 'verified', evidence_level = :level,
                   evidence_links = :links, verified_by = :user, verified_at = now(),
                   confirmed_at = now(), updated_at = now()
            WHERE id = :id RETURNING verified_at
            """
        ),
        {"level": evidence_level, "links": evidence, "user": user.id, "id": activity_id},
    ).one()
    changes = _changed(
        current,
        verification="verified",
        evidence_level=evidence_level,
        evidence_links=evidence,
        verified_at=row.verified_at,
    )
    record_event(conn, activity_id, user.id, "verified", changes, note)
    return state(conn, activity_id)


def mark_lapsed(conn: Connection, user: User, activity_id: int, reason: str) -> TrustState:
    """A community-team user of the activity's territory (or an admin) records that the
    activity is no longer known to run: ``lapsed`` until it is claimed or verified again.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not in the territory's community team (nor an admin).
    InvalidInputError
        No reason (a sentence at least).
    ConflictError
        The record is already marked lapsed.
    """
    stewardship.require(conn, user, Action.MARK_LAPSED, activity_id)
    why = _reason(reason, f"marking activity {activity_id} lapsed")
    current = _locked(conn, activity_id)
    if current["recorded_verification"] == "lapsed":
        raise ConflictError(f"activity {activity_id} is already marked lapsed")
    conn.execute(
        text("UPDATE activity SET verification = 'lapsed', updated_at = now() WHERE id = :id"),
        {"id": activity_id},
    )
    # Recorded from what was stored: a record already read as lapsed is now marked so.
    changes = {"verification": [current["recorded_verification"], "lapsed"]}
    record_event(conn, activity_id, user.id, "lapsed", changes, why)
    return state(conn, activity_id)


def decide_eligibility(
    conn: Connection,
    user: User,
    activity_id: int,
    eligibility: str,
    categories: Sequence[str],
    reason: str,
) -> TrustState:
    """A community-team user of the activity's territory (or an admin) decides whether it
    is a dual-impact activity. The decision (who, when, why) replaces the rules' and is
    never replaced by them (:func:`registry.eligibility.reassess` leaves it alone).

    Parameters
    ----------
    conn
        The connection whose transaction makes the change.
    user
        Who decides.
    activity_id
        The activity.
    eligibility
        ``eligible``, ``ineligible`` or ``needs_review``.
    categories
        Its dual-impact categories (:data:`registry.categories.SLUGS`): at least one when
        eligible, none otherwise.
    reason
        Why (a sentence at least): shown as the eligibility's explanation.

    Raises
    ------
    PermissionDeniedError
        ``user`` is not in the territory's community team (nor an admin).
    InvalidInputError
        An unknown eligibility or category, categories that do not fit it, or no reason.
    """
    stewardship.require(conn, user, Action.DECIDE_ELIGIBILITY, activity_id)
    if eligibility not in ELIGIBILITY:
        raise InvalidInputError(
            f"eligibility {eligibility!r} must be one of {', '.join(ELIGIBILITY)}"
        )
    unknown = sorted(set(categories) - set(SLUGS))
    if unknown:
        known = "; ".join(f"{slug} ({label})" for slug, label in LABELS.items())
        raise InvalidInputError(f"unknown categories {', '.join(unknown)}; use: {known}")
    chosen = [slug for slug in SLUGS if slug in categories]
    if eligibility == "eligible" and not chosen:
        raise InvalidInputError(
            "an eligible activity needs at least one dual-impact category: " + ", ".join(SLUGS)
        )
    if eligibility != "eligible" and chosen:
        raise InvalidInputError(
            f"only an eligible activity has dual-impact categories (got {', '.join(chosen)} "
            f"for {eligibility})"
        )
    why = _reason(reason, f"deciding activity {activity_id}'s eligibility")
    current = _locked(conn, activity_id)
    row = conn.execute(
        text(
            """
            UPDATE activity SET eligibility = :eligibility, eligibility_categories = :chosen,
                   eligibility_reason = :why, eligibility_source = 'decision',
                   eligibility_decided_by = :user, eligibility_decided_at = now(),
                   updated_at = now()
            WHERE id = :id RETURNING eligibility_decided_at
            """
        ),
        {
            "eligibility": eligibility,
            "chosen": chosen,
            "why": why,
            "user": user.id,
            "id": activity_id,
        },
    ).one()
    changes = _changed(
        current,
        eligibility=eligibility,
        eligibility_categories=chosen,
        eligibility_reason=why,
        eligibility_source="decision",
        eligibility_decided_at=row.eligibility_decided_at,
    )
    record_event(conn, activity_id, user.id, "eligibility_decided", changes, why)
    return state(conn, activity_id)


def web_addresses(links: Sequence[str]) -> list[str]:
    """Links checked as every import checks evidence links (:mod:`registry.fields`, kind
    ``urls``: ``http(s)://`` addresses only; a bare ``www.x.org`` reads as
    ``https://www.x.org``).

    Raises
    ------
    InvalidInputError
        A link is not a web address (or holds a control character).
    """
    if not links:
        return []
    problems = Problems()
    parsed = parse_fields(
        pd.DataFrame({"link": list(links)}),
        np.arange(1, len(links) + 1, dtype=np.int64),
        [Field("evidence link", kind="urls")],
        {"evidence link": "link"},
        problems,
    )
    if problems.rows:
        raise InvalidInputError("; ".join(reason for *_, reason, _ in problems.rows))
    return [link for found in parsed["evidence link"] for link in found or []]


def _locked(conn: Connection, activity_id: int) -> TrustState:
    """The activity's state, its row locked until the transaction ends."""
    found = conn.execute(
        text("SELECT 1 FROM activity WHERE id = :id FOR UPDATE"), {"id": activity_id}
    ).first()
    if found is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    return state(conn, activity_id)


def _claimable(current: TrustState, organisation_id: int) -> None:
    """Refuse a claim on a record someone keeps current (claimed or verified, not lapsed)."""
    if current["verification"] not in ("claimed", "verified"):
        return
    whose = (
        "your organisation"
        if current["provider_id"] == organisation_id
        else current["provider_name"] or "another organisation"
    )
    raise ConflictError(
        f"activity {current['activity_id']} is already {current['verification']} by {whose}: "
        "only a listed or lapsed record can be claimed"
    )


def _proof(conn: Connection, current: TrustState, organisation_id: int) -> str | None:
    """What proves that the record is the organisation's, or ``None``: the record names it
    already, or its charity or company number (normalised: :mod:`registry.names`) is the
    record's provider's."""
    if current["provider_id"] == organisation_id:
        return f"the record already names {current['provider_name']} as its provider"
    if current["provider_id"] is None:
        return None
    row = conn.execute(
        text(
            """
            SELECT CASE WHEN c.charity_number = p.charity_number
                        THEN 'charity number ' || c.charity_number
                        WHEN c.company_number = p.company_number
                        THEN 'company number ' || c.company_number END AS proof
            FROM organisation c, organisation p WHERE c.id = :claimant AND p.id = :provider
            """
        ),
        {"claimant": organisation_id, "provider": current["provider_id"]},
    ).one()
    return None if row.proof is None else f"{row.proof} matches the record's provider's"


def _take_over(
    conn: Connection,
    user: User,
    current: TrustState,
    organisation_id: int,
    action: str,
    reason: str,
) -> None:
    """Make ``organisation_id`` the record's provider, claimed and confirmed now."""
    activity_id = current["activity_id"]
    row = conn.execute(
        text(
            """
            WITH claimed AS (
                UPDATE activity SET provider_id = :organisation, verification = 'claimed',
                       claimed_at = now(), confirmed_at = now(), updated_at = now()
                WHERE id = :id RETURNING provider_id, claimed_at
            )
            SELECT c.claimed_at, o.name FROM claimed c JOIN organisation o
                ON o.id = c.provider_id
            """
        ),
        {"organisation": organisation_id, "id": activity_id},
    ).one()
    changes = _changed(
        current,
        provider_id=organisation_id,
        provider_name=row.name,
        verification="claimed",
        claimed_at=row.claimed_at,
    )
    record_event(conn, activity_id, user.id, action, changes, reason)


def _changed(current: TrustState, **after: object) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` as JSON values, for the fields whose value changes."""
    before = jsonable({name: current[name] for name in after})  # type: ignore[literal-required]
    now = jsonable(after)
    return {name: [before[name], now[name]] for name in after if before[name] != now[name]}


def _reason(reason: str | None, doing: str) -> str:
    """``reason`` stripped; refused unless it is a sentence at least."""
    why = (reason or "").strip()
    if len(why) < MIN_REASON:
        raise InvalidInputError(f"{doing} needs a reason (a sentence at least) for the record")
    return why
