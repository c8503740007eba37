"""Before award an SPO is seen only by its supplier and the tender's buyer — in every
list, search, GeoJSON, count and export; the buyer sees it only once bidding has closed
(sealed bids), and never a draft. After award only the winner is published."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Accounts, World, close_bidding, commitment, tender_body

OUTSIDERS = [None, "supplier_b", "met_lead", "provider", "other_provider"]
INSIDERS = ["supplier_a", "tvp_lead", "tvp_evaluator", "admin"]


def _bid(
    client: TestClient, accounts: Accounts, world: World, who: str, summary: str
) -> tuple[int, int]:
    lead = accounts.headers("tvp_lead")
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    spo = client.post(
        f"/tenders/{tender}/spos",
        json={"summary": summary, "commitments": [commitment(world.youth_club, 3_000)]},
        headers=accounts.headers(who),
    ).json()["id"]
    assert client.post(f"/spos/{spo}/submit", headers=accounts.headers(who)).status_code == 200
    return tender, spo


def _everything(
    client: TestClient, headers: dict[str, str], world: World, tender: int, spo: int
) -> dict[str, str]:
    """Every read endpoint's body, as text, for one reader."""
    paths = [
        "/spos",
        f"/spos?tender={tender}",
        "/spos?territory=E23000029",
        f"/tenders/{tender}/spos",
        "/activities?territory=E23000029",
        f"/activities/{world.youth_club}",
        "/activities/nearby?postcode=OX4%201AA&radius_km=3",
        "/register",
        "/register/ocds",
        "/register?territory=E23000029",
    ]
    return {path: client.get(path, headers=headers).text for path in paths}


