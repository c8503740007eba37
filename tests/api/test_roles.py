"""Who may do what: every write the platform offers (and the private reads beside them),
tried over HTTP by every role, in the organisation it concerns and in others, against the
one table that decides (:data:`accounts.permissions.PERMISSIONS`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts.permissions import PERMISSIONS, Action, Scope
from accounts.users import create_organisation, create_user, get_user
from registry.records import register_activity
from tests.api.helpers import (
    MET,
    PASSWORD,
    TVP,
    Accounts,
    World,
    close_bidding,
    commitment,
    tender_body,
    with_more_cast,
)

Ids = dict[str, int]

# Every persona, and the organisation rules it meets on what the cases act on: an SPO of
# supplier_a's for a tender of Thames Valley Police in E23000029, and an activity there
# run by "provider". Oxfordshire County Council buys for the same territory; the
# Oxfordshire Community Foundation is its community team, London's works elsewhere.
RELATIONS: dict[str | None, frozenset[Scope]] = {
    None: frozenset(),
    "supplier_a": frozenset({Scope.OWN_SUPPLIER}),
    "supplier_analyst": frozenset({Scope.OWN_SUPPLIER}),
    "supplier_b": frozenset(),
    "tvp_lead": frozenset({Scope.TENDER_BUYER, Scope.TERRITORY_BUYER}),
    "tvp_evaluator": frozenset({Scope.TENDER_BUYER, Scope.TERRITORY_BUYER}),
    "analyst": frozenset({Scope.TENDER_BUYER, Scope.TERRITORY_BUYER}),
    "council_lead": frozenset({Scope.TERRITORY_BUYER}),
    "council_evaluator": frozenset({Scope.TERRITORY_BUYER}),
    "met_lead": frozenset(),
    "provider": frozenset({Scope.ACTIVITY_PROVIDER}),
    "provider_analyst": frozenset({Scope.ACTIVITY_PROVIDER}),
    "other_provider": frozenset(),
    "admin": frozenset(),
    "operator_analyst": frozenset(),
    "community": frozenset({Scope.TERRITORY_TEAM}),
    "community_analyst": frozenset({Scope.TERRITORY_TEAM}),
    "met_community": frozenset(),
}
# The community teams: persona → (organisation, territory, role).
COMMUNITY_CAST = {
    "community": ("Oxfordshire Community Foundation", TVP, "community"),
    "community_analyst": ("Oxfordshire Community Foundation", TVP, "analyst"),
    "met_community": ("London Community Foundation", MET, "community"),
}
SPO_STAGES = ["tender", "draft", "submitted", "scored", "awarded", "claimed", "confirmed"]
_serial = itertools.count(1)


@dataclass(frozen=True)
class Case:
    action: Action
    method: str
    path: str  # with {tender}, {spo}, {commitment}, {delivery}, {activity} from the stage
    body: Callable[[Ids], dict[str, Any] | None]
    # "none"; an activity: "activity" (registered, so claimed, by its provider), "refuge",
    # "listed" (from open data), "claim requested" (listed, with a claim waiting), "site"
    # (with a delivery site); "untrusted" (an ineligible activity and a tender); or how far
    # to take an SPO (SPO_STAGES)
    stage: str


REASON = "Agreed with the provider at the quarterly review"
EVIDENCE = {
    "evidence_level": 2,
    "links": ["https://example.org/evaluation.pdf"],
    "note": "Read the annual report and the attendance records",
}
CASES = {
    "open tender": Case(Action.OPEN_TENDER, "POST", "/tenders", lambda i: tender_body(), "none"),
    "draft SPO": Case(
        Action.DRAFT_SPO,
        "POST",
        "/tenders/{tender}/spos",
        lambda i: {"commitments": [commitment(i["youth_club"], 100)]},
        "tender",
    ),
    "edit draft": Case(
        Action.EDIT_SPO,
        "PUT",
        "/spos/{spo}/commitments",
        lambda i: {"commitments": [commitment(i["youth_club"], 200)]},
        "draft",
    ),
    "submit": Case(Action.SUBMIT_SPO, "POST", "/spos/{spo}/submit", lambda i: None, "draft"),
    "withdraw": Case(
        Action.WITHDRAW_SPO,
        "POST",
        "/spos/{spo}/withdraw",
        lambda i: {"reason": "Our bid is no longer viable"},
        "submitted",
    ),
    "score": Case(Action.SCORE_SPO, "POST", "/spos/{spo}/score", lambda i: {}, "submitted"),
    "award": Case(Action.AWARD_SPO, "POST", "/spos/{spo}/award", lambda i: None, "scored"),
    "vary": Case(
        Action.VARY_COMMITMENT,
        "POST",
        "/commitments/{commitment}/variations",
        lambda i: {"reason": "Contract extended by six months", "quantity": 150},
        "awarded",
    ),
    "claim delivery": Case(
        Action.CLAIM_DELIVERY,
        "POST",
        "/commitments/{commitment}/deliveries",
        lambda i: {"money_paid_gbp": 50},
        "awarded",
    ),
    "confirm delivery": Case(
        Action.RESPOND_TO_DELIVERY,
        "POST",
        "/deliveries/{delivery}/confirm",
        lambda i: {"note": "Received, thanks"},
        "claimed",
    ),
    "dispute delivery": Case(
        Action.RESPOND_TO_DELIVERY,
        "POST",
        "/deliveries/{delivery}/dispute",
        lambda i: {"note": "We received less than was claimed"},
        "claimed",
    ),
    "sign off delivery": Case(
        Action.SIGN_OFF_DELIVERY,
        "POST",
        "/deliveries/{delivery}/sign-off",
        lambda i: None,
        "confirmed",
    ),
    "complete": Case(
        Action.COMPLETE_SPO, "POST", "/spos/{spo}/complete", lambda i: None, "claimed"
    ),
    "register activity": Case(
        Action.REGISTER_ACTIVITY,
        "POST",
        "/activities",
        lambda i: {"name": f"Rose Hill homework club {i['n']}", "postcode": "OX4 4XP"},
        "none",
    ),
    "update figures": Case(
        Action.EDIT_ACTIVITY,
        "PATCH",
        "/activities/{activity}",
        lambda i: {
            "people_reached_per_year": 150,
            "status": "at_risk",
            "closing_date": "2027-03-31",
        },
        "activity",
    ),
    "set themes": Case(
        Action.EDIT_ACTIVITY,
        "PATCH",
        "/activities/{activity}",
        lambda i: {"themes": ["youth", "education"]},
        "activity",
    ),
    "add evidence": Case(
        Action.ADD_EVIDENCE,
        "POST",
        "/activities/{activity}/evidence",
        lambda i: {"url": "https://example.org/report.pdf"},
        "activity",
    ),
    "change funding gap": Case(
        Action.SET_FUNDING_GAP,
        "PATCH",
        "/activities/{activity}",
        lambda i: {"funding_gap": 12_000, "reason": REASON},
        "activity",
    ),
    "flag safeguarding": Case(
        Action.RAISE_SAFEGUARDING,
        "PATCH",
        "/activities/{activity}",
        lambda i: {"safeguarding": True},
        "activity",
    ),
    "clear safeguarding": Case(
        Action.CLEAR_SAFEGUARDING,
        "PATCH",
        "/activities/{activity}",
        lambda i: {"safeguarding": False},
        "refuge",
    ),
    "read activity history": Case(
        Action.READ_ACTIVITY_HISTORY,
        "GET",
        "/activities/{activity}/history",
        lambda i: None,
        "activity",
    ),
    "claim activity": Case(
        Action.CLAIM_ACTIVITY, "POST", "/activities/{activity}/claim", lambda i: {}, "listed"
    ),
    "approve claim": Case(
        Action.APPROVE_CLAIM,
        "POST",
        "/activities/{activity}/claim/approve",
        lambda i: {"provider_id": i["provider_org"]},
        "claim requested",
    ),
    "verify activity": Case(
        Action.VERIFY_ACTIVITY,
        "POST",
        "/activities/{activity}/verify",
        lambda i: EVIDENCE,
        "activity",
    ),
    "mark lapsed": Case(
        Action.MARK_LAPSED,
        "POST",
        "/activities/{activity}/lapse",
        lambda i: {"reason": "No sessions since the hall closed in June"},
        "activity",
    ),
    "decide eligibility": Case(
        Action.DECIDE_ELIGIBILITY,
        "POST",
        "/activities/{activity}/eligibility",
        lambda i: {"eligibility": "eligible", "categories": ["youth_diversion"], "reason": REASON},
        "activity",
    ),
    "add delivery site": Case(
        Action.EDIT_DELIVERY_SITES,
        "POST",
        "/activities/{activity}/sites",
        lambda i: {"postcode": "OX4 2HN", "label": "Florence Park community centre"},
        "activity",
    ),
    "remove delivery site": Case(
        Action.EDIT_DELIVERY_SITES,
        "DELETE",
        "/activities/{activity}/sites/{site}",
        lambda i: None,
        "site",
    ),
    "allow ineligible activity": Case(
        Action.ALLOW_INELIGIBLE,
        "POST",
        "/tenders/{tender}/allowances",
        lambda i: {"activity_id": i["activity"], "reason": REASON},
        "untrusted",
    ),
    "add organisation": Case(
        Action.ADD_ORGANISATION,
        "POST",
        "/organisations",
        lambda i: {"kind": "supplier", "name": f"New Co {i['n']} Ltd"},
        "none",
    ),
    "add user": Case(
        Action.ADD_USER,
        "POST",
        "/users",
        lambda i: {
            "email": f"new-{i['n']}@example.org",
            "name": "New person",
            "password": PASSWORD,
            "organisation_id": i["supplier_org"],
            "role": "supplier",
        },
        "none",
    ),
}


@pytest.fixture(scope="module")
def everyone(engine: Engine, accounts: Accounts) -> Accounts:
    cast = with_more_cast(engine, accounts)
    users, organisations = dict(cast.users), dict(cast.organisations)
    with engine.begin() as conn:
        for persona, (org, territory, role) in COMMUNITY_CAST.items():
            organisations[persona] = create_organisation(
                conn, "community", org, territories=(territory,)
            )
            email = f"{persona}@example.org"
            users[persona] = create_user(
                conn, email, persona, PASSWORD, organisations[persona], role
            )
    return Accounts(users, organisations)


@pytest.fixture(scope="module")
def roles(engine: Engine, everyone: Accounts) -> dict[str | None, str | None]:
    with engine.connect() as conn:
        found: dict[str | None, str | None] = {
            persona: get_user(conn, user_id).role for persona, user_id in everyone.users.items()
        }
    return {None: None, **found}


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _stage(client: TestClient, engine: Engine, everyone: Accounts, world: World, stage: str) -> Ids:
    """Make what a case acts on, afresh, so that every persona meets the same state."""
    ids = {
        "n": next(_serial),
        "youth_club": world.youth_club,
        "supplier_org": everyone.organisations["supplier_a"],
        "provider_org": everyone.organisations["provider"],
    }
    provider, admin = everyone.headers("provider"), everyone.headers("admin")
    if stage in ("listed", "claim requested"):
        with engine.begin() as conn:
            ids["activity"] = register_activity(
                conn,
                {"name": f"Rose Hill youth club {ids['n']}", "postcode": "OX4 4XP"},
                source="open data",
            ).activity_id
        if stage == "claim requested":
            claim = f"/activities/{ids['activity']}/claim"
            assert client.post(claim, json={}, headers=provider).status_code == 202
        return ids
    if stage in ("activity", "refuge", "site", "untrusted"):
        record = {
            "name": f"Cowley chess club {ids['n']}",
            "postcode": "OX4 1AA",
            "funding_gap": 10_000,
            "people_reached_per_year": 120,
            "safeguarding": stage == "refuge",
        }
        ids["activity"] = _ok(client.post("/activities", json=record, headers=provider))["id"]
        if stage == "site":
            path = f"/activities/{ids['activity']}/sites"
            site = _ok(client.post(path, json={"postcode": "OX4 2HN"}, headers=provider))
            ids["site"] = site["id"]
        if stage == "untrusted":
            decision = {"eligibility": "ineligible", "reason": "A chess club with no programme"}
            path = f"/activities/{ids['activity']}/eligibility"
            _ok(client.post(path, json=decision, headers=admin))
            lead = everyone.headers("tvp_lead")
            ids["tender"] = _ok(client.post("/tenders", json=tender_body(), headers=lead))["id"]
        return ids
    lead, supplier = everyone.headers("tvp_lead"), everyone.headers("supplier_a")
    steps = SPO_STAGES[: SPO_STAGES.index(stage) + 1] if stage in SPO_STAGES else []
    for step in steps:
        if step == "tender":
            ids["tender"] = _ok(client.post("/tenders", json=tender_body(), headers=lead))["id"]
        elif step == "draft":
            body = {"commitments": [commitment(world.youth_club, 100)]}
            path = f"/tenders/{ids['tender']}/spos"
            ids["spo"] = _ok(client.post(path, json=body, headers=supplier))["id"]
        elif step == "submitted":
            _ok(client.post(f"/spos/{ids['spo']}/submit", headers=supplier))
            close_bidding(engine, ids["tender"])  # the buyer may now read and score it
        elif step == "scored":
            _ok(client.post(f"/spos/{ids['spo']}/score", json={}, headers=lead))
        elif step == "awarded":
            awarded = _ok(client.post(f"/spos/{ids['spo']}/award", headers=lead))
            ids["commitment"] = awarded["commitments"][0]["id"]
        elif step == "claimed":
            path = f"/commitments/{ids['commitment']}/deliveries"
            claim = _ok(client.post(path, json={"money_paid_gbp": 50}, headers=supplier))
            ids["delivery"] = claim["delivery"]
        else:
            confirm = f"/deliveries/{ids['delivery']}/confirm"
            _ok(client.post(confirm, json={}, headers=everyone.headers("provider")))
    return ids


def _allowed(role: str | None, persona: str | None, action: Action) -> bool:
    """What the table says: the role may do the action, under a rule the persona meets."""
    grant = PERMISSIONS[action].get(role or "")
    return grant is not None and bool(grant.scopes & (RELATIONS[persona] | {Scope.ANY}))


@pytest.mark.parametrize("name", list(CASES))
def test_each_write_is_allowed_exactly_where_the_table_says(
    client: TestClient,
    engine: Engine,
    everyone: Accounts,
    roles: dict[str | None, str | None],
    world: World,
    name: str,
) -> None:
    case = CASES[name]
    wrong = []
    for persona in RELATIONS:
        ids = _stage(client, engine, everyone, world, case.stage)
        response = client.request(
            case.method,
            case.path.format(**ids),
            json=case.body(ids),
            headers=everyone.headers(persona),
        )
        if persona is None:
            expected = {401}  # every write (and the history) needs a signed-in user
        elif _allowed(roles[persona], persona, case.action):
            expected = {200, 201, 202}  # 202: a claim no identifier proves waits
        else:
            expected = {403, 404}  # refused, or not even shown to exist
        if response.status_code not in expected:
            wrong.append(f"{persona or 'anonymous'}: {response.status_code} {response.text}")
        elif response.status_code in (403, 404):
            assert response.json()["detail"]
    assert not wrong, "\n".join(wrong)


def test_the_cases_cover_every_action_and_every_write_route(app: FastAPI) -> None:
    assert {case.action for case in CASES.values()} == set(Action)
    tried = [(case.method, re.sub(r"\{\w+\}", "1", case.path)) for case in CASES.values()]
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path == "/token":  # signing in is for all
            continue
        for method in (route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
            covered = [path for m, path in tried if m == method and route.path_regex.match(path)]
            assert covered, f"{method} {route.path} is not in the role matrix"


def test_every_role_is_tried_in_more_than_one_organisation(
    everyone: Accounts, roles: dict[str | None, str | None]
) -> None:
    for role in set(roles.values()) - {None, "admin"}:  # the operator is one organisation
        organisations = {everyone.organisations[p] for p, r in roles.items() if p and r == role}
        assert len(organisations) >= 2, role


@pytest.mark.parametrize("persona", list(RELATIONS), ids=lambda p: p or "anonymous")
def test_a_draft_is_seen_only_by_its_supplier(
    client: TestClient, engine: Engine, everyone: Accounts, world: World, persona: str | None
) -> None:
    spo = _stage(client, engine, everyone, world, "draft")["spo"]
    response = client.get(f"/spos/{spo}", headers=everyone.headers(persona))
    # Not by the tender's buyer: it reads bids once submitted and bidding has closed.
    insiders = {"supplier_a", "supplier_analyst", "admin"}
    assert response.status_code == (200 if persona in insiders else 404), response.text
