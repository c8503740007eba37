"""Territory allocation (LP and greedy) on hand-built cases whose answer is known.

Pure: no database. Coordinates are metres on the British National Grid (EPSG:27700); the
hand-built cases sit on a line through an arbitrary origin so distances are easy to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import OptimizeResult

from geo.errors import InvalidInputError
from matching import allocate as allocate_module
from matching.allocate import (
    Allocation,
    AllocationRules,
    allocate,
    allocate_greedy,
    compare,
    fundable,
)
from matching.valuation import HOUR_VALUE_GBP

Allocator = Callable[[pd.DataFrame, pd.DataFrame, AllocationRules], Allocation]
METHODS = [pytest.param(allocate, id="lp"), pytest.param(allocate_greedy, id="greedy")]

# An arbitrary origin in England, so coordinates look like real grid references.
X0, Y0 = 450_000.0, 250_000.0
ONLY_DISTANCE = AllocationRules(own_area_share=0.0)


def pledges(*rows: tuple[object, str, float, float]) -> pd.DataFrame:
    """Pledges from (pledge_id, kind, amount, metres east of the origin); supplier S<id>."""
    return pd.DataFrame(
        {
            "pledge_id": [r[0] for r in rows],
            "supplier_id": [f"S{r[0]}" for r in rows],
            "kind": [r[1] for r in rows],
            "amount": [float(r[2]) for r in rows],
            "x": [X0 + r[3] for r in rows],
            "y": [Y0] * len(rows),
        },
        columns=["pledge_id", "supplier_id", "kind", "amount", "x", "y"],
    )


def activities(*rows: tuple[object, float, float, float]) -> pd.DataFrame:
    """Activities from (activity_id, gap in pounds, weight, metres east of the origin)."""
    return pd.DataFrame(
        {
            "activity_id": [r[0] for r in rows],
            "gap": [float(r[1]) for r in rows],
            "weight": [float(r[2]) for r in rows],
            "x": [X0 + r[3] for r in rows],
            "y": [Y0] * len(rows),
        },
        columns=["activity_id", "gap", "weight", "x", "y"],
    )


def random_instance(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 pledges over 200 activities in a 60 km square: some pairs are out of reach."""
    rng = np.random.default_rng(seed)
    n_p, n_a, side = 30, 200, 60_000.0
    kinds = rng.choice(["money", "hours", "in_kind"], n_p)
    amounts = np.where(kinds == "hours", rng.uniform(10, 400, n_p), rng.uniform(500, 20_000, n_p))
    plg = pd.DataFrame(
        {
            "pledge_id": np.arange(n_p),
            "supplier_id": rng.integers(0, 10, n_p),
            "kind": kinds,
            "amount": amounts,
            "x": X0 + rng.uniform(0, side, n_p),
            "y": Y0 + rng.uniform(0, side, n_p),
        }
    )
    act = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(n_a)],
            "gap": rng.uniform(0, 3_000, n_a) * (rng.uniform(size=n_a) > 0.1),
            "weight": rng.uniform(0, 1, n_a),
            "x": X0 + rng.uniform(0, side, n_a),
            "y": Y0 + rng.uniform(0, side, n_a),
        }
    )
    return plg, act


def flow(result: Allocation, pledge_id: object, activity_id: object) -> float:
    """Pounds from one pledge to one activity (0 if there is no flow)."""
    rows = result.flows[
        (result.flows["pledge_id"] == pledge_id) & (result.flows["activity_id"] == activity_id)
    ]
    return float(rows["amount_gbp"].sum())


