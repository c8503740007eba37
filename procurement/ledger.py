"""The capacity ledger: an activity's funding gap can be promised only once.

Awarded SPOs (awarded, delivering, completed) are firm promises. Across all suppliers,
tenders and buyers, firm promises plus the SPO being submitted or awarded may never exceed
an activity's funding gap. The check runs at submission and again at award, in the same
transaction as the state change, with the activities' rows locked (in id order, so two
checks never deadlock), so two awards racing for the last of a gap cannot both succeed.
Bids still in competition are shown to buyers as *contested*, not counted as firm.

Money, in-kind (its declared value) and volunteer hours (valued at the allocation's hourly
value) count against the gap; jobs do not.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import ConflictError, InvalidInputError
from procurement.states import PUBLIC

_FIRM = ", ".join(f"'{s}'" for s in PUBLIC)


def exposure(
    conn: Connection, activity_ids: list[int], *, excluding_spo: int | None = None
) -> pd.DataFrame:
    """Per activity: its gap and the value firmly promised by awarded SPOs (pounds),
    excluding ``excluding_spo``."""
    return pd.read_sql(
        text(
            f"""
            SELECT a.id AS activity_id, a.name, a.funding_gap::float8 AS funding_gap,
                   coalesce(sum(c.value_gbp) FILTER (WHERE s.status IN ({_FIRM})), 0)::float8
                       AS firm_gbp
            FROM activity a
            LEFT JOIN spo_commitment c ON c.activity_id = a.id
            LEFT JOIN spo s ON s.id = c.spo_id AND s.id IS DISTINCT FROM CAST(:spo AS int)
            WHERE a.id = ANY(:ids)
            GROUP BY a.id ORDER BY a.id
            """
        ),
        conn,
        params={"ids": list(activity_ids), "spo": excluding_spo},
    )


def lock_activities(conn: Connection, activity_ids: list[int]) -> None:
    """Lock the activities' rows until the transaction ends, in id order (so two checks
    never deadlock): every change to what the ledger reads waits for the others."""
    conn.execute(
        text("SELECT id FROM activity WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": list(activity_ids)},
    )


def check_gap(conn: Connection, activity_id: int, gap: float | None) -> None:
    """Refuse (ConflictError) a new funding gap below what awarded SPOs already promise the
    activity, so the ledger never shows a negative remainder.

    Parameters
    ----------
    conn
        The connection whose transaction holds the activity's lock (:func:`lock_activities`).
    activity_id
        The activity.
    gap
        The new funding gap, in pounds a year (``None``: unknown, refused when anything is
        promised).
    """
    (row,) = exposure(conn, [activity_id]).itertuples()
    if row.firm_gbp > 0 and (gap is None or gap + 0.005 < row.firm_gbp):
        asked = "unknown" if gap is None else f"£{gap:,.0f}"
        raise ConflictError(
            f"activity {activity_id} {row.name!r}: awarded SPOs already promise it "
            f"£{row.firm_gbp:,.0f}, so its funding gap cannot become {asked}; give at least "
            f"£{row.firm_gbp:,.0f}, or reduce those commitments by variation first"
        )


def check(conn: Connection, spo_id: int) -> None:
    """Refuse (ConflictError) if this SPO would promise more than any activity needs."""
    wanted = pd.read_sql(
        text(
            "SELECT activity_id, sum(value_gbp)::float8 AS value_gbp FROM spo_commitment"
            " WHERE spo_id = :id AND kind <> 'jobs' GROUP BY activity_id ORDER BY activity_id"
        ),
        conn,
        params={"id": spo_id},
    )
    if wanted.empty:
        return
    ids = wanted["activity_id"].astype(int).tolist()
    lock_activities(conn, ids)
    ledger = exposure(conn, ids, excluding_spo=spo_id).merge(wanted, on="activity_id")
    unknown = ledger[ledger["funding_gap"].isna() & (ledger["value_gbp"] > 0)]
    if not unknown.empty:
        names = ", ".join(f"{r.activity_id} {r.name!r}" for r in unknown.itertuples())
        raise InvalidInputError(
            f"no recorded funding gap for activity {names}: its provider must record one "
            "before value can be promised to it"
        )
    over = ledger[ledger["firm_gbp"] + ledger["value_gbp"] > ledger["funding_gap"] + 0.005]
    if not over.empty:
        raise ConflictError(
            "; ".join(
                f"activity {r.activity_id} {r.name!r} needs £{r.funding_gap:,.0f}, "
                f"£{r.firm_gbp:,.0f} is already promised by awarded SPOs, so at most "
                f"£{max(r.funding_gap - r.firm_gbp, 0):,.0f} more can be promised "
                f"(this SPO promises £{r.value_gbp:,.0f})"
                for r in over.itertuples()
            )
        )


def leaning(conn: Connection, spo_id: int) -> pd.DataFrame:
    """Per activity of an SPO: its gap, what awarded SPOs already promise it (public), what
    this SPO promises, and what would remain; ``leans_on_committed`` flags activities that
    other awarded SPOs already back. Other bids before award are never counted here, so
    the view reveals nothing confidential (callers check the reader may see the SPO)."""
    own = pd.read_sql(
        text(
            "SELECT activity_id, sum(value_gbp)::float8 AS this_spo_gbp FROM spo_commitment"
            " WHERE spo_id = :id GROUP BY activity_id"
        ),
        conn,
        params={"id": spo_id},
    )
    frame = exposure(conn, own["activity_id"].astype(int).tolist(), excluding_spo=spo_id)
    frame = frame.merge(own, on="activity_id")
    frame["remaining_gbp"] = frame["funding_gap"] - frame["firm_gbp"] - frame["this_spo_gbp"]
    frame["leans_on_committed"] = frame["firm_gbp"] > 0
    return frame
