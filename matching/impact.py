"""Secondary impact: the frontline public cost an activity avoids, in pounds a year.

This module is the estimator. The figures it uses (unit costs, uprating, assumptions) come
in a :class:`~matching.valueset.ValueSet`, read and checked by :mod:`matching.valueset`.

Method
------
Each theme of an activity (youth, homelessness, ...) has rows in the value set's
*assumptions table*, each naming a published unit cost the activity helps avoid. One line is

    avoided = people reached a year × outcomes avoided per person reached a year
              × (1 − deadweight) × attribution × unit cost uprated to the common price year

for a low, central and high rate. A cost claimed by several themes of one activity is
counted once (the line with the highest central rate), so nothing is double counted. Lines
are summed by agency group (police, NHS, council, criminal justice, DWP/HMRC, society) and
split into *cashable* value (a fiscal cost to a named agency) and *wider value* (everything
else, including society-wide economic and social costs, which are never cashable). Money is
kept unrounded; only :meth:`ImpactEstimate.describe` rounds, for display.

Status of the assumptions
-------------------------
The unit costs are published figures (``unit_costs.csv``, see DATA-SOURCES.md). The rates,
deadweight and attribution of the default "open" set (``matching/data/open_assumptions.csv``)
are **illustrative default assumptions — replace with local evidence**: modest, with wide
ranges, and not drawn from evaluations. Every estimate carries that label.

Uprating
--------
Each price year ("2015/16", "2000", "c.2015") is read as the financial year it starts in.
No verified official deflator series is available offline, so the open set invents no index
numbers: it uprates at a constant 2.0 % a year (the Bank of England's CPI inflation target)
from the cost's price year to 2025/26 (``matching/data/open_valueset.toml``). This is a
labelled assumption, and every estimate states the uprating it used. A buyer's set may give
a deflator table instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from geo.errors import InvalidInputError
from matching.valueset import AGENCY_GROUPS, RATES, ValueSet
from registry.themes import parse_themes

AVOIDED = ("avoided_low_gbp", "avoided_central_gbp", "avoided_high_gbp")
LINE_COLUMNS = (
    "theme",
    "cost_id",
    "outcome",
    "unit",
    "agency_group",
    "cashable",
    "unit_cost_gbp",
    "cost_price_year",
    "unit_cost_uprated_gbp",
    *RATES,
    "deadweight",
    "attribution",
    *AVOIDED,
)


class Range(NamedTuple):
    """A low, central and high value (pounds)."""

    low: float
    central: float
    high: float


@dataclass(frozen=True)
class ActivityFacts:
    """What an estimate needs to know about an activity."""

    activity_id: int
    name: str
    themes: Sequence[str]
    people_reached_per_year: int | None


@dataclass(frozen=True, eq=False)
class ImpactEstimate:
    """Avoided public cost of one activity, in pounds a year at ``price_year`` prices."""

    activity_id: int
    name: str
    people_reached_per_year: int
    lines: pd.DataFrame
    by_agency: dict[str, Range]
    cashable: Range
    wider_value: Range
    total: Range
    price_year: str
    uprating: str
    value_set: str
    attribution: str
    assumptions_status: str
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short summary in words, money rounded to whole pounds (display only)."""
        return (
            f"{self.name}: {_money(self.total)} a year of avoided public cost at "
            f"{self.price_year} prices, of which {_money(self.cashable)} cashable and "
            f"{_money(self.wider_value)} wider value. Value set {self.value_set} "
            f"({self.assumptions_status}). {self.uprating}"
        )


def _money(values: Range) -> str:
    return f"£{values.central:,.0f} (range £{values.low:,.0f}–£{values.high:,.0f})"


def estimate(activity: ActivityFacts, value_set: ValueSet) -> ImpactEstimate:
    """The public cost an activity avoids a year, by line, agency group and cashability.

    Parameters
    ----------
    activity
        Its themes and the people it reaches a year (a positive count).
    value_set
        The unit costs, uprating and assumptions to estimate with.

    Returns
    -------
    ImpactEstimate
        Low, central and high avoided cost in pounds a year at the set's common prices,
        unrounded, with the lines behind them and notes on themes it could not use.

    Raises
    ------
    InvalidInputError
        When the activity has no (or a negative) number of people reached a year.
    """
    people = _people(activity)
    themes, notes = _themes(activity.themes, value_set)
    lines, dropped = _lines(themes, people, value_set)
    notes += dropped
    if lines.empty:
        notes.append(
            f"no theme of this activity has avoided-cost assumptions in value set "
            f"{value_set.label}: nothing estimated"
        )
    groups = [g for g in AGENCY_GROUPS if (lines["agency_group"] == g).any()]
    return ImpactEstimate(
        activity_id=activity.activity_id,
        name=activity.name,
        people_reached_per_year=people,
        lines=lines,
        by_agency={g: _sum(lines[lines["agency_group"] == g]) for g in groups},
        cashable=_sum(lines[lines["cashable"]]),
        wider_value=_sum(lines[~lines["cashable"]]),
        total=_sum(lines),
        price_year=value_set.price_year,
        uprating=value_set.uprating.describe(value_set.price_base_year),
        value_set=value_set.label,
        attribution=value_set.attribution,
        assumptions_status=value_set.assumptions_status,
        notes=tuple(notes),
    )


