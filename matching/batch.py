"""Recommendations for many sites at once, in memory (KD-tree on EPSG:27700).

For a national batch (every supplier site of a framework, say) the database round trip per
site is the cost to avoid. The activity-only components are computed once per activity;
each site's candidates are its ``candidates_per_site`` nearest activities within the
profile's cut-off, from one KD-tree query for all sites; only proximity is per pair.
The ranking rule is the same as :func:`matching.recommend.rank` (same components, same
weights, only activities serving one of the outcomes asked for): only the search differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from matching.profiles import WeightProfile
from matching.recommend import serves
from matching.score import activity_components, combine

PAIR_COLUMNS = ["site_id", "rank", "activity_id", "distance_m", "total"]


def recommend_batch(
    sites: pd.DataFrame,
    activities: pd.DataFrame,
    profile: WeightProfile,
    *,
    outcomes: Sequence[str] = (),
    top: int = 10,
    candidates_per_site: int = 50,
    today: date | None = None,
) -> pd.DataFrame:
    """Top ``top`` activities for every site.

    ``sites``: ``site_id``, ``x``, ``y`` (metres, EPSG:27700). ``activities``:
    ``activity_id``, ``x``, ``y`` and the scoring inputs of :mod:`matching.score`
    (``need_score`` already computed). Returns one row per (site, rank). With
    ``outcomes``, only activities serving at least one of them are ranked.
    """
    if outcomes:
        activities = activities[serves(activities["themes"], outcomes)]
    if sites.empty or activities.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    parts = activity_components(activities.reset_index(drop=True), outcomes, today)
    parts["proximity"] = np.nan
    activity_part = combine(parts, profile)  # weighted mean without proximity
    w_proximity = profile.weight("proximity")
    rest = 1.0 - w_proximity

    tree = cKDTree(activities[["x", "y"]].to_numpy(float))
    k = min(candidates_per_site, len(activities))
    distance, index = tree.query(
        sites[["x", "y"]].to_numpy(float), k=k, distance_upper_bound=profile.proximity_cutoff_m
    )
    distance, index = distance.reshape(len(sites), k), index.reshape(len(sites), k)
    reachable = np.isfinite(distance)
    safe_index = np.where(reachable, index, 0)
    total = (
        w_proximity * np.exp(-distance / profile.proximity_scale_m)
        + rest * (activity_part[safe_index])
    )
    total = np.where(reachable, total, -np.inf)

    keep = min(top, k)
    best = np.argpartition(-total, keep - 1, axis=1)[:, :keep]
    best_total = np.take_along_axis(total, best, axis=1)
    order = np.argsort(-best_total, axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    chosen_total = np.take_along_axis(total, best, axis=1)
    valid = np.isfinite(chosen_total)
    rows, ranks = np.nonzero(valid)
    picked = np.take_along_axis(index, best, axis=1)[valid]
    return pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy()[rows],
            "rank": ranks + 1,
            "activity_id": activities["activity_id"].to_numpy()[picked],
            "distance_m": np.take_along_axis(distance, best, axis=1)[valid],
            "total": chosen_total[valid],
        }
    )
