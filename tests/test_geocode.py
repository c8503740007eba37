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
from registry import suppliers
from registry.importer import import_table
from registry.readers import RawTable

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


def _address_geocode(conn: Connection, postcodes: list[str], addresses: list[str]) -> pd.DataFrame:
    postcode, address = pd.Series(postcodes), pd.Series(addresses)
    geocoder = Geocoder(gazetteer_for(conn, postcode, addresses=address), None)
    return geocoder.geocode(postcode, address=address)


# Supplier addresses as published in Contracts Finder (shared/data/suppliers/*.csv).
@pytest.mark.parametrize(
    ("field", "address", "rescued"),
    [
        (
            "",
            "Sudbury Business Centre, Milner Road, Sudbury, Suffolk, United Kingdom, CO10 2XG",
            "CO10 2XG",
        ),
        ("N/A", "2 New Street Square\nLONDON\nEC4A 3PA\nGB", "EC4A 3PA"),
        (
            "TBC",
            "Edward James House, Hadley Park East, Telford, Shropshire, TF1 6QJ, United Kingdom",
            "TF1 6QJ",
        ),
        (
            "",
            "Nationwide Housen        Nelsonn        Rugbyn        Lancashiren        BB90TA",
            "BB9 0TA",
        ),
        ("QQ1 1AA", "Hu3 4JR", "HU3 4JR"),
        ("ZE9 9ZZ", "45a london road, dover, Kent, ct17 0sg, United Kingdom", "CT17 0SG"),
    ],
)
def test_a_postcode_at_the_end_of_the_address_is_rescued_and_flagged(
    conn: Connection, field: str, address: str, rescued: str
) -> None:
    row = _address_geocode(conn, [field], [address]).iloc[0]
    assert row["error"] == ""
    assert (row["postcode"], row["precision"]) == (rescued, "postcode")
    assert row["postcode_from_address"]


@pytest.mark.parametrize(
    ("field", "address", "expected", "error"),
    [
        # A placeable postcode field wins over the address.
        ("OX1 1DP", "Milner Road, Sudbury, Suffolk, CO10 2XG", "OX1 1DP", ""),
        # Only the end of the address is looked at.
        ("", "OX1 1DP Business Centre, Leeds", "", "postcode is empty"),
        (
            "",
            "The Old Cornstore, Northfield Road, Narberth, Pembrokeshire",
            "",
            "postcode is empty",
        ),
        # An impossible postcode at the end is not rescued either.
        ("", "Kier Construction Ltd, Tempsford Hall, Sandy\n Bedfordshire\n SG19 2BC", "", "empty"),
    ],
)
def test_the_address_is_used_only_when_the_postcode_field_fails(
    conn: Connection, field: str, address: str, expected: str, error: str
) -> None:
    row = _address_geocode(conn, [field], [address]).iloc[0]
    assert row["postcode"] == expected
    assert error in row["error"] if error else row["error"] == ""
    assert not row["postcode_from_address"]


def test_real_supplier_addresses_ending_in_their_postcode_are_all_rescued(
    conn: Connection, data_dir
) -> None:
    sites = pd.read_csv(
        data_dir / "suppliers" / "supplier_sites_more.csv", dtype=str, keep_default_na=False
    )

    def compact(values: pd.Series) -> pd.Series:
        return values.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)

    address, postcode = compact(sites["supplier_street_address"]), compact(sites["postcode"])
    ends = [a.endswith(p) and p != "" for a, p in zip(address, postcode, strict=True)]
    ending = sites[ends].reset_index(drop=True)
    assert len(ending) > 1_300
    by_field = _address_geocode(conn, ending["postcode"].tolist(), [""] * len(ending))
    by_address = _address_geocode(
        conn, [""] * len(ending), ending["supplier_street_address"].tolist()
    )
    placed = (by_field["error"] == "").to_numpy()
    assert placed.sum() > 1_300
    for column in ("postcode", "precision", "territory_code", "error"):
        assert by_address[column][placed].tolist() == by_field[column][placed].tolist()
    assert np.allclose(by_address["lat"][placed], by_field["lat"][placed])
    assert by_address["postcode_from_address"][placed].all()


