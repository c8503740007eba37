"""Secondary impact: the frontline public cost an activity avoids, in pounds a year.

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
deadweight and attribution of the default "open" set (:data:`DEFAULT_ASSUMPTIONS`) are
**illustrative default assumptions — replace with local evidence**: modest, with wide
ranges, and not drawn from evaluations. Every estimate carries that label.

Uprating
--------
Each price year ("2015/16", "2000", "c.2015") is read as the financial year it starts in.
No verified official deflator series is available offline, so the open set invents no index
numbers: it uprates at a constant 2.0 % a year (the Bank of England's CPI inflation target)
from the cost's price year to 2025/26. This is a labelled assumption, and every estimate
states the uprating it used. A buyer's set may give a deflator table instead.

Another value set
-----------------
A buyer with their own (e.g. licensed) values loads a folder with :func:`load_value_set`.
National TOMs and HACT values are not shipped, because their licences forbid it. The folder
holds three files:

``valueset.json``::

    {"name": "Anytown council", "version": "2025-06",
     "attribution": "Unit costs © ..., used under licence ...",
     "price_base_year": 2025,
     "assumptions_status": "Anytown evaluation evidence, 2024",   (optional)
     "uprating": {"annual_rate": 0.02, "label": "why this rate"}}

  or ``"uprating": {"deflator": {"2010": 81.2, ..., "2025": 100.0}, "label": "series, date"}``
  keyed by the financial year a price year starts in. It must cover the base year and the
  price year of every cost.

``costs.csv``: ``cost_id, outcome, unit, cost_gbp, price_year, cost_component, agency``.
  ``source`` and ``source_url`` are optional. ``cost_gbp`` is in pounds at the row's
  ``price_year``.

``assumptions.csv``: ``theme, cost_id, rate_low, rate_central, rate_high, deadweight,
  attribution, cashable, agency_group``, with ``rationale`` optional. Rates are outcomes
  avoided per person reached per year. Deadweight and attribution are shares in [0, 1].
  ``cashable`` is true/false. ``agency_group`` is one of :data:`AGENCY_GROUPS`.

:func:`write_value_set` writes the same layout. Writing the open set gives a buyer a
starting point to edit. :func:`with_assumptions` swaps only the assumptions table.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from geo.errors import DataFileError, InvalidInputError
from registry.readers import read_table
from registry.themes import parse_themes

ILLUSTRATIVE = "illustrative default assumptions — replace with local evidence"
AGENCY_GROUPS: tuple[str, ...] = (
    "police",
    "NHS",
    "council",
    "criminal justice",
    "DWP/HMRC",
    "society",
)
COMMON_YEAR = 2025
BOE_TARGET_RATE = 0.02
OPEN_NAME = "open"
OPEN_VERSION = "2025.1"
OPEN_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(Home Office, The economic and social costs of crime, 2nd ed., Research Report 99, "
    "2018; Home Office Research Study 217 and Online Report 30/05). "
    "Contains unit costs from the GMCA Research Unit Cost Database © Greater Manchester "
    "Combined Authority, licensed under CC BY 4.0 (figures from v1.4: confirm its terms "
    "before redistributing). Emergency department costs as published in NICE guideline "
    "NG94 (© NICE 2018), from the NHS National Schedule of Reference Costs 2013-14 (Open "
    "Government Licence). Single homelessness costs from Pleace & Culhane (2016), Better "
    "than Cure?, Crisis (published figures, © Crisis)."
)
OPEN_UPRATING_LABEL = (
    "assumption: the Bank of England's 2% CPI inflation target; no verified official "
    "deflator series was available"
)

COST_COLUMNS = ("cost_id", "outcome", "unit", "cost_gbp", "price_year", "cost_component", "agency")
ASSUMPTION_COLUMNS = (
    "theme",
    "cost_id",
    "rate_low",
    "rate_central",
    "rate_high",
    "deadweight",
    "attribution",
    "cashable",
    "agency_group",
)
RATES = ("rate_low", "rate_central", "rate_high")
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

_PRICE_YEAR = re.compile(r"^(?:c\.\s*)?(\d{4})(?:/(\d{2}))?$")
_GMCA_CODE = re.compile(r"\s*\[([^\[\]]+)\]\s*$")
_WIDER = re.compile(r"economic and social", re.IGNORECASE)
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
_AGENCY_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("society", re.compile(r"\bsociety\b")),
    ("police", re.compile(r"\bpolice\b")),
    ("NHS", re.compile(r"\bnhs\b|clinical commissioning|primary care|acute trust|\bgp\b")),
    ("council", re.compile(r"local authority|council|social services|housing services")),
    ("criminal justice", re.compile(r"justice|court|prison|probation|young offenders|legal aid")),
    ("DWP/HMRC", re.compile(r"\bdwp\b|\bjcp\b|revenue and customs|\bhmrc\b")),
)


class Range(NamedTuple):
    """A low, central and high value (pounds, or outcomes per person a year)."""

    low: float
    central: float
    high: float


@dataclass(frozen=True)
class Uprating:
    """How costs move to the common price year.

    Either a constant ``annual_rate`` (0.02 is 2 % a year) or a ``deflator`` table mapping
    the financial year a price year starts in to an index. ``label`` says where it comes from.
    """

    annual_rate: float | None = None
    deflator: dict[int, float] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if (self.annual_rate is None) == (self.deflator is None):
            raise InvalidInputError("uprating needs exactly one of annual_rate or deflator")
        if self.annual_rate is not None and not self.annual_rate > -1:
            raise InvalidInputError(f"annual rate {self.annual_rate} must be above -1 (-100 %)")
        if self.deflator is not None and not all(v > 0 for v in self.deflator.values()):
            raise InvalidInputError("every deflator index must be a positive number")

    def missing_years(self, years: Iterable[int]) -> list[int]:
        """Years a deflator table cannot uprate from or to (none for a constant rate)."""
        if self.deflator is None:
            return []
        return sorted(set(years) - set(self.deflator))

    def factor(self, from_year: int, to_year: int) -> float:
        """The multiplier taking pounds at ``from_year`` prices to ``to_year`` prices."""
        if self.deflator is None:
            return (1.0 + (self.annual_rate or 0.0)) ** (to_year - from_year)
        return self.deflator[to_year] / self.deflator[from_year]

    def describe(self, to_year: int) -> str:
        """One sentence for every result, so the uprating is never hidden."""
        target = financial_year(to_year)
        if self.deflator is None:
            rate = f"{self.annual_rate or 0.0:.1%}"
            how = f"at a constant {rate} a year from each cost's price year"
        else:
            how = "with the value set's deflator table"
        return f"Uprated to {target} prices {how} ({self.label or 'no source given'})."


@dataclass(frozen=True, eq=False)
class ValueSet:
    """Unit costs, how to uprate them and what an activity avoids, under one name and licence.

    Build one with :func:`open_value_set`, :func:`load_value_set` or :func:`make_value_set`,
    which validate the tables. ``costs`` has a unique ``cost_id``, the published cost in
    pounds at its ``price_year``, and ``cost_gbp_uprated`` at ``price_base_year`` prices.
    """

    name: str
    version: str
    attribution: str
    price_base_year: int
    costs: pd.DataFrame
    uprating: Uprating
    assumptions: pd.DataFrame
    assumptions_status: str = ILLUSTRATIVE

    @property
    def label(self) -> str:
        """Name and version, as quoted in results."""
        return f"{self.name} {self.version}"

    @property
    def price_year(self) -> str:
        """The common price year, e.g. "2025/26"."""
        return financial_year(self.price_base_year)


@dataclass(frozen=True)
class Assumption:
    """One row of the assumptions table: a cost a theme helps avoid, and how much of it.

    ``rate`` is outcomes avoided per person reached per year (low, central, high). Of what
    is avoided, ``deadweight`` would have been avoided anyway, and ``attribution`` is the
    share credited to this activity.
    """

    theme: str
    cost_id: str
    rate: Range
    deadweight: float
    attribution: float
    cashable: bool
    agency_group: str
    rationale: str


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


def _default(
    theme: str,
    cost: str,
    rate: tuple[float, float, float],
    group: str,
    why: str,
    *,
    cashable: bool = True,
) -> Assumption:
    """A default row: deadweight and attribution are both a conservative half."""
    return Assumption(theme, cost, Range(*rate), 0.5, 0.5, cashable, group, why)


_DV = "repeat domestic abuse incidents avoided per survivor supported a year"
_HOMELESS = "90-day spells of single homelessness avoided per person reached a year"
_SINGLE = "single-homelessness-{}-public-spending"
_ASB = "anti-social behaviour incidents needing further action avoided"
_ASB_REPORT = "anti-social behaviour incidents reported to police avoided"
_AE = "A&E attendances avoided"
_GP = "GP consultations avoided"
_MH = "person-years of mental health service provision avoided"

# Illustrative default assumptions — replace with local evidence. The rates are per person
# reached per year, modest and with wide ranges; deadweight and attribution are a
# conservative half-and-half convention. No evaluation evidence was used.
DEFAULT_ASSUMPTIONS: tuple[Assumption, ...] = (
    _default("youth", "CR4.0", (0.002, 0.005, 0.01), "criminal justice",
             "first-time entrants to youth justice avoided per young person reached"),
    _default("youth", "CR1.1", (0.01, 0.03, 0.08), "police", _ASB_REPORT),
    _default("crime_prevention", "CR4.0", (0.005, 0.01, 0.03), "criminal justice",
             "first-time entrants to youth justice avoided"),
    _default("crime_prevention", "CR1.0", (0.01, 0.03, 0.08), "police", _ASB),
    _default("crime_prevention", "violence-with-injury-total-economic-and-social-cost",
             (0.001, 0.003, 0.01), "society",
             "violent crimes with injury avoided (economic and social cost)", cashable=False),
    _default("violence_against_women_and_girls", "CR2.0.1", (0.05, 0.15, 0.4), "NHS", _DV),
    _default("violence_against_women_and_girls", "CR2.0.2", (0.05, 0.15, 0.4),
             "criminal justice", _DV),
    _default("violence_against_women_and_girls", "CR2.0.3", (0.05, 0.15, 0.4), "police", _DV),
    _default("violence_against_women_and_girls", "CR2.0.4", (0.05, 0.15, 0.4), "council", _DV),
    _default("violence_against_women_and_girls", "CR2.0.5", (0.05, 0.15, 0.4), "council", _DV),
    _default("mental_health", "HE11.2.1", (0.01, 0.03, 0.08), "NHS", _MH),
    _default("mental_health", "HE11.2.2", (0.01, 0.03, 0.08), "council", _MH),
    _default("mental_health", "HE4.0", (0.02, 0.05, 0.15), "NHS", _AE),
    _default("substance_misuse", "HE1.0", (0.01, 0.03, 0.08), "NHS",
             "years of alcohol dependency avoided"),
    _default("substance_misuse", "HE4.0", (0.03, 0.08, 0.2), "NHS", _AE),
    _default("homelessness", _SINGLE.format("drug-alcohol-services"), (0.02, 0.05, 0.12),
             "NHS", _HOMELESS),
    _default("homelessness", _SINGLE.format("mental-health-services"), (0.02, 0.05, 0.12),
             "NHS", _HOMELESS),
    _default("homelessness", _SINGLE.format("nhs-physical-health"), (0.02, 0.05, 0.12),
             "NHS", _HOMELESS),
    _default("homelessness", _SINGLE.format("criminal-justice"), (0.02, 0.05, 0.12),
             "criminal justice", _HOMELESS + " (police and criminal justice together)"),
    _default("homelessness", _SINGLE.format("homelessness-services"), (0.02, 0.05, 0.12),
             "council", _HOMELESS),
    _default("food_poverty", "HE20.2", (0.05, 0.2, 0.5), "NHS", _GP),
    _default("food_poverty", "HE4.0", (0.01, 0.02, 0.05), "NHS", _AE),
    _default("employability", "E&E10.0", (0.02, 0.05, 0.1), "DWP/HMRC",
             "years spent NEET (18-24) avoided per person supported"),
    _default("older_people", "HE7.11", (0.005, 0.01, 0.03), "NHS",
             "hospital admissions for a fall (over 60) avoided"),
    _default("older_people", "HE20.2", (0.05, 0.2, 0.5), "NHS", _GP),
    _default("community_safety", "CR1.0", (0.02, 0.05, 0.1), "police", _ASB),
    _default("community_safety", "CR1.1", (0.05, 0.1, 0.25), "police", _ASB_REPORT),
    _default("community_safety", "criminal-damage-other-than-arson-total-economic-and-social-cost",
             (0.005, 0.01, 0.03), "society",
             "criminal damage avoided (economic and social cost)", cashable=False),
)  # fmt: skip


def financial_year(start: int) -> str:
    """The label of the financial year starting in ``start``: 2025 → "2025/26"."""
    return f"{start}/{(start + 1) % 100:02d}"


def price_year_start(label: str) -> int:
    """The year a published price year starts in: "2015/16" → 2015, "c.2015" → 2015."""
    match = _PRICE_YEAR.match(str(label).strip())
    if match is None or (match[2] is not None and int(match[2]) != (int(match[1]) + 1) % 100):
        raise InvalidInputError(f"price year {label!r} is not like 2015/16, 2000 or c.2015")
    return int(match[1])


def agency_group(agency: str) -> str | None:
    """The agency group of a free-text agency, or None when it names no single group.

    The text is split at "/" ("NHS / Clinical Commissioning Group", "Police / Local
    authority"): the first part that names a group decides, because the lead agency bears the
    cost. "society (all)" is society; "Multiple", "HM Treasury", schools, fire and the
    voluntary sector belong to no group.
    """
    for part in str(agency).lower().split("/"):
        for group, words in _AGENCY_WORDS:
            if words.search(part):
                return group
    return None


def cost_id(outcome: str, component: str) -> str:
    """A stable id: the GMCA code in brackets, else a slug of outcome and cost component."""
    code = _GMCA_CODE.search(outcome)
    if code:
        return code[1].strip()
    return re.sub(r"[^a-z0-9]+", "-", f"{outcome} {component}".lower()).strip("-")


def assumptions_frame(rows: Iterable[Assumption]) -> pd.DataFrame:
    """The assumptions table as a DataFrame with the columns of ``assumptions.csv``."""
    return pd.DataFrame(
        [
            {
                "theme": row.theme,
                "cost_id": row.cost_id,
                "rate_low": row.rate.low,
                "rate_central": row.rate.central,
                "rate_high": row.rate.high,
                "deadweight": row.deadweight,
                "attribution": row.attribution,
                "cashable": row.cashable,
                "agency_group": row.agency_group,
                "rationale": row.rationale,
            }
            for row in rows
        ],
        columns=[*ASSUMPTION_COLUMNS, "rationale"],
    )


def make_value_set(
    *,
    name: str,
    version: str,
    attribution: str,
    costs: pd.DataFrame,
    assumptions: pd.DataFrame,
    uprating: Uprating,
    price_base_year: int = COMMON_YEAR,
    assumptions_status: str = ILLUSTRATIVE,
    source: object = "value set",
) -> ValueSet:
    """A validated value set; ``source`` names it in any DataFileError."""
    table = _cost_table(costs, uprating, price_base_year, source)
    return ValueSet(
        name=name,
        version=version,
        attribution=attribution,
        price_base_year=price_base_year,
        costs=table,
        uprating=uprating,
        assumptions=_assumption_table(assumptions, table, source),
        assumptions_status=assumptions_status,
    )


def with_assumptions(
    value_set: ValueSet,
    assumptions: pd.DataFrame,
    status: str,
    source: object = "assumptions",
) -> ValueSet:
    """The same value set with a buyer's assumptions table, checked against its costs."""
    return ValueSet(
        name=value_set.name,
        version=value_set.version,
        attribution=value_set.attribution,
        price_base_year=value_set.price_base_year,
        costs=value_set.costs,
        uprating=value_set.uprating,
        assumptions=_assumption_table(assumptions, value_set.costs, source),
        assumptions_status=status,
    )


def open_value_set(data_dir: Path) -> ValueSet:
    """The default set: the shared published unit costs, uprated at 2 % a year, with
    :data:`DEFAULT_ASSUMPTIONS`. Its version names the exact CSV it was built from.

    A row's ``cost_id`` is its GMCA code, else a slug of outcome and cost component; two
    editions of one published cost (2000 and 2003 prices) get the year appended.
    """
    path = data_dir / "costs" / "unit_costs.csv"
    raw = _read_csv(path)
    needed = [c for c in COST_COLUMNS if c != "cost_id"]
    _require_columns(raw, needed, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    costs = raw.assign(
        cost_id=[cost_id(o, c) for o, c in zip(raw["outcome"], raw["cost_component"], strict=True)],
        outcome=raw["outcome"].str.replace(_GMCA_CODE, "", regex=True),
    )
    return make_value_set(
        name=OPEN_NAME,
        version=f"{OPEN_VERSION}+costs.{digest}",
        attribution=OPEN_ATTRIBUTION,
        costs=_disambiguate(costs),
        assumptions=assumptions_frame(DEFAULT_ASSUMPTIONS),
        uprating=Uprating(annual_rate=BOE_TARGET_RATE, label=OPEN_UPRATING_LABEL),
        source=path,
    )


def _disambiguate(costs: pd.DataFrame) -> pd.DataFrame:
    """Slugs shared by rows that differ only in price year get the year appended."""
    shared = costs["cost_id"].duplicated(keep=False)
    starts = costs["price_year"].map(lambda y: str(_try_year(y) or "")).astype(str)
    return costs.assign(cost_id=costs["cost_id"].where(~shared, costs["cost_id"] + "-" + starts))


def load_value_set(path: Path) -> ValueSet:
    """A buyer's value set from a folder (layout in the module docstring)."""
    if not path.is_dir():
        raise DataFileError(
            path, "not a folder: expected valueset.json, costs.csv, assumptions.csv"
        )
    meta_path = path / "valueset.json"
    meta = _read_meta(meta_path)
    uprating = _uprating(meta["uprating"], meta_path)
    costs_path = path / "costs.csv"
    costs = _cost_table(_read_csv(costs_path), uprating, meta["price_base_year"], costs_path)
    assumptions_path = path / "assumptions.csv"
    return ValueSet(
        name=meta["name"],
        version=meta["version"],
        attribution=meta["attribution"],
        price_base_year=meta["price_base_year"],
        costs=costs,
        uprating=uprating,
        assumptions=_assumption_table(_read_csv(assumptions_path), costs, assumptions_path),
        assumptions_status=meta.get("assumptions_status", "buyer's own assumptions"),
    )


_META_TYPES: dict[str, type] = {
    "name": str,
    "version": str,
    "attribution": str,
    "price_base_year": int,
    "uprating": dict,
}


def _read_meta(path: Path) -> dict[str, Any]:
    """valueset.json, checked for the keys and types the loader relies on."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(path, f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise DataFileError(path, "expected a JSON object")
    problems = [
        f"missing key {key!r}" if key not in meta else f"{key!r} must be a {kind.__name__}"
        for key, kind in _META_TYPES.items()
        if type(meta.get(key)) is not kind
    ]
    if not isinstance(meta.get("assumptions_status", ""), str):
        problems.append("'assumptions_status' must be a str")
    if problems:
        raise DataFileError(path, problems)
    return meta


def _uprating(spec: dict[str, Any], path: Path) -> Uprating:
    """The uprating rule of valueset.json: an annual rate or a deflator table."""
    try:
        rate = spec.get("annual_rate")
        table = spec.get("deflator")
        return Uprating(
            annual_rate=None if rate is None else float(rate),
            deflator=None if table is None else {int(y): float(v) for y, v in table.items()},
            label=str(spec.get("label", "")),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise DataFileError(
            path,
            "uprating: annual_rate must be a number and deflator must map years to index "
            f"numbers ({exc})",
        ) from exc
    except InvalidInputError as exc:
        raise DataFileError(path, f"uprating: {exc}") from exc


def write_value_set(value_set: ValueSet, path: Path) -> None:
    """Write a value set in the folder layout :func:`load_value_set` reads."""
    path.mkdir(parents=True, exist_ok=True)
    uprating: dict[str, Any] = {"label": value_set.uprating.label}
    if value_set.uprating.deflator is None:
        uprating["annual_rate"] = value_set.uprating.annual_rate
    else:
        uprating["deflator"] = {str(y): v for y, v in value_set.uprating.deflator.items()}
    meta = {
        "name": value_set.name,
        "version": value_set.version,
        "attribution": value_set.attribution,
        "price_base_year": value_set.price_base_year,
        "assumptions_status": value_set.assumptions_status,
        "uprating": uprating,
    }
    (path / "valueset.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    columns = [*COST_COLUMNS, "source", "source_url"]
    value_set.costs[columns].to_csv(path / "costs.csv", index=False)
    value_set.assumptions.to_csv(path / "assumptions.csv", index=False)


def estimate(activity: ActivityFacts, value_set: ValueSet) -> ImpactEstimate:
    """The public cost an activity avoids a year, by line, agency group and cashability."""
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
    """One summary row per activity (columns ``activity_id, name, themes,
    people_reached_per_year``); an activity that cannot be estimated gets a ``note``."""
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


def _read_csv(path: Path) -> pd.DataFrame:
    """A value-set table as text, through the importers' reader (clear errors for a
    missing, empty, non-UTF-8 or malformed file)."""
    return read_table(path, "csv").frame


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], source: object) -> None:
    if missing := [c for c in columns if c not in frame.columns]:
        raise DataFileError(source, f"missing column(s): {', '.join(missing)}")


def _try_year(label: object) -> int | None:
    try:
        return price_year_start(str(label))
    except InvalidInputError:
        return None


def _numbers(frame: pd.DataFrame, column: str, where: list[str], problems: list[str]) -> pd.Series:
    """A numeric column; each blank or non-numeric cell is reported as a problem."""
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    problems += [
        f"{where[i]}: {column} {frame[column].iloc[i]!r} is not a number"
        for i in range(len(frame))
        if math.isnan(values.iloc[i])
    ]
    return values


def _cost_table(
    raw: pd.DataFrame, uprating: Uprating, base_year: int, source: object
) -> pd.DataFrame:
    """Validated costs with the price year's start and the cost at base-year prices."""
    _require_columns(raw, COST_COLUMNS, source)
    raw = raw.reset_index(drop=True)
    ids = raw["cost_id"].astype(str).str.strip()
    where = [f"row {i + 2} (cost_id {c!r})" for i, c in enumerate(ids)]
    problems: list[str] = [f"{where[i]}: blank cost_id" for i in range(len(ids)) if not ids.iloc[i]]
    problems += [f"duplicate cost_id {c!r}" for c in sorted(set(ids[ids.duplicated()]))]
    cost = _numbers(raw, "cost_gbp", where, problems)
    problems += [f"{where[i]}: cost_gbp is negative" for i in range(len(raw)) if cost.iloc[i] < 0]
    starts = [_try_year(y) for y in raw["price_year"]]
    problems += [
        f"{where[i]}: price_year {raw['price_year'].iloc[i]!r} is not like 2015/16, 2000 or c.2015"
        for i, s in enumerate(starts)
        if s is None
    ]
    known = [s for s in starts if s is not None]
    if gaps := uprating.missing_years([*known, base_year]):
        problems.append(f"the deflator table has no index for year(s) {gaps}")
    if problems:
        raise DataFileError(source, problems)
    factor = [uprating.factor(s, base_year) for s in known]
    agencies = raw["agency"].astype(str)
    groups = agencies.map(agency_group)
    return pd.DataFrame(
        {
            "cost_id": ids,
            "outcome": raw["outcome"].astype(str).str.strip(),
            "unit": raw["unit"].astype(str),
            "cost_gbp": cost,
            "price_year": raw["price_year"].astype(str),
            "price_year_start": pd.Series(known, index=raw.index, dtype="int64"),
            "cost_component": raw["cost_component"].astype(str),
            "agency": agencies,
            "agency_group": groups,
            "wider_value": raw["cost_component"].astype(str).str.contains(_WIDER)
            | groups.eq("society"),
            "source": raw.get("source", pd.Series("", index=raw.index)).astype(str),
            "source_url": raw.get("source_url", pd.Series("", index=raw.index)).astype(str),
            "uprating_factor": factor,
            "cost_gbp_uprated": cost * pd.Series(factor, index=raw.index),
        }
    ).reset_index(drop=True)


def _flag(value: object) -> bool | None:
    """A cashable cell as a bool, or None when it says neither true nor false."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _assumption_table(raw: pd.DataFrame, costs: pd.DataFrame, source: object) -> pd.DataFrame:
    """Validated assumptions; a society-wide cost can never be cashable."""
    _require_columns(raw, ASSUMPTION_COLUMNS, source)
    table = raw.reset_index(drop=True)
    text = {c: table[c].astype(str).str.strip() for c in ("theme", "cost_id", "agency_group")}
    where = [
        f"row {i + 2} ({t} → {c})"
        for i, (t, c) in enumerate(zip(text["theme"], text["cost_id"], strict=True))
    ]
    problems: list[str] = []
    numbers = {
        c: _numbers(table, c, where, problems) for c in (*RATES, "deadweight", "attribution")
    }
    flags = [_flag(v) for v in table["cashable"]]
    problems += [
        f"{where[i]}: cashable {table['cashable'].iloc[i]!r} is not true or false"
        for i, flag in enumerate(flags)
        if flag is None
    ]
    checked = table.assign(**text, **numbers, cashable=[bool(f) for f in flags])
    known = set(costs["cost_id"])
    wider = set(costs.loc[costs["wider_value"], "cost_id"])
    for place, row in zip(where, checked.to_dict("records"), strict=True):
        problems += [f"{place}: {p}" for p in _assumption_problems(row, known, wider)]
    repeated = checked.duplicated(["theme", "cost_id"]).to_numpy()
    problems += [f"{where[i]}: repeats an earlier theme and cost_id" for i in repeated.nonzero()[0]]
    if problems:
        raise DataFileError(source, problems)
    rationale = table.get("rationale", pd.Series("", index=table.index)).astype(str)
    return checked.assign(rationale=rationale)[[*ASSUMPTION_COLUMNS, "rationale"]]


def _assumption_problems(row: dict[str, Any], known: set[str], wider: set[str]) -> list[str]:
    """What is wrong with one assumption row (numbers already parsed; NaN reported)."""
    problems = []
    if not row["theme"]:
        problems.append("blank theme")
    if row["cost_id"] not in known:
        problems.append(f"cost_id {row['cost_id']!r} is not in the costs table")
    rates = [row[c] for c in RATES]
    if not any(math.isnan(r) for r in rates) and not 0 <= rates[0] <= rates[1] <= rates[2]:
        problems.append(f"rates {rates} must be 0 <= low <= central <= high")
    problems += [
        f"{share} {row[share]} must be a share between 0 and 1"
        for share in ("deadweight", "attribution")
        if not math.isnan(row[share]) and not 0 <= row[share] <= 1
    ]
    if row["agency_group"] not in AGENCY_GROUPS:
        problems.append(
            f"agency_group {row['agency_group']!r} is not one of {', '.join(AGENCY_GROUPS)}"
        )
    if row["cashable"] and (row["agency_group"] == "society" or row["cost_id"] in wider):
        problems.append("a society-wide (economic and social) cost is never cashable")
    return problems
