"""Which activities an SPO should back: ranked, with every score component and reasons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import IndexesDep, ReadConn
from geo.attribution import SHORT
from geo.jsonable import records
from matching import near
from matching.recommend import DEFAULT_TOP

router = APIRouter(tags=["matching"])


@router.get("/recommendations")
def recommendations(
    conn: ReadConn,
    indexes: IndexesDep,
    postcode: Annotated[str | None, Query(max_length=12, examples=["OX1 1DP"])] = None,
    supplier: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    territory: Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$")] = None,
    outcomes: Annotated[
        str, Query(max_length=600, description="Outcomes sought, comma-separated")
    ] = "",
    top: Annotated[int, Query(ge=1, le=200)] = DEFAULT_TOP,
) -> dict[str, Any]:
    """Rank the dual-impact activities near a postcode (or a supplier's sites, or across a
    territory) by proximity, need, urgency, theme fit and capacity/evidence, with the
    territory's weights. Safeguarded activities show a distance in whole kilometres and no
    point."""
    found = near.recommend(
        conn,
        indexes.need(),
        postcode=postcode,
        supplier=supplier,
        territory=territory,
        outcomes=outcomes.split(","),
        top=top,
    )
    return {
        "territory": found.territory,
        "heading": found.heading,
        "profile": f"{found.profile.name} {found.profile.version}",
        "outcomes": found.outcomes,
        "recommendations": records(found.ranked),
        "attribution": SHORT,
    }
