"""The SPO lifecycle end to end through HTTP, and the rules at each step."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.api.helpers import MET, Accounts, World, close_bidding, commitment, tender_body


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _submitted_spo(
    client: TestClient,
    accounts: Accounts,
    world: World,
    who: str = "supplier_a",
    tender: int | None = None,
    quantity: float = 4_000,
) -> tuple[int, int]:
    """A submitted SPO, its tender's bidding then closed (the buyer may read and score it)."""
    if tender is None:
        tender = _ok(
            client.post("/tenders", json=tender_body(), headers=accounts.headers("tvp_lead")), 201
        )["id"]
    spo = _ok(
        client.post(
            f"/tenders/{tender}/spos",
            json={"summary": "Our SPO", "commitments": [commitment(world.youth_club, quantity)]},
            headers=accounts.headers(who),
        ),
        201,
    )["id"]
    _ok(client.post(f"/spos/{spo}/submit", headers=accounts.headers(who)))
    close_bidding(client, tender)
    return tender, spo


def test_the_whole_lifecycle_through_http(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead, supplier, provider = (accounts.headers(p) for p in ("tvp_lead", "supplier_a", "provider"))
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)
    assert tender["ocid"] == f"ocds-dualimpact-{tender['id']}"
    assert tender["delivery_locations"][0]["label"] == "OX4 1YA"

    # Recommendations are offered while drafting, ranked against the tender's outcomes.
    offered = _ok(client.get(f"/tenders/{tender['id']}/recommendations?postcode=OX4 1AA&top=5"))
    assert {r["activity_id"] for r in offered["recommendations"]} >= {world.youth_club}
    assert offered["outcomes"] == ["youth", "food_poverty"]

    body = {"summary": "Kit and coaching", "commitments": [commitment(world.youth_club, 4_000)]}
    spo = _ok(client.post(f"/tenders/{tender['id']}/spos", json=body, headers=supplier), 201)
    assert spo["status"] == "draft" and spo["next_states"] == ["submitted", "withdrawn", "lapsed"]
    assert _ok(client.post(f"/spos/{spo['id']}/submit", headers=supplier))["status"] == "submitted"

    close_bidding(client, tender["id"])
    scored = _ok(
        client.post(f"/spos/{spo['id']}/score", json={}, headers=accounts.headers("tvp_evaluator"))
    )
    assert scored["status"] == "scored" and 0 < scored["scoring"]["score"] <= 100
    assert scored["scoring"]["reasons"]

    awarded = _ok(client.post(f"/spos/{spo['id']}/award", headers=lead))
    assert awarded["status"] == "awarded"

    # Public from award on: anyone reads it in the register, with what it promised.
    (entry,) = _ok(client.get("/register?territory=E23000029"))["spos"]
    assert entry["spo_id"] == spo["id"] and entry["committed_gbp"] == 4_000
    assert entry["supplier"] == "Acme Facilities Ltd" and entry["delivered_gbp"] == 0

    # Delivery is two-sided: claimed, confirmed by the provider, signed off by the buyer.
    commitment_id = awarded["commitments"][0]["id"]
    claim = _ok(
        client.post(
            f"/commitments/{commitment_id}/deliveries",
            json={
                "money_paid_gbp": 1_500,
                "people_reached": 40,
                "evidence_links": ["https://example.org/receipt/1"],
            },
            headers=supplier,
        ),
        201,
    )
    assert _ok(client.get("/register"))["spos"][0]["delivered_gbp"] == 0  # not yet confirmed
    assert _ok(client.get("/register"))["spos"][0]["claimed_gbp"] == 1_500
    _ok(
        client.post(
            f"/deliveries/{claim['delivery']}/confirm",
            json={"note": "Received, thanks"},
            headers=provider,
        )
    )
    _ok(client.post(f"/deliveries/{claim['delivery']}/sign-off", headers=lead))
    entry = _ok(client.get("/register"))["spos"][0]
    assert entry["status"] == "delivering" and entry["delivered_gbp"] == 1_500
    assert entry["people_reached"] == 40

    # Procurement Act KPIs, as JSON and CSV; the register as OCDS.
    (kpi,) = _ok(client.get(f"/register/{spo['id']}/kpis"))["kpis"]
    assert (
        kpi["target"] == 4_000 and kpi["delivered_confirmed"] == 1_500 and kpi["progress"] == 0.375
    )
    response = client.get(f"/register/{spo['id']}/kpis?format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(response.text))
    assert float(row["delivered_confirmed"]) == 1_500 and row["unit"] == "GBP"
    (release,) = _ok(client.get("/register/ocds"))["releases"]
    assert release["ocid"] == tender["ocid"] and release["tag"] == ["award", "contract"]
    assert release["socialPurchaseOrder"]["deliveredValue"]["amount"] == 1_500

    assert _ok(client.post(f"/spos/{spo['id']}/complete", headers=lead))["status"] == "completed"

    # Every step is in the hash-chained audit trail, readable by anyone now it is public.
    trail = _ok(client.get(f"/spos/{spo['id']}/audit"))
    assert trail["verified"] is True
    assert [e["action"] for e in trail["events"]] == [
        "drafted",
        "submitted",
        "scored",
        "awarded",
        "delivery started",
        "delivery claimed",
        "delivery confirmed by provider",
        "delivery signed off",
        "completed",
    ]
    assert [(e["from_state"], e["to_state"]) for e in trail["events"] if e["to_state"]][-1] == (
        "delivering",
        "completed",
    )


def test_illegal_transitions_answer_409_with_the_reason(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    body = {"commitments": [commitment(world.youth_club)]}
    spo = _ok(client.post(f"/tenders/{tender}/spos", json=body, headers=supplier), 201)["id"]

    # The buyer never sees a draft: acting on one finds nothing.
    assert client.post(f"/spos/{spo}/award", headers=lead).status_code == 404
    assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 404

    _ok(client.post(f"/spos/{spo}/submit", headers=supplier))
    close_bidding(client, tender)
    response = client.post(f"/spos/{spo}/award", headers=lead)
    assert response.status_code == 409
    assert "is submitted: it cannot become awarded" in response.json()["detail"]
    again = client.post(f"/spos/{spo}/submit", headers=supplier)
    assert again.status_code == 409 and "submitted" in again.json()["detail"]
    edit = client.put(f"/spos/{spo}/commitments", json=body, headers=supplier)
    assert edit.status_code == 409 and "only a draft can be edited" in edit.json()["detail"]

    _ok(
        client.post(
            f"/spos/{spo}/withdraw", json={"reason": "Bid no longer viable"}, headers=supplier
        )
    )
    final = client.post(f"/spos/{spo}/submit", headers=supplier)
    assert final.status_code == 409 and "none: it is final" in final.json()["detail"]


def test_submission_refuses_vague_late_and_out_of_territory_commitments(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    vague = commitment(world.youth_club, what="TBC", for_whom="n/a")
    outside = commitment(world.london_club, 1_000)
    spo = _ok(
        client.post(
            f"/tenders/{tender}/spos", json={"commitments": [vague, outside]}, headers=supplier
        ),
        201,
    )["id"]
    response = client.post(f"/spos/{spo}/submit", headers=supplier)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "what 'TBC' is too vague" in detail and "for_whom 'n/a' is too vague" in detail
    assert "outside the tender's territory E23000029" in detail
    assert _ok(client.get(f"/spos/{spo}", headers=supplier))["status"] == "draft"

    _ok(
        client.put(
            f"/spos/{spo}/commitments",
            json={"commitments": [commitment(world.youth_club)]},
            headers=supplier,
        )
    )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tender SET bid_deadline = now() - interval '1 hour' WHERE id = :id"),
            {"id": tender},
        )
    late = client.post(f"/spos/{spo}/submit", headers=supplier)
    assert late.status_code == 409 and "bid deadline" in late.json()["detail"]


def test_an_activity_is_never_promised_more_than_its_gap(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead = accounts.headers("tvp_lead")
    # Two bids on two tenders, each £6,000 against a £10,000 gap: each fits alone.
    _, spo_1 = _submitted_spo(client, accounts, world, "supplier_a", quantity=6_000)
    _, spo_2 = _submitted_spo(client, accounts, world, "supplier_b", quantity=6_000)
    for spo in (spo_1, spo_2):
        _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))
    _ok(client.post(f"/spos/{spo_1}/award", headers=lead))

    # The ledger shows the buyer the second bid leans on an already-committed activity...
    (line,) = _ok(client.get(f"/spos/{spo_2}/ledger", headers=lead))["activities"]
    assert line["firm_gbp"] == 6_000 and line["leans_on_committed"] is True
    assert line["remaining_gbp"] == -2_000
    # ...and award refuses it, in the same transaction as the check.
    refused = client.post(f"/spos/{spo_2}/award", headers=lead)
    assert refused.status_code == 409
    assert "needs £10,000, £6,000 is already promised" in refused.json()["detail"]
    assert (
        _ok(client.get(f"/spos/{spo_2}", headers=accounts.headers("supplier_b")))["status"]
        == "scored"
    )

    # A new bid asking more than what is left is refused at submission.
    tender_3 = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    body = {"commitments": [commitment(world.youth_club, 4_500)]}
    spo_3 = _ok(
        client.post(f"/tenders/{tender_3}/spos", json=body, headers=accounts.headers("supplier_a")),
        201,
    )["id"]
    late = client.post(f"/spos/{spo_3}/submit", headers=accounts.headers("supplier_a"))
    assert late.status_code == 409 and "at most £4,000 more" in late.json()["detail"]


def test_award_locks_commitments_and_changes_are_recorded_variations(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    lead = accounts.headers("tvp_lead")
    _, spo = _submitted_spo(client, accounts, world)
    _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))
    awarded = _ok(client.post(f"/spos/{spo}/award", headers=lead))
    commitment_id = awarded["commitments"][0]["id"]

    with engine.connect() as conn, pytest.raises(DBAPIError, match="change only by variation"):
        conn.execute(
            text("UPDATE spo_commitment SET quantity = 1 WHERE id = :id"), {"id": commitment_id}
        )

    no_reason = client.post(
        f"/commitments/{commitment_id}/variations",
        json={"reason": "x", "quantity": 5_000},
        headers=lead,
    )
    assert no_reason.status_code == 422
    varied = _ok(
        client.post(
            f"/commitments/{commitment_id}/variations",
            json={"reason": "Contract extended by six months", "quantity": 5_000},
            headers=lead,
        ),
        201,
    )
    assert varied["commitments"][0]["quantity"] == 5_000
    events = _ok(client.get(f"/spos/{spo}/audit"))["events"]
    assert events[-1]["action"] == "varied" and events[-1]["payload"]["before"] == {
        "quantity": 4000.0
    }
    over = client.post(
        f"/commitments/{commitment_id}/variations",
        json={"reason": "Contract extended by a further year", "quantity": 12_000},
        headers=lead,
    )
    assert over.status_code == 409  # beyond the activity's £10,000 gap