def _backing(client: TestClient, headers: dict[str, str], world: World) -> int:
    feature = client.get(f"/activities/{world.youth_club}", headers=headers).json()
    return int(feature["properties"]["backed_by_spos"])


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_a_bid_before_award_is_invisible_to_outsiders(
    client: TestClient, accounts: Accounts, world: World, outsider: str | None
) -> None:
    tender, spo = _bid(client, accounts, world, "supplier_a", "SECRET-BID-TEXT")
    headers = accounts.headers(outsider)
    for path in (
        f"/spos/{spo}",
        f"/spos/{spo}/audit",
        f"/spos/{spo}/ledger",
        f"/register/{spo}/kpis",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, (outsider, path)
        assert "SECRET" not in response.text
    for path, body in _everything(client, headers, world, tender, spo).items():
        assert "SECRET-BID-TEXT" not in body and "Acme" not in body, (outsider, path)
    assert json.loads(_everything(client, headers, world, tender, spo)["/spos"])["spos"] == []
    # Counts do not give it away either.
    assert _backing(client, headers, world) == 0
    # Nor can an outsider act on it.
    for path in (f"/spos/{spo}/withdraw", f"/spos/{spo}/award", f"/spos/{spo}/score"):
        response = client.post(path, json={}, headers=headers)
        assert response.status_code in (401, 403, 404), (outsider, path)


@pytest.mark.parametrize("insider", INSIDERS)
def test_the_supplier_and_the_buyer_see_the_bid(
    client: TestClient, accounts: Accounts, world: World, insider: str
) -> None:
    tender, spo = _bid(client, accounts, world, "supplier_a", "SECRET-BID-TEXT")
    close_bidding(client, tender)
    headers = accounts.headers(insider)
    assert client.get(f"/spos/{spo}", headers=headers).json()["summary"] == "SECRET-BID-TEXT"
    assert [
        s["id"] for s in client.get(f"/tenders/{tender}/spos", headers=headers).json()["spos"]
    ] == [spo]
    assert _backing(client, headers, world) == 1
    assert client.get("/register", headers=headers).json()["spos"] == []  # not public yet


@pytest.mark.parametrize("buyer", ["tvp_lead", "tvp_evaluator", "analyst"])
def test_the_buyer_counts_sealed_bids_but_reads_none_before_the_deadline(
    client: TestClient, accounts: Accounts, world: World, buyer: str
) -> None:
    tender, spo = _bid(client, accounts, world, "supplier_a", "SECRET-BID-TEXT")
    draft = client.post(
        f"/tenders/{tender}/spos",
        json={"summary": "DRAFT-TEXT", "commitments": [commitment(world.youth_club, 1_000)]},
        headers=accounts.headers("supplier_b"),
    ).json()["id"]
    headers = accounts.headers(buyer)
    for path, body in _everything(client, headers, world, tender, spo).items():
        assert "SECRET-BID-TEXT" not in body and "Acme" not in body, (buyer, path)
    assert client.get(f"/spos/{spo}", headers=headers).status_code == 404
    assert _backing(client, headers, world) == 0
    if buyer != "analyst":
        assert client.get(f"/tenders/{tender}/bids", headers=headers).json()["bids_in"] == 1
        sealed = client.post(f"/spos/{spo}/score", json={}, headers=headers)
        assert sealed.status_code == 409
        assert "bids are sealed until" in sealed.json()["detail"]
        assert "evaluation opens then" in sealed.json()["detail"]
    # From the deadline on it reads the submitted bid, never the draft.
    close_bidding(client, tender)
    assert client.get(f"/spos/{spo}", headers=headers).json()["summary"] == "SECRET-BID-TEXT"
    assert client.get(f"/spos/{draft}", headers=headers).status_code == 404
    listed = client.get(f"/tenders/{tender}/spos", headers=headers).json()["spos"]
    assert [s["id"] for s in listed] == [spo]
    # Another buyer never learns the count.
    other = client.get(f"/tenders/{tender}/bids", headers=accounts.headers("met_lead"))
    assert other.status_code == 403


def test_after_award_the_winner_is_public_and_losers_never_are(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead = accounts.headers("tvp_lead")
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    ids = {}
    for who, summary in (("supplier_a", "WINNING-BID"), ("supplier_b", "LOSING-BID")):
        ids[who] = client.post(
            f"/tenders/{tender}/spos",
            json={"summary": summary, "commitments": [commitment(world.youth_club, 3_000)]},
            headers=accounts.headers(who),
        ).json()["id"]
        assert (
            client.post(f"/spos/{ids[who]}/submit", headers=accounts.headers(who)).status_code
            == 200
        )
    close_bidding(client, tender)
    for spo in ids.values():
        assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 200
    assert client.post(f"/spos/{ids['supplier_a']}/award", headers=lead).status_code == 200

    for reader in (None, "met_lead", "provider"):
        bodies = _everything(client, accounts.headers(reader), world, tender, ids["supplier_a"])
        assert "Acme" in bodies[f"/spos?tender={tender}"] and "Acme" in bodies["/register"]
        winner = client.get(f"/spos/{ids['supplier_a']}", headers=accounts.headers(reader))
        assert winner.json()["summary"] == "WINNING-BID"
        for path, body in bodies.items():
            assert "LOSING-BID" not in body and "Beta" not in body, (reader, path)
        assert (
            client.get(f"/spos/{ids['supplier_b']}", headers=accounts.headers(reader)).status_code
            == 404
        )
        assert _backing(client, accounts.headers(reader), world) == 1
    # The loser still sees its own bid, closed as not awarded.
    own = client.get(f"/spos/{ids['supplier_b']}", headers=accounts.headers("supplier_b")).json()
    assert own["status"] == "not_awarded"


def test_safeguarded_activities_never_show_their_place(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    feature = client.get(f"/activities/{world.refuge}").json()
    assert feature["geometry"] is None and feature["properties"]["postcode"] == "OX4"
    assert feature["properties"]["need_area_code"] is None
    near = client.get("/activities/nearby?postcode=OX4%203QJ&radius_km=2").json()
    (refuge,) = [f for f in near["features"] if f["id"] == world.refuge]
    assert refuge["geometry"] is None and refuge["properties"]["distance_m"] == 1_000
    listing = client.get("/activities?territory=E23000029").json()
    assert all(f["geometry"] is None for f in listing["features"] if f["id"] == world.refuge)
    ranked = client.get("/recommendations?postcode=OX4%203QJ&top=10").json()["recommendations"]
    (row,) = [r for r in ranked if r["activity_id"] == world.refuge]
    assert row["lat"] is None and row["distance_m"] >= 1_000
