"""Coverage: how much activity reach each need area has, where it is missing, and where the
next pound or volunteer hour would close most of the gap.

The definitions, written once (the README's "Coverage" section repeats them):

* **Capacity** ``S_j`` of an activity: the people it reaches a year; when the activity has
  not said, :data:`DEFAULT_CAPACITY` stands in (and ``capacity_assumed`` says so).
* **Catchment**: the activity's service radius ``d_j`` (or its territory profile's default
  radius), measured in British National Grid metres from the activity to each need area's
  representative point. An activity whose circle holds no need-area point serves the
  nearest one. (2SFCA uses the circle; an activity's *catchment need* also honours a drawn
  service area, through the one model :func:`matching.need.served_need`.)
* **Distance decay** (Gaussian, as in Dai's 2SFCA): ``w = (exp(-½(d/d_j)²) − e^-½) /
  (1 − e^-½)`` inside the catchment, so 1 at the activity and 0 at its edge.
* **Two-step floating catchment area (2SFCA)**: step 1, each activity's places per resident
  of its catchment, ``R_j = S_j / Σ_k P_k w_kj``; step 2, each need area's access,
  ``A_i = Σ_j R_j w_ij`` — activity places per resident within reach.
* **Reach** (0–1): ``min(1, A_i / A_ref)``, where ``A_ref`` is the UK's population-weighted
  mean access (total capacity over total population): 1 means at least the UK average.
  ``reach_backed`` counts only activities backed by an awarded (public) SPO.
* **Need** (0–1): ``(10 − UK decile) / 9`` of the UK composite deprivation index (decile 1,
  the most deprived tenth, scores 1), as in :mod:`matching.need`.
* **What-if**: new money buys an activity extra places (at most its funding gap's worth
  when recorded, and at most its present capacity: it can at most double); the gain is
  measured against *national* access (every UK activity, across borders), so an area
  already at the UK average from a neighbour's activity gains nothing.
* **Gap index** (0–1): ``need × (1 − reach)``: high where need is high and reach is low.
  ``gap_people = gap × population`` ranks the underserved areas.
* **Most deprived**: UK deciles 1–2. *Within reach of a backed activity*: inside the
  catchment of at least one activity an awarded SPO backs.

Everything here is pure (frames in, frames out; no database, no global state) so the same
functions run partitioned on dask for national batch jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geo.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_CAPACITY = 100.0  # people a year, when an activity has not said (an assumption)
DEPRIVED_DECILE = 2  # UK deciles 1-2: the most deprived fifth
HIGH_NEED = 7.0 / 9.0  # catchment need of a mean UK decile of 3 or lower
_EDGE = np.exp(-0.5)

NEED_AREA_COLUMNS = ["code", "territory_code", "x", "y", "population", "uk_imd_decile"]
ACTIVITY_COLUMNS = ["activity_id", "x", "y", "capacity", "radius_m", "backed"]


def decay(distance_m: FloatArray, radius_m: FloatArray) -> FloatArray:
    """Gaussian distance decay: 1 at the activity, 0 at (and beyond) the catchment edge."""
    ratio = np.asarray(distance_m, dtype=float) / np.asarray(radius_m, dtype=float)
    weight = (np.exp(-0.5 * ratio**2) - _EDGE) / (1.0 - _EDGE)
    return np.where(ratio <= 1.0, np.clip(weight, 0.0, 1.0), 0.0)


def need_of(decile: FloatArray | pd.Series) -> FloatArray:
    return (10.0 - np.asarray(decile, dtype=float)) / 9.0


@dataclass(frozen=True)
class Pairs:
    """Every (activity, need area) pair within the activity's catchment, with its weight."""

    activity: IntArray  # position in the activities frame
    area: IntArray  # position in the need-areas frame
    weight: FloatArray


def catchment_pairs(need_areas: pd.DataFrame, activities: pd.DataFrame) -> Pairs:
    """Pairs within each activity's radius, found with a KD-tree (never all pairs)."""
    if activities.empty or need_areas.empty:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros(0))
    points = np.column_stack([need_areas["x"].to_numpy(float), need_areas["y"].to_numpy(float)])
    tree = cKDTree(points)
    origins = np.column_stack([activities["x"].to_numpy(float), activities["y"].to_numpy(float)])
    radius = activities["radius_m"].to_numpy(float)
    members = tree.query_ball_point(origins, radius)
    lonely = [j for j, found in enumerate(members) if not found]
    if lonely:  # a catchment with no need-area point serves the nearest one
        _, nearest = tree.query(origins[lonely])
        for j, i in zip(lonely, np.atleast_1d(nearest), strict=True):
            members[j] = [int(i)]
    activity = np.repeat(np.arange(len(members), dtype=np.int64), [len(m) for m in members])
    area = np.fromiter((i for m in members for i in m), dtype=np.int64, count=activity.size)
    distance = np.hypot(
        points[area, 0] - origins[activity, 0], points[area, 1] - origins[activity, 1]
    )
    weight = decay(distance, radius[activity])
    weight[np.isin(activity, lonely)] = 1.0
    return Pairs(activity, area, weight)


