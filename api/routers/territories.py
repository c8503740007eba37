"""The 45 territories: the overview table and one territory's outline and figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import ReadConn
from boundaries import repository
from geo.attribution import SHORT
from geo.jsonable import records
from matching import queries as matching_queries
from matching.profiles import COMPONENTS
from registry import queries as registry_queries

router = APIRouter(tags=["territories"])
Code = Annotated[str, Path(pattern=r"^[A-Z]\d{8}$", examples=["E23000029"])]


def _overview(conn: ReadConn) -> list[dict[str, Any]]:
    frame = repository.territories_overview(conn).merge(
        registry_queries.counts_by_territory(conn), on="code", how="left"
    )
    return records(frame)


@router.get("/territories")
def territories(conn: ReadConn) -> dict[str, Any]:
    """Every territory: population, need areas, share in the UK's most-deprived 20 %,
    activities and supplier sites."""
    return {"territories": _overview(conn), "attribution": SHORT}


@router.get("/territories/{code}")
def territory(code: Code, conn: ReadConn) -> dict[str, Any]:
    """One territory: its figures, its (simplified) boundary and the score weights its
    recommendations use."""
    outline = repository.territory_outline(conn, code)
    row = next(t for t in _overview(conn) if t["code"] == code)
    profile = matching_queries.profile_for(conn, code)
    return {
        **row,
        **outline,
        "weights": {
            "name": profile.name,
            "version": profile.version,
            "shares": {c: round(profile.weight(c), 4) for c in COMPONENTS},
        },
        "attribution": SHORT,
    }
