"""The registry's readers: trusted activities by default, every one when asked, each row
saying how far it can be trusted; "nearby" measured to the nearest place of delivery.

Eligibility and verification are set with SQL here, so these tests do not depend on the
eligibility rules (``registry.eligibility``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from boundaries.sources import need_areas_2019, territories_2023
from boundaries.store import load_geography
from geo import migrate
from geo.db import make_engine
from registry import activities, placement, privacy, queries
from registry.frames import Activities
from registry.importer import run_import

THAMES_VALLEY = "E23000029"
OX1_1DP = (51.74990, -1.25653)  # lat, lon (EPSG:4326)
# What every reader says about an activity's trust.
TRUST = {
    "eligibility",
    "eligibility_categories",
    "eligibility_reason",
    "verification",
    "evidence_level",
    "fresh_on",
    "located_at",
    "delivery_site_count",
}


def import_rows(
    engine: Engine, tmp_path: Path, rows: str, header: str = "name,postcode"
) -> dict[str, int]:
    """Import CSV rows (``name,postcode`` unless another header is given); the stored
    activities' ids by name."""
    source = tmp_path / "activities.csv"
    source.write_text(f"{header}\n{rows}")
    run_import(engine, activities.SPEC, source)
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT name, id FROM activity")).all())


def set_columns(engine: Engine, activity_id: int, **values: object) -> None:
    """Set an activity's eligibility or verification columns directly."""
    assignments = ", ".join(
        f"{name} = CAST(:{name} AS varchar[])"
        if name == "eligibility_categories"
        else f"{name} = :{name}"
        for name in values
    )
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE activity SET {assignments} WHERE id = :id"), {**values, "id": activity_id}
        )


