"""Delivery sites: an activity delivered away from its registered office is read where it
is delivered; who may change its sites; the history; safeguarded sites kept private;
bad places refused with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from accounts import sites as site_changes
from accounts.users import User, create_organisation, create_user, get_user
from cli.main import app
from geo.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from registry import delivery_sites
from registry.records import register_activity

TVP, WEST_MIDLANDS, MET = "E23000029", "E23000014", "E23000001"
PASSWORD = "correct horse battery staple"
# A square of about 1 km around Cowley (lon/lat degrees).
COWLEY = {
    "type": "Polygon",
    "coordinates": [
        [[-1.25, 51.745], [-1.235, 51.745], [-1.235, 51.755], [-1.25, 51.755], [-1.25, 51.745]]
    ],
}


def _activity(conn: Connection, name: str, postcode: str, **fields: Any) -> int:
    return register_activity(
        conn, {"name": name, "postcode": postcode, **fields}, "test"
    ).activity_id


def _placed(conn: Connection, activity_id: int) -> dict[str, Any]:
    return dict(
        conn.execute(
            text(
                "SELECT located_at, delivery_site_count, postcode, territory_code, "
                "location_precision, lat, lon FROM activity_placed WHERE id = :id"
            ),
            {"id": activity_id},
        )
        .mappings()
        .one()
    )


def _stored(conn: Connection, activity_id: int) -> tuple[int, int]:
    """How many delivery sites and history rows the activity has, from the tables."""
    sites, events = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM delivery_site WHERE activity_id = :id),"
            " (SELECT count(*) FROM activity_event WHERE activity_id = :id)"
        ),
        {"id": activity_id},
    ).one()
    return sites, events


def _person(conn: Connection, kind: str, org: str, role: str, *territories: str) -> User:
    organisation = create_organisation(
        conn,
        kind,
        org,
        buyer_kind="police" if kind == "buyer" else None,
        territories=territories,
    )
    email = f"{role}.{organisation}@example.org"
    return get_user(conn, create_user(conn, email, role, PASSWORD, organisation, role))


def test_a_site_places_the_activity_where_it_is_delivered(
    registry: Engine, conn: Connection
) -> None:
    club = _activity(conn, "Cowley Youth Club", "OX4 1AA")
    # A 360Giving recipient sits at its registered office (set here by hand: the 360Giving
    # import is being changed to set it by another part of this work).
    conn.execute(
        text("UPDATE activity SET location_basis = 'registered_office' WHERE id = :id"),
        {"id": club},
    )
    before = _placed(conn, club)
    assert before["located_at"] == "registered_office"
    assert before["delivery_site_count"] == 0
    assert before["territory_code"] == TVP

    first = delivery_sites.add(
        conn,
        club,
        delivery_sites.prepare(conn, postcode="b1 1aa", label="Digbeth youth hub"),
    )
    assert first["postcode"] == "B1 1AA"
    assert first["location_precision"] == "postcode"
    assert first["territory_code"] == WEST_MIDLANDS
    placed = _placed(conn, club)
    assert placed["located_at"] == "delivery_site"
    assert placed["delivery_site_count"] == 1
    assert placed["territory_code"] == WEST_MIDLANDS
    assert placed["postcode"] == "B1 1AA"

    second = delivery_sites.add(
        conn, club, delivery_sites.prepare(conn, lon=-0.11201, lat=51.52456)
    )
    assert second["postcode"] is None
    assert second["location_precision"] == "coordinates"
    assert second["territory_code"] == MET
    placed = _placed(conn, club)
    assert placed["delivery_site_count"] == 2
    assert placed["territory_code"] == WEST_MIDLANDS  # still read at its first site

    locations = conn.execute(
        text(
            "SELECT delivery_site_id, located_at, territory_id FROM activity_location"
            " WHERE activity_id = :id ORDER BY delivery_site_id"
        ),
        {"id": club},
    ).all()
    assert [(row.delivery_site_id, row.located_at) for row in locations] == [
        (first["id"], "delivery_site"),
        (second["id"], "delivery_site"),
    ]
    assert [s["id"] for s in delivery_sites.sites(conn, club)] == [first["id"], second["id"]]

    delivery_sites.remove(conn, club, first["id"])
    assert _placed(conn, club)["territory_code"] == MET
    delivery_sites.remove(conn, club, second["id"])
    assert _placed(conn, club) == before  # back at its registered office
    assert delivery_sites.sites(conn, club) == []


def test_a_site_is_placed_by_sector_when_its_postcode_is_unknown(
    registry: Engine, conn: Connection
) -> None:
    club = _activity(conn, "Rose Hill Youth Club", "OX4 4XP")
    site = delivery_sites.add(conn, club, delivery_sites.prepare(conn, postcode="OX4 1ZZ"))
    assert site["location_precision"] == "sector"
    assert site["territory_code"] == TVP


@pytest.mark.parametrize(
    ("place", "message"),
    [
        ({"postcode": "ZE9 9ZZ"}, "unknown postcode ZE9 9ZZ"),
        ({"postcode": "JE2 3AB"}, "Jersey"),
        ({"lat": 50.3, "lon": -4.5}, "not in any of the 45 UK territories"),
        ({"lat": 48.85, "lon": 2.35}, "outside the UK"),
        ({"lat": 51.75}, "both lon and lat"),
        ({}, "either a postcode or lon and lat"),
        ({"postcode": "OX4 1AA", "lat": 51.75, "lon": -1.24}, "not both"),
        ({"postcode": "OX4 1AA", "service_area": {"type": "Polygon"}}, "not valid GeoJSON"),
        (
            {"postcode": "OX4 1AA", "service_area": {"type": "Point", "coordinates": [-1.2, 51.7]}},
            "must be a Polygon",
        ),
        (
            {
                "postcode": "OX4 1AA",
                "service_area": {
                    "type": "Polygon",
                    "coordinates": [[[-1.2, 51.7], [-1.1, 51.7], [-1.0, 51.7], [-1.2, 51.7]]],
                },
            },
            "has no area",
        ),
        (
            {
                "postcode": "OX4 1AA",
                "service_area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[450000, 206000], [452000, 206000], [452000, 208000], [450000, 206000]]
                    ],
                },
            },
            "lon/lat degrees",
        ),
    ],
)
def test_a_place_that_cannot_be_used_is_refused_and_nothing_is_stored(
    registry: Engine, conn: Connection, place: dict[str, Any], message: str
) -> None:
    club = _activity(conn, "Cowley Youth Club", "OX4 1AA")
    admin = _person(conn, "operator", "Dual Impact platform", "admin")
    before = _stored(conn, club)
    with pytest.raises(InvalidInputError, match=message):
        site_changes.add_site(conn, admin, club, **place)
    assert _stored(conn, club) == before
    assert _placed(conn, club)["located_at"] == "delivery"


def test_the_area_served_is_stored_and_read_back(registry: Engine, conn: Connection) -> None:
    club = _activity(conn, "Cowley Youth Club", "OX4 1AA")
    site = delivery_sites.add(
        conn,
        club,
        delivery_sites.prepare(
            conn, postcode="OX4 1AA", service_area={"type": "Feature", "geometry": COWLEY}
        ),
    )
    assert site["service_area"] is not None
    assert site["service_area"]["type"] == "MultiPolygon"
    area = conn.execute(
        text("SELECT ST_Area(service_area::geography) FROM activity_placed WHERE id = :id"),
        {"id": club},
    ).scalar_one()
    assert 1.0e6 < area < 1.3e6  # about 1.04 km by 1.11 km, in square metres


def test_an_area_served_given_with_heights_is_stored_flat() -> None:
    corners = [[x, y, 60.0] for x, y in COWLEY["coordinates"][0]]
    area = delivery_sites.area_served({"type": "Polygon", "coordinates": [corners]})
    assert not area.has_z  # the column is two-dimensional
    assert area.geom_type == "MultiPolygon"


def test_a_safeguarded_activitys_sites_never_show_their_place(
    registry: Engine, conn: Connection
) -> None:
    refuge = _activity(conn, "Oxford Women's Refuge", "OX4 3QJ", safeguarding=True)
    added = delivery_sites.add(
        conn,
        refuge,
        delivery_sites.prepare(
            conn,
            postcode="OX4 1AA",
            address="12 Example Road, Oxford OX4 1AA",
            label="Outreach room",
            service_area=COWLEY,
        ),
    )
    (listed,) = delivery_sites.sites(conn, refuge)
    for shown in (added, listed):
        assert shown["postcode"] == "OX4"
        assert shown["lat"] is None and shown["lon"] is None
        assert shown["address"] is None
        assert shown["need_area_code"] is None
        assert shown["service_area"] is None
        assert shown["territory_code"] == TVP
        assert shown["label"] == "Outreach room"
    # The record keeps the exact place; only what is shown is cut.
    stored = conn.execute(
        text("SELECT postcode, address FROM delivery_site WHERE id = :id"), {"id": added["id"]}
    ).one()
    assert tuple(stored) == ("OX4 1AA", "12 Example Road, Oxford OX4 1AA")
    (event,) = conn.execute(
        text("SELECT changes FROM activity_event WHERE activity_id = :id"), {"id": refuge}
    ).scalars()
    assert "OX4 1AA" not in str(event)


def test_changes_are_made_by_whom_the_table_allows_and_recorded(
    registry: Engine, conn: Connection
) -> None:
    club = _activity(conn, "Cowley Youth Club", "OX4 1AA")
    provider = _person(conn, "provider", "Cowley Youth Trust", "provider")
    conn.execute(
        text("UPDATE activity SET provider_id = :p WHERE id = :id"),
        {"p": provider.organisation_id, "id": club},
    )
    team = _person(conn, "community", "Oxfordshire Community Foundation", "community", TVP)
    london_team = _person(conn, "community", "London Community Foundation", "community", MET)
    lead = _person(conn, "buyer", "Thames Valley Police", "buyer_lead", TVP)
    other_provider = _person(conn, "provider", "Reading Food Aid", "provider")
    analyst = _person(conn, "community", "Berkshire Community Foundation", "analyst", TVP)

    for stranger in (london_team, other_provider, analyst):
        with pytest.raises(PermissionDeniedError, match="change where an activity is delivered"):
            site_changes.add_site(conn, stranger, club, postcode="OX4 4XP")
    # A territory's people cannot take an activity into a territory they do not work in.
    with pytest.raises(PermissionDeniedError, match=f"does not buy for territory {WEST_MIDLANDS}"):
        site_changes.add_site(conn, lead, club, postcode="B1 1AA")
    with pytest.raises(PermissionDeniedError, match=f"does not work in territory {WEST_MIDLANDS}"):
        site_changes.add_site(conn, team, club, postcode="B1 1AA")
    assert _stored(conn, club) == (0, 0)

    by_team = site_changes.add_site(conn, team, club, postcode="OX4 4XP", label="Rose Hill")
    by_lead = site_changes.add_site(conn, lead, club, postcode="RG1 1AA")
    by_provider = site_changes.add_site(conn, provider, club, postcode="B1 1AA")
    with pytest.raises(PermissionDeniedError):  # the West Midlands site is not the team's
        site_changes.remove_site(conn, team, club, by_provider["id"])
    with pytest.raises(PermissionDeniedError):
        site_changes.remove_site(conn, london_team, club, by_team["id"])
    with pytest.raises(NotFoundError):
        site_changes.remove_site(conn, team, club, by_provider["id"] + 1000)
    site_changes.remove_site(conn, team, club, by_lead["id"])

    events = conn.execute(
        text(
            "SELECT actor_id, action, changes FROM activity_event WHERE activity_id = :id"
            " ORDER BY id"
        ),
        {"id": club},
    ).all()
    assert [(e.actor_id, e.action) for e in events] == [
        (team.id, "add_delivery_site"),
        (lead.id, "add_delivery_site"),
        (provider.id, "add_delivery_site"),
        (team.id, "remove_delivery_site"),
    ]
    assert events[0].changes == {
        "delivery_site": [
            None,
            {
                "id": by_team["id"],
                "label": "Rose Hill",
                "postcode": "OX4 4XP",
                "location_precision": "postcode",
                "territory_code": TVP,
            },
        ]
    }
    assert events[3].changes["delivery_site"][0]["postcode"] == "RG1 1AA"
    assert events[3].changes["delivery_site"][1] is None
    added_by = conn.execute(
        text("SELECT added_by FROM delivery_site WHERE activity_id = :id ORDER BY id"),
        {"id": club},
    ).scalars()
    assert list(added_by) == [team.id, provider.id]


def test_sites_of_an_unknown_activity_are_not_found(registry: Engine, conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="no activity"):
        delivery_sites.sites(conn, 2**31 - 1)
    with pytest.raises(NotFoundError, match="no activity"):
        delivery_sites.add(conn, 2**31 - 1, delivery_sites.prepare(conn, postcode="OX4 1AA"))


@pytest.mark.usefixtures("cli_env")
def test_the_command_line_adds_lists_and_removes_sites(registry: Engine, tmp_path: Path) -> None:
    with registry.begin() as conn:
        club = _activity(conn, "Cowley Youth Club", "OX4 1AA")
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "Feature", "geometry": COWLEY, "properties": {}}))
    runner = CliRunner()

    def run(command: str, *options: str) -> Any:
        return runner.invoke(app, ["activities", command, str(club), *options])

    added = run("sites-add", "--lat", "52.47667", "--lon", "-1.90353", "--service-area", str(area))
    assert added.exit_code == 0, added.stderr
    assert "West Midlands" in added.stdout
    refused = run("sites-add", "--postcode", "ZE9 9ZZ")
    assert refused.exit_code == 2
    assert "unknown postcode ZE9 9ZZ" in refused.stderr
    listed = run("sites-list", "--json")
    assert listed.exit_code == 0, listed.stderr
    (site,) = json.loads(listed.stdout)
    assert site["territory_code"] == WEST_MIDLANDS
    assert site["service_area"]["type"] == "MultiPolygon"
    assert run("sites-remove", str(site["id"])).exit_code == 0
    assert json.loads(run("sites-list", "--json").stdout) == []
    with registry.connect() as conn:
        actions = conn.execute(
            text("SELECT action, actor_id FROM activity_event WHERE activity_id = :id ORDER BY id"),
            {"id": club},
        ).all()
    assert [tuple(a) for a in actions] == [
        ("add_delivery_site", None),
        ("remove_delivery_site", None),
    ]