def access(
    need_areas: pd.DataFrame, activities: pd.DataFrame, pairs: Pairs | None = None
) -> pd.DataFrame:
    """2SFCA access per need area: ``access`` (all activities), ``access_backed`` (those an
    awarded SPO backs) and ``backed_in_reach`` (inside a backed activity's catchment)."""
    pairs = pairs or catchment_pairs(need_areas, activities)
    population = need_areas["population"].to_numpy(float)
    capacity = activities["capacity"].to_numpy(float)
    backed = activities["backed"].to_numpy(bool)
    demand = np.bincount(
        pairs.activity, weights=population[pairs.area] * pairs.weight, minlength=len(activities)
    )
    ratio = np.divide(capacity, demand, out=np.zeros_like(capacity), where=demand > 0)
    flow = ratio[pairs.activity] * pairs.weight
    n = len(need_areas)
    backed_pair = backed[pairs.activity]
    return pd.DataFrame(
        {
            "access": np.bincount(pairs.area, weights=flow, minlength=n),
            "access_backed": np.bincount(
                pairs.area, weights=np.where(backed_pair, flow, 0.0), minlength=n
            ),
            "backed_in_reach": np.bincount(pairs.area[backed_pair], minlength=n) > 0,
        },
        index=need_areas.index,
    )


def reference_access(need_areas: pd.DataFrame, activities: pd.DataFrame) -> float:
    """``A_ref``: the UK's population-weighted mean access (capacity over population)."""
    population = float(need_areas["population"].sum())
    return float(activities["capacity"].sum()) / population if population > 0 else 0.0


def area_coverage(
    need_areas: pd.DataFrame, activities: pd.DataFrame, a_ref: float | None = None
) -> pd.DataFrame:
    """Per need area: access, reach (all and backed), need, gap index and gap people.

    ``a_ref`` defaults to this input's own reference; pass the UK figure when the input is
    one territory or one partition, so that every part is measured on the same scale.
    """
    a_ref = reference_access(need_areas, activities) if a_ref is None else a_ref
    return with_reach(need_areas, access(need_areas, activities), a_ref)


def with_reach(need_areas: pd.DataFrame, accessed: pd.DataFrame, a_ref: float) -> pd.DataFrame:
    """Reach, need and gap from :func:`access` columns (summed over partitions of the
    activities, access is the same: 2SFCA's second step is a sum over activities)."""
    out = need_areas[NEED_AREA_COLUMNS].copy()
    out = out.join(accessed[["access", "access_backed", "backed_in_reach"]])
    scale = a_ref if a_ref > 0 else 1.0
    out["reach"] = np.minimum(1.0, out["access"] / scale)
    out["reach_backed"] = np.minimum(1.0, out["access_backed"] / scale)
    out["need"] = need_of(out["uk_imd_decile"])
    out["gap"] = out["need"] * (1.0 - out["reach"])
    out["gap_people"] = out["gap"] * out["population"]
    return out