def test_score_override_needs_a_reason_and_is_recorded(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead = accounts.headers("tvp_lead")
    _, spo = _submitted_spo(client, accounts, world)
    bare = client.post(f"/spos/{spo}/score", json={"override": 80}, headers=lead)
    assert bare.status_code == 422 and "needs a reason" in bare.json()["detail"]
    scored = _ok(
        client.post(
            f"/spos/{spo}/score",
            json={"override": 80, "reason": "Local knowledge: the club is the only one open"},
            headers=lead,
        )
    )
    assert scored["score_override"] == 80 and scored["override_reason"].startswith("Local")
    event = _ok(client.get(f"/spos/{spo}/audit", headers=lead))["events"][-1]
    assert event["action"] == "scored" and event["payload"]["override"] == 80


def test_delivery_is_confirmed_only_by_the_activitys_provider(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    lead = accounts.headers("tvp_lead")
    _, spo = _submitted_spo(client, accounts, world)
    _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))
    commitment_id = _ok(client.post(f"/spos/{spo}/award", headers=lead))["commitments"][0]["id"]
    claim = _ok(
        client.post(
            f"/commitments/{commitment_id}/deliveries",
            json={"money_paid_gbp": 500},
            headers=accounts.headers("supplier_a"),
        ),
        201,
    )["delivery"]
    assert client.post(f"/deliveries/{claim}/sign-off", headers=lead).status_code == 409
    assert (
        client.post(
            f"/deliveries/{claim}/confirm", json={}, headers=accounts.headers("other_provider")
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/deliveries/{claim}/dispute",
            json={"note": "no"},
            headers=accounts.headers("provider"),
        ).status_code
        == 422
    )
    _ok(
        client.post(
            f"/deliveries/{claim}/dispute",
            json={"note": "We received £300, not £500"},
            headers=accounts.headers("provider"),
        )
    )
    assert _ok(client.get("/register"))["spos"][0]["delivered_gbp"] == 0
    assert (
        client.post(
            f"/deliveries/{claim}/confirm", json={}, headers=accounts.headers("provider")
        ).status_code
        == 409
    )


