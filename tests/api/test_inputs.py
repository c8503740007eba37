"""Bad requests get a 4xx that says what is wrong — never a 500, never a half-write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import SECRET, Accounts, World, commitment, tender_body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b'{"title": "x"', 422),
        (b"[]", 422),
        (b'"a string"', 422),
        (b"", 422),
    ],
)
def test_malformed_json_is_refused(
    client: TestClient, accounts: Accounts, world: World, body: bytes, status: int
) -> None:
    headers = {**accounts.headers("tvp_lead"), "Content-Type": "application/json"}
    response = client.post("/tenders", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "change",
    [
        {"contract_value_gbp": "lots"},
        {"contract_value_gbp": -5},
        {"contract_value_gbp": float("inf")},
        {"social_value_weighting_pct": 250},
        {"territory_code": "XX"},
        {"bid_deadline": "next tuesday"},
        {"outcomes": "youth"},
        {"title": ""},
        {"title": "x" * 301},
        {"surprise": True},
        {"delivery_postcodes": ["NOT A POSTCODE"]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_wrong_types_and_values_give_422(
    client: TestClient, accounts: Accounts, world: World, change: dict[str, object]
) -> None:
    body = tender_body(**change)
    if "inf" in repr(change):
        content = str(body).replace("'", '"').replace("inf", "Infinity")
        response = client.post(
            "/tenders",
            content=content,
            headers={**accounts.headers("tvp_lead"), "Content-Type": "application/json"},
        )
    else:
        response = client.post("/tenders", json=body, headers=accounts.headers("tvp_lead"))
    assert response.status_code == 422, response.text
    assert client.get("/tenders").json()["tenders"] == []


def test_huge_bodies_are_refused_before_they_are_read(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    huge = b'{"title": "' + b"x" * 2_000_000 + b'"}'
    headers = {**accounts.headers("tvp_lead"), "Content-Type": "application/json"}
    response = client.post("/tenders", content=huge, headers=headers)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed
        yield b'{"title": "'
        for _ in range(40):
            yield b"x" * 50_000
        yield b'"}'

    streamed = client.post("/tenders", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    many = {"commitments": [commitment(world.youth_club)] * 101}
    tender = client.post(
        "/tenders", json=tender_body(), headers=accounts.headers("tvp_lead")
    ).json()["id"]
    too_many = client.post(
        f"/tenders/{tender}/spos", json=many, headers=accounts.headers("supplier_a")
    )
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/spos/0",
        "/spos/99999999999",
        "/spos/abc",
        "/activities/-1",
        "/tenders/1e3",
        "/activities?limit=100000",
        "/activities?bbox=1,2,3",
        "/activities?bbox=a,b,c,d",
        "/activities?bbox=2,50,1,51",
        "/activities/nearby?lat=48.8&lon=2.3",
        "/activities/nearby",
        "/activities/nearby?postcode=SW1A1AA&radius_km=5000",
        "/recommendations?postcode=ZZ99%209ZZ",
        "/recommendations?territory=E23999999",
        "/recommendations?postcode=OX1%201DP&outcomes=knitting",
        "/register?territory=nowhere",
        "/register/1/kpis?format=pdf",
        "/territories/E2300002",
    ],
)
def test_bad_reads_are_4xx_with_a_reason(client: TestClient, world: World, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert response.json()["detail"]


def test_tokens_must_be_valid_and_fresh(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    user = accounts.users["tvp_lead"]
    expired = jwt.encode(
        {"sub": str(user), "exp": datetime.now(UTC) - timedelta(minutes=1)},
        SECRET,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": str(user), "exp": datetime.now(UTC) + timedelta(minutes=5)},
        "a-guessed-key-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    for token, message in ((expired, "expired"), (forged, "not valid"), ("garbage", "not valid")):
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and message in response.json()["detail"]


def test_sign_in_with_the_password_flow(client: TestClient, accounts: Accounts) -> None:
    wrong = client.post("/token", data={"username": "tvp_lead@example.org", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong email or password"
    unknown = client.post("/token", data={"username": "who@example.org", "password": "nope"})
    assert unknown.json()["detail"] == wrong.json()["detail"]
    token = client.post(
        "/token",
        data={"username": "TVP_lead@example.org", "password": "correct horse battery staple"},
    ).json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 30 * 60
    me = client.get("/me", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert me["role"] == "buyer_lead" and me["organisation"]["territories"] == ["E23000029"]
