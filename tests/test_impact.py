"""Secondary impact: arithmetic against hand calculations, uprating, value sets, validation.

The default open set is built from the real shared unit costs (no database needed); the
arithmetic is checked on tiny value sets whose numbers are known.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import DataFileError, InvalidInputError
from matching.impact import ActivityFacts, estimate, estimate_many
from matching.valueset import (
    AGENCY_GROUPS,
    ILLUSTRATIVE,
    Uprating,
    ValueSet,
    agency_group,
    load_value_set,
    make_value_set,
    open_value_set,
    price_year_start,
    write_value_set,
)
from registry.themes import CORE

TWO_PERCENT = Uprating(annual_rate=0.02, label="test rate")


def _costs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cost_id": ["T1", "S1"],
            "outcome": ["Police call-out", "Crime against the community"],
            "unit": ["per incident", "per crime"],
            "cost_gbp": [1000.0, 5000.0],
            "price_year": ["2023/24", "2023/24"],
            "cost_component": ["fiscal cost", "total economic and social cost"],
            "agency": ["Police", "society (all)"],
        }
    )


def _assumption(theme: str, cost: str, rates: tuple[float, float, float], **more: object) -> dict:
    row = {
        "theme": theme,
        "cost_id": cost,
        "rate_low": rates[0],
        "rate_central": rates[1],
        "rate_high": rates[2],
        "deadweight": 0.5,
        "attribution": 0.5,
        "cashable": True,
        "agency_group": "police",
    }
    return {**row, **more}


def _tiny(
    uprating: Uprating = TWO_PERCENT, extra: tuple[dict, ...] = (), cashable_society: bool = False
) -> ValueSet:
    """£1,000 police cost (youth) and £5,000 society cost (community_safety), 2023/24."""
    rows = [
        _assumption("youth", "T1", (0.05, 0.1, 0.2)),
        _assumption(
            "community_safety",
            "S1",
            (0.01, 0.02, 0.04),
            deadweight=0.25,
            cashable=cashable_society,
            agency_group="society",
        ),
        *extra,
    ]
    return make_value_set(
        name="tiny",
        version="1",
        attribution="test attribution",
        costs=_costs(),
        assumptions=pd.DataFrame(rows),
        uprating=uprating,
    )


def _club(themes: list[str], people: int | None = 100) -> ActivityFacts:
    return ActivityFacts(
        activity_id=12, name="Youth club", themes=themes, people_reached_per_year=people
    )


# --- arithmetic --------------------------------------------------------------------------


def test_line_matches_a_hand_calculation() -> None:
    result = estimate(_club(["youth"]), _tiny())

    # 100 people x 0.1 x (1 - 0.5) x 0.5 x £1,000 uprated 2 years at 2 % (x 1.0404).
    assert result.total.central == pytest.approx(2601.0)
    assert result.total.low == pytest.approx(1300.5)
    assert result.total.high == pytest.approx(5202.0)
    line = result.lines.iloc[0]
    assert line["unit_cost_gbp"] == 1000.0
    assert line["cost_price_year"] == "2023/24"
    assert line["unit_cost_uprated_gbp"] == pytest.approx(1040.4)
    assert result.price_year == "2025/26"
    assert "2.0%" in result.uprating
    assert result.value_set == "tiny 1"
    assert result.attribution == "test attribution"


def test_a_cost_claimed_by_two_themes_is_counted_once() -> None:
    extra = (_assumption("crime_prevention", "T1", (0.1, 0.2, 0.3)),)
    result = estimate(_club(["youth", "crime_prevention"]), _tiny(extra=extra))

    assert list(result.lines["cost_id"]) == ["T1"]
    assert result.lines.iloc[0]["rate_central"] == 0.2
    assert result.total.central == pytest.approx(100 * 0.2 * 0.5 * 0.5 * 1040.4)
    assert any("counted once" in note for note in result.notes)


# --- uprating ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "year"),
    [("2015/16", 2015), ("2013/14", 2013), ("2000", 2000), ("2003", 2003), ("c.2015", 2015)],
)
def test_price_years_start_their_financial_year(label: str, year: int) -> None:
    assert price_year_start(label) == year


@pytest.mark.parametrize("label", ["2015/17", "15/16", "about 2015", ""])
def test_unreadable_price_years_are_refused(label: str) -> None:
    with pytest.raises(InvalidInputError, match="price year"):
        price_year_start(label)


def test_two_percent_for_ten_years() -> None:
    assert TWO_PERCENT.factor(2015, 2025) == pytest.approx(1.02**10)


def test_a_deflator_table_overrides_the_rate() -> None:
    table = Uprating(deflator={2023: 100.0, 2025: 110.0}, label="buyer's deflator")
    result = estimate(_club(["youth"]), _tiny(uprating=table))

    assert result.lines.iloc[0]["unit_cost_uprated_gbp"] == pytest.approx(1100.0)
    assert result.total.central == pytest.approx(2500 * 1.1)
    assert "deflator" in result.uprating
    assert "buyer's deflator" in result.uprating


def test_a_deflator_table_must_cover_every_price_year() -> None:
    with pytest.raises(DataFileError, match=r"no index for year\(s\) \[2023\]"):
        _tiny(uprating=Uprating(deflator={2024: 100.0, 2025: 102.0}))


def test_an_uprating_needs_exactly_one_rule() -> None:
    with pytest.raises(InvalidInputError, match="exactly one"):
        Uprating()


# --- cashable and wider value ------------------------------------------------------------


def test_cashable_and_wider_value_are_kept_apart() -> None:
    result = estimate(_club(["youth", "community_safety"]), _tiny())

    # Society line: 100 x 0.02 x (1 - 0.25) x 0.5 x £5,000 x 1.0404.
    assert result.wider_value.central == pytest.approx(3901.5)
    assert result.cashable.central == pytest.approx(2601.0)
    assert set(result.by_agency) == {"police", "society"}
    for level in range(3):
        by_agency = sum(values[level] for values in result.by_agency.values())
        assert by_agency == pytest.approx(result.total[level])
        assert result.cashable[level] + result.wider_value[level] == pytest.approx(
            result.total[level]
        )
    assert not result.lines.loc[result.lines["agency_group"] == "society", "cashable"].any()


def test_a_society_wide_cost_can_never_be_cashable() -> None:
    with pytest.raises(DataFileError, match="never cashable"):
        _tiny(cashable_society=True)


@pytest.mark.parametrize(
    ("agency", "group"),
    [
        ("Police", "police"),
        ("NHS / Clinical Commissioning Group", "NHS"),
        ("Criminal Justice System / Court", "criminal justice"),
        ("Local Authority / Social Services", "council"),
        ("society (all)", "society"),
        ("DWP / JCP", "DWP/HMRC"),
        ("HM Revenue and Customs", "DWP/HMRC"),
        ("Prison / Young Offenders Institute", "criminal justice"),
        ("Police / Local authority", "police"),
        ("Multiple", None),
    ],
)
def test_agency_text_maps_to_a_group(agency: str, group: str | None) -> None:
    assert agency_group(agency) == group


# --- the open value set ------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_set(data_dir: Path) -> ValueSet:
    return open_value_set(data_dir)


def test_open_set_loads_the_shared_unit_costs(open_set: ValueSet) -> None:
    costs = open_set.costs.set_index("cost_id")
    assert costs.index.is_unique
    assert costs.loc["CR2.0.3", "cost_gbp"] == 415.0
    assert costs.loc["CR2.0.3", "price_year"] == "2008/09"
    assert costs.loc["CR2.0.3", "outcome"] == "Domestic violence - fiscal cost per incident: police"
    assert costs.loc["homicide-police-costs", "cost_gbp_uprated"] == pytest.approx(11960 * 1.02**10)
    assert open_set.price_year == "2025/26"
    assert "Open Government Licence" in open_set.attribution
    assert open_set.version.startswith("2025.1+costs.")


def test_every_default_assumption_names_a_real_cost(open_set: ValueSet) -> None:
    assumptions = open_set.assumptions
    assert set(assumptions["cost_id"]) <= set(open_set.costs["cost_id"])
    assert set(assumptions["theme"]) == set(CORE)
    assert set(assumptions["agency_group"]) <= set(AGENCY_GROUPS)
    assert open_set.assumptions_status == ILLUSTRATIVE


def test_a_real_estimate_is_labelled_illustrative(open_set: ValueSet) -> None:
    result = estimate(_club(["violence_against_women_and_girls"], people=40), open_set)

    assert set(result.lines["cost_id"]) == {f"CR2.0.{i}" for i in range(1, 6)}
    assert result.total.low < result.total.central < result.total.high
    assert result.wider_value.central == 0.0
    assert ILLUSTRATIVE in result.describe()
    assert "2.0%" in result.uprating


# --- a buyer's own value set -------------------------------------------------------------


def _write_buyer_set(folder: Path, cost: str = "2000", deadweight: str = "0.5") -> Path:
    folder.mkdir()
    meta = {
        "name": "Anytown",
        "version": "2025-06",
        "attribution": "Anytown Council's own unit costs",
        "price_base_year": 2025,
        "assumptions_status": "Anytown evaluation, 2024",
        "uprating": {"annual_rate": 0.02, "label": "Anytown finance team"},
    }
    (folder / "valueset.json").write_text(json.dumps(meta))
    (folder / "costs.csv").write_text(
        "cost_id,outcome,unit,cost_gbp,price_year,cost_component,agency\n"
        f"AT1,Night in emergency accommodation,per night,{cost},2024/25,fiscal cost,Council\n"
    )
    (folder / "assumptions.csv").write_text(
        "theme,cost_id,rate_low,rate_central,rate_high,deadweight,attribution,cashable,"
        "agency_group\n"
        f"homelessness,AT1,0.05,0.1,0.2,{deadweight},0.5,true,council\n"
    )
    return folder


def test_a_buyer_set_loads_and_its_numbers_are_used(tmp_path: Path) -> None:
    value_set = load_value_set(_write_buyer_set(tmp_path / "anytown"))
    result = estimate(_club(["homelessness"]), value_set)

    # 100 x 0.1 x 0.5 x 0.5 x £2,000 x 1.02.
    assert result.total.central == pytest.approx(5100.0)
    assert result.by_agency["council"].central == pytest.approx(5100.0)
    assert result.value_set == "Anytown 2025-06"
    assert result.assumptions_status == "Anytown evaluation, 2024"
    assert "Anytown finance team" in result.uprating


def test_write_then_load_gives_the_same_estimates(tmp_path: Path, open_set: ValueSet) -> None:
    write_value_set(open_set, tmp_path / "open")
    loaded = load_value_set(tmp_path / "open")
    activity = _club(list(CORE), people=250)

    assert loaded.label == open_set.label
    assert estimate(activity, loaded).total == pytest.approx(estimate(activity, open_set).total)


def test_a_deflator_survives_a_round_trip(tmp_path: Path) -> None:
    tiny = _tiny(uprating=Uprating(deflator={2023: 95.0, 2025: 100.0}, label="index"))
    write_value_set(tiny, tmp_path / "tiny")
    loaded = load_value_set(tmp_path / "tiny")

    assert loaded.uprating.deflator == {2023: 95.0, 2025: 100.0}
    assert estimate(_club(["youth"]), loaded).total.central == pytest.approx(2500 * 100 / 95)


@pytest.mark.parametrize(
    ("file", "edit", "problem"),
    [
        ("costs.csv", ("cost_gbp,", ""), "row 2 has 7 fields, the header has 6"),
        ("costs.csv", (",cost_gbp,", ",cost,"), "missing column(s): cost_gbp"),
        ("costs.csv", (",2000,", ",lots,"), "cost_gbp 'lots' is not a number"),
        ("costs.csv", ("2024/25", "2024-25"), "price_year '2024-25'"),
        ("assumptions.csv", ("homelessness,AT1", "homelessness,AT9"), "'AT9' is not in the costs"),
        ("assumptions.csv", (",0.5,0.5,", ",1.5,0.5,"), "deadweight 1.5 must be a share"),
        ("assumptions.csv", (",true,", ",maybe,"), "cashable 'maybe' is not true or false"),
        ("assumptions.csv", (",council\n", ",fire\n"), "agency_group 'fire'"),
        ("valueset.json", ('"version": "2025-06", ', ""), "missing key 'version'"),
        ("valueset.json", ('"annual_rate": 0.02', '"annual_rate": "two"'), "annual_rate"),
    ],
)
def test_a_malformed_buyer_set_names_the_problem(
    tmp_path: Path, file: str, edit: tuple[str, str], problem: str
) -> None:
    folder = _write_buyer_set(tmp_path / "anytown")
    path = folder / file
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))

    with pytest.raises(DataFileError) as raised:
        load_value_set(folder)
    assert raised.value.path == path
    assert any(problem in p for p in raised.value.problems)


# --- inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("people", [None, 0])
def test_no_people_reached_is_refused(people: int | None) -> None:
    with pytest.raises(InvalidInputError, match="activity 12 has no people reached per year"):
        estimate(_club(["youth"], people=people), _tiny())


def test_negative_people_reached_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="-5 people"):
        estimate(_club(["youth"], people=-5), _tiny())


def test_unknown_themes_are_noted_not_fatal() -> None:
    result = estimate(_club(["youth", "knitting"]), _tiny())

    assert result.total.central == pytest.approx(2601.0)
    assert "ignored unknown theme(s): knitting" in result.notes


def test_an_activity_with_no_covered_theme_has_no_lines() -> None:
    result = estimate(_club(["older_people"]), _tiny())

    assert result.lines.empty
    assert result.total == (0.0, 0.0, 0.0)
    assert result.by_agency == {}
    assert any("nothing estimated" in note for note in result.notes)


def test_estimate_many_summarises_each_activity() -> None:
    frame = pd.DataFrame(
        {
            "activity_id": [1, 2, 3],
            "name": ["Club", "Patrol", "Unknown reach"],
            "themes": [["youth"], "youth; community_safety", ["youth"]],
            "people_reached_per_year": [100, 100, None],
        }
    )
    summary = estimate_many(frame, _tiny()).set_index("activity_id")

    assert summary.loc[1, "total_central_gbp"] == pytest.approx(2601.0)
    assert summary.loc[2, "cashable_central_gbp"] == pytest.approx(2601.0)
    assert summary.loc[2, "wider_central_gbp"] == pytest.approx(3901.5)
    assert pd.isna(summary.loc[3, "total_central_gbp"])
    assert "no people reached per year" in summary.loc[3, "note"]
    assert (summary["price_year"] == "2025/26").all()
    assert summary["uprating"].str.contains("2.0%").all()