def test_buyers_open_tenders_only_for_their_territories(
    client: TestClient, accounts: Accounts, world: World
) -> None:
    response = client.post("/tenders", json=tender_body(MET), headers=accounts.headers("tvp_lead"))
    assert (
        response.status_code == 403
        and "does not buy for territory E23000001" in response.json()["detail"]
    )
    low = client.post(
        "/tenders",
        json=tender_body(social_value_weighting_pct=5),
        headers=accounts.headers("tvp_lead"),
    )
    assert low.status_code == 422 and "greater than or equal to 10" in low.text
    # The Find a Tender notice, when there is one: a real OCID and an https link.
    notice = {
        "ocid": "ocds-h6vhtk-0abc12",
        "notice_url": "https://www.find-tender.service.gov.uk/Notice/0abc12",
    }
    found = _ok(
        client.post("/tenders", json=tender_body(**notice), headers=accounts.headers("tvp_lead")),
        201,
    )
    assert found["ocid"] == notice["ocid"] and found["notice_url"] == notice["notice_url"]
    listed = _ok(client.get(f"/tenders?territory={found['territory_code']}"))["tenders"]
    assert listed[0]["notice_url"] == notice["notice_url"]
    bad = client.post(
        "/tenders",
        json=tender_body(ocid="FTS-0abc12", notice_url="http://example.org/notice"),
        headers=accounts.headers("tvp_lead"),
    )
    assert bad.status_code == 422
    assert "is not an OCID" in bad.json()["detail"] and "https://" in bad.json()["detail"]
    wrong_place = client.post(
        "/tenders",
        json=tender_body(delivery_postcodes=["B1 1AA"]),
        headers=accounts.headers("tvp_lead"),
    )
    assert (
        wrong_place.status_code == 422
        and "B1 1AA is outside territory" in wrong_place.json()["detail"]
    )
    assert [t["id"] for t in _ok(client.get("/tenders"))["tenders"]] == [found["id"]]
