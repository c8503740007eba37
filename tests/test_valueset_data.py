"""The shipped data files: the open value set's metadata and assumptions, the theme
vocabulary with its keyword rules and the dual-impact categories load and agree with each
other (pure, no database)."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from matching.valueset import (
    AGENCY_GROUPS,
    ASSUMPTION_COLUMNS,
    COMMON_YEAR,
    ILLUSTRATIVE,
    ValueSet,
    open_value_set,
)
from registry.categories import CATEGORIES
from registry.themes import ALIASES, CORE, THEMES, VOCABULARY

MATCHING_DATA = resources.files("matching") / "data"
THEMES_TOML = resources.files("registry") / "data" / "themes.toml"


@pytest.fixture(scope="module")
def open_meta() -> dict[str, object]:
    return tomllib.loads((MATCHING_DATA / "open_valueset.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def open_assumptions() -> pd.DataFrame:
    with (MATCHING_DATA / "open_assumptions.csv").open(encoding="utf-8") as file:
        return pd.read_csv(file, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def open_set(data_dir: Path) -> ValueSet:
    return open_value_set(data_dir)


# --- the open value set ------------------------------------------------------------------


def test_open_metadata_names_its_sources_and_status(open_meta: dict[str, object]) -> None:
    assert open_meta["assumptions_status"] == ILLUSTRATIVE
    assert ILLUSTRATIVE.startswith("illustrative")
    assert open_meta["price_base_year"] == COMMON_YEAR
    sources = str(open_meta["sources"])
    assert "unit_costs.csv" in sources and "DATA-SOURCES.md" in sources
    assert "open_assumptions.csv" in sources


def test_the_open_set_is_built_from_the_shipped_files(
    open_set: ValueSet, open_meta: dict[str, object], open_assumptions: pd.DataFrame
) -> None:
    assert open_set.name == open_meta["name"]
    assert open_set.version.startswith(f"{open_meta['version']}+costs.")
    assert open_set.attribution == open_meta["attribution"]
    assert open_set.assumptions_status == ILLUSTRATIVE
    assert open_set.uprating.annual_rate == pytest.approx(0.02)
    assert "2% CPI inflation target" in open_set.uprating.label
    assert len(open_set.assumptions) == len(open_assumptions)


def test_assumption_rows_use_the_layout_a_buyer_writes(open_assumptions: pd.DataFrame) -> None:
    assert list(open_assumptions.columns) == [*ASSUMPTION_COLUMNS, "rationale"]
    assert (open_assumptions["rationale"].str.strip() != "").all()
    assert set(open_assumptions["cashable"]) <= {"true", "false"}


def test_every_assumption_row_is_for_a_theme_of_the_vocabulary(
    open_assumptions: pd.DataFrame,
) -> None:
    # The loader accepts any theme name (a buyer's set may add its own); the shipped rows
    # must all be themes the classifier assigns, and cover the whole dual-impact core.
    assert set(open_assumptions["theme"]) <= set(VOCABULARY)
    assert set(open_assumptions["theme"]) == set(CORE)
    assert set(open_assumptions["agency_group"]) <= set(AGENCY_GROUPS)


# --- the theme vocabulary ----------------------------------------------------------------


def test_themes_have_unique_slugs_labels_and_patterns() -> None:
    assert len(VOCABULARY) == len(set(VOCABULARY)) == len(THEMES)
    for theme in THEMES:
        assert re.fullmatch(r"[a-z]+(?:_[a-z]+)*", theme.slug), theme.slug
        assert isinstance(theme.label, str) and theme.label.strip()
        assert isinstance(theme.core, bool)
        assert theme.patterns and all(isinstance(p, str) and p for p in theme.patterns)
        assert len(set(theme.patterns)) == len(theme.patterns), theme.slug


def test_every_pattern_is_a_valid_regular_expression() -> None:
    data = tomllib.loads(THEMES_TOML.read_text(encoding="utf-8"))
    patterns = [p for theme in THEMES for p in theme.patterns] + data["safeguarding"]
    for pattern in patterns:
        re.compile(pattern)


def test_the_core_is_the_first_ten_themes() -> None:
    assert set(VOCABULARY[:10]) == CORE


def test_aliases_are_old_names_for_themes_of_the_vocabulary() -> None:
    assert ALIASES
    assert set(ALIASES.values()) <= set(VOCABULARY)
    assert not set(ALIASES) & set(VOCABULARY)


# --- the dual-impact categories ------------------------------------------------------------


def test_each_category_prices_its_impact_with_the_open_value_sets_rows(
    open_assumptions: pd.DataFrame,
) -> None:
    assert len(CATEGORIES) == 13
    for category in CATEGORIES:
        assert set(category.themes) <= set(VOCABULARY), category.slug
        rows = open_assumptions[open_assumptions["theme"].isin(category.themes)]
        # Every unit-cost row of its themes, and no other.
        assert sorted(category.cost_ids) == sorted(set(rows["cost_id"])), category.slug
    # Only the categories no open value-set row prices yet have no cost rows.
    assert [c.slug for c in CATEGORIES if not c.cost_ids] == ["disability_health_support"]
