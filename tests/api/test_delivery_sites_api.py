"""Delivery sites over HTTP: read by anyone (safeguarded places withheld), changed by the
activity's stewards and its territory's community team, recorded in its history; places
that cannot be used are refused (422) with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts.users import create_organisation, create_user
from tests.api.helpers import MET, PASSWORD, TVP, Accounts, World

WEST_MIDLANDS = "E23000014"


@pytest.fixture(scope="module")
def cast(engine: Engine, accounts: Accounts) -> Accounts:
    """The API tests' cast and two community teams: Oxfordshire's (in Thames Valley) and
    London's (in the Met's territory)."""
    users, organisations = dict(accounts.users), dict(accounts.organisations)
    teams = {
        "community": ("Oxfordshire Community Foundation", TVP),
        "london_community": ("London Community Foundation", MET),
    }
    with engine.begin() as conn:
        for persona, (name, territory) in teams.items():
            organisations[persona] = create_organisation(
                conn, "community", name, territories=(territory,)
            )
            users[persona] = create_user(
                conn,
                f"{persona}@example.org",
                persona,
                PASSWORD,
                organisations[persona],
                "community",
            )
    return Accounts(users, organisations)


def _sites(client: TestClient, activity_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/activities/{activity_id}/sites")
    assert response.status_code == 200, response.text
    sites: list[dict[str, Any]] = response.json()["sites"]
    return sites


def _history(client: TestClient, cast: Accounts, activity_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/activities/{activity_id}/history", headers=cast.headers("provider"))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_a_site_is_added_read_and_removed_and_the_activity_follows_it(
    client: TestClient, cast: Accounts, world: World
) -> None:
    club = world.youth_club
    before = client.get(f"/activities/{club}").json()["properties"]
    assert (before["postcode"], before["located_at"], before["delivery_site_count"]) == (
        "OX4 1AA",
        "delivery",
        0,
    )
    response = client.post(
        f"/activities/{club}/sites",
        json={"postcode": "rg1 1aa", "label": "Reading hall", "address": "1 Hall Street"},
        headers=cast.headers("community"),
    )
    assert response.status_code == 201, response.text
    site = response.json()
    assert (site["postcode"], site["territory_code"], site["label"]) == (
        "RG1 1AA",
        TVP,
        "Reading hall",
    )
    assert site["lat"] == pytest.approx(51.4607, abs=1e-3)
    # Anyone can read it, and the activity is now read where it is delivered.
    assert [s["id"] for s in _sites(client, club)] == [site["id"]]
    placed = client.get(f"/activities/{club}").json()["properties"]
    assert (placed["postcode"], placed["located_at"], placed["delivery_site_count"]) == (
        "RG1 1AA",
        "delivery_site",
        1,
    )

    response = client.delete(
        f"/activities/{club}/sites/{site['id']}", headers=cast.headers("provider")
    )
    assert response.status_code == 200, response.text
    assert response.json()["removed"]["id"] == site["id"]
    assert _sites(client, club) == []
    assert client.get(f"/activities/{club}").json()["properties"] == before

    events = _history(client, cast, club)
    assert [(e["action"], e["actor"]) for e in events] == [
        ("add_delivery_site", "community"),
        ("remove_delivery_site", "provider"),
    ]
    assert events[0]["changes"]["delivery_site"][1]["postcode"] == "RG1 1AA"


# persona → whether they may change the sites of a Thames Valley activity run by "provider"
MAY_EDIT = {
    None: False,
    "provider": True,
    "other_provider": False,
    "tvp_lead": True,
    "tvp_evaluator": True,
    "met_lead": False,
    "supplier_a": False,
    "analyst": False,
    "community": True,
    "london_community": False,
    "admin": True,
}


def test_only_stewards_and_the_territorys_community_team_may_change_sites(
    client: TestClient, cast: Accounts, world: World
) -> None:
    club = world.youth_club
    for persona, allowed in MAY_EDIT.items():
        response = client.post(
            f"/activities/{club}/sites",
            json={"postcode": "OX4 4XP", "label": f"added by {persona}"},
            headers=cast.headers(persona),
        )
        expected = 201 if allowed else 401 if persona is None else 403
        assert response.status_code == expected, (persona, response.text)
    labels = [s["label"] for s in _sites(client, club)]
    assert labels == [f"added by {p}" for p, allowed in MAY_EDIT.items() if allowed]

    first = _sites(client, club)[0]["id"]
    for persona, allowed in MAY_EDIT.items():
        if not allowed:
            response = client.delete(
                f"/activities/{club}/sites/{first}", headers=cast.headers(persona)
            )
            assert response.status_code == (401 if persona is None else 403), persona
    assert len(_sites(client, club)) == sum(MAY_EDIT.values())


def test_a_team_cannot_place_an_activity_outside_its_territory(
    client: TestClient, cast: Accounts, world: World
) -> None:
    club = world.youth_club
    response = client.post(
        f"/activities/{club}/sites", json={"postcode": "B1 1AA"}, headers=cast.headers("community")
    )
    assert response.status_code == 403
    assert f"territory {WEST_MIDLANDS}" in response.json()["detail"]
    # Its own provider may say it delivers there too.
    response = client.post(
        f"/activities/{club}/sites", json={"postcode": "B1 1AA"}, headers=cast.headers("provider")
    )
    assert response.status_code == 201
    assert response.json()["territory_code"] == WEST_MIDLANDS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"postcode": "ZE9 9ZZ"}, "unknown postcode ZE9 9ZZ"),
        ({"lat": 50.3, "lon": -4.5}, "not in any of the 45 UK territories"),
        ({"lat": 48.85, "lon": 2.35}, "outside the UK"),
        ({}, "either a postcode or lon and lat"),
        ({"postcode": "OX4 1AA", "lat": 51.75, "lon": -1.24}, "not both"),
        ({"postcode": "OX4 1AA", "service_area": {"type": "Polygon"}}, "not valid GeoJSON"),
        (
            {"postcode": "OX4 1AA", "service_area": {"type": "LineString", "coordinates": []}},
            "must be a Polygon",
        ),
        ({"postcode": "OX4 1AA", "radius_km": 3}, "Extra inputs are not permitted"),
    ],
)
def test_a_place_that_cannot_be_used_is_refused_and_nothing_is_stored(
    client: TestClient, cast: Accounts, world: World, body: dict[str, Any], message: str
) -> None:
    club = world.youth_club
    response = client.post(f"/activities/{club}/sites", json=body, headers=cast.headers("provider"))
    assert response.status_code == 422
    assert message in response.text
    assert _sites(client, club) == []
    assert _history(client, cast, club) == []


def test_a_safeguarded_activitys_sites_are_shown_only_by_district(
    client: TestClient, cast: Accounts, world: World
) -> None:
    refuge = world.refuge
    area = {
        "type": "Polygon",
        "coordinates": [[[-1.25, 51.745], [-1.235, 51.745], [-1.235, 51.755], [-1.25, 51.745]]],
    }
    response = client.post(
        f"/activities/{refuge}/sites",
        json={"postcode": "OX4 1AA", "address": "12 Example Road", "service_area": area},
        headers=cast.headers("provider"),
    )
    assert response.status_code == 201, response.text
    for shown in (response.json(), *_sites(client, refuge)):
        assert shown["postcode"] == "OX4"
        assert (shown["lat"], shown["lon"], shown["address"], shown["service_area"]) == (
            None,
            None,
            None,
            None,
        )
    assert "OX4 1AA" not in client.get(f"/activities/{refuge}/sites").text
    feature = client.get(f"/activities/{refuge}").json()
    assert feature["geometry"] is None
    assert feature["properties"]["postcode"] == "OX4"


def test_unknown_activities_and_sites_are_not_found(
    client: TestClient, cast: Accounts, world: World
) -> None:
    assert client.get(f"/activities/{2**31 - 1}/sites").status_code == 404
    headers = cast.headers("provider")
    site = client.post(
        f"/activities/{world.youth_club}/sites", json={"postcode": "OX4 4XP"}, headers=headers
    ).json()
    assert (
        client.delete(
            f"/activities/{world.youth_club}/sites/{site['id'] + 1}", headers=headers
        ).status_code
        == 404
    )
    # A site is removed only through its own activity.
    assert (
        client.delete(f"/activities/{world.refuge}/sites/{site['id']}", headers=headers).status_code
        == 404
    )
    assert len(_sites(client, world.youth_club)) == 1