def add_site(engine: Engine, activity_id: int, postcode: str) -> None:
    """A delivery site at a postcode of the gazetteer."""
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO delivery_site (activity_id, label, postcode, geom,
                                           location_precision, territory_id, need_area_id)
                SELECT :id, 'at ' || p.postcode, p.postcode, p.geom, 'postcode', p.territory_id,
                       p.need_area_id
                FROM postcode_unit p WHERE p.postcode = :postcode
                """
            ),
            {"id": activity_id, "postcode": postcode},
        )


@pytest.fixture
def ladder(registry: Engine, tmp_path: Path) -> dict[str, int]:
    """Four Oxford activities: one trusted, one eligible but lapsed (claimed ten years ago
    and not heard of since), one ineligible, one not yet reviewed."""
    ids = import_rows(
        registry,
        tmp_path,
        "Cowley Youth Club,OX4 1AA\n"
        "Blackbird Leys Food Bank,OX4 1BB\n"
        "Oxford Castle restoration,OX1 1DP\n"
        "Test activity,OX1 2JD\n",
    )
    eligible = {"eligibility": "eligible", "eligibility_reason": None}
    set_columns(
        registry, ids["Cowley Youth Club"], **eligible, eligibility_categories=["youth_diversion"]
    )
    set_columns(
        registry,
        ids["Blackbird Leys Food Bank"],
        **eligible,
        eligibility_categories=["hardship_food_debt"],
        verification="claimed",
    )
    with registry.begin() as conn:
        conn.execute(
            text("UPDATE activity SET claimed_at = now() - interval '10 years' WHERE id = :id"),
            {"id": ids["Blackbird Leys Food Bank"]},
        )
    set_columns(
        registry,
        ids["Oxford Castle restoration"],
        eligibility="ineligible",
        eligibility_categories=[],
        eligibility_reason="heritage building",
    )
    set_columns(
        registry, ids["Test activity"], eligibility="needs_review", eligibility_categories=[]
    )
    return ids


def test_listings_hold_trusted_activities_unless_all_are_asked_for(
    registry: Engine, ladder: dict[str, int]
) -> None:
    everyone = sorted(ladder.values())
    trusted = [ladder["Cowley Youth Club"]]
    with registry.connect() as conn:
        assert queries.activities(conn)["id"].tolist() == trusted
        listed = queries.activities(conn, THAMES_VALLEY, include_all=True)
        assert listed["id"].tolist() == everyone
        page, total = queries.activity_page(conn, territory=THAMES_VALLEY)
        assert (page["id"].tolist(), total) == (trusted, 1)
        page, total = queries.activity_page(conn, include_all=True, limit=2)
        assert (page["id"].tolist(), total) == (everyone[:2], 4)
        counts = queries.counts_by_territory(conn).set_index("code")
        assert counts.loc[THAMES_VALLEY, "activities"] == 1
        counts = queries.counts_by_territory(conn, include_all=True).set_index("code")
        assert counts.loc[THAMES_VALLEY, "activities"] == 4
        assert queries.loaded_counts(conn).activities == 4  # what is loaded: all of it
        near = queries.nearby(conn, *OX1_1DP, 5_000)
        assert [r["id"] for r in near] == trusted
        near = queries.nearby(conn, *OX1_1DP, 5_000, include_all=True)
        assert sorted(r["id"] for r in near) == everyone
    Activities.validate(listed, lazy=True)
    by_name = listed.set_index("name")
    lapsed = by_name.loc["Blackbird Leys Food Bank"]
    assert (lapsed["eligibility"], lapsed["verification"]) == ("eligible", "lapsed")
    assert not lapsed["fresh"] and not lapsed["trusted"]
    castle = by_name.loc["Oxford Castle restoration"]
    assert castle["eligibility_reason"] == "heritage building"
    assert by_name.loc["Cowley Youth Club", "eligibility_categories"] == ["youth_diversion"]
    for frame in (listed, page):
        assert set(frame.columns) >= TRUST
    assert set(near[0]) >= TRUST


def test_one_activity_is_readable_whatever_its_state(
    registry: Engine, ladder: dict[str, int]
) -> None:
    with registry.connect() as conn:
        castle = queries.activity(conn, ladder["Oxford Castle restoration"]).iloc[0]
    assert set(castle.index) >= TRUST
    assert (castle["eligibility"], castle["eligibility_reason"]) == (
        "ineligible",
        "heritage building",
    )
    assert (castle["verification"], castle["located_at"]) == ("listed", "delivery")
    assert not castle["trusted"]


def test_nearby_measures_to_the_nearest_place_of_delivery(registry: Engine, tmp_path: Path) -> None:
    """A mentoring scheme registered in Milton Keynes, delivered first in Reading, then in
    east Oxford: from OX1 1DP it is under a kilometre away, at its Oxford site."""
    ids = import_rows(registry, tmp_path, "Mentoring scheme,MK9 1AA\nCowley Youth Club,OX3 7LF\n")
    for activity_id in ids.values():
        set_columns(
            registry,
            activity_id,
            eligibility="eligible",
            eligibility_categories=["youth_diversion"],
        )
    scheme = ids["Mentoring scheme"]
    add_site(registry, scheme, "RG1 1AA")
    add_site(registry, scheme, "OX4 1AA")
    with registry.connect() as conn:
        near = queries.nearby(conn, *OX1_1DP, 5_000)
        placed = queries.activities(conn).set_index("id").loc[scheme]
    assert [r["id"] for r in near] == [scheme, ids["Cowley Youth Club"]]
    found = near[0]
    assert 800 < found["distance_m"] < 1_000
    assert (found["postcode"], found["located_at"], found["territory_code"]) == (
        "OX4 1AA",
        "delivery_site",
        THAMES_VALLEY,
    )
    assert (found["lat"], found["lon"]) == pytest.approx((51.75054, -1.24326), abs=1e-4)
    assert found["delivery_site_count"] == 2
    assert near[1]["located_at"] == "delivery"  # its own point, where it is delivered
    # Listings place it at its first delivery site, and say so.
    assert (placed["postcode"], placed["located_at"], placed["delivery_site_count"]) == (
        "RG1 1AA",
        "delivery_site",
        2,
    )


def test_redacting_twice_keeps_the_same_hidden_key() -> None:
    record: dict[str, object] = {"safeguarding": True, "source_key": "refuge|OX1 1DP"}
    once = privacy.redact_record(record)
    assert privacy.redact_record(once)["source_key"] == once["source_key"]
    assert str(once["source_key"]).startswith(privacy.SAFEGUARDED_PREFIX)


def test_a_new_boundary_generation_re_places_delivery_sites(
    empty_database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """Delivery sites are placed records too: a new generation re-places them with the
    activities, or the activities placed at them would drop out of the current territories."""
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        load_geography(engine, territories_2023(data_dir), need_areas_2019(data_dir))
        source = tmp_path / "clubs.csv"
        source.write_text("name,lat,lon\nOxford club,51.752,-1.258\n")
        assert run_import(engine, activities.SPEC, source).stored == 1
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO delivery_site (activity_id, geom, location_precision,"
                    " territory_id, need_area_id)"
                    " SELECT id, geom, 'coordinates', territory_id, need_area_id FROM activity"
                )
            )
        newer = tmp_path / "territories_2025.geojson"
        shutil.copy(data_dir / "geography" / "territories.geojson", newer)
        report = load_geography(
            engine,
            territories_2023(data_dir).with_file(newer, "Police force areas December 2025"),
            need_areas_2019(data_dir),
            replace=placement.replace,
        )
        assert report.replaced == 2  # the activity and its delivery site
        with engine.connect() as conn:
            vintage = conn.execute(
                text(
                    "SELECT b.vintage FROM delivery_site d"
                    " JOIN territory t ON t.id = d.territory_id"
                    " JOIN boundary_set b ON b.id = t.boundary_set_id"
                )
            ).scalar_one()
            counts = queries.counts_by_territory(conn, include_all=True).set_index("code")
        assert vintage == "Police force areas December 2025"
        assert counts.loc[THAMES_VALLEY, "activities"] == 1
    finally:
        engine.dispose()
