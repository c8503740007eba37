"""Score (origin, activity) pairs as explicit components in [0, 1], with reasons in words.

Components (documented once here, used everywhere):

* ``proximity`` — ``exp(-d / scale)`` of the distance ``d`` in metres from the supplier's
  site, postcode or the contract's nearest delivery location; pairs beyond the profile's
  cut-off are not candidates at all. Unavailable (left out of the total) when there is no
  origin, e.g. a territory-wide tender. An activity is measured at its nearest delivery
  place; one known only by its registered office says so in its reasons.
* ``need`` — the population-weighted need of the activity's catchment
  (:mod:`matching.need`, UK composite index).
* ``urgency`` — ``1 - (1 - g)(1 - c)``: ``g`` is the funding gap as a share of the annual
  running cost (or of £50,000 when the cost is unknown), ``c`` is 1 for an at-risk activity
  closing within 3 months, falling to 0.25 at 12 months and beyond. An unrecorded gap
  counts as no gap (urgency is never guessed upwards) and the reasons say it is unrecorded.
* ``theme_fit`` — the share of the outcomes the buyer or tender asks for that the activity
  serves; with no outcomes asked, 1 for a dual-impact core theme, 0.3 for any other theme.
* ``capacity_evidence`` — the mean of capacity (``log(1 + people reached) / log(1001)``,
  capped at 1) and evidence (up to 0.4 for evidence links, up to 0.6 for up to three
  published grants); evidence alone when reach is unknown.

The total is the weighted mean of the available components (weights from the profile).
An activity's trust (eligibility, verification) decides whether it is a candidate at all
(:mod:`matching.queries`), never its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from matching.profiles import COMPONENTS, WeightProfile
from registry.themes import CORE, LABELS

GAP_REFERENCE_GBP = 50_000.0
FloatArray = npt.NDArray[np.float64]


def score(
    candidates: pd.DataFrame,
    profile: WeightProfile,
    outcomes: Sequence[str] = (),
    today: date | None = None,
) -> pd.DataFrame:
    """The candidates with one column per component and ``total``, all in [0, 1]."""
    scored = pd.concat([candidates, activity_components(candidates, outcomes, today)], axis=1)
    scored["proximity"] = proximity(scored["distance_m"], profile)
    scored["total"] = combine(scored, profile)
    return scored


def activity_components(
    activities: pd.DataFrame, outcomes: Sequence[str] = (), today: date | None = None
) -> pd.DataFrame:
    """The components that depend on the activity alone (not on where value comes from):
    computed once per activity, whatever the number of sites."""
    return pd.DataFrame(
        {
            "need": np.clip(_floats(activities["need_score"]), 0.0, 1.0),
            "urgency": _urgency(activities, today or date.today()),
            "theme_fit": _theme_fit(activities["themes"], outcomes),
            "capacity_evidence": _capacity_evidence(activities),
        },
        index=activities.index,
    )


def proximity(distance_m: pd.Series | FloatArray, profile: WeightProfile) -> FloatArray:
    """``exp(-d / scale)``; NaN (unavailable) where there is no distance."""
    metres = pd.to_numeric(pd.Series(np.asarray(distance_m)), errors="coerce").to_numpy(float)
    return np.asarray(np.exp(-metres / profile.proximity_scale_m), dtype=np.float64)


def combine(components: pd.DataFrame, profile: WeightProfile) -> FloatArray:
    """The weighted mean of the available components (NaN ones are left out)."""
    values = components[list(COMPONENTS)].to_numpy(dtype=float)
    weights = np.array([profile.weight(c) for c in COMPONENTS])
    available = ~np.isnan(values)
    weight_sum = (available * weights).sum(axis=1)
    return np.where(
        weight_sum > 0,
        np.nansum(values * weights, axis=1) / np.where(weight_sum > 0, weight_sum, 1.0),
        0.0,
    )


def explain(row: pd.Series, outcomes: Sequence[str] = (), today: date | None = None) -> str:
    """The reasons behind one scored pair, in words, most telling first."""
    today = today or date.today()
    reasons = []
    if not np.isnan(row["distance_m"]):
        within = "within " if bool(row.get("safeguarding", False)) else ""
        office = " (its registered office)" if _at_registered_office(row) else ""
        reasons.append(f"{within}{_distance(row['distance_m'])}{office} from {row['origin']}")
    reasons += [
        _need_reason(row),
        _urgency_reason(row, today),
        _theme_reason(row["themes"], outcomes),
        _capacity_reason(row),
    ]
    return "; ".join(reason for reason in reasons if reason)


def _floats(values: pd.Series) -> FloatArray:
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)


def _urgency(frame: pd.DataFrame, today: date) -> FloatArray:
    gap = _floats(frame["funding_gap"])
    cost = _floats(frame["annual_running_cost"])
    share = np.where(cost > 0, gap / np.where(cost > 0, cost, 1.0), gap / GAP_REFERENCE_GBP)
    gap_part = np.clip(np.nan_to_num(share, nan=0.0), 0.0, 1.0)
    months = _months_to_close(frame, today)
    closing = np.where(np.isnan(months), 0.0, np.clip(1.0 - 0.75 * (months - 3.0) / 9.0, 0.25, 1.0))
    return np.asarray(1.0 - (1.0 - gap_part) * (1.0 - closing), dtype=np.float64)


def _months_to_close(frame: pd.DataFrame, today: date) -> FloatArray:
    at_risk = (frame["status"] == "at_risk").to_numpy()
    closing = pd.to_datetime(frame["closing_date"], errors="coerce")
    days = (closing - pd.Timestamp(today)).dt.days.to_numpy(dtype=float)
    return np.where(at_risk, days / 30.44, np.nan)


def _theme_fit(themes: pd.Series, outcomes: Sequence[str]) -> FloatArray:
    asked = set(outcomes)
    fits = []
    for served in themes:
        served = set(served or ())
        if asked:
            fits.append(len(served & asked) / len(asked))
        else:
            fits.append(1.0 if served & CORE else 0.3 if served else 0.0)
    return np.array(fits, dtype=float)


def _capacity_evidence(frame: pd.DataFrame) -> FloatArray:
    people = _floats(frame["people_reached_per_year"])
    capacity = np.minimum(1.0, np.log1p(np.maximum(people, 0.0)) / np.log1p(1000.0))
    links = np.array(
        [
            len(v) if isinstance(v, list | tuple | np.ndarray) else 0
            for v in frame["evidence_links"]
        ],
        dtype=float,
    )
    grants = np.nan_to_num(_floats(frame["grant_count"]), nan=0.0)
    evidence = 0.4 * np.minimum(links, 2.0) / 2.0 + 0.6 * np.minimum(grants, 3.0) / 3.0
    return np.asarray(
        np.where(np.isnan(capacity), evidence, (capacity + evidence) / 2.0), dtype=np.float64
    )


def _distance(metres: float) -> str:
    return f"{metres:,.0f} m" if metres < 1_000 else f"{metres / 1000:.1f} km"


def _money(pounds: float) -> str:
    return f"£{pounds / 1000:,.0f}k" if pounds >= 10_000 else f"£{pounds:,.0f}"


def _need_reason(row: pd.Series) -> str:
    if row["share_top10"] >= 0.5:
        return "serves areas in the UK's most-deprived 10%"
    if row["share_top20"] >= 0.5:
        return "serves areas in the UK's most-deprived 20%"
    decile = row["mean_uk_decile"]
    return f"serves areas averaging UK deprivation decile {decile:.1f} (1 = most deprived)"


def _urgency_reason(row: pd.Series, today: date) -> str:
    gap = pd.to_numeric(row["funding_gap"], errors="coerce")
    cost = pd.to_numeric(row["annual_running_cost"], errors="coerce")
    if row["status"] == "at_risk" and pd.notna(row["closing_date"]):
        days = (pd.Timestamp(row["closing_date"]) - pd.Timestamp(today)).days
        when = (
            "closing date passed" if days < 0 else f"closes in {max(1, round(days / 30.44))} months"
        )
        return when + (f" without {_money(gap)}" if pd.notna(gap) and gap > 0 else "")
    if pd.notna(gap) and gap > 0:
        share = f" ({gap / cost:.0%} of its running cost)" if pd.notna(cost) and cost > 0 else ""
        return f"funding gap {_money(gap)}{share}"
    return "funding gap not recorded (no urgency assumed)" if pd.isna(gap) else "no funding gap"


def _theme_reason(themes: object, outcomes: Sequence[str]) -> str:
    served = [t for t in (themes or ()) if isinstance(t, str)]  # type: ignore[attr-defined]
    if outcomes:
        matched = [LABELS[t].lower() for t in served if t in outcomes]
        if not matched:
            return "none of the outcomes asked for"
        return f"matches {', '.join(matched)} ({len(matched)} of {len(outcomes)} outcomes asked)"
    core = [LABELS[t].lower() for t in served if t in CORE]
    return f"dual-impact themes: {', '.join(core)}" if core else ""


def _capacity_reason(row: pd.Series) -> str:
    parts = []
    people = pd.to_numeric(row["people_reached_per_year"], errors="coerce")
    parts.append(f"reaches {people:,.0f} people a year" if pd.notna(people) else "reach not known")
    grants = pd.to_numeric(row["grant_count"], errors="coerce")
    if pd.notna(grants) and grants > 0:
        latest = pd.to_numeric(row["last_award_year"], errors="coerce")
        when = f", latest {latest:.0f}" if pd.notna(latest) else ""
        parts.append(f"{grants:.0f} published grant{'s' if grants > 1 else ''}{when}")
    return ", ".join(parts)


def _at_registered_office(row: pd.Series) -> bool:
    return bool(row.get("located_at") == "registered_office")
