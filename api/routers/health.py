"""Is the service up, and is its data loaded?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ReadConn
from geo.attribution import SHORT
from registry import queries

router = APIRouter(tags=["health"])


@router.get("/health")
def health(conn: ReadConn) -> dict[str, Any]:
    """The database answers; how much is loaded."""
    counts = queries.loaded_counts(conn)
    return {
        "status": "ok" if counts.territories else "no territories loaded yet",
        "database": "ok",
        "territories": counts.territories,
        "activities": counts.activities,
        "supplier_sites": counts.supplier_sites,
        "attribution": SHORT,
    }
