"""Recommendations: which activities a supplier's SPO should back, ranked and explained.

The candidates are the activities of the SPO's territory nearest to each origin (index-
assisted, see :mod:`matching.queries`), or every open activity of the territory when there
is no origin (a territory-wide tender, a community team's view). Each is scored with the
territory's (or tender's) weight profile (:mod:`matching.score`) and the best pairs are
returned with every component and the reasons in words. An activity near several sites is
listed once, from the site where it scores best.

When outcomes are asked for, only activities serving at least one of them are ranked.
Every result carries the activity's trust (eligibility, verification, evidence level,
where it is placed) beside its score, and :func:`unrecorded` counts the facts the score
had to do without.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

import pandas as pd

from geo.errors import InvalidInputError
from matching.need import NeedIndex, served_need
from matching.profiles import COMPONENTS, WeightProfile
from matching.score import activity_components, combine, explain, proximity
from registry import privacy
from registry.queries import TRUST_COLUMNS

DEFAULT_TOP = 10
# Candidates fetched per origin before scoring: far more than are shown, so that a needier
# activity a little further away can still outrank a nearer one.
CANDIDATES_PER_ORIGIN = 200

NEED_COLUMNS = ["need_score", "served_population", "mean_uk_decile", "share_top10", "share_top20"]
RESULT_COLUMNS = [
    "activity_id",
    "name",
    "origin",
    "distance_m",
    "total",
    *COMPONENTS,
    "reason",
    "themes",
    "status",
    "closing_date",
    "funding_gap",
    "people_reached_per_year",
    "safeguarding",
    *TRUST_COLUMNS,
    "lat",
    "lon",
]


def rank(
    candidates: pd.DataFrame,
    need: NeedIndex,
    profile: WeightProfile,
    *,
    outcomes: Sequence[str] = (),
    top: int = DEFAULT_TOP,
    exclude: Collection[int] = (),
    today: date | None = None,
) -> pd.DataFrame:
    """Score candidate pairs and keep the ``top`` activities, best first, with reasons and
    their trust (eligibility, verification, where they are placed).

    With ``outcomes``, only candidates serving at least one of them are kept. Safeguarded
    activities keep their place in the ranking but never their point: they are scored and
    shown from a distance banded to whole kilometres (:mod:`registry.privacy`), with no
    lat/lon. The components that depend on the activity alone are computed once per
    activity, however many sites reach it.
    """
    if top < 1:
        raise InvalidInputError(f"top must be at least 1 (got {top})")
    candidates = candidates[~candidates["activity_id"].isin(list(exclude))]
    if outcomes:
        candidates = candidates[serves(candidates["themes"], outcomes)]
    if candidates.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    unique = candidates.drop_duplicates("activity_id").set_index("activity_id")
    unique = unique.join(served_need(unique, need, profile.default_service_radius_m))
    parts = activity_components(unique, outcomes, today)
    # Need is measured from the true place (it is reported as an area-wide figure only);
    # everything shown or scored by distance comes after the redaction.
    pairs = privacy.redact(candidates).join(unique[NEED_COLUMNS].join(parts), on="activity_id")
    pairs["proximity"] = proximity(pairs["distance_m"], profile)
    pairs["total"] = combine(pairs, profile)
    best = (
        pairs.sort_values(["total", "distance_m", "activity_id"], ascending=[False, True, True])
        .drop_duplicates("activity_id")
        .head(top)
        .reset_index(drop=True)
    )
    best["reason"] = [explain(row, outcomes, today) for _, row in best.iterrows()]
    return best[RESULT_COLUMNS]


def serves(themes: pd.Series, outcomes: Collection[str]) -> pd.Series:
    """Whether each activity (its list of theme slugs) serves at least one of ``outcomes``."""
    asked = set(outcomes)
    return pd.Series([bool(asked & set(t or ())) for t in themes], index=themes.index, dtype=bool)


def unrecorded(ranked: pd.DataFrame) -> dict[str, int]:
    """How many ranked activities have no recorded funding gap (their urgency counts none)
    and no recorded reach (their capacity is left out): nothing is assumed for them."""
    return {
        "funding_gap": int(ranked["funding_gap"].isna().sum()),
        "people_reached_per_year": int(ranked["people_reached_per_year"].isna().sum()),
    }