def territory_summary(areas: pd.DataFrame, spo_value: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per territory, from :func:`area_coverage` rows: population, the most-deprived
    population and its share within reach of a backed activity, mean reach, gap index
    (population-weighted), and SPO value committed and delivered per head and per deprived
    head (``spo_value``: territory_code, committed_gbp, delivered_gbp)."""
    frame = areas.assign(
        deprived=np.where(areas["uk_imd_decile"] <= DEPRIVED_DECILE, areas["population"], 0.0),
        deprived_backed=np.where(
            (areas["uk_imd_decile"] <= DEPRIVED_DECILE) & areas["backed_in_reach"],
            areas["population"],
            0.0,
        ),
        reach_people=areas["reach"] * areas["population"],
    )
    summary = frame.groupby("territory_code").agg(
        population=("population", "sum"),
        deprived_population=("deprived", "sum"),
        deprived_backed=("deprived_backed", "sum"),
        reach_people=("reach_people", "sum"),
        gap_people=("gap_people", "sum"),
        need_areas=("code", "size"),
    )
    people = summary["population"].where(summary["population"] > 0)
    deprived = summary["deprived_population"].where(summary["deprived_population"] > 0)
    summary["mean_reach"] = summary["reach_people"] / people
    summary["gap_index"] = summary["gap_people"] / people
    summary["deprived_backed_share"] = (summary["deprived_backed"] / deprived).fillna(0.0)
    value = (
        spo_value.set_index("territory_code")[["committed_gbp", "delivered_gbp"]]
        if spo_value is not None and not spo_value.empty
        else pd.DataFrame(columns=["committed_gbp", "delivered_gbp"], dtype=float)
    )
    summary = summary.join(value, how="left").fillna({"committed_gbp": 0.0, "delivered_gbp": 0.0})
    for what in ("committed", "delivered"):
        summary[f"{what}_per_head"] = summary[f"{what}_gbp"] / people
        summary[f"{what}_per_deprived_head"] = (summary[f"{what}_gbp"] / deprived).fillna(0.0)
    return summary.drop(columns=["reach_people", "deprived_backed"]).reset_index()


def underserved(areas: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The need areas with most need-weighted people out of reach, worst first."""
    return areas.sort_values(["gap_people", "code"], ascending=[False, True]).head(top)


def at_risk_in_high_need(activities: pd.DataFrame) -> pd.DataFrame:
    """At-risk activities whose catchment need (``need_score``) is high, soonest closing
    first (``activities`` carries status, closing_date and need_score)."""
    risky = activities[
        (activities["status"] == "at_risk") & (activities["need_score"] >= HIGH_NEED)
    ]
    return risky.sort_values(["closing_date", "need_score"], ascending=[True, False])


def what_if(
    need_areas: pd.DataFrame,
    activities: pd.DataFrame,
    budget_gbp: float,
    a_ref: float,
) -> pd.DataFrame:
    """Where ``budget_gbp`` (£) more would close most of the gap: for each activity, the
    extra places (people a year) the money buys and the need-weighted people it would bring
    within reach (``gap_closed``), best first.

    Parameters
    ----------
    need_areas
        :func:`area_coverage` rows for the whole UK (or every area the activities can
        reach): their ``access`` is the *national* access, from every activity, so the
        gain is measured against what an area already has from across any border.
    activities
        The candidates: :data:`ACTIVITY_COLUMNS` with ``cost_per_place`` (£ a place a
        year) and ``funding_gap`` (£; NaN: unknown).
    budget_gbp
        The money on offer to each candidate in turn (£).
    a_ref
        The UK reference access (places per resident).

    Returns
    -------
    pandas.DataFrame
        ``activities`` with ``money_gbp`` (what it can use: at most its funding gap when
        recorded, and at most what doubles its present capacity), ``extra_places`` and
        ``gap_closed`` (need-weighted people), sorted best first.
    """
    if "access" not in need_areas:
        raise InvalidInputError("the what-if needs the areas' national access (area_coverage)")
    if activities.empty:
        return activities.assign(money_gbp=[], extra_places=[], gap_closed=[])
    pairs = catchment_pairs(need_areas, activities)
    base = need_areas["access"].to_numpy(float)
    population = need_areas["population"].to_numpy(float)
    need = need_of(need_areas["uk_imd_decile"])
    scale = a_ref if a_ref > 0 else 1.0
    demand = np.bincount(
        pairs.activity, weights=population[pairs.area] * pairs.weight, minlength=len(activities)
    )
    gap = activities["funding_gap"].to_numpy(float)
    cost = activities["cost_per_place"].to_numpy(float)
    money = np.where(np.isnan(gap), budget_gbp, np.minimum(budget_gbp, np.maximum(gap, 0.0)))
    extra = np.minimum(money / cost, activities["capacity"].to_numpy(float))
    extra_ratio = np.divide(extra, demand, out=np.zeros_like(extra), where=demand > 0)
    before = np.minimum(1.0, base[pairs.area] / scale)
    after = np.minimum(1.0, (base[pairs.area] + extra_ratio[pairs.activity] * pairs.weight) / scale)
    closed = np.bincount(
        pairs.activity,
        weights=need[pairs.area] * population[pairs.area] * (after - before),
        minlength=len(activities),
    )
    out = activities.assign(money_gbp=extra * cost, extra_places=extra, gap_closed=closed)
    return out.sort_values(["gap_closed", "activity_id"], ascending=[False, True])
