"""The standard SPO score: hand-checked arithmetic and the rules behind each component."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.errors import InvalidInputError
from matching.spo_score import Rubric, score_spo

START = date(2027, 4, 1)


def _commitment(**values: object) -> dict:
    row = {
        "activity_id": 1,
        "value_gbp": 20_000.0,
        "in_territory": True,
        "distance_m": 0.0,
        "need_score": 1.0,
        "funding_gap": 50_000.0,
        "annual_running_cost": 100_000.0,
        "status": "active",
        "closing_date": None,
        "themes": ["youth"],
        "people_reached_per_year": None,
        "evidence_links": [],
        "grant_count": 3,
    }
    row.update(values)
    return row


def test_a_strong_spo_scores_by_hand() -> None:
    result = score_spo(pd.DataFrame([_commitment()]), 1_000_000, contract_start=START)
    # committed 2 % of £1m = target -> 1; need 1; alignment exp(0) = 1;
    # evidence: no links, 3 grants -> 0.6; risk 0 -> 1.
    assert result.components == {
        "committed_value": 1.0,
        "need_reached": 1.0,
        "geographic_alignment": 1.0,
        "evidence_strength": 0.6,
        "delivery_risk": 1.0,
    }
    assert result.score == pytest.approx(100 * (0.25 + 0.25 + 0.20 + 0.15 * 0.6 + 0.15))
    assert result.rubric == "Dual Impact SPO rubric 2026.1"


def test_value_is_weighted_across_commitments() -> None:
    spo = pd.DataFrame(
        [
            _commitment(activity_id=1, value_gbp=30_000.0, need_score=1.0),
            _commitment(activity_id=2, value_gbp=10_000.0, need_score=0.2, in_territory=False),
        ]
    )
    result = score_spo(spo, 4_000_000, contract_start=START)
    assert result.components["committed_value"] == pytest.approx(0.5)  # 1 % of a 2 % target
    assert result.components["need_reached"] == pytest.approx(0.75 * 1.0 + 0.25 * 0.2)
    assert result.components["geographic_alignment"] == pytest.approx(0.75)
    assert (
        "1 commitment(s) outside the tender's territory" in result.reasons["geographic_alignment"]
    )


def test_delivery_risk_counts_overcommitment_closure_and_unknown_gaps() -> None:
    over = score_spo(
        pd.DataFrame([_commitment(value_gbp=30_000.0, funding_gap=10_000.0)]),
        1_000_000,
        contract_start=START,
    )
    assert over.components["delivery_risk"] == pytest.approx(1 - 2 / 3, abs=1e-4)
    closing = score_spo(
        pd.DataFrame([_commitment(status="at_risk", closing_date=date(2027, 1, 31))]),
        1_000_000,
        contract_start=START,
    )
    assert closing.components["delivery_risk"] == 0.0
    unknown = score_spo(
        pd.DataFrame([_commitment(funding_gap=np.nan)]), 1_000_000, contract_start=START
    )
    assert unknown.components["delivery_risk"] == 0.5


def test_the_same_spo_always_scores_the_same() -> None:
    spo = pd.DataFrame([_commitment(distance_m=4_000.0), _commitment(activity_id=2)])
    scores = {score_spo(spo, 2_500_000, contract_start=START).score for _ in range(3)}
    assert len(scores) == 1


def test_a_buyer_can_quote_another_rubric_version() -> None:
    rubric = Rubric(version="2027.1", target_share=0.04)
    result = score_spo(
        pd.DataFrame([_commitment()]), 1_000_000, contract_start=START, rubric=rubric
    )
    assert result.components["committed_value"] == pytest.approx(0.5)
    assert result.rubric.endswith("2027.1")


@pytest.mark.parametrize(
    ("rows", "contract", "message"),
    [
        ([], 1_000_000, "commits nothing"),
        ([_commitment(value_gbp=0.0)], 1_000_000, "worth more than £0"),
        ([_commitment()], 0, "contract value must be more than zero"),
    ],
)
def test_bad_spos_are_refused(rows: list, contract: float, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        score_spo(pd.DataFrame(rows), contract, contract_start=START)


def test_overcommitment_is_judged_per_activity_not_per_commitment() -> None:
    spo = pd.DataFrame(
        [
            _commitment(activity_id=1, value_gbp=30_000.0, funding_gap=40_000.0),
            _commitment(activity_id=1, value_gbp=30_000.0, funding_gap=40_000.0),
        ]
    )
    result = score_spo(spo, 3_000_000, contract_start=START)
    # £60k promised against a £40k gap: a third of it cannot be used.
    assert result.components["delivery_risk"] == pytest.approx(1 - 1 / 3, abs=1e-4)


def test_the_reasons_count_the_activities_with_nothing_recorded() -> None:
    spo = pd.DataFrame(
        [
            _commitment(activity_id=1, funding_gap=np.nan, people_reached_per_year=120),
            _commitment(
                activity_id=1, value_gbp=5_000.0, funding_gap=np.nan, people_reached_per_year=120
            ),
            _commitment(activity_id=2),
        ]
    )
    reasons = score_spo(spo, 2_500_000, contract_start=START).reasons
    assert (
        "no funding gap recorded for 1 of 2 activities, counted as half risk"
        in (reasons["delivery_risk"])
    )
    assert "no reach recorded for 1 of 2 activities" in reasons["evidence_strength"]
