"""The audit trail cannot be changed unnoticed, and racing requests cannot both win."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli.main import app as cli
from geo.settings import Settings
from procurement import audit
from tests.api.helpers import Accounts, World, close_bidding, commitment, tender_body


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
        spos.append(spo)
    close_bidding(client, tender)
    for spo in spos:
        assert client.post(f"/spos/{spo}/score", json={}, headers=lead).status_code == 200
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


# --- the chain anchored by keyed checkpoints (tampering by someone with the database's own
# powers: the append-only triggers switched off with session_replication_role = replica) ---


def _awarded(client: TestClient, accounts: Accounts, world: World) -> tuple[int, int]:
    """An awarded SPO (events: drafted, submitted, scored, awarded) and the losing bid."""
    _, (winner, loser) = _scored_bids(client, accounts, world)
    lead = accounts.headers("tvp_lead")
    assert client.post(f"/spos/{winner}/award", headers=lead).status_code == 200
    return winner, loser


def _as_superuser(engine: Engine, *statements: str, **params: object) -> None:
    """Run ``statements`` with every trigger off, as a database superuser can."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement), params)


def _problems() -> list[str]:
    """What `dualimpact audit verify --json` finds (it must fail when it finds anything)."""
    result = CliRunner().invoke(cli, ["audit", "verify", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == (1 if report["problems"] else 0), result.stdout
    return list(report["problems"])


@pytest.mark.usefixtures("cli_env")
def test_every_event_is_checkpointed_and_the_register_publishes_the_head(
    client: TestClient, accounts: Accounts, world: World, engine: Engine, settings: Settings
) -> None:
    winner, _ = _awarded(client, accounts, world)
    key = settings.audit_mac_key().encode()
    with engine.connect() as conn:
        heads = conn.execute(
            text("SELECT seq, hash FROM audit_event WHERE spo_id = :id ORDER BY seq"),
            {"id": winner},
        ).all()
        checkpoints = conn.execute(
            text(
                "SELECT seq, head_hash, mac FROM audit_checkpoint WHERE spo_id = :id ORDER BY seq"
            ),
            {"id": winner},
        ).all()
    assert [(c.seq, c.head_hash) for c in checkpoints] == [(h.seq, h.hash) for h in heads]
    seq, head, mac = checkpoints[-1]
    assert mac == hmac.new(key, f"{winner}:{seq}:{head}".encode(), hashlib.sha256).hexdigest()

    (entry,) = client.get("/register").json()["spos"]
    assert entry["checkpoint"]["seq"] == seq == 4
    assert (entry["checkpoint"]["head_hash"], entry["checkpoint"]["mac"]) == (head, mac)
    (release,) = client.get("/register/ocds").json()["releases"]
    anchor = release["socialPurchaseOrder"]["auditCheckpoint"]
    assert (anchor["seq"], anchor["headHash"], anchor["mac"]) == (seq, head, mac)
    assert _problems() == []


# What a superuser deletes from the awarded SPO's chain (events 1-4: drafted, submitted,
# scored, awarded) or the losing bid's → what `audit verify` must say.
DELETIONS = {
    "the tail": (
        "winner",
        ["DELETE FROM audit_event WHERE spo_id = :id AND seq = 4"],
        [
            "SPO {spo}: the chain ends at event 3 but its checkpoint covers event 4: events"
            " after 3 were deleted",
            "SPO {spo}: it is awarded, but its chain's last state change (event 3) made it scored",
        ],
    ),
    "the tail with its checkpoint": (
        "winner",
        [
            "DELETE FROM audit_event WHERE spo_id = :id AND seq = 4",
            "DELETE FROM audit_checkpoint WHERE spo_id = :id AND seq = 4",
        ],
        ["SPO {spo}: it is awarded, but its chain's last state change (event 3) made it scored"],
    ),
    "a whole chain with its checkpoints": (
        "loser",
        [
            "DELETE FROM audit_event WHERE spo_id = :id",
            "DELETE FROM audit_checkpoint WHERE spo_id = :id",
        ],
        ["SPO {spo}: its audit chain was deleted (it has no events)"],
    ),
}


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("deleted", DELETIONS)
def test_deleting_events_is_detected(
    client: TestClient, accounts: Accounts, world: World, engine: Engine, deleted: str
) -> None:
    winner, loser = _awarded(client, accounts, world)
    which, statements, expected = DELETIONS[deleted]
    spo = winner if which == "winner" else loser
    _as_superuser(engine, *statements, id=spo)
    assert _problems() == [problem.format(spo=spo) for problem in expected]


@pytest.mark.usefixtures("cli_env")
def test_truncating_the_trail_is_refused_and_when_forced_detected(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    winner, loser = _awarded(client, accounts, world)
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("TRUNCATE audit_event"))
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("TRUNCATE audit_checkpoint"))
    assert _problems() == []
    _as_superuser(engine, "TRUNCATE audit_event")
    assert sorted(_problems()) == sorted(
        f"SPO {spo}: its audit chain was deleted (it has no events)" for spo in (winner, loser)
    )


@pytest.mark.usefixtures("cli_env")
def test_a_consistent_rewrite_with_recomputed_hashes_is_detected(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    winner, _ = _awarded(client, accounts, world)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        rows = conn.execute(
            text(
                "SELECT spo_id, seq, at, actor_id, action, from_state, to_state, reason,"
                " payload, prev_hash, hash FROM audit_event WHERE spo_id = :id ORDER BY seq"
            ),
            {"id": winner},
        ).mappings()
        prev = audit.GENESIS
        for row in list(rows):  # the attacker knows the (public) algorithm, not the key
            event = audit.event_of(row)
            if row["seq"] == 3:
                event["payload"] = {**row["payload"], "score": 99.0}
            digest = audit.event_hash(event, prev)
            conn.execute(
                text(
                    "UPDATE audit_event SET payload = CAST(:payload AS jsonb), prev_hash = :prev,"
                    " hash = :hash WHERE spo_id = :id AND seq = :seq"
                ),
                {
                    "payload": json.dumps(event["payload"]),
                    "prev": prev,
                    "hash": digest,
                    "id": winner,
                    "seq": row["seq"],
                },
            )
            prev = digest
    problems = _problems()
    assert problems == [
        f"SPO {winner}, event {seq} ({action}): does not match its checkpoint: the chain was"
        " rewritten"
        for seq, action in ((3, "scored"), (4, "awarded"))
    ]


@pytest.mark.usefixtures("cli_env")
def test_a_missing_or_forged_checkpoint_is_detected(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    winner, loser = _awarded(client, accounts, world)
    _as_superuser(engine, "DELETE FROM audit_checkpoint WHERE spo_id = :id AND seq = 4", id=winner)
    _as_superuser(
        engine,
        "UPDATE audit_checkpoint SET mac = repeat('f', 64) WHERE spo_id = :id AND seq = 2",
        id=loser,
    )
    assert _problems() == [
        f"SPO {winner}, event 4 (awarded): has no checkpoint",
        f"SPO {loser}, event 2 (submitted): its checkpoint's MAC does not match (forged, or"
        " made with another key)",
    ]
    trail = client.get(f"/spos/{winner}/audit", headers=accounts.headers("tvp_lead")).json()
    assert trail["verified"] is False and trail["problems"] == [
        f"SPO {winner}, event 4 (awarded): has no checkpoint"
    ]


def test_verifying_while_events_are_appended_never_reports_tampering(
    client: TestClient, live_url: str, accounts: Accounts, world: World
) -> None:
    """An event and its checkpoint commit together; a check reads them in one snapshot."""
    _, (spo, _) = _scored_bids(client, accounts, world)
    lead = accounts.headers("tvp_lead")
    rescoring = threading.Thread(
        target=lambda: [
            httpx.post(f"{live_url}/spos/{spo}/score", json={}, headers=lead, timeout=30)
            for _ in range(15)
        ]
    )
    rescoring.start()
    checks = []
    while rescoring.is_alive():
        checks.append(client.get(f"/spos/{spo}/audit", headers=lead).json()["problems"])
    rescoring.join()
    assert len(checks) > 5 and not any(checks)


# --- delivery: the provider answers once, the buyer signs off once, even when racing ---


def _claimed(client: TestClient, accounts: Accounts, world: World) -> tuple[int, int]:
    """An awarded SPO to the food bank (run by ``other_provider``) and a delivery claim."""
    winner, _ = _awarded(client, accounts, world)
    spo = client.get(f"/spos/{winner}", headers=accounts.headers("tvp_lead")).json()
    claim = client.post(
        f"/commitments/{spo['commitments'][0]['id']}/deliveries",
        json={"money_paid_gbp": 500},
        headers=accounts.headers("supplier_a"),
    )
    assert claim.status_code == 201, claim.text
    return winner, int(claim.json()["delivery"])


def _actions(client: TestClient, accounts: Accounts, spo: int) -> list[str]:
    trail = client.get(f"/spos/{spo}/audit", headers=accounts.headers("tvp_lead")).json()
    assert trail["verified"] is True, trail["problems"]
    return [e["action"] for e in trail["events"]]


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("answers", [("confirm", "confirm"), ("confirm", "dispute")])
def test_racing_provider_answers_cannot_both_win(
    client: TestClient,
    live_url: str,
    accounts: Accounts,
    world: World,
    answers: tuple[str, str],
    round_: int,
) -> None:
    spo, delivery = _claimed(client, accounts, world)
    provider = accounts.headers("other_provider")
    body = {"note": "What arrived does not match the claim at all"}
    responses = _together(
        [("POST", f"{live_url}/deliveries/{delivery}/{a}", provider, body) for a in answers]
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert "already" in next(r for r in responses if r.status_code == 409).text
    answered = [a for a in _actions(client, accounts, spo) if a.endswith("by provider")]
    assert len(answered) == 1


@pytest.mark.parametrize("round_", range(3))
def test_racing_sign_offs_cannot_both_win(
    client: TestClient, live_url: str, accounts: Accounts, world: World, round_: int
) -> None:
    spo, delivery = _claimed(client, accounts, world)
    confirmed = client.post(
        f"/deliveries/{delivery}/confirm", json={}, headers=accounts.headers("other_provider")
    )
    assert confirmed.status_code == 200, confirmed.text
    lead = accounts.headers("tvp_lead")
    responses = _together([("POST", f"{live_url}/deliveries/{delivery}/sign-off", lead, None)] * 2)
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert _actions(client, accounts, spo).count("delivery signed off") == 1
