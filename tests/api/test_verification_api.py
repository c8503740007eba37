"""The verification ladder and eligibility decisions over HTTP (issue 12): a provider
claims, an admin approves what no identifier proves, the territory's community team
verifies, marks lapsed and decides eligibility; each answer is the record's new state and
each change is in the activity's history."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts.users import create_organisation, create_user
from tests.api.helpers import MET, PASSWORD, TVP, Accounts, World

EVIDENCE: dict[str, Any] = {
    "evidence_level": 3,
    "links": ["https://example.org/cowley-evaluation-2025.pdf"],
    "note": "Read the evaluation; visited a Tuesday session",
}
REASON = "Visited on 3 November: the sessions stopped in the summer"


@pytest.fixture(scope="module")
def teams(engine: Engine, accounts: Accounts) -> Accounts:
    """``accounts`` and a community team in Thames Valley (``community``) and in the
    Met's territory (``met_community``)."""
    users, organisations = dict(accounts.users), dict(accounts.organisations)
    with engine.begin() as conn:
        for persona, org, territory in (
            ("community", "Oxfordshire Community Foundation", TVP),
            ("met_community", "London Community Foundation", MET),
        ):
            organisations[persona] = create_organisation(
                conn, "community", org, territories=(territory,)
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


def _post(
    client: TestClient, teams: Accounts, persona: str | None, path: str, body: dict[str, Any]
) -> Any:
    return client.post(path, json=body, headers=teams.headers(persona))


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()
    return found


def test_claim_verify_and_lapse_answer_the_new_state_and_are_in_the_history(
    client: TestClient, teams: Accounts, world: World
) -> None:
    path = f"/activities/{world.youth_club}"
    claimed = _ok(_post(client, teams, "provider", f"{path}/claim", {}))
    assert (claimed["claim"], claimed["verification"]) == ("claimed", "claimed")
    assert claimed["proof"] == "the record already names Oxford Youth Trust as its provider"

    assert _post(client, teams, None, f"{path}/verify", EVIDENCE).status_code == 401
    for persona in ("met_community", "provider", "supplier_a", "tvp_lead"):
        refused = _post(client, teams, persona, f"{path}/verify", EVIDENCE)
        assert refused.status_code == 403, (persona, refused.text)
    assert (
        "does not work in territory E23000029"
        in (_post(client, teams, "met_community", f"{path}/verify", EVIDENCE).json()["detail"])
    )
    too_high = _post(
        client, teams, "community", f"{path}/verify", {**EVIDENCE, "evidence_level": 6}
    )
    assert too_high.status_code == 422
    hostile = {**EVIDENCE, "links": ["javascript:alert(1)"]}
    assert _post(client, teams, "community", f"{path}/verify", hostile).status_code == 422

    verified = _ok(_post(client, teams, "community", f"{path}/verify", EVIDENCE))
    assert (verified["verification"], verified["evidence_level"]) == ("verified", 3)
    assert EVIDENCE["links"][0] in verified["evidence_links"]

    assert _post(client, teams, "community", f"{path}/lapse", {"reason": "gone"}).status_code == 422
    lapsed = _ok(_post(client, teams, "community", f"{path}/lapse", {"reason": REASON}))
    assert (lapsed["verification"], lapsed["trusted"]) == ("lapsed", False)
    again = _post(client, teams, "community", f"{path}/lapse", {"reason": REASON})
    assert again.status_code == 409
    assert "already marked lapsed" in again.json()["detail"]

    history = _ok(client.get(f"{path}/history", headers=teams.headers("admin")))["events"]
    assert [(e["action"], e["actor"], e["organisation"]) for e in history] == [
        ("claimed", "provider", "Oxford Youth Trust"),
        ("verified", "community", "Oxfordshire Community Foundation"),
        ("lapsed", "community", "Oxfordshire Community Foundation"),
    ]
    assert history[1]["reason"] == EVIDENCE["note"]
    assert history[2]["reason"] == REASON
    assert all(e["at"] for e in history)


def test_a_claim_no_identifier_proves_waits_for_an_admin(
    client: TestClient, teams: Accounts, world: World
) -> None:
    path = f"/activities/{world.youth_club}"
    note = {"evidence_note": "Oxford Youth Trust handed the club to us in April"}
    waiting = _ok(_post(client, teams, "other_provider", f"{path}/claim", note), 202)
    assert (waiting["claim"], waiting["verification"]) == ("pending", "listed")
    assert waiting["provider_id"] == teams.organisations["provider"]
    (pending,) = waiting["pending_claims"]
    assert pending["organisation"] == "Reading Food Aid"

    waiting_list = _ok(client.get("/claims", headers=teams.headers("admin")))["claims"]
    assert [(c["activity_id"], c["organisation"]) for c in waiting_list] == [
        (world.youth_club, "Reading Food Aid")
    ]
    assert client.get("/claims", headers=teams.headers("other_provider")).status_code == 403
    approval = {"provider_id": teams.organisations["other_provider"]}
    for persona in ("tvp_lead", "community", "other_provider"):
        refused = _post(client, teams, persona, f"{path}/claim/approve", approval)
        assert refused.status_code == 403, (persona, refused.text)
    unknown = _post(client, teams, "admin", f"{path}/claim/approve", {"provider_id": 2**31 - 1})
    assert unknown.status_code == 404
    approved = _ok(_post(client, teams, "admin", f"{path}/claim/approve", approval))
    assert (approved["verification"], approved["provider_id"]) == (
        "claimed",
        teams.organisations["other_provider"],
    )
    taken = _post(client, teams, "provider", f"{path}/claim", {})
    assert taken.status_code == 409
    assert "already claimed by Reading Food Aid" in taken.json()["detail"]


def test_an_eligibility_decision_takes_the_activity_out_of_the_trusted_list(
    client: TestClient, teams: Accounts, world: World
) -> None:
    path = f"/activities/{world.youth_club}"
    listing = f"/activities?territory={TVP}&limit=500"
    assert world.youth_club in {f["id"] for f in _ok(client.get(listing))["features"]}

    eligible = {"eligibility": "eligible", "categories": [], "reason": REASON}
    assert _post(client, teams, "community", f"{path}/eligibility", eligible).status_code == 422
    unknown = {**eligible, "categories": ["schools"]}
    assert _post(client, teams, "community", f"{path}/eligibility", unknown).status_code == 422
    decision = {
        "eligibility": "ineligible",
        "reason": "A five-a-side league for adults: no youth or community programme",
    }
    assert _post(client, teams, "met_community", f"{path}/eligibility", decision).status_code == 403
    decided = _ok(_post(client, teams, "community", f"{path}/eligibility", decision))
    assert (decided["eligibility"], decided["eligibility_source"]) == ("ineligible", "decision")
    assert decided["eligibility_reason"] == decision["reason"]
    assert not decided["trusted"]

    assert world.youth_club not in {f["id"] for f in _ok(client.get(listing))["features"]}
    everything = _ok(client.get(f"{listing}&include=all"))["features"]
    assert world.youth_club in {f["id"] for f in everything}
