"""The audit trail cannot be changed unnoticed, and racing requests cannot both win."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli.main import app as cli
from tests.api.helpers import Accounts, World, commitment, tender_body


def _scored_bids(
    client: TestClient, accounts: Accounts, world: World, quantity: float = 2_000
) -> tuple[int, list[int]]:
    lead = accounts.headers("tvp_lead")
    tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    spos = []
    for who in ("supplier_a", "supplier_b"):
        body = {"commitments": [commitment(world.food_bank, quantity)]}
        spo = client.post(
            f"/tenders/{tender}/spos", json=body, headers=accounts.headers(who)
        ).json()["id"]
        assert client.post(f"/spos/{spo}/submit", headers=accounts.headers(who)).status_code == 200
        assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 200
        spos.append(spo)
    return tender, spos


def _together(requests: list[tuple[str, str, dict[str, str], dict | None]]) -> list[httpx.Response]:
    """Send the requests at the same instant from separate threads (separate connections)."""
    barrier = threading.Barrier(len(requests))
    responses: list[httpx.Response | None] = [None] * len(requests)

    def send(i: int, method: str, url: str, headers: dict[str, str], body: dict | None) -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            responses[i] = http.request(method, url, headers=headers, json=body)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in responses if r is not None]


@pytest.mark.parametrize("round_", range(3))
def test_two_racing_awards_on_one_tender_cannot_both_win(
    client: TestClient, live_url: str, accounts: Accounts, world: World, round_: int
) -> None:
    tender, spos = _scored_bids(client, accounts, world)
    lead = accounts.headers("tvp_lead")
    responses = _together([("POST", f"{live_url}/spos/{spo}/award", lead, None) for spo in spos])
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert "already awarded" in next(r for r in responses if r.status_code == 409).text
    statuses = Counter(
        s["status"] for s in client.get(f"/spos?tender={tender}", headers=lead).json()["spos"]
    )
    assert statuses == Counter({"awarded": 1, "not_awarded": 1})


def test_racing_scorings_keep_one_unbroken_audit_chain(
    client: TestClient, live_url: str, accounts: Accounts, world: World
) -> None:
    _, (spo, _) = _scored_bids(client, accounts, world)
    requests = [
        ("POST", f"{live_url}/spos/{spo}/score", accounts.headers(who), {})
        for who in ("tvp_lead", "tvp_evaluator", "tvp_lead", "tvp_evaluator")
    ]
    assert [r.status_code for r in _together(requests)] == [200] * 4
    trail = client.get(f"/spos/{spo}/audit", headers=accounts.headers("tvp_lead")).json()
    assert trail["verified"] is True
    assert [e["seq"] for e in trail["events"]] == list(range(1, 8))
    assert [e["action"] for e in trail["events"]].count("rescored") == 4


def test_racing_awards_on_one_activity_never_overcommit_it(
    client: TestClient, live_url: str, accounts: Accounts, world: World
) -> None:
    """Two tenders, each with a bid of £30,000 against the food bank's £50,000 gap."""
    lead = accounts.headers("tvp_lead")
    first = _scored_bids(client, accounts, world, quantity=30_000)[1][0]
    second = _scored_bids(client, accounts, world, quantity=30_000)[1][1]
    responses = _together(
        [("POST", f"{live_url}/spos/{spo}/award", lead, None) for spo in (first, second)]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert "already promised" in next(r for r in responses if r.status_code == 409).text


def test_a_tampered_audit_event_is_detected(
    client: TestClient, accounts: Accounts, world: World, engine: Engine, cli_env: None
) -> None:
    _, (spo, _) = _scored_bids(client, accounts, world)
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(
            text("UPDATE audit_event SET reason = 'edited' WHERE spo_id = :id"), {"id": spo}
        )

    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    with engine.begin() as conn:  # someone with the database's own powers bypasses the trigger
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "UPDATE audit_event SET payload = '{\"score\": 99}' WHERE spo_id = :id AND seq = 3"
            ),
            {"id": spo},
        )
    trail = client.get(f"/spos/{spo}/audit", headers=accounts.headers("tvp_lead")).json()
    assert trail["verified"] is False
    assert trail["problems"] == [f"SPO {spo}, event 3 (scored): content was changed"]
    result = runner.invoke(cli, ["audit", "verify", "--json"])
    assert result.exit_code == 1 and "content was changed" in result.stdout

    with engine.begin() as conn:  # removing an event breaks the chain too
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM audit_event WHERE spo_id = :id AND seq = 2"), {"id": spo})
    problems = client.get(f"/spos/{spo}/audit", headers=accounts.headers("tvp_lead")).json()[
        "problems"
    ]
    assert any("event 2" in p for p in problems)
