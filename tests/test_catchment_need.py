"""One catchment-need model: the SPO score a buyer sees, the finder and the coverage table
give the same activity the same need, from its territory's own profile and its drawn
service area, on the real need areas (issue 14, part 8)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from accounts.users import get_user
from boundaries import repository
from maps import report
from matching import near, queries
from matching.need import NeedIndex, served_need
from matching.profiles import STANDARD, WeightProfile
from procurement import spos
from procurement.visibility import Viewer
from tests.api.conftest import accounts, app, client, world  # noqa: F401 (fixtures)
from tests.api.helpers import TVP, Accounts, World, close_bidding, commitment, tender_body

PROFILE_RADIUS_M = 6_500.0  # the Thames Valley's own default radius in these tests


@pytest.fixture(scope="module")
def need(engine: Engine) -> NeedIndex:
    with engine.connect() as conn:
        return NeedIndex.from_frame(repository.need_areas(conn))


def test_need_is_the_population_weighted_mean_inside_the_drawn_area_or_circle() -> None:
    points = gpd.GeoDataFrame(
        {"population": [100.0, 300.0, 50.0], "uk_imd_decile": [1, 10, 5]},
        geometry=gpd.points_from_xy([-1.2, -1.199, -1.1], [51.75, 51.75, 51.75]),
        crs=4326,
    )
    index = NeedIndex.from_frame(points)
    circle = pd.DataFrame({"lon": [-1.2], "lat": [51.75], "service_radius_m": [float("nan")]})
    # Both first points within 1 km (the default given), the third 7 km away.
    assert served_need(circle, index, 1_000.0)["need_score"].iloc[0] == pytest.approx(100 / 400)
    # A drawn area holding only the first point wins over any radius.
    drawn = circle.assign(service_area=[shapely.box(-1.2005, 51.749, -1.1995, 51.751)])
    assert served_need(drawn, index, 50_000.0)["need_score"].iloc[0] == pytest.approx(1.0)


def _spo_need(
    conn: Connection, http: TestClient, cast: Accounts, need: NeedIndex, activity: int
) -> float:
    """The need the SPO score counts for one activity (an SPO committing to it alone)."""
    tender = http.post("/tenders", json=tender_body(), headers=cast.headers("tvp_lead"))
    assert tender.status_code == 201, tender.text
    made = http.post(
        f"/tenders/{tender.json()['id']}/spos",
        json={"summary": "Our SPO", "commitments": [commitment(activity)]},
        headers=cast.headers("supplier_a"),
    )
    assert made.status_code == 201, made.text
    spo = made.json()["id"]
    assert http.post(f"/spos/{spo}/submit", headers=cast.headers("supplier_a")).is_success
    close_bidding(http, tender.json()["id"])
    buyer = Viewer.of(get_user(conn, cast.users["tvp_lead"]))
    return spos.assess(conn, buyer, spo, need).components["need_reached"]


@pytest.mark.parametrize("drawn", [False, True], ids=["profile radius", "drawn area"])
def test_one_activity_has_one_catchment_need_everywhere(
    engine: Engine,
    client: TestClient,  # noqa: F811
    accounts: Accounts,  # noqa: F811
    world: World,  # noqa: F811
    need: NeedIndex,
    drawn: bool,
) -> None:
    activity = world.youth_club
    with engine.begin() as conn:
        own = WeightProfile(
            name="Thames Valley",
            version="1",
            weights=dict(STANDARD.weights),
            default_service_radius_m=PROFILE_RADIUS_M,
        )
        queries.save_profile(conn, TVP, own)
        if drawn:  # a drawn area east of the club, away from the circle's centre
            conn.execute(
                text(
                    "UPDATE activity SET service_area = ST_Multi(ST_MakeEnvelope("
                    "-1.215, 51.735, -1.17, 51.76, 4326)) WHERE id = :id"
                ),
                {"id": activity},
            )
    try:
        with engine.connect() as conn:
            placed = conn.execute(
                text("SELECT lon, lat FROM activity_placed WHERE id = :id"), {"id": activity}
            ).one()
            by_score = _spo_need(conn, client, accounts, need, activity)
            found = near.recommend(conn, need, territory=TVP, include_all=True, top=50)
            by_finder = found.ranked.set_index("activity_id").loc[activity, "need"]
            table = report.build(conn, include_all=True).activities.set_index("activity_id")
            by_coverage = table.loc[activity, "need_score"]
    finally:
        with engine.begin() as conn:
            queries.reset_profile(conn, TVP)
    assert by_score == pytest.approx(by_finder, abs=1e-4)
    assert by_coverage == pytest.approx(by_finder, abs=1e-9)
    # The figure really depends on the profile's radius or the drawn area (so the test
    # would catch a path that used the standard 3 km circle).
    standard = pd.DataFrame(
        {"lon": [placed.lon], "lat": [placed.lat], "service_radius_m": [float("nan")]}
    )
    three_km = served_need(standard, need, STANDARD.default_service_radius_m)["need_score"]
    assert by_finder != pytest.approx(float(three_km.iloc[0]), abs=1e-3)


def test_the_what_if_heading_names_the_amount_its_table_was_ranked_for(
    client: TestClient,  # noqa: F811
) -> None:
    """A refused budget (£0) falls back to the £10,000 ranking: the heading says so."""
    page = client.get("/territory/E23000029?budget_gbp=0")
    assert page.status_code == 422
    assert "Where would the next £10,000 do most good?" in page.text
    assert "next £0" not in page.text
