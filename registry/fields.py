"""Canonical import fields: how a source column maps onto them and how text becomes values.

Each importer declares its :class:`Field` list. Columns are matched by name or alias
(case, spaces and punctuation ignored), or by an explicit ``--map field=column``. Parsing
collects every problem (row, column, value, reason) instead of stopping at the first, so a
person can fix a file in one pass.

A problem either rejects its row (a missing name, a postcode that does not exist, a control
character); or, for values that only enrich a record (an evidence link that is not a web
address, a theme outside the vocabulary), drops that value and keeps the row; or only notes
something to check (a postcode taken from the address, a place in a sector that straddles
territories). The errors file says which (its ``outcome`` column).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import DataFileError
from registry.themes import VOCABULARY, parse_themes

KINDS = ("text", "int", "money", "number", "date", "bool", "status", "themes", "urls")
STATUSES = {
    "active": "active",
    "open": "active",
    "running": "active",
    "live": "active",
    "at risk": "at_risk",
    "at_risk": "at_risk",
    "at-risk": "at_risk",
    "closing": "at_risk",
    "closed": "closed",
    "defunct": "closed",
    "inactive": "closed",
    "ended": "closed",
}
TRUE = {"true", "yes", "y", "1", "t"}
# What the database columns hold: whole numbers as 32-bit integers, money as Numeric(14, 2).
MAX_WHOLE = 2**31 - 1
MAX_AMOUNT = 1e12
FALSE = {"false", "no", "n", "0", "f"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


REJECTED = "row rejected"
DROPPED = "value dropped, row imported"
NOTED = "row imported, check it"  # e.g. a postcode rescued from the address
ERROR_COLUMNS = ["row", "column", "value", "reason", "outcome"]
# Characters no text field may hold: C0 and C1 controls but tab, line feed, carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class Problems:
    """Problems found in a file, one per (row, column), each rejecting its row or only
    dropping its value."""

    rows: list[tuple[int, str, str, str, str]] = field(default_factory=list)

    def add(
        self, row: int, column: str, value: object, reason: str, *, outcome: str = REJECTED
    ) -> None:
        """One problem; ``outcome`` is :data:`REJECTED` (the row is not imported),
        :data:`DROPPED` (the value is not) or :data:`NOTED` (all is imported; look again)."""
        shown = "" if value is None else _CONTROL.sub(_escaped, str(value))
        self.rows.append((int(row), column, shown, reason, outcome))

    def add_many(
        self, rows: npt.NDArray[np.int64], column: str, values: Sequence[object], reason: str
    ) -> None:
        for row, value in zip(rows, values, strict=True):
            self.add(row, column, value, reason)

    def rejected_rows(self) -> set[int]:
        return {row for row, *_, outcome in self.rows if outcome == REJECTED}

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=ERROR_COLUMNS)
        return frame.sort_values(["row", "column"], kind="stable", ignore_index=True)


def _escaped(match: re.Match[str]) -> str:
    """A control character as text (``\\x00``), never written raw to an errors file."""
    return f"\\x{ord(match[0]):02x}"


def _simple(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def map_columns(
    columns: Sequence[str], fields: Sequence[Field], mapping: dict[str, str], path: object
) -> dict[str, str]:
    """``field → source column`` from explicit ``mapping`` first, then names and aliases.

    Raises a :class:`DataFileError` naming unknown fields, absent columns and missing
    required fields (with the columns that are there, and how to map them).
    """
    by_name = {f.name: f for f in fields}
    problems = [
        f"--map names an unknown field {name!r} (fields: {', '.join(by_name)})"
        for name in mapping
        if name not in by_name
    ]
    problems += [
        f"--map {name}={column}: the file has no column {column!r}"
        for name, column in mapping.items()
        if column not in columns
    ]
    found: dict[str, str] = {k: v for k, v in mapping.items() if k in by_name and v in columns}
    simple = {_simple(c): c for c in reversed(columns)}
    for f in fields:
        if f.name in found:
            continue
        for candidate in (f.name, *f.aliases):
            if _simple(candidate) in simple:
                found[f.name] = simple[_simple(candidate)]
                break
    missing = [f.name for f in fields if f.required and f.name not in found]
    if missing:
        problems.append(
            f"missing column(s) for {', '.join(missing)}; the file has: {', '.join(columns)}. "
            f"Map them with --map {missing[0]}=<column>"
        )
    if problems:
        raise DataFileError(path, problems)
    return found


def parse_fields(
    frame: pd.DataFrame,
    row: npt.NDArray[np.int64],
    fields: Sequence[Field],
    columns: dict[str, str],
    problems: Problems,
) -> pd.DataFrame:
    """Typed values for every mapped field (None where empty); problems are recorded."""
    out = pd.DataFrame(index=frame.index)
    for f in fields:
        if f.name not in columns:
            out[f.name] = None
            continue
        source = columns[f.name]
        text = frame[source].fillna("").astype(str).str.strip()
        if f.required:
            empty = (text == "").to_numpy()
            problems.add_many(row[empty], source, text[empty], f"{f.name} is empty")
        text = _without_control_characters(text, row, source, f.name, problems)
        out[f.name] = _PARSERS[f.kind](text, row, source, f.name, problems)
    return out


def _without_control_characters(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, problems: Problems
) -> pd.Series:
    """Values holding a control character (NUL, escape...) reject their row, named with the
    character and where it is; they are parsed as empty."""
    found = text.str.contains(_CONTROL).to_numpy(dtype=bool)
    for i in np.flatnonzero(found):
        value = text.iloc[i]
        match = next(_CONTROL.finditer(value))
        problems.add(
            row[i],
            column,
            value,
            f"{name} contains a control character (U+{ord(match[0]):04X}) at character "
            f"{match.start() + 1}; remove it and import the row again",
        )
    return text.where(~found, "")


def _text(text: pd.Series, *_: object) -> pd.Series:
    return text.where(text != "", None).astype(object)


def _numbers(
    text: pd.Series,
    row: npt.NDArray[np.int64],
    column: str,
    name: str,
    problems: Problems,
    *,
    money: bool = False,
    whole: bool = False,
    positive: bool = False,
) -> pd.Series:
    cleaned = text.str.replace(r"[,\s]", "", regex=True)
    if money:
        cleaned = cleaned.str.replace("£", "", regex=False)
    number = pd.to_numeric(cleaned, errors="coerce")
    given = (text != "").to_numpy()
    bad = given & ~np.isfinite(number.to_numpy(dtype=float))
    what = "an amount in pounds" if money else "a whole number" if whole else "a number"
    problems.add_many(
        row[bad],
        column,
        text[bad],
        f"{name} is not {what}",
    )
    ok = given & ~bad
    values = number.to_numpy(dtype=float)
    if whole:
        fractional = ok & (np.mod(values, 1) != 0)
        problems.add_many(row[fractional], column, text[fractional], f"{name} is not {what}")
        ok &= ~fractional
    limit = values <= 0 if positive else values < 0
    negative = ok & limit
    problems.add_many(
        row[negative],
        column,
        text[negative],
        f"{name} must be {'more than zero' if positive else 'zero or more'}",
    )
    ok &= ~negative
    ceiling = MAX_WHOLE if whole else MAX_AMOUNT
    huge = ok & (values > ceiling)
    problems.add_many(row[huge], column, text[huge], f"{name} is more than {ceiling:,.0f}")
    ok &= ~huge
    result = pd.Series(np.where(ok, values, np.nan), index=text.index)
    return result.astype("Int64") if whole else result


def _date(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, p: Problems
) -> pd.Series:
    # Dates and timestamps (with or without a time zone) in ISO form, or 31/03/2026.
    iso = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    british = pd.to_datetime(text, errors="coerce", dayfirst=True, format="%d/%m/%Y", utc=True)
    value = iso.fillna(british).dt.tz_convert(None)
    bad = ((text != "") & value.isna()).to_numpy()
    p.add_many(row[bad], column, text[bad], f"{name} is not a date (use 2026-03-31 or 31/03/2026)")
    return value.dt.date.where(value.notna(), None).astype(object)


def _bool(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, p: Problems
) -> pd.Series:
    lower = text.str.lower()
    bad = ((lower != "") & ~lower.isin(TRUE | FALSE)).to_numpy()
    p.add_many(row[bad], column, text[bad], f"{name} must be yes or no")
    answers = {**dict.fromkeys(TRUE, True), **dict.fromkeys(FALSE, False)}
    return pd.Series([answers.get(value) for value in lower], index=text.index, dtype=object)


def _status(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, p: Problems
) -> pd.Series:
    mapped = text.str.lower().str.replace("_", " ").map(lambda s: STATUSES.get(s))
    bad = ((text != "") & mapped.isna()).to_numpy()
    p.add_many(row[bad], column, text[bad], f"{name} must be active, at risk or closed")
    return mapped.astype(object).where(mapped.notna(), None)


def _themes(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, p: Problems
) -> pd.Series:
    """Known themes are kept; unknown ones are dropped with a warning (none left: the
    classifier chooses)."""
    parsed = [parse_themes(value) for value in text]
    for i, (_, unknown) in enumerate(parsed):
        if unknown:
            p.add(
                row[i],
                column,
                text.iloc[i],
                f"unknown {name} {', '.join(unknown)} (use: {', '.join(VOCABULARY)})",
                outcome=DROPPED,
            )
    return pd.Series([known or None for known, _ in parsed], index=text.index, dtype=object)


def _urls(
    text: pd.Series, row: npt.NDArray[np.int64], column: str, name: str, p: Problems
) -> pd.Series:
    """Web addresses separated by spaces, commas or semicolons; a bare ``www.x.org`` is
    read as ``https://www.x.org``. Parts that are not web addresses are dropped with a
    warning; the others are kept."""
    values = []
    for i, value in enumerate(text):
        links: list[str] = []
        junk: list[str] = []
        for link in (part for part in re.split(r"[\s;,]+", value) if part):
            if not re.match(r"^https?://", link, re.IGNORECASE) and _BARE_DOMAIN.match(link):
                link = "https://" + link
            (links if _WEB_ADDRESS.match(link) else junk).append(link)
        if junk:
            what = "is not a web address" if len(junk) == 1 else "are not web addresses"
            shown = ", ".join(repr(link) for link in junk)
            p.add(row[i], column, value, f"{name} {shown} {what} (https://...)", outcome=DROPPED)
        values.append(links or None)
    return pd.Series(values, index=text.index, dtype=object)


_WEB_ADDRESS = re.compile(r"^https?://[^\s/]+\.[^\s/]+(?:/\S*)?$", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/\S*)?$", re.IGNORECASE)


Parser = Callable[[pd.Series, npt.NDArray[np.int64], str, str, Problems], pd.Series]

_PARSERS: dict[str, Parser] = {
    "text": _text,
    "int": partial(_numbers, whole=True),
    "money": partial(_numbers, money=True),
    "number": partial(_numbers, positive=True),
    "date": _date,
    "bool": _bool,
    "status": _status,
    "themes": _themes,
    "urls": _urls,
}