def assert_feasible(
    result: Allocation, plg: pd.DataFrame, act: pd.DataFrame, rules: AllocationRules
) -> None:
    """Budgets, gaps and distances respected; the summary numbers agree with the flows."""
    flows = result.flows
    assert (flows["amount_gbp"] > 0).all()
    value = plg.set_index("pledge_id").apply(
        lambda r: r["amount"] * (rules.hour_value_gbp if r["kind"] == "hours" else 1.0), axis=1
    )
    given = flows.groupby("pledge_id")["amount_gbp"].sum()
    assert (given <= value.reindex(given.index) + 1e-6).all()
    received = flows.groupby("activity_id")["amount_gbp"].sum()
    gap = act.set_index("activity_id")["gap"]
    assert (received <= gap.reindex(received.index) + 1e-6).all()
    site = plg.set_index("pledge_id").loc[flows["pledge_id"], ["x", "y"]].to_numpy()
    place = act.set_index("activity_id").loc[flows["activity_id"], ["x", "y"]].to_numpy()
    distance = np.hypot(*(site - place).T)
    np.testing.assert_allclose(flows["distance_m"].to_numpy(), distance, atol=1e-6)
    assert (distance <= rules.max_distance_m).all()
    weight = act.set_index("activity_id").loc[flows["activity_id"], "weight"].to_numpy()
    assert result.impact == pytest.approx(float(np.sum(weight * flows["amount_gbp"])))
    unallocated = value.sum() - flows["amount_gbp"].sum()
    assert result.unallocated_gbp == pytest.approx(unallocated, abs=0.01 * len(plg))
    assert result.objective == pytest.approx(
        result.impact - rules.shortfall_penalty * result.shortfall_gbp
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(3))
def test_budgets_gaps_and_distances_respected(method: Allocator, seed: int) -> None:
    plg, act = random_instance(seed)
    rules = AllocationRules()
    result = method(plg, act, rules)
    assert len(result.flows) > 0
    assert_feasible(result, plg, act, rules)


@pytest.mark.parametrize("seed", range(5))
def test_lp_never_worse_than_greedy(seed: int) -> None:
    plg, act = random_instance(seed)
    lp, greedy = compare(plg, act, AllocationRules())
    assert (lp.method, greedy.method) == ("lp", "greedy")
    assert "Optimal" in lp.status
    assert lp.objective >= greedy.objective - 1e-6 * max(1.0, abs(greedy.objective))


def test_lp_beats_greedy_when_input_order_wastes_need() -> None:
    # A reaches both activities, B (west of it) only activity 1. Greedy lets A, first in
    # line, take the higher-need activity 1, leaving B nothing within reach.
    rules = AllocationRules(max_distance_m=5_000, own_area_share=0.0)
    plg = pledges(("A", "money", 100, 0), ("B", "money", 100, -3_000))
    act = activities((1, 100, 1.0, 1_000), (2, 100, 0.8, 3_000))
    lp, greedy = compare(plg, act, rules)
    assert greedy.impact == pytest.approx(100.0)
    assert flow(greedy, "A", 1) == pytest.approx(100.0)
    assert greedy.unallocated_gbp == pytest.approx(100.0)
    assert lp.impact == pytest.approx(180.0)
    assert flow(lp, "A", 2) == pytest.approx(100.0)
    assert flow(lp, "B", 1) == pytest.approx(100.0)
    assert lp.unallocated_gbp == pytest.approx(0.0)
    assert lp.objective > greedy.objective + 79


@pytest.mark.parametrize("method", METHODS)
def test_hours_are_valued_at_the_hourly_rate(method: Allocator) -> None:
    plg = pledges((1, "hours", 10, 0), (2, "in_kind", 50, 0))
    act = activities(("a", 10_000, 1.0, 500))
    result = method(plg, act, ONLY_DISTANCE)
    assert pytest.approx(12.21) == HOUR_VALUE_GBP
    assert flow(result, 1, "a") == pytest.approx(10 * 12.21)
    assert flow(result, 2, "a") == pytest.approx(50.0)
    custom = method(plg, act, AllocationRules(hour_value_gbp=20.0, own_area_share=0.0))
    assert flow(custom, 1, "a") == pytest.approx(200.0)


