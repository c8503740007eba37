"""The two-step floating catchment (:func:`maps.coverage.access`) agrees with an independent
implementation, PySAL's ``access`` package, on one real territory (issue 14, part 8).

Same supply (each activity's capacity, people a year), demand (need-area population),
distances (EPSG:27700 metres, activity to need-area point, every pair from a full distance
matrix rather than our KD-tree) and decay. The decay conventions differ: ``access``'s
Gaussian is ``exp(-c²/2σ²)`` with one ``max_cost`` for every facility, whereas ours is
Dai's Gaussian shifted and rescaled to reach 0 at each activity's own radius ``d_j``. So the
cost handed to ``access`` is the distance over the activity's radius, ``c = d / d_j``, with
``max_cost = 1`` and our decay as its ``weight_fn``. An activity whose circle holds no
need-area point serves the nearest one with weight 1 (our rule): that pair's cost is 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from access import Access
from sqlalchemy import Engine

from maps import coverage, queries

THAMES_VALLEY = "E23000029"


def _independent(areas: pd.DataFrame, activities: pd.DataFrame) -> pd.Series:
    """Access per need area from ``access.Access.two_stage_fca``."""
    distance = np.hypot(
        areas["x"].to_numpy()[:, None] - activities["x"].to_numpy()[None, :],
        areas["y"].to_numpy()[:, None] - activities["y"].to_numpy()[None, :],
    )
    cost = distance / activities["radius_m"].to_numpy()[None, :]
    lonely = ~(cost <= 1.0).any(axis=0)
    cost[distance.argmin(axis=0)[lonely], np.flatnonzero(lonely)] = 0.0
    area, activity = np.nonzero(cost <= 1.0)
    costs = pd.DataFrame(
        {
            "origin": areas["code"].to_numpy()[area],
            "dest": activities["activity_id"].to_numpy()[activity],
            "cost": cost[area, activity],
        }
    )
    model = Access(
        demand_df=areas[["code", "population"]],
        demand_index="code",
        demand_value="population",
        supply_df=activities[["activity_id", "capacity"]],
        supply_index="activity_id",
        supply_value="capacity",
        cost_df=costs,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )

    def weight(c: np.ndarray) -> np.ndarray:
        return coverage.decay(np.asarray(c, dtype=float), np.ones_like(c, dtype=float))

    found = model.two_stage_fca(name="2sfca", weight_fn=weight, max_cost=1.0)
    return found["2sfca_capacity"].reindex(areas["code"]).fillna(0.0)


# access 1.1 calls DataFrame.set_index(inplace=True), deprecated in pandas (its warning only).
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_two_step_floating_catchment_agrees_with_pysal_access(demo_data: Engine) -> None:
    with demo_data.connect() as conn:
        every_area = queries.need_areas(conn)
        every_activity = queries.activities(conn, include_all=True)
    areas = every_area[every_area["territory_code"] == THAMES_VALLEY].reset_index(drop=True)
    activities = every_activity[every_activity["territory_code"] == THAMES_VALLEY].reset_index(
        drop=True
    )
    assert len(areas) > 1_000 and len(activities) > 20  # a real territory, not a toy
    ours = coverage.access(areas, activities)["access"].to_numpy()
    theirs = _independent(areas, activities).to_numpy()
    assert (ours > 0).sum() > 100  # many areas are served: the comparison means something
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    # Every place is counted once in both: population times access sums to the capacity.
    assert float(ours @ areas["population"].to_numpy()) == pytest.approx(
        float(activities["capacity"].sum())
    )
