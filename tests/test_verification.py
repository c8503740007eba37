"""The verification ladder (listed -> claimed -> verified -> lapsed) and hand eligibility
decisions: who may move a record, what each move checks, and that every move is in the
activity's history with who, when and why (issue 12, parts 2 and 3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, text

from accounts import stewardship, verification
from accounts.users import User, create_organisation, create_user, get_user, user_by_email
from boundaries.gazetteer import PostcodeLoadReport
from geo.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from registry import eligibility
from registry.records import register_activity

TVP, MET = "E23000029", "E23000001"
PASSWORD = "correct horse battery staple"
REASON = "Visited on 3 November: the club has closed for good"


@dataclass(frozen=True)
class Cast:
    """The people of these tests, each in their own organisation."""

    provider: User  # Cowley Youth Trust, charity 1143789 (the listed record's provider)
    other_provider: User  # Rose Hill Food Aid, no identifier in common
    community: User  # Oxfordshire Community Foundation, works in Thames Valley
    met_community: User  # London Community Foundation, works in the Met's territory
    supplier: User
    admin: User


PEOPLE: dict[str, tuple[str, str, tuple[str, ...], str, dict[str, str]]] = {
    "provider": ("Cowley Youth Trust", "provider", (), "provider", {"charity_number": "1143789"}),
    "other_provider": ("Rose Hill Food Aid", "provider", (), "provider", {}),
    "community": ("Oxfordshire Community Foundation", "community", (TVP,), "community", {}),
    "met_community": ("London Community Foundation", "community", (MET,), "community", {}),
    "supplier": ("Acme Facilities Ltd", "supplier", (), "supplier", {}),
    "admin": ("Dual Impact platform", "operator", (), "admin", {}),
}


@pytest.fixture
def cast(conn: Connection, postcodes: PostcodeLoadReport) -> Cast:
    people = {}
    for persona, (org, kind, territories, role, numbers) in PEOPLE.items():
        organisation = create_organisation(conn, kind, org, territories=territories, **numbers)
        user = create_user(conn, f"{persona}@example.org", persona, PASSWORD, organisation, role)
        people[persona] = get_user(conn, user)
    return Cast(**people)


@pytest.fixture
def listed(conn: Connection, cast: Cast) -> int:
    """A youth club from open data in Oxford (Thames Valley): listed, its provider the
    organisation the import made (charity 1143789, spelt as a file might)."""
    registered = register_activity(
        conn,
        {
            "name": "Cowley Youth Club",
            "description": "Open-access youth club for young people aged 11-18 in Cowley",
            "provider_name": "Cowley Youth Trust",
            "charity_number": "GB-CHC-1143789",
            "postcode": "OX4 1AA",
        },
        source="test",
    )
    return registered.activity_id


def _placed(conn: Connection, activity_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            """
            SELECT p.verification, p.trusted, p.eligibility, p.eligibility_source,
                   p.provider_id, a.verification AS stored, a.verified_by,
                   a.eligibility_decided_by, a.evidence_level
            FROM activity_placed p JOIN activity a ON a.id = p.id WHERE p.id = :id
            """
        ),
        {"id": activity_id},
    ).mappings()
    return dict(row.one())


def _events(conn: Connection, activity_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT actor_id, action, changes, reason, at FROM activity_event"
            " WHERE activity_id = :id ORDER BY id"
        ),
        {"id": activity_id},
    ).mappings()
    return [dict(row) for row in rows]


def test_a_matching_charity_number_claims_the_record_at_once(
    conn: Connection, cast: Cast, listed: int
) -> None:
    outcome = verification.claim(conn, cast.provider, listed, evidence_note="Our club since 1998")

    assert not outcome.pending
    assert outcome.proof == "charity number 1143789 matches the record's provider's"
    assert outcome.state["verification"] == "claimed"
    assert outcome.state["provider_id"] == cast.provider.organisation_id
    assert outcome.state["claimed_at"] is not None
    (event,) = _events(conn, listed)
    assert event["actor_id"] == cast.provider.id
    assert event["action"] == "claimed"
    assert event["changes"]["verification"] == ["listed", "claimed"]
    assert event["changes"]["provider_id"][1] == cast.provider.organisation_id
    assert event["reason"] == f"{outcome.proof}; Our club since 1998"


def test_a_claim_no_identifier_proves_waits_for_an_admin(
    conn: Connection, cast: Cast, listed: int
) -> None:
    outcome = verification.claim(
        conn, cast.other_provider, listed, evidence_note="We took the club over in 2024"
    )
    assert outcome.pending
    assert outcome.state["verification"] == "listed"  # nothing changes hands yet
    assert outcome.state["provider_id"] != cast.other_provider.organisation_id
    (waiting,) = outcome.state["pending_claims"]
    assert waiting["organisation_id"] == cast.other_provider.organisation_id
    assert waiting["note"] == "We took the club over in 2024"
    with pytest.raises(ConflictError, match="already waits for an admin's approval"):
        verification.claim(conn, cast.other_provider, listed)

    (listing,) = verification.waiting_claims(conn, cast.admin)
    assert (listing["activity_id"], listing["activity"], listing["requested_by"]) == (
        listed,
        "Cowley Youth Club",
        "other_provider",
    )
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        verification.waiting_claims(conn, cast.community)
    for refused in (cast.community, cast.other_provider):
        with pytest.raises(PermissionDeniedError, match="only an admin can approve"):
            verification.approve_claim(conn, refused, listed, cast.other_provider.organisation_id)
    with pytest.raises(NotFoundError, match="waiting: Rose Hill Food Aid"):
        verification.approve_claim(conn, cast.admin, listed, cast.supplier.organisation_id)

    approved = verification.approve_claim(
        conn, cast.admin, listed, cast.other_provider.organisation_id
    )
    assert approved["verification"] == "claimed"
    assert approved["provider_id"] == cast.other_provider.organisation_id
    assert approved["pending_claims"] == []
    assert verification.waiting_claims(conn, cast.admin) == []
    requested, done = _events(conn, listed)
    assert (requested["action"], requested["actor_id"]) == (
        "claim_requested",
        cast.other_provider.id,
    )
    assert (done["action"], done["actor_id"]) == ("claim_approved", cast.admin.id)
    assert "Rose Hill Food Aid" in done["reason"]
    assert "We took the club over in 2024" in done["reason"]


def test_a_record_another_organisation_keeps_cannot_be_claimed(
    conn: Connection, cast: Cast, listed: int
) -> None:
    verification.claim(conn, cast.provider, listed)
    with pytest.raises(ConflictError, match="already claimed by Cowley Youth Trust"):
        verification.claim(conn, cast.other_provider, listed)
    with pytest.raises(ConflictError, match="already claimed by your organisation"):
        verification.claim(conn, cast.provider, listed)
    with pytest.raises(PermissionDeniedError):
        verification.claim(conn, cast.supplier, listed)
    assert len(_events(conn, listed)) == 1


def test_only_the_territorys_community_team_verifies(
    conn: Connection, cast: Cast, listed: int
) -> None:
    with pytest.raises(ConflictError, match="is listed: its provider must claim it"):
        verification.verify(conn, cast.community, listed, 2, ["https://example.org/a.pdf"])
    verification.claim(conn, cast.provider, listed)

    with pytest.raises(PermissionDeniedError, match="does not work in territory E23000029"):
        verification.verify(conn, cast.met_community, listed, 2, ["https://example.org/a.pdf"])
    for refused in (cast.provider, cast.supplier):
        with pytest.raises(PermissionDeniedError, match="only a community"):
            verification.verify(conn, refused, listed, 2, ["https://example.org/a.pdf"])
    with pytest.raises(InvalidInputError, match="Nesta Standards of Evidence"):
        verification.verify(conn, cast.community, listed, 6, ["https://example.org/a.pdf"])
    with pytest.raises(InvalidInputError, match="not a web address"):
        verification.verify(conn, cast.community, listed, 2, ["javascript:alert(1)"])
    with pytest.raises(InvalidInputError, match="at least one link"):
        verification.verify(conn, cast.community, listed, 2, [])
    assert _placed(conn, listed)["stored"] == "claimed"

    found = verification.verify(
        conn,
        cast.community,
        listed,
        3,
        ["https://example.org/evaluation.pdf"],
        "Read the 2025 evaluation; visited a Tuesday session",
    )
    assert found["verification"] == "verified"
    assert found["evidence_level"] == 3
    assert found["evidence_links"] == ["https://example.org/evaluation.pdf"]
    assert _placed(conn, listed)["verified_by"] == cast.community.id
    event = _events(conn, listed)[-1]
    assert (event["action"], event["actor_id"]) == ("verified", cast.community.id)
    assert event["changes"]["verification"] == ["claimed", "verified"]
    assert event["changes"]["evidence_level"] == [None, 3]
    assert event["reason"] == "Read the 2025 evaluation; visited a Tuesday session"


def test_a_lapsed_record_is_verified_again(conn: Connection, cast: Cast, listed: int) -> None:
    verification.claim(conn, cast.provider, listed)
    with pytest.raises(InvalidInputError, match="needs a reason"):
        verification.mark_lapsed(conn, cast.community, listed, "  closed ")
    with pytest.raises(PermissionDeniedError):
        verification.mark_lapsed(conn, cast.provider, listed, REASON)

    lapsed = verification.mark_lapsed(conn, cast.community, listed, REASON)
    assert lapsed["verification"] == "lapsed"
    assert not lapsed["trusted"]
    with pytest.raises(ConflictError, match="already marked lapsed"):
        verification.mark_lapsed(conn, cast.admin, listed, REASON)
    event = _events(conn, listed)[-1]
    assert (event["action"], event["actor_id"], event["reason"]) == (
        "lapsed",
        cast.community.id,
        REASON,
    )
    assert event["changes"] == {"verification": ["claimed", "lapsed"]}

    again = verification.verify(conn, cast.community, listed, 1, ["https://example.org/r.pdf"])
    assert again["verification"] == "verified"
    assert _events(conn, listed)[-1]["changes"]["verification"] == ["lapsed", "verified"]


def test_a_record_not_heard_of_for_the_lapse_period_reads_lapsed_and_can_be_claimed_again(
    conn: Connection, cast: Cast, listed: int
) -> None:
    verification.claim(conn, cast.provider, listed)
    verification.verify(conn, cast.community, listed, 2, ["https://example.org/a.pdf"])
    verification.decide_eligibility(
        conn, cast.community, listed, "eligible", ["youth_diversion"], "Open-access youth club"
    )
    assert _placed(conn, listed)["trusted"]
    conn.execute(
        text(
            """
            UPDATE activity SET claimed_at = now() - interval '4 years',
                   verified_at = now() - interval '4 years',
                   confirmed_at = now() - interval '4 years', last_award_year = NULL
            WHERE id = :id
            """
        ),
        {"id": listed},
    )

    placed = _placed(conn, listed)
    assert (placed["stored"], placed["verification"]) == ("verified", "lapsed")
    assert not placed["trusted"]
    # Nobody keeps it current any more: another organisation may claim it.
    outcome = verification.claim(conn, cast.other_provider, listed)
    assert outcome.pending


def test_an_eligibility_decision_records_who_when_why_and_outlives_the_rules(
    conn: Connection, cast: Cast, listed: int
) -> None:
    eligibility.reassess(conn, [listed])
    assert _placed(conn, listed)["eligibility_source"] == "rules"
    why = "A holiday club only in name: a fee-paying childcare business"

    with pytest.raises(PermissionDeniedError, match="does not work in territory"):
        verification.decide_eligibility(conn, cast.met_community, listed, "ineligible", [], why)
    with pytest.raises(PermissionDeniedError):
        verification.decide_eligibility(conn, cast.provider, listed, "ineligible", [], why)
    with pytest.raises(InvalidInputError, match="at least one dual-impact category"):
        verification.decide_eligibility(conn, cast.community, listed, "eligible", [], why)
    with pytest.raises(InvalidInputError, match="unknown categories schools"):
        verification.decide_eligibility(conn, cast.community, listed, "eligible", ["schools"], why)
    with pytest.raises(InvalidInputError, match="only an eligible activity has"):
        verification.decide_eligibility(
            conn, cast.community, listed, "ineligible", ["youth_diversion"], why
        )
    with pytest.raises(InvalidInputError, match="needs a reason"):
        verification.decide_eligibility(conn, cast.community, listed, "ineligible", [], "no")

    decided = verification.decide_eligibility(conn, cast.community, listed, "ineligible", [], why)
    assert (decided["eligibility"], decided["eligibility_source"]) == ("ineligible", "decision")
    assert decided["eligibility_reason"] == why
    assert decided["eligibility_decided_at"] is not None
    assert not decided["trusted"]
    assert _placed(conn, listed)["eligibility_decided_by"] == cast.community.id
    event = _events(conn, listed)[-1]
    assert (event["action"], event["actor_id"], event["reason"]) == (
        "eligibility_decided",
        cast.community.id,
        why,
    )
    assert event["changes"]["eligibility_source"] == ["rules", "decision"]
    assert event["changes"]["eligibility"][1] == "ineligible"

    eligibility.reassess(conn)  # the rules run again over everything: the decision stands
    placed = _placed(conn, listed)
    assert (placed["eligibility"], placed["eligibility_source"]) == ("ineligible", "decision")

    verification.claim(conn, cast.provider, listed)
    with pytest.raises(ConflictError, match="is ineligible"):
        verification.verify(conn, cast.community, listed, 2, ["https://example.org/a.pdf"])
    admin = verification.decide_eligibility(
        conn, cast.admin, listed, "eligible", ["youth_diversion", "family_support"], why
    )
    assert admin["eligibility_categories"] == ["youth_diversion", "family_support"]


def test_a_provider_registering_its_own_activity_has_claimed_it(
    conn: Connection, cast: Cast
) -> None:
    registered = stewardship.register_for(
        conn, cast.provider, {"name": "Cowley detached youth work", "postcode": "OX4 2HN"}
    )
    placed = _placed(conn, registered.activity_id)
    assert (placed["verification"], placed["provider_id"]) == (
        "claimed",
        cast.provider.organisation_id,
    )
    (event,) = _events(conn, registered.activity_id)
    assert (event["action"], event["actor_id"]) == ("claimed", cast.provider.id)
    # A community team connects an activity in: listed until its provider claims it.
    connected = stewardship.register_for(
        conn, cast.community, {"name": "Blackbird Leys food larder", "postcode": "OX4 6HW"}
    )
    assert _placed(conn, connected.activity_id)["verification"] == "listed"


def test_an_unknown_activity_or_user_is_named(conn: Connection, cast: Cast) -> None:
    with pytest.raises(NotFoundError, match="no activity with id 2147483647"):
        verification.claim(conn, cast.provider, 2**31 - 1)
    assert user_by_email(conn, " Community@Example.org ").id == cast.community.id
    with pytest.raises(NotFoundError, match=r"no active user with email nobody@example\.org"):
        user_by_email(conn, "nobody@example.org")