@pytest.mark.parametrize("method", METHODS)
def test_own_area_share_honoured_when_there_is_enough_local_need(method: Allocator) -> None:
    # The local activity (2 km) has low need, the distant one (15 km) high need: without the
    # rule everything would go 15 km away; with it a quarter stays local.
    plg = pledges((1, "money", 1_000, 0))
    act = activities(("near", 500, 0.1, 2_000), ("far", 1_000, 1.0, 15_000))
    result = method(plg, act, AllocationRules())
    assert result.shortfall_gbp == 0.0
    assert flow(result, 1, "near") == pytest.approx(250.0)
    assert flow(result, 1, "far") == pytest.approx(750.0)
    assert result.impact == pytest.approx(775.0)
    unconstrained = method(plg, act, ONLY_DISTANCE)
    assert flow(unconstrained, 1, "near") == pytest.approx(0.0)
    assert flow(unconstrained, 1, "far") == pytest.approx(1_000.0)


@pytest.mark.parametrize("method", METHODS)
def test_own_area_shortfall_reported_when_local_need_is_too_small(method: Allocator) -> None:
    plg = pledges((1, "money", 1_000, 0), (2, "money", 400, 30_000))
    act = activities(("near", 100, 0.1, 2_000), ("far", 2_000, 1.0, 15_000))
    rules = AllocationRules()
    result = method(plg, act, rules)
    assert_feasible(result, plg, act, rules)
    # Pledge 1 can place only 100 of its 250 locally; pledge 2 (15 km from "far", nothing
    # within 10 km) falls short by its whole target of 100.
    assert result.shortfall_gbp == pytest.approx(150.0 + 100.0)
    assert flow(result, 1, "near") == pytest.approx(100.0)
    assert flow(result, 1, "far") == pytest.approx(900.0)
    assert flow(result, 2, "far") == pytest.approx(400.0)
    assert result.impact == pytest.approx(10.0 + 900.0 + 400.0)
    assert result.objective == pytest.approx(1_310.0 - 1_000.0 * 250.0)


@pytest.mark.parametrize("method", METHODS)
def test_zero_gap_activity_is_never_funded(method: Allocator) -> None:
    plg = pledges((1, "money", 1_000, 0))
    act = activities(("full", 0, 1.0, 100), ("open", 300, 0.2, 5_000))
    result = method(plg, act, AllocationRules())
    assert "full" not in set(result.flows["activity_id"])
    assert flow(result, 1, "open") == pytest.approx(300.0)
    assert result.unallocated_gbp == pytest.approx(700.0)


@pytest.mark.parametrize("method", METHODS)
def test_activity_beyond_max_distance_is_never_funded(method: Allocator) -> None:
    plg = pledges((1, "money", 1_000, 0))
    act = activities(("edge", 100, 0.5, 25_000), ("beyond", 10_000, 1.0, 25_001))
    result = method(plg, act, ONLY_DISTANCE)
    assert set(result.flows["activity_id"]) == {"edge"}
    assert flow(result, 1, "edge") == pytest.approx(100.0)


@pytest.mark.parametrize("method", METHODS)
def test_each_pledge_reaches_only_its_nearest_candidates(method: Allocator) -> None:
    plg = pledges((1, "money", 1_000, 0))
    act = activities(("nearest", 100, 0.1, 1_000), ("next", 100, 1.0, 2_000))
    result = method(plg, act, AllocationRules(candidates_per_pledge=1))
    assert set(result.flows["activity_id"]) == {"nearest"}


@pytest.mark.parametrize("method", METHODS)
def test_empty_inputs_give_an_empty_allocation(method: Allocator) -> None:
    plg = pledges((1, "money", 1_000, 0))
    act = activities(("a", 100, 1.0, 0))
    no_pledges = method(plg.iloc[:0], act, AllocationRules())
    assert no_pledges.impact == 0.0
    assert no_pledges.flows.empty
    assert list(no_pledges.flows.columns) == [
        "pledge_id",
        "supplier_id",
        "activity_id",
        "amount_gbp",
        "distance_m",
    ]
    no_activities = method(plg, act.iloc[:0], AllocationRules())
    assert no_activities.impact == 0.0
    assert no_activities.flows.empty
    assert no_activities.unallocated_gbp == pytest.approx(1_000.0)


