"""Is the service up, and is its data loaded?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ReadConn
from api.errors import OUTAGE_RESPONSE
from geo.attribution import SHORT
from registry import queries

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: OUTAGE_RESPONSE})
def health(conn: ReadConn) -> dict[str, Any]:
    """The database answers; how much is loaded. When it does not: 503, with what is down
    (``"database": "unreachable"`` or ``"busy"``) and ``Retry-After``."""
    counts = queries.loaded_counts(conn)
    return {
        "status": "ok" if counts.territories else "no territories loaded yet",
        "database": "ok",
        "territories": counts.territories,
        "activities": counts.activities,
        "supplier_sites": counts.supplier_sites,
        "attribution": SHORT,
    }
