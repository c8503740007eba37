"""The 45 territories: the overview table and one territory's outline and figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import ReadConn
from api.schemas import Include
from boundaries import repository
from geo.attribution import SHORT
from geo.jsonable import jsonable, records
from matching import queries as matching_queries
from matching.profiles import COMPONENTS
from registry import queries as registry_queries
from registry import trust

router = APIRouter(tags=["territories"])
Code = Annotated[str, Path(pattern=r"^[A-Z]\d{8}$", examples=["E23000029"])]


def _overview(conn: ReadConn, include: Include) -> list[dict[str, Any]]:
    counts = registry_queries.counts_by_territory(conn, include_all=include == "all")
    return records(repository.territories_overview(conn).merge(counts, on="code", how="left"))


@router.get("/territories")
def territories(conn: ReadConn, include: Include = "trusted") -> dict[str, Any]:
    """Every territory: population, need areas, share in the UK's most-deprived 20 %,
    activities (trusted, or all with ``include=all``) and supplier sites."""
    return {"territories": _overview(conn, include), "attribution": SHORT}


@router.get("/territories/{code}")
def territory(code: Code, conn: ReadConn, include: Include = "trusted") -> dict[str, Any]:
    """One territory: its figures (activities trusted, or all with ``include=all``), its
    (simplified) boundary and the score weights its recommendations use."""
    outline = repository.territory_outline(conn, code)
    row = next(t for t in _overview(conn, include) if t["code"] == code)
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


@router.get("/territories/{code}/trust")
def territory_trust(code: Code, conn: ReadConn) -> dict[str, Any]:
    """How much to trust a territory's map: of its open activities, how many (and what
    share, 0-1) are eligible, verified by a community team, classified, have a known
    delivery site, a recorded reach and funding gap, and were heard of within the lapse
    period, with further counts and the same in plain words (``summary``)."""
    row = trust.trust_summary(conn, code).iloc[0]
    return {**jsonable(row.to_dict()), "summary": trust.sentences(row), "attribution": SHORT}
