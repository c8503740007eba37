"""The geocoder against the real postcode gazetteer in PostGIS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, text

from boundaries import repository
from boundaries.gazetteer import PostcodeLoadReport, gazetteer_for, load_postcodes, read_gazetteer
from boundaries.sources import postcodes_2025
from geo.geocode import Geocoder

pytestmark = pytest.mark.usefixtures("postcodes")


def _geocode(conn: Connection, postcodes: list[str], lat=None, lon=None) -> pd.DataFrame:
    series = pd.Series(postcodes)
    geocoder = Geocoder(gazetteer_for(conn, series), repository.locator(conn))
    return geocoder.geocode(
        series,
        None if lat is None else pd.Series(lat),
        None if lon is None else pd.Series(lon),
    )


def test_the_gazetteer_holds_every_postcode_placed_at_load(
    postcodes: PostcodeLoadReport,
) -> None:
    assert postcodes.units == 2_685_877
    assert postcodes.sectors == 12_267
    assert postcodes.districts == 3_077
    assert 3_000 < postcodes.snapped < 5_000  # ~0.15 % just off the generalised coast


def test_reloading_postcodes_changes_nothing(engine: Engine, data_dir, postcodes) -> None:
    again = load_postcodes(engine, postcodes_2025(data_dir))
    assert again.unchanged
    assert again.units == postcodes.units


@pytest.mark.parametrize(
    ("raw", "postcode", "precision", "territory"),
    [
        ("OX1 1DP", "OX1 1DP", "postcode", "E23000029"),
        ("ox11dp", "OX1 1DP", "postcode", "E23000029"),
        ("  cf10 1ep ", "CF10 1EP", "postcode", "W15000003"),
        ("EH1 1YZ", "EH1 1YZ", "postcode", "S23000009"),
        ("BT1 5GS", "BT1 5GS", "postcode", "N23000001"),
        ("EC2R 8AH", "EC2R 8AH", "postcode", "E23000034"),
        ("NPT 0AD", "NPT 0AD", "postcode", "W15000002"),  # historic, terminated, still known
        ("E1W 9ZZ", "E1W 9ZZ", "sector", "E23000001"),  # unknown unit, known sector
        ("SW1A 9ZZ", "SW1A 9ZZ", "district", "E23000001"),  # unknown sector, known district
        ("SW1A", "SW1A", "district", "E23000001"),  # a district alone
    ],
)
def test_postcodes_are_found_exactly_or_by_sector_or_district(
    conn: Connection, raw: str, postcode: str, precision: str, territory: str
) -> None:
    row = _geocode(conn, [raw]).iloc[0]
    assert row["error"] == ""
    assert (row["postcode"], row["precision"], row["territory_code"]) == (
        postcode,
        precision,
        territory,
    )
    assert row["need_area_code"]
    assert 49.8 < row["lat"] < 61 and -8.8 < row["lon"] < 2


@pytest.mark.parametrize(
    ("raw", "because"),
    [
        ("JE3 2DU", "is in Jersey, outside the 45 UK territories"),
        ("IM1 1AA", "is in the Isle of Man"),
        ("ZE9 9ZZ", "unknown postcode ZE9 9ZZ: neither it, its sector nor its district"),
        ("QQ1 1AA", "cannot start with 'Q'"),
        ("SW1A 1AC", "uses C, I, K, M, O or V"),
        ("", "postcode is empty"),
    ],
)
def test_unknown_or_impossible_postcodes_say_why(conn: Connection, raw: str, because: str) -> None:
    row = _geocode(conn, [raw]).iloc[0]
    assert because in row["error"]
    assert pd.isna(row["precision"]) and pd.isna(row["territory_code"])
    assert np.isnan(row["lat"])


def test_coordinates_are_checked_and_preferred_over_a_postcode(conn: Connection) -> None:
    out = _geocode(
        conn,
        ["OX1 1DP", "OX1 1DP", "", "", ""],
        lat=["55.9497", "", "48.85", "50.3", "-1.258"],
        lon=["-3.1909", "", "2.35", "-4.5", "51.752"],
    )
    assert out["precision"].tolist()[:2] == ["coordinates", "postcode"]
    assert out["territory_code"].tolist()[:2] == ["S23000009", "E23000029"]
    assert "outside the UK" in out["error"][2]
    assert "not in any of the 45 UK territories" in out["error"][3]
    assert "swapped" in out["error"][4]


def test_every_row_comes_back_in_order(conn: Connection) -> None:
    raw = ["BT1 5GS", "nonsense", "OX1 1DP", "", "E1W 9ZZ"] * 3
    out = _geocode(conn, raw)
    assert len(out) == len(raw)
    assert out["precision"].astype(object).fillna("").tolist()[:5] == [
        "postcode",
        "",
        "postcode",
        "",
        "sector",
    ]
    assert (
        out["postcode"].tolist()
        == [
            "BT1 5GS",
            "",
            "OX1 1DP",
            "",
            "E1W 9ZZ",
        ]
        * 3
    )


def test_the_whole_gazetteer_and_a_partial_one_agree(conn: Connection, data_dir) -> None:
    sample = (
        pd.read_parquet(data_dir / "geography" / "postcodes.parquet", columns=["postcode"])
        .sample(5_000, random_state=3)["postcode"]
        .str.lower()
        .reset_index(drop=True)
    )
    sample[::50] = sample[::50].str[:-2] + "zz"  # some unknown units: sector fallback
    locator = repository.locator(conn)
    whole = Geocoder(read_gazetteer(conn), locator).geocode(sample)
    partial = Geocoder(gazetteer_for(conn, sample), locator).geocode(sample)
    for column in ("postcode", "precision", "territory_code", "need_area_code", "error"):
        assert whole[column].astype(object).tolist() == partial[column].astype(object).tolist()
    assert np.allclose(whole["lat"], partial["lat"], equal_nan=True)


def test_postcodes_agree_with_their_own_point_in_polygon(conn: Connection) -> None:
    """The stored assignment of a unit postcode is where its point lies (PostGIS)."""
    disagree = conn.execute(
        text(
            """
            SELECT count(*) FROM (
                SELECT u.postcode, u.territory_id FROM postcode_unit u
                WHERE u.territory_method = 'contains'
                ORDER BY u.postcode LIMIT 20000
            ) u
            JOIN postcode_unit p USING (postcode)
            WHERE NOT EXISTS (
                SELECT 1 FROM territory_piece tp
                WHERE tp.territory_id = u.territory_id AND ST_Covers(tp.geom, p.geom)
            )
            """
        )
    ).scalar_one()
    assert disagree == 0
