"""Recommendations for a place: near a postcode, a supplier's sites, or territory-wide.

The one entry point the CLI, the API and notebooks share, so that every user gets the same
ranking for the same question. Trusted activities only (eligible, not lapsed) unless
``include_all``; with outcomes, only activities serving one of them. When none does within
the profile's reach of the origins, the answer says so plainly and lists the nearest that
do in the territory, nearest first, with their distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection

from boundaries.gazetteer import place_postcode
from boundaries.repository import territory_name
from geo.errors import InvalidInputError
from matching import queries
from matching.need import NeedIndex
from matching.profiles import WeightProfile
from matching.recommend import (
    CANDIDATES_PER_ORIGIN,
    DEFAULT_TOP,
    RESULT_COLUMNS,
    rank,
    unrecorded,
)
from registry.themes import LABELS, check_outcomes


@dataclass(frozen=True)
class Recommendations:
    """A ranking and what to know before reading it.

    Attributes
    ----------
    origins
        Where distances were measured from (none: territory-wide).
    note
        A plain statement when the ranking is not what was asked for (nothing serving the
        outcomes within reach, so the nearest that do), else "".
    include_all
        Whether untrusted activities (not eligible, not yet reviewed, lapsed) were ranked.
    unrecorded
        How many ranked activities lack a recorded funding gap or reach
        (:func:`matching.recommend.unrecorded`).
    """

    territory: str
    heading: str
    profile: WeightProfile
    outcomes: list[str]
    ranked: pd.DataFrame
    origins: list[queries.Origin]
    note: str = ""
    include_all: bool = False
    unrecorded: dict[str, int] = field(default_factory=dict)


def recommend(
    conn: Connection,
    need: NeedIndex,
    *,
    postcode: str | None = None,
    supplier: int | None = None,
    territory: str | None = None,
    outcomes: Sequence[str] = (),
    top: int = DEFAULT_TOP,
    include_all: bool = False,
) -> Recommendations:
    """Rank the activities an SPO should back near ``postcode`` (or a supplier's sites),
    in ``territory`` (default: where the origins are), with reasons and trust.

    Distances are to each activity's nearest delivery place, in metres on the sphere.
    """
    asked = check_outcomes(outcomes)
    origins, found, heading = _origins(conn, postcode, supplier)
    territory = _territory(territory, found)
    profile = queries.profile_for(conn, territory)
    if origins:
        candidates = queries.candidates(
            conn,
            origins,
            territory,
            per_origin=CANDIDATES_PER_ORIGIN,
            cutoff_m=profile.proximity_cutoff_m,
            outcomes=asked,
            include_all=include_all,
        )
    else:
        candidates = queries.territory_activities(conn, territory, include_all=include_all)
    ranked = rank(candidates, need, profile, outcomes=asked, top=top)
    note = ""
    if asked and ranked.empty:
        ranked, note = _nearest_serving(
            conn, need, profile, origins, territory, asked, top=top, include_all=include_all
        )
    return Recommendations(
        territory,
        f"{heading} in {territory_name(conn, territory)}",
        profile,
        asked,
        ranked,
        origins,
        note=note,
        include_all=include_all,
        unrecorded=unrecorded(ranked),
    )


def _nearest_serving(
    conn: Connection,
    need: NeedIndex,
    profile: WeightProfile,
    origins: list[queries.Origin],
    territory: str,
    outcomes: list[str],
    *,
    top: int,
    include_all: bool,
) -> tuple[pd.DataFrame, str]:
    """When nothing within reach serves ``outcomes``: the nearest activities of the
    territory that do, at any distance, nearest first, and a note saying so plainly."""
    wanted = " or ".join(LABELS[o].lower() for o in outcomes)
    which = "" if include_all else "trusted "
    place = territory_name(conn, territory)
    nothing = f"No {which}open activity in {place} serves {wanted}."
    if not origins:
        return pd.DataFrame(columns=RESULT_COLUMNS), nothing
    farther = queries.candidates(
        conn,
        origins,
        territory,
        per_origin=top,
        cutoff_m=float("inf"),
        outcomes=outcomes,
        include_all=include_all,
    )
    ranked = rank(farther, need, profile, outcomes=outcomes, top=top)
    if ranked.empty:
        return ranked, nothing
    return ranked.sort_values(["distance_m", "activity_id"], ignore_index=True), (
        f"Nothing within {profile.proximity_cutoff_m / 1000:,.0f} km serves {wanted}; the "
        f"nearest {which}activities in {place} that do are listed, nearest first."
    )


def _origins(
    conn: Connection, postcode: str | None, supplier: int | None
) -> tuple[list[queries.Origin], list[str], str]:
    if postcode is not None:
        place = place_postcode(conn, postcode)
        label = place.postcode
        if supplier is not None:
            name, _, _ = queries.supplier_origins(conn, supplier)
            label = f"{name}'s site at {label}"
        return (
            [queries.Origin(label, place.lat, place.lon)],
            [place.territory_code],
            (f"Near {label}"),
        )
    if supplier is not None:
        name, origins, territories = queries.supplier_origins(conn, supplier)
        return origins, territories, f"Near {name}'s {len(origins)} site(s)"
    return [], [], "Territory-wide"


def _territory(given: str | None, found: list[str]) -> str:
    if given:
        return given
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInputError("give a postcode, a supplier or a territory")
    raise InvalidInputError(
        f"the sites lie in {len(found)} territories ({', '.join(found)}); choose one"
    )
