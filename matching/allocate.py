"""Territory allocation: share suppliers' pledges among local activities as a linear program.

Each pledge (money, volunteer hours or in-kind support) is valued in pounds; volunteer hours
are converted at an explicit hourly value. A pledge may fund only activities within a
maximum distance of the pledging site, and only its nearest few hundred of them (a KD-tree
keeps the problem sparse). Every activity can absorb at most its funding gap.

The linear program chooses x[p, a], the pounds pledge p gives to activity a, to maximise the
need-weighted pounds delivered, sum(weight[a] * x[p, a]), subject to: no pledge gives more
than its value, no activity receives more than its gap, and at least a set share of each
pledge goes to activities in the supplier's own area. That last rule is soft: a slack
variable s[p] absorbs any shortfall at a steep price per pound, so the program is always
feasible and a pledge with too little nearby need is reported rather than rejected. The
objective is therefore impact - penalty * shortfall.

Only activities with a recorded funding gap take part (:func:`fundable`): no gap is ever
assumed, and how many were left out for want of one is reported.

The greedy baseline works over the same eligible pairs and rules the way a person with a
spreadsheet would: pledges in input order, each filling its own area first (highest need,
then nearest) and then its other activities, taking whatever gap is left. Comparing the two
shows what co-ordinating pledges across suppliers is worth.

Distances are Euclidean in metres on the British National Grid (EPSG:27700).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from geo.errors import InvalidInputError
from matching.valuation import HOUR_VALUE_GBP

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

KINDS = ("money", "hours", "in_kind")
PLEDGE_COLUMNS = ("pledge_id", "supplier_id", "kind", "amount", "x", "y")
ACTIVITY_COLUMNS = ("activity_id", "gap", "weight", "x", "y")
FLOW_COLUMNS = ("pledge_id", "supplier_id", "activity_id", "amount_gbp", "distance_m")

# Amounts below half a penny are solver noise, not decisions (pounds).
NOISE_GBP = 0.005

_NOTHING = "nothing to allocate: no pledge can reach an activity with a funding gap"
_GREEDY = "greedy: pledges in input order, own area first, then by need"


@dataclass(frozen=True)
class AllocationRules:
    """The rules every allocation follows; distances in metres (EPSG:27700), money in pounds.

    Attributes
    ----------
    max_distance_m
        A pledge may fund only activities within this distance of its site.
    own_area_m, own_area_share
        At least ``own_area_share`` of each pledge's value should reach activities within
        ``own_area_m`` of its site, so every supplier's own community sees some benefit.
    hour_value_gbp
        Pounds per volunteer hour.
    candidates_per_pledge
        Each pledge is linked only to this many nearest activities with a gap, keeping the LP
        sparse; both the own-area share and the greedy baseline see only these.
    shortfall_penalty
        Objective cost of each pound of own-area shortfall. Far above need weights (scores in
        [0, 1]), so the own-area share gives way only when nearby need cannot take it.
    """

    max_distance_m: float = 25_000.0
    own_area_m: float = 10_000.0
    own_area_share: float = 0.25
    hour_value_gbp: float = HOUR_VALUE_GBP
    candidates_per_pledge: int = 200
    shortfall_penalty: float = 1_000.0

    def __post_init__(self) -> None:
        positive = ("max_distance_m", "own_area_m", "hour_value_gbp", "shortfall_penalty")
        for name in positive:
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InvalidInputError(
                    f"AllocationRules.{name} must be more than zero, got {value}"
                )
        if not 0 <= self.own_area_share <= 1:
            raise InvalidInputError(
                f"AllocationRules.own_area_share must be between 0 and 1, got {self.own_area_share}"
            )
        whole = isinstance(self.candidates_per_pledge, int | np.integer)
        if not whole or self.candidates_per_pledge < 1:
            raise InvalidInputError(
                "AllocationRules.candidates_per_pledge must be a whole number of at least 1, "
                f"got {self.candidates_per_pledge}"
            )


@dataclass(frozen=True, eq=False)
class Fundable:
    """The activities an allocation may fund and those it leaves out.

    Attributes
    ----------
    activities
        The activities with a recorded funding gap above zero (pounds).
    gap_unrecorded
        How many were left out because no funding gap is recorded for them.
    no_gap
        How many were left out because their recorded gap is zero.
    """

    activities: pd.DataFrame
    gap_unrecorded: int
    no_gap: int


def fundable(activities: pd.DataFrame) -> Fundable:
    """Split ``activities`` (with ``funding_gap`` in pounds, NaN when unrecorded) into those
    an allocation can fund and counts of those it cannot."""
    gap = pd.to_numeric(activities["funding_gap"], errors="coerce")
    return Fundable(
        activities=activities[gap > 0].reset_index(drop=True),
        gap_unrecorded=int(gap.isna().sum()),
        no_gap=int((gap == 0).sum()),
    )


@dataclass(frozen=True, eq=False)
class Allocation:
    """An allocation of pledges to activities and how good it is.

    Attributes
    ----------
    flows
        One row per positive flow: pledge_id, supplier_id, activity_id, amount_gbp (pounds),
        distance_m (metres, EPSG:27700).
    impact
        Need-weighted pounds delivered, sum(weight * amount).
    shortfall_gbp
        Pounds by which pledges fall short of their own-area share, summed over pledges.
    objective
        impact - shortfall_penalty * shortfall_gbp: what the LP maximises.
    unallocated_gbp
        Pledged value (pounds) that reached no activity.
    method
        "lp" or "greedy".
    status
        The solver's message, or why nothing was solved.
    """

    flows: pd.DataFrame
    impact: float
    shortfall_gbp: float
    objective: float
    unallocated_gbp: float
    method: str
    status: str


@dataclass(frozen=True)
class _Pairs:
    """Eligible (pledge, activity) pairs by row position, sorted by pledge then distance.

    ``distance`` is in metres; ``own`` marks pairs inside the pledge's own area.
    """

    pledge: IntArray
    activity: IntArray
    distance: FloatArray
    own: BoolArray


@dataclass(frozen=True)
class _Problem:
    """Validated input as arrays: pledge values, activity gaps (pounds), weights, pairs."""

    value: FloatArray
    gap: FloatArray
    weight: FloatArray
    pairs: _Pairs


def allocate(
    pledges: pd.DataFrame, activities: pd.DataFrame, rules: AllocationRules = AllocationRules()
) -> Allocation:
    """Allocate pledges to activities optimally (linear program, HiGHS).

    Raises InvalidInputError for unusable input or if the solver fails.
    """
    problem = _prepare(pledges, activities, rules)
    if problem.pairs.pledge.size == 0:
        return _summarise(pledges, activities, problem, np.zeros(0), "lp", _NOTHING, rules)
    amounts, message = _solve_lp(problem, rules)
    return _summarise(pledges, activities, problem, amounts, "lp", message, rules)


def allocate_greedy(
    pledges: pd.DataFrame, activities: pd.DataFrame, rules: AllocationRules = AllocationRules()
) -> Allocation:
    """Allocate pledges one at a time, in input order: the baseline the LP is measured against.

    Each pledge first fills its own-area activities (highest weight, then nearest) up to its
    own-area share, then gives the rest of its value to its eligible activities by weight
    (ties: nearest), never beyond an activity's remaining gap.
    """
    problem = _prepare(pledges, activities, rules)
    if problem.pairs.pledge.size == 0:
        return _summarise(pledges, activities, problem, np.zeros(0), "greedy", _NOTHING, rules)
    amounts = _greedy_amounts(problem, rules)
    return _summarise(pledges, activities, problem, amounts, "greedy", _GREEDY, rules)


def compare(
    pledges: pd.DataFrame, activities: pd.DataFrame, rules: AllocationRules = AllocationRules()
) -> tuple[Allocation, Allocation]:
    """The LP and greedy allocations of the same input, in that order."""
    return allocate(pledges, activities, rules), allocate_greedy(pledges, activities, rules)


# --- input -------------------------------------------------------------------------------


def _prepare(pledges: pd.DataFrame, activities: pd.DataFrame, rules: AllocationRules) -> _Problem:
    """Validate both frames and find the eligible pairs."""
    value = _pledge_values(pledges, rules)
    gap, weight = _activity_numbers(activities)
    sites = _coordinates(pledges, "pledge")
    places = _coordinates(activities, "activity")
    return _Problem(value, gap, weight, _eligible_pairs(sites, places, gap, rules))


def _pledge_values(pledges: pd.DataFrame, rules: AllocationRules) -> FloatArray:
    """Each pledge's value in pounds: money and in-kind as given, hours at the hourly value."""
    _require_frame(pledges, "pledges", PLEDGE_COLUMNS, "pledge_id")
    ids = pledges["pledge_id"]
    kind = pledges["kind"]
    _reject_first(
        ~kind.isin(KINDS).to_numpy(),
        ids,
        "pledge",
        lambda i: f"has an unknown kind {kind.iloc[i]!r} (use one of: {', '.join(KINDS)})",
    )
    amount = _non_negative(pledges, "amount", "pledge")
    hours = (kind == "hours").to_numpy()
    return np.where(hours, amount * rules.hour_value_gbp, amount)


