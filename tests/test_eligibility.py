"""Eligibility: real cases of the shared data come out as a person would judge them, with a
reason quoting the evidence; a person's decision outlives the rules and every import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, text

from registry.eligibility import assess, reassess
from registry.records import register_activity


def _stored(conn: Connection, name: str) -> tuple[int, str, list[str], str, str]:
    """(id, eligibility, categories, reason, source) of the one activity called ``name``."""
    row = conn.execute(
        text(
            "SELECT id, eligibility, eligibility_categories, eligibility_reason,"
            " eligibility_source FROM activity WHERE name = :name"
        ),
        {"name": name},
    ).one()
    return (
        row.id,
        row.eligibility,
        list(row.eligibility_categories),
        row.eligibility_reason,
        (row.eligibility_source),
    )


@pytest.mark.parametrize(
    ("name", "evidence"),
    [
        ("Baylis Court School", "core education: 'School' in name 'Baylis Court School'"),
        (
            "John Hampden Grammar School",
            "core education: 'School' in name 'John Hampden Grammar School'",
        ),
        ("University of Sheffield", "core education: 'University' in name"),
        ("St George's, Windsor Castle", "'Castle' in name 'St George's, Windsor Castle'"),
        ("MK Gallery", "museum, gallery or heritage: 'Gallery' in name 'MK Gallery'"),
    ],
)
def test_schools_universities_castles_and_galleries_are_ineligible(
    demo_data: Engine, name: str, evidence: str
) -> None:
    with demo_data.connect() as conn:
        _, eligibility, categories, reason, source = _stored(conn, name)
    assert (eligibility, categories, source) == ("ineligible", [], "rules")
    assert evidence in reason and reason.endswith("no dual-impact programme named")


@pytest.mark.parametrize(
    ("name", "category", "evidence"),
    [
        ("Chorley Adventure Youth Club", "youth_diversion", "'Youth Club' in name"),
        ("Oasis Domestic Abuse Service", "domestic_sexual_abuse", "'Domestic Abuse' in name"),
        ("Fylde Coast Women's Aid", "domestic_sexual_abuse", "'Women's Aid' in name"),
        ("Bicester Foodbank", "hardship_food_debt", "'Foodbank' in name"),
        ("Jigsaw Recovery Project C.I.C.", "substance_misuse", "'Recovery Project' in name"),
        ("West Lothian Drug & Alcohol Service", "substance_misuse", "'Drug' in name"),
        # Decided by a grant's title, not the name ("the resettlement of prisoners through
        # the You Decide alcohol intervention course").
        ("Beyond the Gate", "reoffending_resettlement", "'resettlement' in grant title"),
    ],
)
def test_youth_clubs_refuges_food_banks_and_recovery_services_are_eligible(
    demo_data: Engine, name: str, category: str, evidence: str
) -> None:
    with demo_data.connect() as conn:
        _, eligibility, categories, reason, _ = _stored(conn, name)
    assert eligibility == "eligible" and category in categories
    assert f"{category}: {evidence}" in reason


@pytest.fixture(scope="module")
def recipients(data_dir: Path) -> pd.DataFrame:
    """The shared recipients file, with the columns named as :func:`assess` reads them."""
    orgs = pd.read_csv(
        data_dir / "activities" / "activity_organisations.csv", dtype=str, keep_default_na=False
    )
    return orgs.rename(columns={"org_name": "name", "activity_description": "description"})


def _recipient(recipients: pd.DataFrame, name: str) -> pd.DataFrame:
    """The one row of the shared recipients file called ``name``."""
    row = recipients[recipients["name"] == name]
    assert len(row) == 1
    return row


@pytest.fixture(scope="module")
def baylis_court(recipients: pd.DataFrame) -> pd.DataFrame:
    """Baylis Court School as the shared recipients file has it (one row)."""
    return _recipient(recipients, "Baylis Court School")


@pytest.mark.parametrize(
    ("name", "evidence"),
    [
        ("Calderdale Council", "statutory body: 'Calderdale Council' in name"),
        (
            "New Mills & District Volunteer Centre",
            "volunteering or charity-support infrastructure: 'Volunteer Centre' in name",
        ),
        ("Devon Air Ambulance Trust", "first aid or benevolent fund (no category): 'Ambulance'"),
        ("Hornsea Rescue", "first aid or benevolent fund (no category): 'Rescue' in name"),
        ("Culture Coventry", "arts production or festival: 'Culture' in name"),
    ],
)
def test_councils_volunteer_centres_and_rescue_services_are_ineligible(
    recipients: pd.DataFrame, name: str, evidence: str
) -> None:
    found = assess(_recipient(recipients, name)).iloc[0]
    assert (found["eligibility"], found["eligibility_categories"]) == ("ineligible", [])
    reason = found["eligibility_reason"]
    assert evidence in reason and reason.endswith("no dual-impact programme named")


def test_a_council_named_for_a_category_s_people_is_not_statutory(
    recipients: pd.DataFrame,
) -> None:
    found = assess(_recipient(recipients, "Refugee Council")).iloc[0]
    assert found.tolist() == [
        "eligible",
        ["community_safety_cohesion"],
        "community_safety_cohesion: 'Refugee' in name",
    ]


def test_weak_words_in_a_company_s_description_are_its_pitch_not_evidence(
    recipients: pd.DataFrame,
) -> None:
    # An online-safety product for parents, by a community interest company (GB-COH org-id).
    company = _recipient(recipients, "Impetro CIC")
    found = assess(company).iloc[0]
    assert found.tolist() == [
        "needs_review",
        [],
        "only weak evidence, in the description of a company "
        "(family_support: 'parents' in description)",
    ]
    # The same words from a registered charity still count.
    charity = assess(company.assign(org_identifier="GB-CHC-1000000")).iloc[0]
    assert (charity["eligibility"], charity["eligibility_categories"]) == (
        "eligible",
        ["family_support"],
    )


@pytest.mark.parametrize(
    ("name", "evidence"),
    [
        ("Emmaus Greenwich", "homelessness_housing: 'Emmaus' in name"),
        ("Crisis UK", "homelessness_housing: 'Crisis UK' in name"),
        ("Oxford City II Division Guides", "youth_diversion: 'Division Guides' in name"),
    ],
)
def test_household_names_of_charity_networks_are_category_evidence(
    recipients: pd.DataFrame, name: str, evidence: str
) -> None:
    found = assess(_recipient(recipients, name)).iloc[0]
    assert found["eligibility"] == "eligible"
    assert found["eligibility_reason"] == evidence


def test_a_school_running_a_named_holiday_hunger_programme_is_eligible_through_it(
    baylis_court: pd.DataFrame,
) -> None:
    # The shared data holds no school with a holiday-food programme (see
    # benchmarks/data/ELIGIBILITY-CRITERIA.md), so the record is the real school's row with
    # a grant title added by this test.
    as_published = assess(baylis_court).iloc[0]
    assert as_published["eligibility"] == "ineligible"

    with_programme = baylis_court.assign(
        grant_titles="Holiday hunger programme: free meals and activities in the summer holidays"
    )
    found = assess(with_programme).iloc[0]
    assert found["eligibility"] == "eligible"
    assert found["eligibility_categories"] == ["hardship_food_debt"]
    assert found["eligibility_reason"] == (
        "core education: 'School' in name 'Baylis Court School', "
        "but hardship_food_debt: 'Holiday hunger' in grant title"
    )


def test_a_weak_word_does_not_lift_an_exclusion(baylis_court: pd.DataFrame) -> None:
    # "children" is evidence for family support only where nothing excludes the record.
    found = assess(baylis_court.assign(grant_titles="Science kit for children")).iloc[0]
    assert found["eligibility"] == "ineligible"
    plain = assess(pd.DataFrame({"name": ["Riverside families group"]})).iloc[0]
    assert (plain["eligibility"], plain["eligibility_categories"]) == (
        "eligible",
        ["family_support"],
    )


def test_a_record_that_says_nothing_needs_review_and_missing_columns_read_empty() -> None:
    found = assess(pd.DataFrame({"name": ["New Pathways"], "grant_titles": ["core costs"]}))
    assert found.iloc[0].tolist() == [
        "needs_review",
        [],
        "no exclusion and no dual-impact programme found in name, grant title",
    ]


def test_every_imported_activity_is_assessed(demo_data: Engine) -> None:
    with demo_data.connect() as conn:
        rows = conn.execute(text("SELECT eligibility, count(*) FROM activity GROUP BY 1"))
        counts = {str(eligibility): int(n) for eligibility, n in rows}
        unexplained = conn.execute(
            text(
                "SELECT count(*) FROM activity WHERE eligibility_reason IS NULL"
                " OR eligibility_reason LIKE 'not yet assessed%'"
            )
        ).scalar_one()
    assert unexplained == 0
    assert set(counts) == {"eligible", "ineligible", "needs_review"}
    assert counts["eligible"] > counts["needs_review"]


def test_a_decision_survives_reassessment_and_reimport(demo_data: Engine) -> None:
    with demo_data.connect() as conn, conn.begin() as transaction:
        gallery, *_ = _stored(conn, "MK Gallery")
        school, *_ = _stored(conn, "Baylis Court School")
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'eligible', eligibility_source = 'decision',"
                " eligibility_categories = '{youth_diversion}',"
                " eligibility_reason = 'community team: runs a weekly youth club',"
                " eligibility_decided_at = now() WHERE id = :id"
            ),
            {"id": gallery},
        )
        # A rules row left stale (as by older rules) is put right by the next assessment.
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'needs_review', eligibility_reason = 'old'"
                " WHERE id = :id"
            ),
            {"id": school},
        )
        counts = reassess(conn, [gallery, school])
        assert counts == {"eligible": 0, "ineligible": 1, "needs_review": 0}
        assert _stored(conn, "Baylis Court School")[1] == "ineligible"

        # The gallery sent again, as a file or the API would: matched, and assessed again.
        again = register_activity(conn, {"name": "MK Gallery", "postcode": "MK9 3QA"}, "test")
        assert again.activity_id == gallery and not again.created
        reassess(conn)
        assert _stored(conn, "MK Gallery")[1:] == (
            "eligible",
            ["youth_diversion"],
            "community team: runs a weekly youth club",
            "decision",
        )
        transaction.rollback()


def test_an_activity_registered_alone_is_assessed_as_it_is_stored(demo_data: Engine) -> None:
    with demo_data.connect() as conn, conn.begin() as transaction:
        new = register_activity(
            conn,
            {"name": "Riverside youth club", "description": "Friday nights", "postcode": "OX1 1DP"},
            "test",
        )
        assert new.created
        _, eligibility, categories, reason, source = _stored(conn, "Riverside youth club")
        assert (eligibility, categories, source) == ("eligible", ["youth_diversion"], "rules")
        assert reason == "youth_diversion: 'youth club' in name"
        transaction.rollback()
