"""The controlled vocabulary of activity themes, and a rule-based classifier.

Themes of real records come from keyword rules over an activity's name and description:
transparent, testable and cheap to rerun when the rules change. A theme set a person chose
(``themes_source = 'override'``) is never replaced by the classifier.

The vocabulary, its labels, the rules, the older names (aliases) and the safeguarding rule
are data: ``registry/data/themes.toml``, read once at import (its header says where the
rules come from). Each rule is a list of patterns matched case-insensitively at word starts;
a theme applies when any of its patterns occurs. The first ten themes are the *dual-impact
core*: outcomes that also avoid frontline costs (police, NHS, council, criminal justice).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from geo.errors import DataFileError, InvalidInputError

_SOURCE = resources.files("registry") / "data" / "themes.toml"


@dataclass(frozen=True)
class Theme:
    """One theme: its slug in the vocabulary, its label for people, its keyword patterns
    (regular expressions) and whether it is in the dual-impact core."""

    slug: str
    label: str
    patterns: tuple[str, ...]
    core: bool = False


def _load() -> tuple[tuple[Theme, ...], dict[str, str], tuple[str, ...]]:
    """The themes, aliases and safeguarding patterns of ``registry/data/themes.toml``."""
    data = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    try:
        themes = tuple(
            Theme(t["slug"], t["label"], tuple(t["patterns"]), t.get("core", False))
            for t in data["theme"]
        )
        return themes, dict(data["aliases"]), tuple(data["safeguarding"])
    except (KeyError, TypeError) as exc:
        raise DataFileError(
            _SOURCE,
            "expected [[theme]] tables (slug, label, patterns, core), [aliases] and "
            f"safeguarding ({exc!r})",
        ) from exc


def _rule(patterns: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of ``patterns`` from a word start."""
    return re.compile(r"\b(?:" + "|".join(patterns) + ")", re.IGNORECASE)


# ALIASES maps older theme names found in source files to the vocabulary.
THEMES, ALIASES, _SAFEGUARDING_PATTERNS = _load()
VOCABULARY: tuple[str, ...] = tuple(t.slug for t in THEMES)
CORE: frozenset[str] = frozenset(t.slug for t in THEMES if t.core)
LABELS: dict[str, str] = {t.slug: t.label for t in THEMES}

_COMPILED = {t.slug: _rule(t.patterns) for t in THEMES}
_SAFEGUARDING = _rule(_SAFEGUARDING_PATTERNS)


def _plain(text: pd.Series) -> pd.Series:
    """Text with Unicode normalised and curly quotes made straight ("Women’s Aid")."""
    return (
        text.fillna("")
        .astype(str)
        .str.normalize("NFKC")
        .str.replace("[\u2018\u2019\u02bc]", "'", regex=True)
    )


def classify(text: pd.Series) -> pd.Series:
    """Themes for each text, as sorted lists of vocabulary slugs (empty when none apply)."""
    text = _plain(text)
    hits = pd.DataFrame({slug: text.str.contains(rule) for slug, rule in _COMPILED.items()})
    return hits.apply(lambda row: [slug for slug in VOCABULARY if row[slug]], axis=1)


def needs_safeguarding(text: pd.Series) -> pd.Series:
    """True where the text describes a service whose exact location must never be public
    (refuges, safe houses, domestic and sexual abuse services)."""
    return _plain(text).str.contains(_SAFEGUARDING)


def parse_themes(value: str) -> tuple[list[str], list[str]]:
    """Split a ``;``- or ``,``-separated theme list into (known slugs, unknown names)."""
    known: list[str] = []
    unknown: list[str] = []
    for name in re.split(r"[;,|]", value or ""):
        slug = re.sub(r"[\s-]+", "_", name.strip().lower())
        slug = ALIASES.get(slug, slug)
        if not slug:
            continue
        (known if slug in VOCABULARY else unknown).append(slug)
    return sorted(set(known), key=VOCABULARY.index), unknown


def check_outcomes(asked: Sequence[str]) -> list[str]:
    """The outcomes, each from the controlled vocabulary (else a clear error)."""
    outcomes = [t.strip() for t in asked if t.strip()]
    unknown = [t for t in outcomes if t not in VOCABULARY]
    if unknown:
        raise InvalidInputError(
            f"unknown outcome(s) {', '.join(unknown)}; use: {', '.join(VOCABULARY)}"
        )
    return outcomes
