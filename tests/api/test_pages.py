"""The web pages and map documents: public data only, safeguarding kept, downloads."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.api.helpers import (
    Accounts,
    World,
    scored_secret_bid,
    set_ineligible,
)

PUBLIC_PAGES = [
    "/",
    "/territory/E23000029",
    "/territory/E23000029?budget_gbp=5000&hours=50",
    "/community?territory=E23000029",
    "/maps/uk.html",
    "/maps/territory/E23000029.html",
    "/coverage/territories",
    "/coverage/areas?territory=E23000029",
    "/coverage/what-if?territory=E23000029",
    "/coverage/density?territory=E23000029&zoom=10",
    "/coverage/at-risk?territory=E23000029",
]


def _site(engine: Engine, accounts: Accounts, postcode_point: tuple[float, float]) -> None:
    """A supplier site for Acme (test data), so an awarded SPO can be drawn."""
    lon, lat = postcode_point
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO supplier_site (source_key, source, supplier_id, name, geom,
                    location_precision, territory_id)
                SELECT 'test:acme-oxford', 'test', :org, 'Oxford depot',
                       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'postcode', t.id
                FROM territory t WHERE t.code = 'E23000029'
                """
            ),
            {"org": accounts.organisations["supplier_a"], "lon": lon, "lat": lat},
        )


def test_pages_never_show_a_bid_before_award_and_show_the_winner_after(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    _site(engine, accounts, (-1.2299, 51.7437))
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    spo = scored_secret_bid(client, engine, lead, supplier, world.youth_club)
    for path in PUBLIC_PAGES:
        response = client.get(path, headers=supplier)  # even the bidder's own session
        assert response.status_code == 200, (path, response.text[:300])
        assert "SECRET" not in response.text and "→ Cowley" not in response.text, path
        if not path.startswith("/maps/"):  # maps show supplier sites, which are public
            assert "Acme" not in response.text, path
    summary = client.get("/coverage/territories").json()["rows"]
    tvp = next(r for r in summary if r["territory_code"] == "E23000029")
    assert tvp["backed_activities"] == 0 and tvp["committed_gbp"] == 0

    assert client.post(f"/spos/{spo}/award", headers=lead).status_code == 200
    page = client.get("/territory/E23000029").text
    assert "Acme Facilities Ltd" in page and "Cowley youth football" in page
    assert (
        "Acme Facilities Ltd → Cowley youth football: £3,000 committed"
        in client.get("/maps/territory/E23000029.html").text
    )
    tvp = next(
        r for r in client.get("/coverage/territories").json()["rows"]
        if r["territory_code"] == "E23000029"
    )  # fmt: skip
    assert tvp["backed_activities"] == 1 and tvp["committed_gbp"] == 3_000


def test_safeguarded_services_are_never_a_point_on_a_map(
    client: TestClient, world: World, engine: Engine
) -> None:
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM activity WHERE id = :id"),
            {"id": world.refuge},
        ).one()
    page = client.get("/maps/territory/E23000029.html").text
    assert "Women&#x27;s refuge" not in page and "Women's refuge" not in page
    for value in (lat, lon):  # neither the exact point nor its 6-decimal rounding
        assert repr(value) not in page and f"{value:.6f}" not in page
    assert "Safeguarded service(s) in this area" in page
    assert "Cowley youth football" in page  # an ordinary activity is drawn
    finder = client.get("/maps/finder.html?postcode=OX4%201YA").text
    assert repr(lat) not in finder and f"{lat:.6f}" not in finder


