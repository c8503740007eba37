"""Reading SPOs: one in full, a list, their commitments with delivery so far, and what
would stop a draft being submitted.

Nothing here changes anything (the commands are in :mod:`procurement.spos`). Every read
of an SPO for a viewer goes through :func:`procurement.visibility.spo_filter`: an SPO the
viewer may not see is "not found", and never counted or listed.
"""

from __future__ import annotations

import re
from typing import cast

from sqlalchemy import Connection, text

from geo.errors import NotFoundError
from procurement.allowances import unallowed
from procurement.records import CommitmentRecord, SpoRecord, SpoSummary
from procurement.states import allowed_next
from procurement.visibility import Viewer, spo_filter

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


def get_spo(conn: Connection, viewer: Viewer, spo_id: int) -> SpoRecord:
    """An SPO with its commitments and delivery, if ``viewer`` may see it.

    Raises
    ------
    NotFoundError
        There is no such SPO, or ``viewer`` may not see it (its existence is not revealed).
    """
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
    return cast(
        SpoRecord,
        {
            **row,
            "next_states": allowed_next(row["status"]),
            "commitments": commitments_of(conn, [spo_id]),
        },
    )


def list_spos(
    conn: Connection,
    viewer: Viewer,
    *,
    tender_id: int | None = None,
    territory: str | None = None,
    supplier_id: int | None = None,
) -> list[SpoSummary]:
    """The SPOs ``viewer`` may see (of a tender, in a territory, or of one supplier
    organisation), newest first."""
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
              AND (CAST(:supplier AS int) IS NULL OR s.supplier_id = :supplier)
            ORDER BY s.id DESC
            """
        ),
        {"tender": tender_id, "territory": territory, "supplier": supplier_id, **params},
    ).mappings()
    return [cast(SpoSummary, dict(row)) for row in rows]


def commitments_of(conn: Connection, spo_ids: list[int]) -> list[CommitmentRecord]:
    """The SPOs' commitments with their activities' standing in the register (an allowance
    by the tender's buyer shown as "allowed by the buyer: <reason>" while the activity is
    not trusted) and what was claimed, confirmed by the provider and signed off (callers
    check the reader may see the SPOs)."""
    rows = conn.execute(
        text(
            """
            SELECT c.id, c.spo_id, c.activity_id, p.name AS activity, p.eligibility,
                   p.verification,
                   CASE WHEN e.id IS NOT NULL AND NOT p.trusted
                        THEN 'allowed by the buyer: ' || e.reason END AS allowance,
                   c.kind, c.quantity::float8 AS quantity, c.value_gbp::float8 AS value_gbp,
                   c.what, c.where_text AS where, c.for_whom, c.by_when,
                   d.money_claimed_gbp, d.money_confirmed_gbp, d.hours_confirmed,
                   d.people_confirmed, d.signed_off
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN activity_placed p ON p.id = c.activity_id
            LEFT JOIN eligibility_allowance e
                ON e.tender_id = s.tender_id AND e.activity_id = c.activity_id
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(d.money_paid_gbp), 0)::float8 AS money_claimed_gbp,
                       coalesce(sum(d.money_paid_gbp) FILTER (WHERE d.provider_status =
                           'confirmed'), 0)::float8 AS money_confirmed_gbp,
                       coalesce(sum(d.hours_given) FILTER (WHERE d.provider_status =
                           'confirmed'), 0)::float8 AS hours_confirmed,
                       coalesce(sum(d.people_reached) FILTER (WHERE d.provider_status =
                           'confirmed'), 0)::int AS people_confirmed,
                       count(d.id) FILTER (WHERE d.signed_off_by IS NOT NULL) AS signed_off
                FROM spo_delivery d WHERE d.commitment_id = c.id
            ) d
            WHERE c.spo_id = ANY(:ids) ORDER BY c.id
            """
        ),
        {"ids": spo_ids},
    ).mappings()
    return [cast(CommitmentRecord, dict(row)) for row in rows]


def submission_problems(conn: Connection, spo_id: int) -> list[str]:
    """Why this SPO could not be submitted now (empty when it can): commitments outside
    the tender's territory, closed activities, vague or late commitments, and activities
    neither eligible and current nor allowed by the tender's buyer
    (:func:`procurement.allowances.unallowed`)."""
    rows = (
        conn.execute(
            text(
                """
            SELECT c.id, c.activity_id, s.tender_id, a.name, a.status AS activity_status,
                   a.territory_code AS territory, tn.territory_code AS wanted, c.kind,
                   c.quantity::float8 AS quantity, c.what, c.where_text, c.for_whom, c.by_when,
                   tn.contract_start
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN tender tn ON tn.id = s.tender_id
            JOIN activity_placed a ON a.id = c.activity_id
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
    return problems + unallowed(conn, rows[0]["tender_id"], [row["activity_id"] for row in rows])
