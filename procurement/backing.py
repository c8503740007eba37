"""How many SPOs back each activity — counted only among the SPOs the viewer may see, so a
count never reveals a bid before award."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from procurement.visibility import Viewer, spo_filter


def backing_counts(conn: Connection, viewer: Viewer, activity_ids: Sequence[int]) -> dict[int, int]:
    """Activity id → number of visible SPOs with a commitment to it (absent when none)."""
    if not activity_ids:
        return {}
    condition, params = spo_filter(viewer)
    rows = conn.execute(
        text(
            f"""
            SELECT c.activity_id, count(DISTINCT s.id)
            FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
            JOIN tender t ON t.id = s.tender_id
            WHERE c.activity_id = ANY(:ids) AND s.status NOT IN ('withdrawn', 'lapsed')
              AND {condition}
            GROUP BY c.activity_id
            """
        ),
        {"ids": list(activity_ids), **params},
    ).all()
    return {activity_id: count for activity_id, count in rows}  # noqa: C416