def test_coverage_downloads_carry_the_attribution(client: TestClient, world: World) -> None:
    response = client.get("/coverage/areas?territory=E23000029&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "Open Government Licence" in response.headers["x-attribution"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1_415 and {"code", "reach", "gap", "backed_in_reach"} <= set(rows[0])
    gaps = [float(r["gap_people"]) for r in rows]
    assert gaps == sorted(gaps, reverse=True)
    geojson = client.get("/coverage/areas?territory=E23000029&format=geojson&top=5").json()
    assert geojson["type"] == "FeatureCollection" and len(geojson["features"]) == 5
    assert geojson["features"][0]["geometry"]["type"] == "Point"
    what_if = client.get("/coverage/what-if?territory=E23000029&budget_gbp=10000").json()["rows"]
    assert all("lat" not in row and "x" not in row for row in what_if)
    assert client.get("/coverage/what-if?territory=E23000029&budget_gbp=0").status_code == 422


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/finder?postcode=ZZ99", 422, "postcode"),
        ("/territory/E23999999", 404, "No such territory"),
        ("/coverage/areas?territory=E23999999", 404, "unknown territory"),
        ("/coverage/density?resolution=12", 422, "resolution"),
    ],
)
def test_bad_requests_to_pages_say_what_is_wrong(
    client: TestClient, world: World, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status and message in response.text


def test_density_suppresses_small_counts_and_adds_hot_spots(
    client: TestClient, world: World
) -> None:
    rows = client.get("/coverage/density?territory=E23000029&resolution=9").json()["rows"]
    assert rows and all(r["suppressed"] and r["count"] is None for r in rows)  # 1-2 a cell
    assert all(r["committed_gbp"] is None for r in rows)
    national = client.get("/coverage/density?zoom=5&hot_spots=true").json()["rows"]
    assert {"z", "p", "spot", "h3"} <= set(national[0])
    sites = client.get("/coverage/density?layer=sites&format=csv")
    assert sites.status_code == 200 and sites.text.startswith("count,suppressed,h3")


TVP_TRUST = "/territories/E23000029/trust"


def _trust_states(engine: Engine, world: World) -> None:
    """The food bank found not eligible (so not trusted), the youth club verified by a
    community team at evidence level 3, shown at its registered office, with no recorded
    reach; the refuge as the world has it (eligible, listed)."""
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, "a test: no dual-impact programme named")
        conn.execute(
            text(
                "UPDATE activity SET verification = 'verified', evidence_level = 3,"
                " verified_at = now(), location_basis = 'registered_office',"
                " people_reached_per_year = NULL WHERE id = :id"
            ),
            {"id": world.youth_club},
        )


def test_the_territory_says_how_much_to_trust_its_map(
    client: TestClient, world: World, engine: Engine
) -> None:
    _trust_states(engine, world)
    figures = client.get(TVP_TRUST).json()
    assert figures["activities"] == 3 and figures["eligible"] == 2
    assert figures["verified"] == 1 and figures["registered_office"] == 1
    assert figures["share_eligible"] == pytest.approx(2 / 3)
    assert figures["with_reach_and_gap"] == 2  # the youth club's reach is not recorded
    eligible = "2 of 3 open activities (67%) are eligible dual-impact activities."
    verified = "1 of 3 open activities (33%) are verified by a community team."
    assert eligible in figures["summary"] and verified in figures["summary"]
    assert "Open Government Licence" in figures["attribution"]
    assert client.get("/territories/E23999999/trust").status_code == 404

    page = client.get("/territory/E23000029").text
    section = page.split('<section id="trust">')[1].split("</section>")[0]
    assert "How much to trust this map" in section
    assert eligible in section and verified in section
    # Coverage counts the two trusted activities, one of them with its reach assumed.
    assert "counts 2 trusted activities; for 1 of them no reach is recorded" in section
    assert "Open Government Licence" in page  # the data attribution is kept


def test_maps_pages_and_coverage_use_trusted_activities_unless_asked_for_all(
    client: TestClient, world: World, engine: Engine
) -> None:
    _trust_states(engine, world)

    def tvp(path: str) -> dict[str, float]:
        rows = client.get(path).json()["rows"]
        return next(r for r in rows if r["territory_code"] == "E23000029")

    trusted, every = tvp("/coverage/territories"), tvp("/coverage/territories?include=all")
    assert (trusted["activities"], trusted["capacities_assumed"]) == (2, 1)
    assert (every["activities"], every["capacities_assumed"]) == (3, 1)
    assert client.get("/territories/E23000029").json()["activities"] == 2
    assert client.get("/territories/E23000029?include=all").json()["activities"] == 3

    tvp_map = "/maps/territory/E23000029.html"
    drawn = client.get(tvp_map).text
    assert "Oxford city food bank" not in drawn
    # Each activity says how far it is verified, and where its point is.
    assert "Cowley youth football (verified, level 3 · registered office)" in drawn
    assert "verified by a community team (evidence level 3 of 5)" in drawn
    assert "its registered office (where it delivers is not known)" in drawn
    everything = client.get(tvp_map + "?include=all").text
    assert "Oxford city food bank (listed, not eligible)" in everything
    assert "not eligible: a test: no dual-impact programme named" in everything
    assert "faded: not trusted" in everything and "faded: not trusted" not in drawn

    assert "Trusted activities" in client.get("/maps/uk.html").text
    assert "Open activities (all)" in client.get("/maps/uk.html?include=all").text

    page = client.get("/territory/E23000029").text
    assert "counts 2 trusted activities" in page and "Include every listed activity" in page
    page_all = client.get("/territory/E23000029?include=all").text
    assert "counts 3 open activities" in page_all and "Show trusted activities only" in page_all
    assert f"{tvp_map}?include=all" in page_all  # the map frame follows the page
    assert "/maps/uk.html?include=all" in client.get("/?include=all").text
    assert client.get("/territory/E23000029?include=some").status_code == 422
