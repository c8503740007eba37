"""Coverage (2SFCA), gap index, what-if and H3 density on hand-built fixtures with known
answers (the functions are pure), and the what-if's cross-border case on the real data."""

from __future__ import annotations

import math

import h3.api.numpy_int as h3
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from geo.errors import InvalidInputError
from maps import coverage, density, report


def _areas(rows: list[tuple[str, float, float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["code", "x", "y", "population", "uk_imd_decile"]).assign(
        territory_code="T1"
    )


def _activities(rows: list[tuple[int, float, float, float, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["activity_id", "x", "y", "capacity", "radius_m", "backed"])


def test_decay_is_one_at_the_activity_and_zero_at_the_edge() -> None:
    weights = coverage.decay(np.array([0.0, 500.0, 1000.0, 1500.0]), np.full(4, 1000.0))
    half = (math.exp(-0.125) - math.exp(-0.5)) / (1 - math.exp(-0.5))
    assert weights == pytest.approx([1.0, half, 0.0, 0.0])


def test_one_activity_one_area_in_reach_one_out() -> None:
    areas = _areas([("A", 0, 0, 100, 1), ("B", 5_000, 0, 100, 1)])
    activities = _activities([(1, 0, 0, 40, 1_000, True)])
    out = coverage.area_coverage(areas, activities)
    # Step 1: 40 places over 100 residents within reach = 0.4 a head; step 2: A gets 0.4.
    assert out["access"].tolist() == pytest.approx([0.4, 0.0])
    # UK reference: 40 places over 200 people = 0.2, so A is at twice the average (reach 1).
    assert out["reach"].tolist() == pytest.approx([1.0, 0.0])
    # Both in the most deprived decile (need 1): B's whole population is the gap.
    assert out["gap"].tolist() == pytest.approx([0.0, 1.0])
    assert out["gap_people"].tolist() == pytest.approx([0.0, 100.0])
    assert out["backed_in_reach"].tolist() == [True, False]


def test_shared_catchments_split_capacity_and_conserve_it() -> None:
    areas = _areas([("A", 0, 0, 100, 5), ("B", 600, 0, 300, 5)])
    activities = _activities([(1, 0, 0, 50, 1_000, False), (2, 600, 0, 70, 1_000, False)])
    out = coverage.area_coverage(areas, activities)
    w = (math.exp(-0.5 * 0.6**2) - math.exp(-0.5)) / (1 - math.exp(-0.5))
    demand_1, demand_2 = 100 + 300 * w, 100 * w + 300
    assert out["access"].tolist() == pytest.approx(
        [50 / demand_1 + 70 * w / demand_2, 50 * w / demand_1 + 70 / demand_2]
    )
    # Every place is counted once: population times access sums to the total capacity.
    assert float((out["access"] * areas["population"]).sum()) == pytest.approx(120.0)


def test_a_catchment_with_no_area_point_serves_the_nearest_area() -> None:
    areas = _areas([("A", 0, 0, 100, 3), ("B", 10_000, 0, 100, 3)])
    activities = _activities([(1, 3_000, 0, 10, 500, False)])
    out = coverage.area_coverage(areas, activities)
    assert out["access"].tolist() == pytest.approx([0.1, 0.0])


def test_kd_tree_pairs_match_every_pairwise_distance() -> None:
    rng = np.random.default_rng(7)
    areas = _areas(
        [(f"A{i}", x, y, p, d) for i, (x, y, p, d) in enumerate(zip(
            rng.uniform(0, 20_000, 300), rng.uniform(0, 20_000, 300),
            rng.integers(100, 3_000, 300), rng.integers(1, 11, 300), strict=True))]
    )  # fmt: skip
    activities = _activities(
        [(j, x, y, c, r, bool(j % 2)) for j, (x, y, c, r) in enumerate(zip(
            rng.uniform(0, 20_000, 40), rng.uniform(0, 20_000, 40),
            rng.integers(10, 500, 40), rng.uniform(1_500, 4_000, 40), strict=True))]
    )  # fmt: skip
    got = coverage.access(areas, activities)
    # Naive oracle: the full distance matrix.
    d = np.hypot(areas["x"].to_numpy()[:, None] - activities["x"].to_numpy()[None, :],
                 areas["y"].to_numpy()[:, None] - activities["y"].to_numpy()[None, :])  # fmt: skip
    w = coverage.decay(d, np.broadcast_to(activities["radius_m"].to_numpy(), d.shape))
    demand = (areas["population"].to_numpy()[:, None] * w).sum(axis=0)
    assert (demand > 0).all()
    expected = (w * (activities["capacity"].to_numpy() / demand)).sum(axis=1)
    assert got["access"].to_numpy() == pytest.approx(expected)


def test_territory_summary_shares_and_value_per_head() -> None:
    areas = _areas([("A", 0, 0, 100, 1), ("B", 5_000, 0, 300, 2), ("C", 9_000, 0, 600, 9)])
    activities = _activities([(1, 0, 0, 40, 1_000, True)])
    out = coverage.area_coverage(areas, activities)
    value = pd.DataFrame({"territory_code": ["T1"], "committed_gbp": [5_000.0],
                          "delivered_gbp": [1_000.0]})  # fmt: skip
    (row,) = coverage.territory_summary(out, value).to_dict("records")
    assert row["population"] == 1_000 and row["deprived_population"] == 400
    assert row["deprived_backed_share"] == pytest.approx(100 / 400)
    assert row["committed_per_head"] == pytest.approx(5.0)
    assert row["committed_per_deprived_head"] == pytest.approx(12.5)
    assert row["delivered_per_deprived_head"] == pytest.approx(2.5)
    # A is fully reached (gap 0); B has need 8/9 and no reach; C has need 1/9, no reach.
    assert row["gap_index"] == pytest.approx((300 * 8 / 9 + 600 * 1 / 9) / 1_000)
    top = coverage.underserved(out, top=1)
    assert top["code"].tolist() == ["B"]


def test_what_if_puts_the_money_where_need_is_unreached() -> None:
    areas = _areas([("rich", 0, 0, 1_000, 10), ("poor", 20_000, 0, 1_000, 1)])
    activities = _activities(
        [(1, 0, 0, 100, 2_000, False), (2, 20_000, 0, 10, 2_000, False)]
    ).assign(cost_per_place=[100.0, 100.0], funding_gap=[np.nan, 500.0])
    a_ref = coverage.reference_access(areas, activities)
    covered = coverage.area_coverage(areas, activities, a_ref)
    ranked = coverage.what_if(covered, activities, 10_000.0, a_ref).set_index("activity_id")
    assert ranked.index.tolist()[0] == 2
    # The gap caps what activity 2 can use: £500 buys 5 places.
    assert ranked.loc[2, "extra_places"] == pytest.approx(5.0)
    assert ranked.loc[2, "money_gbp"] == pytest.approx(500.0)
    assert ranked.loc[1, "gap_closed"] == pytest.approx(0.0)


def test_what_if_buys_at_most_as_many_places_again_as_an_activity_has() -> None:
    """An uncapped budget (no funding gap recorded) no longer buys one school 2,000 places:
    an activity can at most double, and the money shown is what those places cost."""
    areas = _areas([("poor", 0, 0, 5_000, 1)])
    activities = _activities([(1, 0, 0, 100, 2_000, False)]).assign(
        cost_per_place=[250.0], funding_gap=[np.nan]
    )
    a_ref = 1.0  # far above this area's access: every new place counts
    covered = coverage.area_coverage(areas, activities, a_ref)
    (row,) = coverage.what_if(covered, activities, 500_000.0, a_ref).to_dict("records")
    assert row["extra_places"] == pytest.approx(100.0)
    assert row["money_gbp"] == pytest.approx(25_000.0)


def test_what_if_needs_the_national_access() -> None:
    areas = _areas([("A", 0, 0, 100, 1)])
    activities = _activities([(1, 0, 0, 10, 1_000, False)]).assign(
        cost_per_place=[100.0], funding_gap=[np.nan]
    )
    with pytest.raises(InvalidInputError, match="national access"):
        coverage.what_if(areas, activities, 1_000.0, 0.1)


def test_h3_counts_equal_the_raw_counts() -> None:
    rng = np.random.default_rng(3)
    points = pd.DataFrame(
        {
            "lat": rng.uniform(51.5, 51.9, 2_000),
            "lon": rng.uniform(-1.5, -1.0, 2_000),
            "backed": rng.random(2_000) < 0.3,
        }
    )
    for resolution in (6, 7, 8, 9):
        counts = density.density(points, resolution, sums=("backed",))
        assert counts["count"].sum() == len(points)
        assert counts["backed"].sum() == points["backed"].sum()
        pairs = zip(points["lat"], points["lon"], strict=True)
        by_hand = pd.Series([h3.latlng_to_cell(a, b, resolution) for a, b in pairs]).value_counts()
        assert dict(zip(counts["cell"].astype(np.uint64), counts["count"], strict=True)) == {
            np.uint64(k): v for k, v in by_hand.items()
        }


def test_small_public_counts_are_suppressed() -> None:
    counts = pd.DataFrame({"cell": [1, 2, 3], "count": [1, 2, 5]})
    shown = density.suppress(counts)
    assert shown["count"].tolist() == [None, None, 5]
    assert shown["suppressed"].tolist() == [True, True, False]


def test_hot_spots_find_a_real_cluster_and_are_repeatable() -> None:
    rng = np.random.default_rng(11)
    cluster = pd.DataFrame(
        {"lat": rng.normal(52.0, 0.01, 400), "lon": rng.normal(-1.0, 0.015, 400)}
    )
    noise = pd.DataFrame({"lat": rng.uniform(51.5, 52.5, 200), "lon": rng.uniform(-2.0, 0.0, 200)})
    counts = density.density(pd.concat([cluster, noise]), 7)
    first = density.hot_spots(counts)
    centre = h3.latlng_to_cell(52.0, -1.0, 7)
    assert first.set_index("cell").loc[np.int64(centre), "spot"] == "hot"
    assert first.equals(density.hot_spots(counts))


def test_the_report_counts_the_capacities_it_assumed() -> None:
    areas = _areas([("A", 0, 0, 100, 1), ("B", 5_000, 0, 300, 2)]).assign(
        name=["A", "B"], lon=[-1.2, -1.1], lat=[51.7, 51.7]
    )
    activities = _activities(
        [(1, 0, 0, 40, 1_000, False), (2, 5_000, 0, 100, 1_000, False),
         (3, 0, 0, 100, 1_000, False)]
    ).assign(
        capacity_assumed=[False, True, True], status="active", territory_code=["T1", "T1", "T2"],
        lon=-1.2, lat=51.7, service_radius_m=np.nan,
    )  # fmt: skip
    territories = pd.DataFrame({"code": ["T1", "T2"], "name": ["One", "Two"], "nation": "E"})
    value = pd.DataFrame(columns=["territory_code", "committed_gbp", "delivered_gbp"])
    found = report.compute(areas, activities, value, territories)
    assert found.capacities_assumed == 2 and not found.include_all
    counts = found.summary.set_index("territory_code")
    assert counts.loc["T1", "activities"] == 2 and counts.loc["T1", "capacities_assumed"] == 1
    assert counts.loc["T2", "capacities_assumed"] == 1


def test_an_area_served_from_across_the_border_gains_nothing_from_the_what_if(
    demo_data: Engine,
) -> None:
    """Real data: a need area at the UK average thanks to a neighbouring territory's
    activity is already in reach; money for its own territory's activities there brings
    nobody new within reach (the what-if measures change against national access)."""
    with demo_data.connect() as conn:
        found = report.build(conn, include_all=True)
    areas, activities = found.areas.reset_index(drop=True), found.activities
    pairs = coverage.catchment_pairs(areas, activities)
    home = activities["territory_code"].to_numpy()[pairs.activity]
    there = areas["territory_code"].to_numpy()[pairs.area]
    across = pd.DataFrame({"area": pairs.area, "across": home != there, "own": home == there})
    per_area = across.groupby("area")[["across", "own"]].any()
    served = areas.loc[per_area.index[per_area["across"] & per_area["own"]]]
    served = served[served["reach"] >= 1.0]
    border = None
    for i, area in served.iterrows():  # one its own territory alone would leave short
        own = activities["territory_code"] == area["territory_code"]
        alone = coverage.access(areas, activities[own])["access"].loc[i]
        if alone < found.a_ref:
            reaching = np.unique(pairs.activity[(pairs.area == i) & (home == there)])
            candidates = activities.iloc[reaching].assign(
                cost_per_place=lambda a: a["cost_per_place"].fillna(
                    report.DEFAULT_COST_PER_PLACE_GBP
                )
            )
            border = (area, candidates)
            break
    assert border is not None, "no border area served from across the border in the data"
    area, candidates = border
    # Need only at the border area (need weighs the gain, never access or demand), so the
    # gain counted is that area's alone.
    only_there = areas.assign(uk_imd_decile=np.where(areas.index == area.name, 1, 10))
    ranked = coverage.what_if(only_there, candidates, 10_000.0, found.a_ref)
    assert (ranked["extra_places"] > 0).all()
    assert ranked["gap_closed"].tolist() == pytest.approx([0.0] * len(candidates))