def test_imports_take_the_postcode_from_the_address(conn: Connection) -> None:
    raw = RawTable(
        pd.DataFrame(
            {
                "supplier_name": ["Address Rescue Test Supplier"],  # not in the shared files
                "postcode": [""],
                "address": [
                    "Sudbury Business Centre, Milner Road, Sudbury, Suffolk, United Kingdom, "
                    "CO10 2XG"
                ],
            }
        ),
        np.array([2], dtype=np.int64),
    )
    report = import_table(conn, suppliers.SPEC, raw, source="rescue-test")
    assert (report.stored, report.rejected) == (1, 0)
    stored = conn.execute(
        text(
            "SELECT postcode, territory_code FROM supplier_site_placed WHERE source = 'rescue-test'"
        )
    ).one()
    assert stored.postcode == "CO10 2XG"
    (note,) = report.errors.to_dict("records")
    assert note["reason"] == "postcode CO10 2XG taken from the end of the address"
    assert (note["row"], note["outcome"]) == (2, "row imported, check it")


# On the England-Scotland border (Longtown, Canonbie): postcode_sectors.csv puts 62 % of
# CA6 5's postcodes in Cumbria, the rest in Scotland. CW3 (Staffordshire/Cheshire) 48 %.
STRADDLING_SECTOR = "CA6 5"


def test_an_unknown_unit_of_a_straddling_sector_is_placed_with_its_share_and_flagged(
    conn: Connection,
) -> None:
    share, modal = conn.execute(
        text(
            "SELECT s.territory_share, t.code FROM postcode_sector s "
            "JOIN territory t ON t.id = s.territory_id WHERE s.sector = :sector"
        ),
        {"sector": STRADDLING_SECTOR},
    ).one()
    assert share < 0.9
    # A real postcode of the sector lying in the other territory, withheld from the unit
    # table (as 5,000 real postcodes are): only its sector can place it.
    unit, truth = conn.execute(
        text(
            "SELECT u.postcode, t.code FROM postcode_unit u JOIN territory t "
            "ON t.id = u.territory_id WHERE u.sector = :sector AND t.code <> :modal "
            "ORDER BY u.postcode LIMIT 1"
        ),
        {"sector": STRADDLING_SECTOR, "modal": modal},
    ).one()
    conn.execute(text("DELETE FROM postcode_unit WHERE postcode = :p"), {"p": unit})
    out = _geocode(conn, [unit, "CW3", "OX1 1DP", "E1W 9ZZ"])
    row = out.iloc[0]
    assert (row["precision"], row["territory_code"]) == ("sector", modal)
    assert modal != truth  # why the flag matters
    assert row["territory_share"] == pytest.approx(share)
    assert row["ambiguous"]
    assert out["precision"].tolist()[1:] == ["district", "postcode", "sector"]
    assert out["ambiguous"].tolist()[1:] == [True, False, False]
    assert out["territory_share"][2] == 1.0
    assert 0.9 <= out["territory_share"][3] <= 1.0


def test_an_import_placed_by_a_straddling_area_is_kept_and_noted(conn: Connection) -> None:
    raw = RawTable(
        pd.DataFrame({"supplier_name": ["Straddle Test Haulage"], "postcode": ["CW3"]}),
        np.array([2], dtype=np.int64),
    )
    report = import_table(conn, suppliers.SPEC, raw, source="straddle-test")
    assert (report.stored, report.rejected) == (1, 0)
    (note,) = report.errors.to_dict("records")
    assert note["outcome"] == "row imported, check it"
    assert "straddles territories" in note["reason"] and "%" in note["reason"]


@pytest.mark.parametrize(
    ("withheld", "precision"),
    [(["postcode_unit"], "sector"), (["postcode_unit", "postcode_sector"], "district")],
)
@pytest.mark.parametrize("old", ["W1V 1AA", "NPT 0AD"])
def test_an_old_format_postcode_missing_from_the_unit_table_falls_back_to_its_area(
    conn: Connection, old: str, withheld: list[str], precision: str
) -> None:
    """W1V and NPT are real districts retired from the current patterns (the gazetteer
    still holds their postcodes); one of theirs it lacks is placed by sector or district."""
    expected = _geocode(conn, [old]).iloc[0]
    assert expected["precision"] == "postcode"
    for table, key, value in (
        ("postcode_unit", "postcode", old),
        ("postcode_sector", "sector", old[:-2]),
    ):
        if table in withheld:
            conn.execute(text(f"DELETE FROM {table} WHERE {key} = :v"), {"v": value})
    row = _geocode(conn, [old]).iloc[0]
    assert row["error"] == ""
    assert (row["postcode"], row["precision"]) == (old, precision)
    assert row["territory_code"] == expected["territory_code"]


def test_impossible_inward_codes_still_fail_even_when_their_sector_exists(
    conn: Connection,
) -> None:
    row = _geocode(conn, ["SW1A 1AC", "W1V 1AC"]).iloc[1]
    assert "uses C, I, K, M, O or V" in row["error"]
    assert pd.isna(row["precision"])
