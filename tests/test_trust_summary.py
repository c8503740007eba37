"""How much to trust each territory's map (:mod:`registry.trust`), and coverage of the
trusted activities, on the real shared data.

The activities' trust states are set by SQL inside a rolled-back transaction, so these
tests do not depend on the eligibility rules' wording; only
:func:`test_the_rules_sort_the_real_register` reads what the rules decided on import.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from geo.errors import NotFoundError
from maps import queries, report
from registry import trust

TVP = "E23000029"


@pytest.fixture
def real(demo_data: Engine) -> Iterator[Connection]:
    """A connection to the real register whose changes are rolled back at the end."""
    with demo_data.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


def _open_ids(conn: Connection, where: str, limit: int) -> list[int]:
    """Open TVP activities, placed at their own point, matching ``where``."""
    return list(
        conn.execute(
            text(
                "SELECT a.id FROM activity_placed a WHERE a.territory_code = :t"
                f" AND a.status <> 'closed' AND a.delivery_site_count = 0 AND {where}"
                " ORDER BY a.id LIMIT :n"
            ),
            {"t": TVP, "n": limit},
        ).scalars()
    )


def test_every_territory_is_summarised_and_the_counts_add_up(real: Connection) -> None:
    summary = trust.trust_summary(real)
    assert len(summary) == 45 and summary["territory_code"].is_unique
    open_activities = real.execute(
        text("SELECT count(*) FROM activity_placed WHERE status <> 'closed'")
    ).scalar_one()
    assert summary["activities"].sum() == open_activities > 2_000
    for measure in trust.MEASURES:
        assert (summary[measure] <= summary["activities"]).all()
        assert summary[f"share_{measure}"].between(0, 1).all()
    status = summary[["eligible", "ineligible", "needs_review"]].sum(axis=1)
    assert (status == summary["activities"]).all()
    with pytest.raises(NotFoundError, match="E23999999"):
        trust.trust_summary(real, "E23999999")


def test_each_measure_counts_what_it_says(real: Connection) -> None:
    before = trust.trust_summary(real, TVP).iloc[0]
    unreviewed = _open_ids(
        real,
        "a.eligibility <> 'eligible' AND NOT a.fresh AND a.people_reached_per_year IS NULL"
        " AND a.funding_gap IS NULL",
        3,
    )
    assert len(unreviewed) == 3
    first, second, third = unreviewed
    real.execute(
        text(
            "UPDATE activity SET eligibility = 'eligible', eligibility_source = 'decision',"
            " eligibility_categories = '{youth_diversion}', eligibility_reason = 'a test'"
            " WHERE id = ANY(:ids)"
        ),
        {"ids": unreviewed},
    )
    real.execute(
        text(
            "UPDATE activity SET verification = 'verified', evidence_level = 2,"
            " verified_at = now() WHERE id = :id"
        ),
        {"id": first},
    )
    real.execute(
        text("UPDATE activity SET people_reached_per_year = 80, funding_gap = 2000 WHERE id = :id"),
        {"id": second},
    )
    real.execute(  # a delivery site where the activity already is
        text(
            "INSERT INTO delivery_site (activity_id, geom, location_precision, territory_id)"
            " SELECT id, geom, 'postcode', territory_id FROM activity WHERE id = :id"
        ),
        {"id": third},
    )
    after = trust.trust_summary(real, TVP).iloc[0]
    assert after["activities"] == before["activities"]
    assert after["eligible"] - before["eligible"] == 3
    assert after["trusted"] - before["trusted"] == 3
    assert after["verified"] - before["verified"] == 1
    assert after["fresh"] - before["fresh"] == 1  # verified today: heard of
    assert after["with_reach_and_gap"] - before["with_reach_and_gap"] == 1
    assert after["with_delivery_site"] - before["with_delivery_site"] == 1
    total = int(after["activities"])
    assert after["share_eligible"] == pytest.approx(after["eligible"] / total)
    line = (
        f"{int(after['verified']):,} of {total:,} open activities"
        f" ({after['verified'] / total:.0%}) are verified by a community team."
    )
    assert line in trust.sentences(after)


def test_coverage_counts_trusted_activities_and_the_reach_it_assumed(real: Connection) -> None:
    ids = _open_ids(real, "a.eligibility <> 'eligible' AND NOT a.safeguarding", 2)
    real.execute(
        text(
            "UPDATE activity SET eligibility = 'eligible', eligibility_source = 'decision',"
            " eligibility_categories = '{hardship_food_debt}', eligibility_reason = 'a test',"
            " people_reached_per_year = CASE WHEN id = :first THEN 250 END WHERE id = ANY(:ids)"
        ),
        {"ids": ids, "first": ids[0]},
    )
    trusted = queries.activities(real)
    assert trusted["trusted"].all() and set(ids) <= set(trusted["activity_id"])
    every = queries.activities(real, include_all=True)
    assert len(every) > len(trusted) and not every["trusted"].all()
    # Recorded reach is used where there is one; the default stands in (and is counted).
    mine = trusted.set_index("activity_id").loc[ids]
    assert mine["capacity"].tolist() == [250.0, 100.0]
    assert mine["capacity_assumed"].tolist() == [False, True]
    found = report.build(real)
    assert len(found.activities) == len(trusted) and not found.include_all
    assert found.capacities_assumed == int(trusted["capacity_assumed"].sum())
    tvp = found.summary.set_index("territory_code").loc[TVP]
    in_tvp = trusted[trusted["territory_code"] == TVP]
    assert tvp["activities"] == len(in_tvp)
    assert tvp["capacities_assumed"] == in_tvp["capacity_assumed"].sum()
    assert report.build(real, include_all=True).include_all


def test_the_rules_sort_the_real_register(real: Connection) -> None:
    """Depends on the eligibility rules (run on import): the real register is no longer
    all "not yet reviewed"."""
    summary = trust.trust_summary(real)
    assert summary["eligible"].sum() > 0 and summary["ineligible"].sum() > 0
    assert summary["trusted"].sum() < summary["activities"].sum()


def test_the_thames_valley_what_if_lists_no_schools_or_galleries(real: Connection) -> None:
    """Depends on the eligibility rules: the trusted what-if is led by dual-impact
    activities, where the whole register's was led by schools and galleries."""
    every = report.what_if_table(
        report.build(real, include_all=True), TVP, budget_gbp=10_000.0
    ).head(10)
    ranked = report.what_if_table(report.build(real), TVP, budget_gbp=10_000.0).head(10)
    unlikely = r"\b(?:school|gallery|castle|college|museum)\b"
    assert every["name"].str.contains(unlikely, case=False).any()
    # Fewer than ten when the trusted activities leave few gaps to close.
    assert 0 < len(ranked) <= 10
    assert not ranked["name"].str.contains(unlikely, case=False).any()
    assert (ranked["eligibility"] == "eligible").all()
