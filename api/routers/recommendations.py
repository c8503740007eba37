"""Which activities an SPO should back: ranked, with every score component, reasons and
how far each can be trusted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import IndexesDep, ReadConn
from api.schemas import Include
from geo.attribution import SHORT
from geo.jsonable import records
from maps.render import eligibility_words, location_words, verification_words
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
    include: Include = "trusted",
) -> dict[str, Any]:
    """Rank the dual-impact activities near a postcode (or a supplier's sites, or across a
    territory) by proximity, need, urgency, theme fit and capacity/evidence, with the
    territory's weights. Trusted activities only (eligible, not lapsed) unless
    ``include=all``; each carries its eligibility, verification and where it is placed, in
    words too (a registered office is labelled as such). Distances are to an activity's
    nearest delivery place. With outcomes, only activities serving one of them; ``note``
    says plainly when none does within reach (the nearest that do are then listed).
    ``unrecorded`` counts the ranked activities with no recorded funding gap (urgency
    counts none) or reach. Safeguarded activities show a distance in whole kilometres and
    no point."""
    found = near.recommend(
        conn,
        indexes.need(),
        postcode=postcode,
        supplier=supplier,
        territory=territory,
        outcomes=outcomes.split(","),
        top=top,
        include_all=include == "all",
    )
    ranked = records(found.ranked)
    for row in ranked:
        row["trust"] = {
            "verification": verification_words(row),
            "eligibility": eligibility_words(row),
            "shown_at": location_words(row),
        }
    return {
        "territory": found.territory,
        "heading": found.heading,
        "profile": f"{found.profile.name} {found.profile.version}",
        "outcomes": found.outcomes,
        "include": include,
        "note": found.note,
        "unrecorded": found.unrecorded,
        "recommendations": ranked,
        "attribution": SHORT,
    }
