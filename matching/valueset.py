"""Value sets: the unit costs, uprating rule and assumptions table an impact estimate uses.

This module reads, checks and writes value sets; :mod:`matching.impact` does the estimate.
Every constructor validates the tables, so a :class:`ValueSet` is always usable.

The open set
------------
:func:`open_value_set` is the default. Its costs are the shared published unit costs
(``costs/unit_costs.csv`` in the data folder, see DATA-SOURCES.md). Its name, version,
attribution, uprating rule and status label are package data in
``matching/data/open_valueset.toml``. Its assumptions are ``matching/data/open_assumptions.csv``,
and they are **illustrative default assumptions — replace with local evidence**.

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
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pandas as pd

from geo.errors import DataFileError, InvalidInputError
from registry.readers import read_table

AGENCY_GROUPS: tuple[str, ...] = (
    "police",
    "NHS",
    "council",
    "criminal justice",
    "DWP/HMRC",
    "society",
)
COST_COLUMNS = ("cost_id", "outcome", "unit", "cost_gbp", "price_year", "cost_component", "agency")
RATES = ("rate_low", "rate_central", "rate_high")
ASSUMPTION_COLUMNS = (
    "theme",
    "cost_id",
    *RATES,
    "deadweight",
    "attribution",
    "cashable",
    "agency_group",
)

_DATA: Traversable = resources.files("matching") / "data"
_OPEN_META_FILE = _DATA / "open_valueset.toml"
_OPEN_ASSUMPTIONS_FILE = _DATA / "open_assumptions.csv"
_META_TYPES: dict[str, type] = {
    "name": str,
    "version": str,
    "attribution": str,
    "price_base_year": int,
    "uprating": dict,
}
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


def _check_meta(meta: object, path: object, types: dict[str, type]) -> dict[str, Any]:
    """Value-set metadata, checked for the keys and types the loaders rely on."""
    if not isinstance(meta, dict):
        raise DataFileError(path, "expected a JSON object")
    problems = [
        f"missing key {key!r}" if key not in meta else f"{key!r} must be a {kind.__name__}"
        for key, kind in types.items()
        if type(meta.get(key)) is not kind
    ]
    if not isinstance(meta.get("assumptions_status", ""), str):
        problems.append("'assumptions_status' must be a str")
    if problems:
        raise DataFileError(path, problems)
    return meta


def _open_meta() -> dict[str, Any]:
    """The open set's metadata (package data), with the keys of ``valueset.json`` and a
    ``sources`` note."""
    try:
        meta = tomllib.loads(_OPEN_META_FILE.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(_OPEN_META_FILE, f"not valid TOML: {exc}") from exc
    return _check_meta(
        meta, _OPEN_META_FILE, {**_META_TYPES, "assumptions_status": str, "sources": str}
    )


_OPEN = _open_meta()
ILLUSTRATIVE: str = _OPEN["assumptions_status"]
"""The status label of the open set's assumptions, carried by every estimate made with it."""
COMMON_YEAR: int = _OPEN["price_base_year"]
"""The financial year (its start) whose prices every cost is uprated to unless a set says."""


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
    """A validated value set built from tables in memory.

    Parameters
    ----------
    name, version, attribution
        How results quote the set and the licence of its figures.
    costs
        The columns of ``costs.csv``; ``cost_gbp`` in pounds at the row's ``price_year``.
    assumptions
        The columns of ``assumptions.csv``; rates in outcomes avoided per person reached a
        year, deadweight and attribution as shares in [0, 1].
    uprating
        How costs move to ``price_base_year`` prices.
    price_base_year
        The financial year (its start, e.g. 2025 for 2025/26) of the common prices.
    assumptions_status
        Where the assumptions come from, carried by every estimate.
    source
        What any :class:`~geo.errors.DataFileError` names as the faulty input.
    """
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
    return replace(
        value_set,
        assumptions=_assumption_table(assumptions, value_set.costs, source),
        assumptions_status=status,
    )


def open_value_set(data_dir: Path) -> ValueSet:
    """The default set: the shared published unit costs with the shipped open assumptions.

    Parameters
    ----------
    data_dir
        The shared data folder; the costs are ``costs/unit_costs.csv`` in it.

    Returns
    -------
    ValueSet
        Costs uprated as ``open_valueset.toml`` says (2 % a year to 2025/26 prices). Its
        version is the TOML's plus a digest of the exact costs CSV it was built from.

    Notes
    -----
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
    meta = {**_OPEN, "version": f"{_OPEN['version']}+costs.{digest}"}
    uprating = _uprating(_OPEN["uprating"], _OPEN_META_FILE)
    with resources.as_file(_OPEN_ASSUMPTIONS_FILE) as assumptions_path:
        return _from_files(meta, uprating, _disambiguate(costs), path, assumptions_path)


def _disambiguate(costs: pd.DataFrame) -> pd.DataFrame:
    """Slugs shared by rows that differ only in price year get the year appended."""
    shared = costs["cost_id"].duplicated(keep=False)
    starts = costs["price_year"].map(lambda y: str(_try_year(y) or "")).astype(str)
    return costs.assign(cost_id=costs["cost_id"].where(~shared, costs["cost_id"] + "-" + starts))


def load_value_set(path: Path) -> ValueSet:
    """A buyer's value set from a folder (layout in the module docstring).

    Parameters
    ----------
    path
        The folder holding ``valueset.json``, ``costs.csv`` and ``assumptions.csv``.

    Raises
    ------
    DataFileError
        Naming the file and every problem found in it.
    """
    if not path.is_dir():
        raise DataFileError(
            path, "not a folder: expected valueset.json, costs.csv, assumptions.csv"
        )
    meta_path = path / "valueset.json"
    meta = _read_meta(meta_path)
    uprating = _uprating(meta["uprating"], meta_path)
    costs_path = path / "costs.csv"
    costs = _read_csv(costs_path)
    return _from_files(meta, uprating, costs, costs_path, path / "assumptions.csv")


def _from_files(
    meta: dict[str, Any],
    uprating: Uprating,
    costs: pd.DataFrame,
    costs_source: object,
    assumptions_path: Path,
) -> ValueSet:
    """A value set from checked metadata, a raw costs table and an assumptions file (read
    only once the costs are valid)."""
    table = _cost_table(costs, uprating, meta["price_base_year"], costs_source)
    return ValueSet(
        name=meta["name"],
        version=meta["version"],
        attribution=meta["attribution"],
        price_base_year=meta["price_base_year"],
        costs=table,
        uprating=uprating,
        assumptions=_assumption_table(_read_csv(assumptions_path), table, assumptions_path),
        assumptions_status=meta.get("assumptions_status", "buyer's own assumptions"),
    )


def _read_meta(path: Path) -> dict[str, Any]:
    """valueset.json, checked for the keys and types the loader relies on."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(path, f"not valid UTF-8 JSON: {exc}") from exc
    return _check_meta(meta, path, _META_TYPES)


def _uprating(spec: dict[str, Any], path: object) -> Uprating:
    """The uprating rule of the metadata: an annual rate or a deflator table."""
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
    """Write a value set in the folder layout :func:`load_value_set` reads.

    Parameters
    ----------
    value_set
        The set to write; costs are written at their published prices, not uprated.
    path
        The folder, created if missing; its three files are overwritten.
    """
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