def _activity_numbers(activities: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Each activity's funding gap (pounds) and need weight."""
    _require_frame(activities, "activities", ACTIVITY_COLUMNS, "activity_id")
    gap = _non_negative(activities, "gap", "activity")
    weight = _non_negative(activities, "weight", "activity")
    return gap, weight


def _require_frame(
    frame: pd.DataFrame, name: str, columns: tuple[str, ...], id_column: str
) -> None:
    """Every required column present; ids present and unique."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{name} is missing column(s): {', '.join(missing)}")
    ids = frame[id_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InvalidInputError(f"{name} has a missing {id_column} (row {row})")
    duplicated = ids.duplicated()
    if duplicated.any():
        raise InvalidInputError(f"{name} has a duplicate {id_column}: {ids[duplicated].iloc[0]}")


def _numbers(frame: pd.DataFrame, column: str, label: str) -> FloatArray:
    """A column as finite floats; anything else is rejected, naming the row's id."""
    raw = frame[column]
    numbers = np.asarray(
        pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        dtype=np.float64,
    )
    _reject_first(
        ~np.isfinite(numbers),
        frame[f"{label}_id"],
        label,
        lambda i: f"has {column}={raw.iloc[i]!r}, which is not a finite number",
    )
    return numbers


def _non_negative(frame: pd.DataFrame, column: str, label: str) -> FloatArray:
    """A column as finite floats of zero or more (amounts, gaps and weights)."""
    numbers = _numbers(frame, column, label)
    _reject_first(
        numbers < 0,
        frame[f"{label}_id"],
        label,
        lambda i: f"has a negative {column} ({frame[column].iloc[i]})",
    )
    return numbers


def _coordinates(frame: pd.DataFrame, label: str) -> FloatArray:
    """(n, 2) easting/northing in metres, EPSG:27700."""
    return np.column_stack([_numbers(frame, "x", label), _numbers(frame, "y", label)])


def _reject_first(
    bad: BoolArray, ids: pd.Series, label: str, problem: Callable[[int], str]
) -> None:
    """Raise for the first bad row, naming its id and how many others share the problem."""
    rows = np.flatnonzero(bad)
    if rows.size:
        first = int(rows[0])
        more = f" (and {rows.size - 1} more)" if rows.size > 1 else ""
        raise InvalidInputError(f"{label} {ids.iloc[first]} {problem(first)}{more}")


# --- eligible pairs ----------------------------------------------------------------------


def _eligible_pairs(
    sites: FloatArray, places: FloatArray, gap: FloatArray, rules: AllocationRules
) -> _Pairs:
    """Each pledge's nearest activities with a gap, within the maximum distance.

    Activities with no gap are left out of the KD-tree so they take no candidate places.
    """
    open_rows = np.flatnonzero(gap > 0)
    k = min(rules.candidates_per_pledge, open_rows.size)
    if k == 0 or sites.shape[0] == 0:
        empty = np.zeros(0, dtype=np.intp)
        return _Pairs(empty, empty, np.zeros(0), np.zeros(0, dtype=bool))
    # The tree's upper bound is strict; nudge it so an activity exactly at the limit counts.
    bound = np.nextafter(rules.max_distance_m, np.inf)
    distance, index = cKDTree(places[open_rows]).query(sites, k=k, distance_upper_bound=bound)
    distance, index = distance.reshape(-1, k), index.reshape(-1, k)
    found = np.isfinite(distance) & (distance <= rules.max_distance_m)
    pledge = np.broadcast_to(np.arange(sites.shape[0])[:, None], found.shape)[found]
    activity = open_rows[index[found]]
    within = distance[found]
    return _Pairs(
        pledge.astype(np.intp), activity.astype(np.intp), within, within <= rules.own_area_m
    )


# --- solvers -----------------------------------------------------------------------------


def _solve_lp(problem: _Problem, rules: AllocationRules) -> tuple[FloatArray, str]:
    """Solve the LP; return pounds per pair (noise rounded to zero) and the solver's message.

    Variables are the pair flows followed by one own-area slack per pledge. Rows are, in
    order: pledge budgets, activity gaps (only activities some pledge can reach), and the
    own-area shares written as -(own flows) - slack <= -share * value.
    """
    value, pairs = problem.value, problem.pairs
    n_pairs, n_pledges = pairs.pledge.size, value.size
    reached, activity_row = np.unique(pairs.activity, return_inverse=True)
    n_reached = reached.size
    pair_cols = np.arange(n_pairs)
    own_cols = pair_cols[pairs.own]
    slack_cols = n_pairs + np.arange(n_pledges)
    share_row0 = n_pledges + n_reached
    rows = np.concatenate(
        [
            pairs.pledge,
            n_pledges + activity_row,
            share_row0 + pairs.pledge[pairs.own],
            share_row0 + np.arange(n_pledges),
        ]
    )
    cols = np.concatenate([pair_cols, pair_cols, own_cols, slack_cols])
    data = np.concatenate([np.ones(2 * n_pairs), -np.ones(own_cols.size), -np.ones(n_pledges)])
    matrix = sparse.coo_matrix(
        (data, (rows, cols)), shape=(share_row0 + n_pledges, n_pairs + n_pledges)
    ).tocsr()
    limits = np.concatenate([value, problem.gap[reached], -rules.own_area_share * value])
    penalties = np.full(n_pledges, rules.shortfall_penalty)
    costs = np.concatenate([-problem.weight[pairs.activity], penalties])
    result = linprog(
        costs, A_ub=matrix, b_ub=limits, bounds=_bounds(problem, rules), method="highs"
    )
    if result.status != 0 or result.x is None:
        raise InvalidInputError(f"the allocation LP could not be solved: {result.message}")
    return _denoise(np.asarray(result.x[:n_pairs], dtype=float)), str(result.message)


def _bounds(problem: _Problem, rules: AllocationRules) -> FloatArray:
    """(lower, upper) per variable: a flow never exceeds its pledge's value or its activity's
    gap, and a slack never exceeds its pledge's own-area target.

    The constraints imply these bounds; stating them lets the dual simplex flip variables
    between bounds cheaply, which makes large instances several times faster.
    """
    pairs = problem.pairs
    upper = np.concatenate(
        [
            np.minimum(problem.value[pairs.pledge], problem.gap[pairs.activity]),
            rules.own_area_share * problem.value,
        ]
    )
    return np.column_stack([np.zeros(upper.size), upper])


def _greedy_amounts(problem: _Problem, rules: AllocationRules) -> FloatArray:
    """Pounds per pair from the greedy rule; pledges are taken strictly in input order."""
    value, pairs = problem.value, problem.pairs
    order = np.lexsort((pairs.distance, -problem.weight[pairs.activity], pairs.pledge))
    bounds = np.searchsorted(pairs.pledge[order], np.arange(value.size + 1))
    remaining = problem.gap.copy()
    amounts = np.zeros(pairs.pledge.size)
    for p in range(value.size):
        block = order[bounds[p] : bounds[p + 1]]
        own = _fill(block[pairs.own[block]], rules.own_area_share * value[p], pairs, remaining)
        rest = _fill(block, value[p] - own.sum(), pairs, remaining)
        amounts[block[pairs.own[block]]] += own
        amounts[block] += rest
    return amounts


def _fill(block: IntArray, budget: float, pairs: _Pairs, remaining: FloatArray) -> FloatArray:
    """Pour ``budget`` pounds down ``block`` in order, each pair taking its activity's gap.

    Updates ``remaining`` (pounds of gap left per activity) in place. An activity appears at
    most once in a block, so the fill is a clipped running sum rather than a loop.
    """
    caps = remaining[pairs.activity[block]]
    before = np.cumsum(caps) - caps
    take = np.clip(budget - before, 0.0, caps)
    remaining[pairs.activity[block]] -= take
    return take


# --- output ------------------------------------------------------------------------------


def _summarise(
    pledges: pd.DataFrame,
    activities: pd.DataFrame,
    problem: _Problem,
    amounts: FloatArray,
    method: str,
    status: str,
    rules: AllocationRules,
) -> Allocation:
    """Flows and scores, computed the same way whichever method chose the amounts."""
    value, pairs = problem.value, problem.pairs
    impact = float(np.sum(problem.weight[pairs.activity] * amounts))
    own_given = np.bincount(pairs.pledge[pairs.own], amounts[pairs.own], minlength=value.size)
    shortfall = float(np.sum(_denoise(rules.own_area_share * value - own_given)))
    unallocated = float(np.sum(_denoise(value - np.bincount(pairs.pledge, amounts, value.size))))
    return Allocation(
        flows=_flows(pledges, activities, pairs, amounts),
        impact=impact,
        shortfall_gbp=shortfall,
        objective=impact - rules.shortfall_penalty * shortfall,
        unallocated_gbp=unallocated,
        method=method,
        status=status,
    )


def _denoise(pounds: FloatArray) -> FloatArray:
    """Pounds with amounts under half a penny (including negative noise) set to zero."""
    return np.where(pounds < NOISE_GBP, 0.0, pounds)


def _flows(
    pledges: pd.DataFrame, activities: pd.DataFrame, pairs: _Pairs, amounts: FloatArray
) -> pd.DataFrame:
    """The positive flows, keeping the id columns' dtypes."""
    keep = amounts > 0
    pledge, activity = pairs.pledge[keep], pairs.activity[keep]
    return pd.DataFrame(
        {
            "pledge_id": pledges["pledge_id"].take(pledge).reset_index(drop=True),
            "supplier_id": pledges["supplier_id"].take(pledge).reset_index(drop=True),
            "activity_id": activities["activity_id"].take(activity).reset_index(drop=True),
            "amount_gbp": amounts[keep],
            "distance_m": pairs.distance[keep],
        },
        columns=list(FLOW_COLUMNS),
    )
