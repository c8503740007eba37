"""The theme classifier and the safeguarding flag: documented rules, checked (pure)."""

from __future__ import annotations

import pandas as pd
import pytest

from registry.themes import CORE, VOCABULARY, classify, needs_safeguarding, parse_themes


@pytest.mark.parametrize(
    ("text", "themes"),
    [
        ("Youth club for young people on the estate", ["youth"]),
        ("Food bank: emergency food parcels", ["food_poverty"]),
        (
            "Women's Aid refuge for survivors of domestic abuse",
            ["violence_against_women_and_girls"],
        ),
        ("Counselling for anxiety and depression", ["mental_health"]),
        ("Rough sleeper outreach and night shelter", ["homelessness"]),
        ("Knife crime diversion with county lines mentoring", ["crime_prevention"]),
        ("Dementia cafe for older people", ["older_people"]),
        ("Employability skills and apprenticeships", ["employability"]),
        ("Alcohol and drug recovery", ["substance_misuse"]),
        ("A quiet garden", ["environment"]),
        ("", []),
    ],
)
def test_keyword_rules_assign_the_documented_themes(text: str, themes: list[str]) -> None:
    assert classify(pd.Series([text])).iloc[0] == themes


def test_themes_come_back_in_vocabulary_order_and_within_it() -> None:
    found = classify(pd.Series(["Sport and arts for young carers with mental health needs"]))
    themes = found.iloc[0]
    assert themes == sorted(themes, key=VOCABULARY.index)
    assert set(themes) <= set(VOCABULARY)
    assert {"youth", "mental_health"} <= set(themes) & CORE


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Fylde Coast Women\u2019s Aid", True),  # a curly apostrophe, as published
        ("Fylde Coast Women's Aid", True),
        ("Domestic abuse outreach", True),
        ("Safe house for survivors", True),
        ("Rape Crisis Tyneside", True),
        ("Youth football", False),
        (None, False),
    ],
)
def test_services_whose_place_must_stay_private_are_flagged(text: object, flagged: bool) -> None:
    assert bool(needs_safeguarding(pd.Series([text])).iloc[0]) is flagged


def test_theme_lists_accept_aliases_and_report_unknown_names() -> None:
    assert parse_themes("Youth; domestic_abuse, VAWG | mental-health") == (
        ["youth", "violence_against_women_and_girls", "mental_health"],
        [],
    )
    assert parse_themes("knitting;youth") == (["youth"], ["knitting"])
