"""The standard SPO score for tender evaluation: one reproducible rubric for every buyer.

An SPO (Social Purchase Order) commits value to activities. Its score, 0-100, is the
weighted mean of five components in [0, 1], each explained in words:

* ``committed_value`` — the SPO's value (money, plus volunteer hours and in-kind valued in
  pounds) as a share of the contract value, against a target share (2 % by default): at or
  above the target scores 1.
* ``need_reached`` — value-weighted catchment need of the activities backed, from the one
  model the finder and coverage use (:func:`matching.need.served_need`: the drawn service
  area, else the activity's radius, else its territory profile's default radius).
* ``geographic_alignment`` — value-weighted proximity of the activities to the contract's
  nearest delivery location (same decay as recommendations); an activity outside the
  tender's territory scores 0.
* ``evidence_strength`` — value-weighted evidence and capacity (:mod:`matching.score`).
* ``delivery_risk`` — 1 minus the value-weighted risk: value beyond an activity's funding
  gap (it cannot be used), an at-risk activity closing before the contract starts, or an
  unknown funding gap (half risk: nobody has checked the need).

The rubric's weights and target are data (:class:`Rubric`), versioned, so every buyer can
quote the version used. The same inputs always give the same score. The reasons say how
many backed activities lack a recorded funding gap or reach, so a buyer sees how much of
the score rests on what nobody has recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from geo.errors import InvalidInputError
from matching.profiles import STANDARD, WeightProfile
from matching.score import activity_components, proximity

SPO_COMPONENTS = (
    "committed_value",
    "need_reached",
    "geographic_alignment",
    "evidence_strength",
    "delivery_risk",
)


@dataclass(frozen=True)
class Rubric:
    name: str = "Dual Impact SPO rubric"
    version: str = "2026.1"
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "committed_value": 0.25,
            "need_reached": 0.25,
            "geographic_alignment": 0.20,
            "evidence_strength": 0.15,
            "delivery_risk": 0.15,
        }
    )
    target_share: float = 0.02


@dataclass(frozen=True)
class SpoScore:
    score: float  # 0-100
    components: dict[str, float]
    reasons: dict[str, str]
    rubric: str


def score_spo(
    commitments: pd.DataFrame,
    contract_value_gbp: float,
    *,
    contract_start: date,
    rubric: Rubric = Rubric(),
    profile: WeightProfile = STANDARD,
) -> SpoScore:
    """Score one SPO.

    ``commitments``: one row per commitment with ``activity_id``, ``value_gbp``,
    ``in_territory`` (bool), ``distance_m`` (to the nearest delivery location; NaN when the
    contract has none), and the activity's scoring inputs (``need_score``, ``funding_gap``,
    ``annual_running_cost``, ``status``, ``closing_date``, ``themes``,
    ``people_reached_per_year``, ``evidence_links``, ``grant_count``).
    """
    if contract_value_gbp <= 0:
        raise InvalidInputError(f"contract value must be more than zero (got {contract_value_gbp})")
    if commitments.empty:
        raise InvalidInputError("the SPO commits nothing: add at least one commitment")
    value = commitments["value_gbp"].astype(float).to_numpy()
    if (value <= 0).any():
        raise InvalidInputError("every commitment must be worth more than £0")
    share = value / value.sum()
    parts = activity_components(commitments.reset_index(drop=True), (), contract_start)

    committed = value.sum() / contract_value_gbp
    near = proximity(commitments["distance_m"], profile)
    alignment = np.where(
        commitments["in_territory"].to_numpy(bool), np.nan_to_num(near, nan=1.0), 0.0
    )
    risk = _risk(commitments, value, contract_start)
    components = {
        "committed_value": min(1.0, committed / rubric.target_share),
        "need_reached": float(share @ parts["need"].to_numpy()),
        "geographic_alignment": float(share @ alignment),
        "evidence_strength": float(share @ parts["capacity_evidence"].to_numpy()),
        "delivery_risk": 1.0 - float(share @ risk),
    }
    total = sum(rubric.weights[c] * components[c] for c in SPO_COMPONENTS) / sum(
        rubric.weights.values()
    )
    outside = int((~commitments["in_territory"].astype(bool)).sum())
    backed = commitments.drop_duplicates("activity_id")
    no_gap = int(pd.to_numeric(backed["funding_gap"], errors="coerce").isna().sum())
    no_reach = int(pd.to_numeric(backed["people_reached_per_year"], errors="coerce").isna().sum())
    reasons = {
        "committed_value": f"£{value.sum():,.0f} committed, {committed:.1%} of the contract "
        f"value (target {rubric.target_share:.0%})",
        "need_reached": f"value-weighted need {components['need_reached']:.2f} "
        "(1 = all in the UK's most-deprived tenth)",
        "geographic_alignment": (
            f"{outside} commitment(s) outside the tender's territory"
            if outside
            else "every activity in the tender's territory"
        ),
        "evidence_strength": f"value-weighted evidence {components['evidence_strength']:.2f}"
        f" (no reach recorded for {no_reach} of {len(backed)} activities: evidence alone)",
        "delivery_risk": f"value-weighted risk {1 - components['delivery_risk']:.2f} "
        "(over-commitment, closure before the contract starts, unknown gaps; no funding gap "
        f"recorded for {no_gap} of {len(backed)} activities, counted as half risk)",
    }
    return SpoScore(
        score=round(100 * total, 1),
        components={k: round(v, 4) for k, v in components.items()},
        reasons=reasons,
        rubric=f"{rubric.name} {rubric.version}",
    )


def _risk(commitments: pd.DataFrame, value: np.ndarray, start: date) -> np.ndarray:
    """Per commitment: the share of its activity's promised value beyond the activity's
    gap (summed over the SPO's commitments to that activity), or closing before the start."""
    gap = pd.to_numeric(commitments["funding_gap"], errors="coerce").to_numpy(float)
    per_activity = pd.Series(value).groupby(commitments["activity_id"].to_numpy()).transform("sum")
    promised = per_activity.to_numpy(float)
    beyond_gap = np.where(np.isnan(gap), 0.5, np.clip((promised - gap) / promised, 0.0, 1.0))
    closing = pd.to_datetime(commitments["closing_date"], errors="coerce")
    closes_first = (commitments["status"] == "at_risk").to_numpy() & (
        closing < pd.Timestamp(start)
    ).fillna(False).to_numpy()
    return np.asarray(np.maximum(beyond_gap, closes_first.astype(float)), dtype=np.float64)
