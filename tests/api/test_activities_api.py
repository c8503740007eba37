"""Activities registered and updated through the API meet the import's rules."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.api.helpers import Accounts, World, set_ineligible


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM activity")).scalar_one())


NEW = {
    "name": "Blackbird Leys homework club",
    "description": "After-school homework club for young people",
    "postcode": "ox44xp",
    "funding_gap": 8_000,
    "people_reached_per_year": 60,
}


def test_a_provider_registers_its_activity_geocoded_like_an_import(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    provider = accounts.headers("provider")
    response = client.post("/activities", json=NEW, headers=provider)
    assert response.status_code == 201, response.text
    feature = response.json()
    assert feature["created"] is True
    props = feature["properties"]
    assert props["postcode"] == "OX4 4XP" and props["territory_code"] == "E23000029"
    assert props["provider_name"] == "Oxford Youth Trust"
    assert "youth" in props["themes"] and "education" in props["themes"]
    assert feature["geometry"]["type"] == "Point"

    again = client.post("/activities", json=NEW, headers=provider)
    assert again.status_code == 201 and again.json()["created"] is False
    assert again.json()["id"] == feature["id"]


def test_bad_records_are_refused_whole_naming_the_problem(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    before = _count(engine)
    provider = accounts.headers("provider")
    bad_postcode = client.post(
        "/activities", json={**NEW, "postcode": "OX99 9ZZ"}, headers=provider
    )
    assert bad_postcode.status_code == 422 and "postcode" in bad_postcode.json()["detail"]
    at_risk = client.post("/activities", json={**NEW, "status": "at_risk"}, headers=provider)
    assert at_risk.status_code == 422 and "closing_date" in at_risk.json()["detail"]
    abroad = client.post(
        "/activities", json={**NEW, "postcode": None, "lat": 48.85, "lon": 2.35}, headers=provider
    )
    assert abroad.status_code == 422
    assert _count(engine) == before


def test_stewards_update_their_own_activities_only(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    path = f"/activities/{world.youth_club}"
    refused = client.patch(
        path, json={"funding_gap": 1}, headers=accounts.headers("other_provider")
    )
    assert refused.status_code == 403 and "own provider" in refused.json()["detail"]
    no_date = client.patch(path, json={"status": "at_risk"}, headers=accounts.headers("provider"))
    assert no_date.status_code == 422 and "closing date" in no_date.json()["detail"]
    at_risk = client.patch(
        path,
        json={
            "status": "at_risk",
            "closing_date": "2027-03-31",
            "themes": ["youth", "sport_physical_activity"],
        },
        headers=accounts.headers("provider"),
    )
    assert at_risk.status_code == 200, at_risk.text
    props = at_risk.json()["properties"]
    assert props["status"] == "at_risk" and props["closing_date"] == "2027-03-31"
    assert props["themes"] == ["youth", "sport_physical_activity"]
    met = client.patch(
        f"/activities/{world.youth_club}",
        json={"funding_gap": 1},
        headers=accounts.headers("met_lead"),
    )
    assert met.status_code == 403


def test_a_buyer_connects_in_activities_only_in_its_territories(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    before = _count(engine)
    elsewhere = client.post(
        "/activities", json={**NEW, "postcode": "B1 1AA"}, headers=accounts.headers("tvp_lead")
    )
    assert elsewhere.status_code == 403 and "E23000014" in elsewhere.json()["detail"]
    assert _count(engine) == before
    here = client.post("/activities", json=NEW, headers=accounts.headers("tvp_evaluator"))
    assert here.status_code == 201


def test_nobody_takes_over_another_providers_activity_by_registering_it(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    clash = {"name": "Cowley youth football", "postcode": "OX4 1AA", "funding_gap": 1}
    response = client.post("/activities", json=clash, headers=accounts.headers("other_provider"))
    assert response.status_code == 403
    with engine.connect() as conn:
        gap = conn.execute(
            text("SELECT funding_gap FROM activity WHERE id = :id"), {"id": world.youth_club}
        ).scalar_one()
    assert gap == 10_000


def test_activity_listings_are_geojson_pages(client: TestClient, world: World) -> None:
    page = client.get("/activities?territory=E23000029&limit=2").json()
    assert page["type"] == "FeatureCollection" and page["numberMatched"] == 3
    assert page["numberReturned"] == 2 and "offset=2" in page["next"]
    rest = client.get(page["next"]).json()
    assert rest["numberReturned"] == 1 and rest["next"] is None
    boxed = client.get("/activities?bbox=-1.30,51.70,-1.20,51.80").json()
    assert {f["id"] for f in boxed["features"]} >= {world.youth_club, world.food_bank}
    assert client.get("/activities?theme=knitting").status_code == 422
    near = client.get("/activities/nearby?postcode=OX1%201DP&radius_km=1").json()
    assert near["features"][0]["id"] == world.food_bank
    assert near["features"][0]["properties"]["distance_m"] < 50
    assert "Open Government Licence" in near["attribution"]


TRUST = {
    "eligibility", "eligibility_categories", "eligibility_reason", "verification",
    "evidence_level", "located_at", "delivery_site_count", "fresh_on",
}  # fmt: skip


def test_activity_records_say_how_far_to_trust_them_and_lists_hold_trusted_ones(
    client: TestClient, world: World, engine: Engine
) -> None:
    with engine.begin() as conn:
        set_ineligible(conn, world.food_bank, "a test: no dual-impact programme named")
    listed = client.get("/activities?territory=E23000029").json()
    assert {f["id"] for f in listed["features"]} == {world.youth_club, world.refuge}
    every = client.get("/activities?territory=E23000029&include=all").json()
    assert every["numberMatched"] == 3
    by_id = {f["id"]: f["properties"] for f in every["features"]}
    for properties in by_id.values():
        assert properties.keys() >= TRUST
    club, food_bank = by_id[world.youth_club], by_id[world.food_bank]
    assert club["eligibility"] == "eligible" and club["verification"] == "listed"
    assert club["eligibility_categories"] == ["youth_diversion"]
    assert club["delivery_site_count"] == 0 and club["located_at"] == "delivery"
    assert food_bank["eligibility"] == "ineligible"
    assert food_bank["eligibility_reason"] == "a test: no dual-impact programme named"
    # Safeguarding still holds: the refuge says how far to trust it, but not where it is.
    refuge = next(f for f in every["features"] if f["id"] == world.refuge)
    assert refuge["geometry"] is None and refuge["properties"]["eligibility"] == "eligible"
    # Nearby lists trusted ones too; one activity asked for by id is shown in any state.
    near = client.get("/activities/nearby?postcode=OX1%201DP&radius_km=1").json()
    assert world.food_bank not in {f["id"] for f in near["features"]}
    near_all = client.get("/activities/nearby?postcode=OX1%201DP&radius_km=1&include=all")
    assert near_all.json()["features"][0]["id"] == world.food_bank
    one = client.get(f"/activities/{world.food_bank}").json()
    assert one["properties"]["eligibility"] == "ineligible"


def test_an_admin_sets_up_a_community_team_for_its_territory(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    admin = accounts.headers("admin")
    team = {
        "kind": "community",
        "name": "Oxford Community Foundation",
        "territories": ["E23000029"],
    }
    created = client.post("/organisations", json=team, headers=admin)
    assert created.status_code == 201, created.text
    person = {
        "email": "verifier@ocf.example.org",
        "name": "Verifier",
        "password": "a long enough test password",
        "organisation_id": created.json()["id"],
        "role": "community",
    }
    user = client.post("/users", json=person, headers=admin)
    assert user.status_code == 201, user.text
    with engine.connect() as conn:
        role = conn.execute(
            text("SELECT role FROM app_user WHERE id = :id"), {"id": user.json()["id"]}
        ).scalar_one()
    assert role == "community"
