"""Is the service up, and is its data loaded?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import ReadConn
from geo.attribution import SHORT

router = APIRouter(tags=["health"])


@router.get("/health")
def health(conn: ReadConn) -> dict[str, Any]:
    """The database answers; how much is loaded."""
    counts = conn.execute(
        text(
            """
            SELECT (SELECT count(*) FROM territory t JOIN boundary_set b
                        ON b.id = t.boundary_set_id AND b.is_current) AS territories,
                   (SELECT count(*) FROM activity) AS activities,
                   (SELECT count(*) FROM supplier_site) AS supplier_sites
            """
        )
    ).one()
    return {
        "status": "ok" if counts.territories else "no territories loaded yet",
        "database": "ok",
        "territories": counts.territories,
        "activities": counts.activities,
        "supplier_sites": counts.supplier_sites,
        "attribution": SHORT,
    }
