"""Recommendations for a place: near a postcode, a supplier's sites, or territory-wide.

The one entry point the CLI, the API and notebooks share, so that every user gets the same
ranking for the same question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection

from boundaries.gazetteer import place_postcode
from geo.errors import InvalidInputError
from matching import queries
from matching.need import NeedIndex
from matching.profiles import WeightProfile
from matching.recommend import CANDIDATES_PER_ORIGIN, DEFAULT_TOP, rank
from registry.themes import check_outcomes


@dataclass(frozen=True)
class Recommendations:
    territory: str
    heading: str
    profile: WeightProfile
    outcomes: list[str]
    ranked: pd.DataFrame
    origins: list[queries.Origin]  # where distances were measured from (none: territory-wide)


def recommend(
    conn: Connection,
    need: NeedIndex,
    *,
    postcode: str | None = None,
    supplier: int | None = None,
    territory: str | None = None,
    outcomes: Sequence[str] = (),
    top: int = DEFAULT_TOP,
) -> Recommendations:
    """Rank the activities an SPO should back near ``postcode`` (or a supplier's sites),
    in ``territory`` (default: where the origins are), with reasons."""
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
        )
    else:
        candidates = queries.territory_activities(conn, territory)
    ranked = rank(candidates, need, profile, outcomes=asked, top=top)
    return Recommendations(territory, f"{heading} in {territory}", profile, asked, ranked, origins)


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