def _with(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    changed = frame.copy()
    changed[column] = changed[column].astype(object)
    changed.loc[changed.index[row], column] = value
    return changed


GOOD_PLEDGES = pledges((3, "money", 100, 0), (7, "hours", 5, 1_000))
GOOD_ACTIVITIES = activities(("a", 100, 0.5, 0), ("b", 100, 0.5, 1_000))


@pytest.mark.parametrize(
    ("plg", "act", "expected"),
    [
        pytest.param(
            _with(GOOD_PLEDGES, "amount", 1, -5),
            GOOD_ACTIVITIES,
            "pledge 7 has a negative amount (-5)",
            id="negative-amount",
        ),
        pytest.param(
            _with(GOOD_PLEDGES, "kind", 1, "cash"),
            GOOD_ACTIVITIES,
            "pledge 7 has an unknown kind 'cash'",
            id="unknown-kind",
        ),
        pytest.param(
            GOOD_PLEDGES.drop(columns="supplier_id"),
            GOOD_ACTIVITIES,
            "pledges is missing column(s): supplier_id",
            id="missing-pledge-column",
        ),
        pytest.param(
            GOOD_PLEDGES,
            GOOD_ACTIVITIES.drop(columns=["gap", "weight"]),
            "activities is missing column(s): gap, weight",
            id="missing-activity-columns",
        ),
        pytest.param(
            _with(GOOD_PLEDGES, "pledge_id", 1, 3),
            GOOD_ACTIVITIES,
            "pledges has a duplicate pledge_id: 3",
            id="duplicate-pledge",
        ),
        pytest.param(
            GOOD_PLEDGES,
            _with(GOOD_ACTIVITIES, "activity_id", 1, "a"),
            "activities has a duplicate activity_id: a",
            id="duplicate-activity",
        ),
        pytest.param(
            GOOD_PLEDGES,
            _with(GOOD_ACTIVITIES, "gap", 1, -1.5),
            "activity b has a negative gap (-1.5)",
            id="negative-gap",
        ),
        pytest.param(
            GOOD_PLEDGES,
            _with(GOOD_ACTIVITIES, "weight", 0, -0.1),
            "activity a has a negative weight (-0.1)",
            id="negative-weight",
        ),
        pytest.param(
            _with(GOOD_PLEDGES, "x", 0, np.nan),
            GOOD_ACTIVITIES,
            "pledge 3 has x=nan, which is not a finite number",
            id="nan-coordinate",
        ),
        pytest.param(
            GOOD_PLEDGES,
            _with(GOOD_ACTIVITIES, "y", 1, "north"),
            "activity b has y='north', which is not a finite number",
            id="text-coordinate",
        ),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_rejected_by_name(
    method: Allocator, plg: pd.DataFrame, act: pd.DataFrame, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        method(plg, act, AllocationRules())
    assert expected in str(raised.value)


def test_good_input_for_the_rejection_cases_is_accepted() -> None:
    assert allocate(GOOD_PLEDGES, GOOD_ACTIVITIES).impact > 0


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("max_distance_m", 0.0),
        ("own_area_m", -1.0),
        ("hour_value_gbp", 0.0),
        ("shortfall_penalty", float("nan")),
        ("own_area_share", 1.5),
        ("candidates_per_pledge", 0),
    ],
)
def test_invalid_rules_are_rejected_by_name(rule: str, value: Any) -> None:
    with pytest.raises(InvalidInputError, match=rule):
        AllocationRules(**{rule: value})


def test_solver_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> OptimizeResult:
        return OptimizeResult(status=4, x=None, message="numerical trouble (test)")

    monkeypatch.setattr(allocate_module, "linprog", failing)
    with pytest.raises(InvalidInputError, match=r"numerical trouble \(test\)"):
        allocate(GOOD_PLEDGES, GOOD_ACTIVITIES)


def test_only_recorded_gaps_are_fundable_and_the_rest_are_counted() -> None:
    found = fundable(
        pd.DataFrame(
            {"activity_id": [1, 2, 3, 4], "funding_gap": [5_000.0, None, 0.0, float("nan")]}
        )
    )
    assert found.activities["activity_id"].tolist() == [1]
    assert (found.gap_unrecorded, found.no_gap) == (2, 1)