def estimate_many(frame: pd.DataFrame, value_set: ValueSet) -> pd.DataFrame:
    """One summary row per activity, as :func:`estimate` computes it.

    Parameters
    ----------
    frame
        Columns ``activity_id, name, themes, people_reached_per_year``; ``themes`` a list or
        a ``;``-, ``,``- or ``|``-separated string.
    value_set
        The unit costs, uprating and assumptions to estimate with.

    Returns
    -------
    pandas.DataFrame
        ``total_*_gbp``, ``cashable_*_gbp`` and ``wider_*_gbp`` (low, central, high) in
        pounds a year at the set's common prices. An activity that cannot be estimated has
        blank money and says why in ``note``.
    """
    missing = [
        c for c in ("activity_id", "name", "themes", "people_reached_per_year") if c not in frame
    ]
    if missing:
        raise InvalidInputError(f"activities need column(s): {', '.join(missing)}")
    return pd.DataFrame(
        [_summary(_facts(row), value_set) for row in frame.to_dict("records")],
        columns=[
            "activity_id",
            "name",
            "people_reached_per_year",
            "lines",
            *(
                f"{kind}_{level}_gbp"
                for kind in ("total", "cashable", "wider")
                for level in Range._fields
            ),
            "price_year",
            "uprating",
            "value_set",
            "note",
        ],
    )


def _facts(row: dict[str, Any]) -> ActivityFacts:
    people = row["people_reached_per_year"]
    themes = row["themes"]
    if isinstance(themes, str):
        themes = re.split(r"[;,|]", themes)
    elif not isinstance(themes, Iterable):
        themes = []
    return ActivityFacts(
        activity_id=row["activity_id"],
        name=str(row["name"]),
        themes=[str(t) for t in themes],
        people_reached_per_year=None if pd.isna(people) else int(people),
    )


def _summary(activity: ActivityFacts, value_set: ValueSet) -> dict[str, Any]:
    row: dict[str, Any] = {
        "activity_id": activity.activity_id,
        "name": activity.name,
        "people_reached_per_year": activity.people_reached_per_year,
        "price_year": value_set.price_year,
        "uprating": value_set.uprating.describe(value_set.price_base_year),
        "value_set": value_set.label,
    }
    try:
        result = estimate(activity, value_set)
    except InvalidInputError as exc:
        return {**row, "lines": 0, "note": str(exc)}
    for kind, values in (
        ("total", result.total),
        ("cashable", result.cashable),
        ("wider", result.wider_value),
    ):
        row.update(
            {f"{kind}_{level}_gbp": v for level, v in zip(Range._fields, values, strict=True)}
        )
    return {**row, "lines": len(result.lines), "note": "; ".join(result.notes)}


def _people(activity: ActivityFacts) -> int:
    people = activity.people_reached_per_year
    if not people:
        raise InvalidInputError(
            f"activity {activity.activity_id} has no people reached per year: "
            "set it to estimate avoided costs"
        )
    if people < 0:
        raise InvalidInputError(
            f"activity {activity.activity_id} has {people} people reached per year: "
            "it must be a positive number"
        )
    return int(people)


def _themes(names: Sequence[str], value_set: ValueSet) -> tuple[list[str], list[str]]:
    """Theme slugs the value set covers, and notes on names it cannot use."""
    known, unknown = parse_themes(";".join(names))
    covered = set(value_set.assumptions["theme"])
    themes = [t for t in [*known, *unknown] if t in covered]
    notes = []
    if ignored := [t for t in unknown if t not in covered]:
        notes.append(f"ignored unknown theme(s): {', '.join(ignored)}")
    if uncovered := [t for t in known if t not in covered]:
        notes.append(f"no avoided-cost assumptions for theme(s): {', '.join(uncovered)}")
    return themes, notes


def _lines(themes: list[str], people: int, value_set: ValueSet) -> tuple[pd.DataFrame, list[str]]:
    """The estimate's lines; a cost claimed by several themes is kept once (highest rate)."""
    assumptions = value_set.assumptions[value_set.assumptions["theme"].isin(themes)]
    costs = value_set.costs[
        ["cost_id", "outcome", "unit", "cost_gbp", "price_year", "cost_gbp_uprated"]
    ]
    lines = assumptions.merge(costs, on="cost_id", how="left").rename(
        columns={
            "cost_gbp": "unit_cost_gbp",
            "price_year": "cost_price_year",
            "cost_gbp_uprated": "unit_cost_uprated_gbp",
        }
    )
    kept = lines.sort_values("rate_central", ascending=False, kind="stable").drop_duplicates(
        "cost_id"
    )
    notes = [
        f"{row.cost_id} is also claimed by theme {row.theme}: counted once"
        for row in lines.drop(kept.index).itertuples()
    ]
    lines = kept.sort_index()
    per_person = (
        people * (1.0 - lines["deadweight"]) * lines["attribution"] * lines["unit_cost_uprated_gbp"]
    )
    avoided = {out: lines[rate] * per_person for rate, out in zip(RATES, AVOIDED, strict=True)}
    return lines.assign(**avoided)[list(LINE_COLUMNS)].reset_index(drop=True), notes


def _sum(lines: pd.DataFrame) -> Range:
    return Range(*(float(lines[column].sum()) for column in AVOIDED))
