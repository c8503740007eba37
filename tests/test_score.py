"""Scoring and ranking on hand-built fixtures where the right answer is known (pure)."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from geo.crs import from_bng, to_bng
from geo.errors import InvalidInputError
from matching.batch import recommend_batch
from matching.need import NeedIndex, served_need
from matching.profiles import STANDARD, WeightProfile
from matching.recommend import rank, unrecorded
from matching.score import explain, score

TODAY = date(2026, 11, 25)
ORIGIN_X, ORIGIN_Y = 470_000.0, 173_000.0  # Reading, on the British National Grid


def _need_areas() -> gpd.GeoDataFrame:
    """A deprived cluster west of the origin (decile 1) and an affluent one far east (10)."""
    xs = [469_000, 469_500, 469_200, 490_000, 490_500]
    ys = [173_000, 173_400, 172_600, 173_000, 173_500]
    lon, lat = from_bng(xs, ys)
    return gpd.GeoDataFrame(
        {"population": [1500, 1500, 1000, 1600, 1400], "uk_imd_decile": [1, 1, 1, 10, 10]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _activity(activity_id: int, name: str, x: float, y: float, **values: object) -> dict:
    lon, lat = from_bng([x], [y])
    row = {
        "activity_id": activity_id,
        "name": name,
        "origin": "your Reading site",
        "lon": float(lon[0]),
        "lat": float(lat[0]),
        "distance_m": float(np.hypot(x - ORIGIN_X, y - ORIGIN_Y)),
        "themes": ["youth"],
        "status": "active",
        "closing_date": None,
        "funding_gap": None,
        "annual_running_cost": None,
        "people_reached_per_year": None,
        "evidence_links": [],
        "grant_count": None,
        "last_award_year": None,
        "safeguarding": False,
        "service_radius_m": 1_500.0,
        "service_area": None,
        "eligibility": "eligible",
        "eligibility_categories": ["youth_diversion"],
        "eligibility_reason": None,
        "verification": "listed",
        "evidence_level": None,
        "fresh_on": date(2025, 12, 31),
        "located_at": "delivery",
        "delivery_site_count": 0,
    }
    row.update(values)
    return row


@pytest.fixture(scope="module")
def need() -> NeedIndex:
    return NeedIndex.from_frame(_need_areas())


def _candidates(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


NEAR_NEEDY_CLOSING = _activity(
    1,
    "Youth boxing",
    468_800,
    173_000,
    status="at_risk",
    closing_date=date(2027, 2, 20),
    funding_gap=18_000.0,
    annual_running_cost=40_000.0,
    people_reached_per_year=300,
    evidence_links=["https://example.org/report"],
    grant_count=3,
    last_award_year=2025,
)
FAR_AFFLUENT_FUNDED = _activity(
    2,
    "Golf academy",
    490_200,
    173_200,
    funding_gap=0.0,
    annual_running_cost=40_000.0,
    people_reached_per_year=300,
    evidence_links=["https://example.org/report"],
    grant_count=3,
)


def test_a_near_needy_closing_activity_outranks_a_far_affluent_funded_one(
    need: NeedIndex,
) -> None:
    ranked = rank(_candidates(FAR_AFFLUENT_FUNDED, NEAR_NEEDY_CLOSING), need, STANDARD, today=TODAY)
    assert ranked["name"].tolist() == ["Youth boxing", "Golf academy"]
    first, second = ranked.iloc[0], ranked.iloc[1]
    assert first["need"] == pytest.approx(1.0) and second["need"] == pytest.approx(0.0)
    assert first["urgency"] > second["urgency"] == 0.0
    assert first["proximity"] > second["proximity"]
    assert first["reason"].startswith("1.2 km from your Reading site")
    assert "serves areas in the UK's most-deprived 10%" in first["reason"]
    assert "closes in 3 months without £18k" in first["reason"]


def test_every_component_and_total_lie_between_zero_and_one(need: NeedIndex) -> None:
    rng = np.random.default_rng(3)
    rows = [
        _activity(
            i,
            f"A{i}",
            rng.uniform(460_000, 495_000),
            rng.uniform(165_000, 180_000),
            funding_gap=float(rng.uniform(0, 100_000)),
            annual_running_cost=float(rng.uniform(1, 50_000)),
            people_reached_per_year=int(rng.integers(0, 100_000)),
            grant_count=int(rng.integers(0, 9)),
            themes=[["youth"], [], ["arts_culture"]][i % 3],
            status="at_risk" if i % 4 == 0 else "active",
            closing_date=date(2026, 1 + i % 12, 1) if i % 4 == 0 else None,
        )
        for i in range(200)
    ]
    ranked = rank(_candidates(*rows), need, STANDARD, top=200, today=TODAY)
    values = ranked[["total", "proximity", "need", "urgency", "theme_fit", "capacity_evidence"]]
    assert ((values >= 0) & (values <= 1)).all().all()
    assert ranked["total"].is_monotonic_decreasing


@pytest.mark.parametrize(
    "component", ["proximity", "need", "urgency", "theme_fit", "capacity_evidence"]
)
def test_a_zero_weight_component_changes_nothing(need: NeedIndex, component: str) -> None:
    profile = STANDARD.with_weights(**{component: 0.0})
    base = _candidates(NEAR_NEEDY_CLOSING, FAR_AFFLUENT_FUNDED)
    changed = base.copy()
    if component == "proximity":
        changed["distance_m"] = changed["distance_m"] * 3
    elif component == "need":
        changed["service_radius_m"] = 50_000.0
    elif component == "urgency":
        changed["funding_gap"] = 0.0
        changed["status"] = "active"
    elif component == "theme_fit":
        changed["themes"] = [["arts_culture"], ["youth"]]
    else:
        changed["grant_count"] = 0
        changed["evidence_links"] = [[], []]
    one = rank(base, need, profile, today=TODAY).set_index("activity_id")["total"]
    two = rank(changed, need, profile, today=TODAY).set_index("activity_id")["total"]
    assert one.sort_index().tolist() == pytest.approx(two.sort_index().tolist())


def test_theme_fit_counts_the_outcomes_asked_for(need: NeedIndex) -> None:
    row = _activity(1, "Mixed", ORIGIN_X, ORIGIN_Y, themes=["youth", "mental_health"])
    scored = score(
        _candidates(row).assign(
            need_score=0.5, share_top10=0.0, share_top20=0.0, mean_uk_decile=5.0
        ),
        STANDARD,
        ["youth", "employability", "food_poverty", "mental_health"],
        TODAY,
    )
    assert scored["theme_fit"].iloc[0] == pytest.approx(0.5)
    reason = explain(
        scored.iloc[0], ["youth", "employability", "food_poverty", "mental_health"], TODAY
    )
    assert "matches youth, mental health (2 of 4 outcomes asked)" in reason


def test_asking_for_outcomes_ranks_only_activities_serving_one(need: NeedIndex) -> None:
    golf = dict(FAR_AFFLUENT_FUNDED, themes=["sport_physical_activity"])
    both = _candidates(NEAR_NEEDY_CLOSING, golf)
    ranked = rank(
        both, need, STANDARD, outcomes=["sport_physical_activity", "mental_health"], today=TODAY
    )
    assert ranked["name"].tolist() == ["Golf academy"]
    assert "none of the outcomes asked for" not in ranked["reason"].iloc[0]
    assert rank(both, need, STANDARD, outcomes=["mental_health"], today=TODAY).empty


def test_results_carry_their_trust_and_say_where_they_are_placed(need: NeedIndex) -> None:
    office = dict(
        NEAR_NEEDY_CLOSING, located_at="registered_office", verification="verified",
        evidence_level=3,
    )  # fmt: skip
    row = rank(_candidates(office), need, STANDARD, today=TODAY).iloc[0]
    assert row["reason"].startswith("1.2 km (its registered office) from your Reading site")
    assert (row["verification"], row["evidence_level"], row["eligibility"]) == (
        "verified",
        3,
        "eligible",
    )
    assert list(row["eligibility_categories"]) == ["youth_diversion"]


def test_an_unrecorded_gap_is_said_to_be_unrecorded(need: NeedIndex) -> None:
    unknown = dict(FAR_AFFLUENT_FUNDED, funding_gap=None, people_reached_per_year=None)
    ranked = rank(_candidates(unknown), need, STANDARD, today=TODAY)
    assert ranked["urgency"].iloc[0] == 0.0
    assert "funding gap not recorded (no urgency assumed)" in ranked["reason"].iloc[0]
    assert unrecorded(ranked) == {"funding_gap": 1, "people_reached_per_year": 1}


def test_without_an_origin_proximity_is_left_out_of_the_total(need: NeedIndex) -> None:
    row = dict(NEAR_NEEDY_CLOSING, distance_m=float("nan"), origin="")
    ranked = rank(_candidates(row), need, STANDARD, today=TODAY)
    assert np.isnan(ranked["proximity"].iloc[0])
    others = ["need", "urgency", "theme_fit", "capacity_evidence"]
    expected = sum(STANDARD.weights[c] * ranked[c].iloc[0] for c in others) / sum(
        STANDARD.weights[c] for c in others
    )
    assert ranked["total"].iloc[0] == pytest.approx(expected)
    assert " from " not in ranked["reason"].iloc[0]


def test_need_is_population_weighted_over_the_area_served(need: NeedIndex) -> None:
    # A radius reaching the three deprived areas (1,500 + 1,500 + 1,000 people, decile 1)...
    local = need.served(np.array([469_200.0]), np.array([173_000.0]), np.array([800.0]))
    assert local["served_population"].iloc[0] == 4_000
    assert local["need_score"].iloc[0] == pytest.approx(1.0)
    # ...and a polygon covering one deprived area (1,500) and one affluent (1,600).
    area = Polygon([(468_900, 172_900), (468_900, 173_100), (491_000, 173_100), (491_000, 172_900)])
    mixed = need.served(np.array([480_000.0]), np.array([173_000.0]), np.array([10.0]), [area])
    assert mixed["served_population"].iloc[0] == 3_100
    assert mixed["need_score"].iloc[0] == pytest.approx(1_500 / 3_100)
    # With nothing inside the radius, the nearest need area stands in.
    alone = need.served(np.array([500_000.0]), np.array([173_000.0]), np.array([10.0]))
    assert alone["need_areas"].iloc[0] == 1 and alone["mean_uk_decile"].iloc[0] == 10


@pytest.mark.parametrize(
    ("true_m", "banded_m"), [(120.0, 1_000.0), (1_234.0, 2_000.0), (2_000.0, 2_000.0)]
)
def test_safeguarded_activities_never_reveal_their_place(
    need: NeedIndex, true_m: float, banded_m: float
) -> None:
    refuge = dict(NEAR_NEEDY_CLOSING, safeguarding=True, distance_m=true_m)
    ranked = rank(_candidates(refuge), need, STANDARD, today=TODAY)
    row = ranked.iloc[0]
    assert row["distance_m"] == banded_m
    # Nothing derived from distance gives the true distance away.
    assert row["proximity"] == pytest.approx(np.exp(-banded_m / STANDARD.proximity_scale_m))
    assert np.isnan(row["lat"]) and np.isnan(row["lon"])
    assert row["reason"].startswith(f"within {banded_m / 1000:.1f} km from")


def test_each_activity_is_listed_once_from_its_best_site(need: NeedIndex) -> None:
    near = dict(NEAR_NEEDY_CLOSING, origin="your Reading site", distance_m=1_200.0)
    far = dict(NEAR_NEEDY_CLOSING, origin="your Swindon site", distance_m=20_000.0)
    ranked = rank(_candidates(far, near), need, STANDARD, today=TODAY)
    assert len(ranked) == 1 and ranked["origin"].iloc[0] == "your Reading site"


def test_excluded_activities_never_appear(need: NeedIndex) -> None:
    ranked = rank(
        _candidates(NEAR_NEEDY_CLOSING, FAR_AFFLUENT_FUNDED),
        need,
        STANDARD,
        exclude={1},
        today=TODAY,
    )
    assert ranked["activity_id"].tolist() == [2]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"need": -1.0}, "weights must be zero or more: need"),
        ({"need": 0.0}, "at least one weight must be more than zero"),
        ({"nearness": 1.0}, "unknown score component(s) nearness"),
    ],
)
def test_bad_profiles_are_refused(weights: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WeightProfile(name="x", version="1", weights=weights)


def test_top_must_be_positive(need: NeedIndex) -> None:
    with pytest.raises(InvalidInputError, match="top must be at least 1"):
        rank(_candidates(NEAR_NEEDY_CLOSING), need, STANDARD, top=0)


@pytest.mark.parametrize("outcomes", [[], ["arts_culture"]])
def test_the_batch_path_ranks_exactly_like_the_single_request_path(
    need: NeedIndex, outcomes: list[str]
) -> None:
    rng = np.random.default_rng(11)
    rows = [
        _activity(
            i,
            f"A{i}",
            rng.uniform(462_000, 478_000),
            rng.uniform(166_000, 180_000),
            funding_gap=float(rng.uniform(0, 30_000)),
            annual_running_cost=40_000.0,
            grant_count=int(rng.integers(0, 4)),
            themes=[["youth"], ["arts_culture"]][i % 2],
        )
        for i in range(300)
    ]
    activities = _candidates(*rows)
    single = rank(activities, need, STANDARD, outcomes=outcomes, top=10, today=TODAY)

    activities = activities.join(served_need(activities, need, 3_000.0))
    activities["x"], activities["y"] = to_bng(activities["lon"], activities["lat"])
    sites = pd.DataFrame({"site_id": [7], "x": [ORIGIN_X], "y": [ORIGIN_Y]})
    batch = recommend_batch(
        sites, activities, STANDARD, outcomes=outcomes, top=10, candidates_per_site=300, today=TODAY
    )
    assert batch["activity_id"].tolist() == single["activity_id"].tolist()
    assert len(batch) == 10
    assert batch["total"].to_numpy() == pytest.approx(single["total"].to_numpy())
