"""The typed records of :mod:`procurement.records` name exactly the keys that the
procurement functions (and so the API) hand back."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts.users import get_user
from procurement import ocds, records
from procurement.lifecycle import commitment, find_spo
from tests.api.helpers import Accounts, World, close_bidding, tender_body
from tests.api.helpers import commitment as commitment_body


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _keys(record: Any) -> set[str]:
    """The keys a TypedDict declares."""
    return set(record.__required_keys__) | set(record.__optional_keys__)


def test_every_record_names_the_keys_it_carries(
    client: TestClient, engine: Engine, accounts: Accounts, world: World
) -> None:
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)
    body = {"summary": "Kit", "commitments": [commitment_body(world.youth_club)]}
    spo = _ok(client.post(f"/tenders/{tender['id']}/spos", json=body, headers=supplier), 201)
    _ok(client.post(f"/spos/{spo['id']}/submit", headers=supplier))
    close_bidding(engine, tender["id"])
    scored = _ok(client.post(f"/spos/{spo['id']}/score", json={}, headers=lead))
    awarded = _ok(client.post(f"/spos/{spo['id']}/award", headers=lead))
    commitment_id = awarded["commitments"][0]["id"]
    _ok(
        client.post(
            f"/commitments/{commitment_id}/deliveries",
            json={"money_paid_gbp": 500},
            headers=supplier,
        ),
        201,
    )

    assert set(tender) == _keys(records.TenderRecord)
    assert set(tender["delivery_locations"][0]) == _keys(records.TenderLocation)
    (listed,) = _ok(client.get("/tenders"))["tenders"]
    assert set(listed) == _keys(records.TenderSummary)
    assert set(awarded) == _keys(records.SpoRecord)
    assert set(awarded["commitments"][0]) == _keys(records.CommitmentRecord)
    assert set(scored["scoring"]) == _keys(records.ScoreResult)
    (spo_listed,) = _ok(client.get("/spos", headers=supplier))["spos"]
    assert set(spo_listed) == _keys(records.SpoSummary)
    (entry,) = _ok(client.get("/register"))["spos"]
    assert set(entry) == _keys(records.RegisterEntry)
    assert set(_ok(client.get("/register/ocds"))) == _keys(ocds.OcdsPackage)
    event = _ok(client.get(f"/spos/{spo['id']}/audit"))["events"][0]
    assert set(event) == _keys(records.AuditEventRecord)

    with engine.connect() as conn:
        user = get_user(conn, accounts.users["supplier_a"])
        assert set(find_spo(conn, spo["id"], user)) == _keys(records.SpoState)
        assert set(commitment(conn, commitment_id)) == _keys(records.CommitmentTerms)
