"""The 45 territories and the need areas as stored in PostGIS (real data)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from boundaries import repository
from boundaries.read import read_need_areas
from boundaries.store import LoadReport

# (place, lat, lon, territory code, territory name)
KNOWN_PLACES = [
    ("Oxford, Carfax", 51.752, -1.258, "E23000029", "Thames Valley"),
    ("Cardiff, city centre", 51.4816, -3.1791, "W15000003", "South Wales"),
    ("Edinburgh, Royal Mile", 55.9497, -3.1909, "S23000009", "Scotland"),
    ("Belfast, City Hall", 54.5964, -5.9301, "N23000001", "Northern Ireland"),
    ("City of London, Bank", 51.5134, -0.0890, "E23000034", "London, City of"),
    ("Westminster (Metropolitan Police)", 51.4995, -0.1248, "E23000001", "Metropolitan Police"),
    ("Manchester, Piccadilly", 53.4808, -2.2426, "E23000005", "Greater Manchester"),
]


def test_exactly_45_territories_with_unique_codes(conn: Connection) -> None:
    frame = repository.territories(conn)
    assert len(frame) == 45
    assert frame["code"].is_unique
    assert frame.groupby("nation").size().to_dict() == {
        "England": 39,
        "Wales": 4,
        "Scotland": 1,
        "Northern Ireland": 1,
    }


def test_geometries_are_valid_multipolygons_in_4326(conn: Connection) -> None:
    rows = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE ST_IsValid(geom)),"
            " count(*) FILTER (WHERE GeometryType(geom) = 'MULTIPOLYGON'),"
            " count(*) FILTER (WHERE ST_SRID(geom) = 4326), count(*) FROM territory"
        )
    ).one()
    assert rows == (45, 45, 45, 45)


def test_area_is_measured_in_square_kilometres_on_the_british_grid(conn: Connection) -> None:
    areas = repository.territories(conn).set_index("code")["area_km2"]
    # Published sample areas (PROVENANCE.md), generalised boundaries: within 1 %.
    assert areas["W15000004"] == pytest.approx(10_974, rel=0.01)  # Dyfed-Powys
    assert areas["E23000034"] == pytest.approx(2.9, rel=0.05)  # City of London
    assert areas["S23000009"] == pytest.approx(78_704, rel=0.01)
    assert areas["N23000001"] == pytest.approx(14_332, rel=0.01)


def test_subdivided_pieces_cover_each_territory_exactly(conn: Connection) -> None:
    mismatch = conn.execute(
        text(
            """
            SELECT t.code, ST_Area(t.geom), sum(ST_Area(p.geom)), max(ST_NPoints(p.geom))
            FROM territory t JOIN territory_piece p ON p.territory_id = t.id
            GROUP BY t.id
            HAVING abs(sum(ST_Area(p.geom)) - ST_Area(t.geom)) > 1e-9 * ST_Area(t.geom)
                OR max(ST_NPoints(p.geom)) > 256 + 5
            """
        )
    ).all()
    assert mismatch == []


@pytest.mark.parametrize(("place", "lat", "lon", "code", "name"), KNOWN_PLACES)
def test_known_places_land_in_the_right_territory(
    conn: Connection, place: str, lat: float, lon: float, code: str, name: str
) -> None:
    located = repository.locator(conn).locate([lat], [lon]).iloc[0]
    assert (located["territory_code"], located["territory_name"]) == (code, name), place
    assert located["territory_method"] == "contains"
    assert located["need_area_code"]


@pytest.mark.parametrize(("place", "lat", "lon", "code", "name"), KNOWN_PLACES)
def test_postgis_pieces_agree_with_the_in_memory_locator(
    conn: Connection, place: str, lat: float, lon: float, code: str, name: str
) -> None:
    del name  # same cases as above; only the code is compared here
    found = (
        conn.execute(
            text(
                """
            SELECT t.code FROM territory_piece p JOIN territory t ON t.id = p.territory_id
            JOIN boundary_set b ON b.id = t.boundary_set_id AND b.is_current
            WHERE ST_Covers(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            """
            ),
            {"lat": lat, "lon": lon},
        )
        .scalars()
        .all()
    )
    assert found == [code], place


def test_every_need_area_is_loaded_and_assigned(conn: Connection, geography: LoadReport) -> None:
    need = repository.need_areas(conn)
    assert len(need) == geography.need_areas == 42_619
    assert need["territory_code"].notna().all()
    by_nation = need.groupby("nation")["territory_code"].agg(lambda s: sorted(set(s)))
    assert by_nation["Scotland"] == ["S23000009"]
    assert by_nation["Northern Ireland"] == ["N23000001"]
    assert all(code.startswith("W15") for code in by_nation["Wales"])
    assert need["uk_imd_decile"].between(1, 10).all()
    assert need["population"].sum() > 66_000_000


def test_need_area_territories_agree_with_the_published_assignment(
    conn: Connection, data_dir
) -> None:
    published = pd.read_csv(
        data_dir / "geography" / "need_areas.csv", usecols=["area_code", "territory_code"]
    ).set_index("area_code")["territory_code"]
    ours = repository.need_areas(conn).set_index("code")["territory_code"]
    agreement = (ours == published.reindex(ours.index)).mean()
    assert agreement > 0.9999
    assert len(read_need_areas(data_dir / "geography" / "need_areas.csv")) == len(ours)


def test_each_assignment_records_the_boundary_generation_it_used(conn: Connection) -> None:
    sets = repository.boundary_sets(conn).set_index("kind")
    assert "December 2023" in sets.loc["territory", "vintage"]
    assert "LSOA 2011" in sets.loc["need_area", "vintage"]
    assert sets["is_current"].all()
    generations = (
        conn.execute(
            text(
                """
            SELECT DISTINCT b.vintage FROM need_area n
            JOIN territory t ON t.id = n.territory_id
            JOIN boundary_set b ON b.id = t.boundary_set_id
            """
            )
        )
        .scalars()
        .all()
    )
    assert generations == [sets.loc["territory", "vintage"]]


def test_snapped_need_areas_are_flagged(conn: Connection, geography: LoadReport) -> None:
    methods = repository.need_areas(conn)["territory_method"].value_counts()
    # PROVENANCE.md: 4 coastal LSOAs and 5 Scottish data zones lie just off the coastline.
    assert methods.get("nearest", 0) == geography.need_areas_snapped == 9


def test_overview_reads_like_a_procurement_table(conn: Connection) -> None:
    overview = repository.territories_overview(conn).set_index("code")
    assert len(overview) == 45
    assert overview["need_areas"].sum() == 42_619
    assert overview["deprived_share"].between(0, 1).all()
    # Cleveland is among the most deprived territories, Surrey among the least.
    assert overview.loc["E23000013", "deprived_share"] > 0.35
    assert overview.loc["E23000031", "deprived_share"] < 0.05
    # The UK index makes Northern Ireland look far more deprived than its own index does;
    # the national share is shown beside it (product guide: say which index a number uses).
    assert overview.loc["N23000001", "deprived_share"] > 0.5
    assert overview.loc["N23000001", "national_deprived_share"] < 0.3
