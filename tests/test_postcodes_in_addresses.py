"""Postcodes found at the end of an address, and retired outward codes (pure)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.postcodes import in_address, parse


# Addresses as published in Contracts Finder award notices (shared/data/suppliers/*.csv):
# line breaks, trailing countries, lower case, a missing space, a broken "\n" escape.
@pytest.mark.parametrize(
    ("address", "postcode"),
    [
        (
            "Sudbury Business Centre, Milner Road, Sudbury, Suffolk, United Kingdom, CO10 2XG",
            "CO10 2XG",
        ),
        ("2 New Street Square\nLONDON\nEC4A 3PA\nGB", "EC4A 3PA"),
        ("Edward James House, Hadley Park East, Telford, TF1 6QJ, United Kingdom", "TF1 6QJ"),
        ("45a london road, dover, Kent, ct17 0sg, United Kingdom", "CT17 0SG"),
        ("Nationwide Housen        Nelsonn        Lancashiren        BB90TA", "BB9 0TA"),
        ("Hu3 4JR", "HU3 4JR"),
        ("7 Park Farm, Willesley Woodside, Ashby, Leics LE65 2UN", "LE65 2UN"),
        ("23rd Floor, Heron Towerrn110 BishopsgaternLondon EC2N 4AY.", "EC2N 4AY"),
        ("Lagonda Road\r\nCowpen Industrial Estate\r\nBillingham \r\nTN23 4JA", "TN23 4JA"),
        ("Soho, London W1V 1AA, England", "W1V 1AA"),  # a retired district: the gazetteer judges
    ],
)
def test_the_postcode_at_the_end_of_an_address_is_found(address: str, postcode: str) -> None:
    assert in_address(pd.Series([address])).tolist() == [postcode]


@pytest.mark.parametrize(
    "address",
    [
        "OX1 1DP Business Centre, Leeds",  # not at the end
        "The Old Cornstore, Northfield Road, Narberth, Pembrokeshire",
        "Kier Construction Ltd, Tempsford Hall, Sandy\n Bedfordshire\n SG19 2BC",  # impossible
        "Flat 2AB, Station Road",  # no outward code
        "Temple Quay, Bristol BS1",  # a district is not a postcode
        "Unit 4, XOX1 1DP",  # glued to another word
        "",
    ],
)
def test_addresses_without_a_postcode_at_the_end_give_nothing(address: str) -> None:
    assert in_address(pd.Series([address])).tolist() == [""]


def test_missing_addresses_give_nothing_and_keep_the_index() -> None:
    found = in_address(pd.Series([None, float("nan"), "Leeds LS1 4DY"], index=[7, 8, 9]))
    assert found.to_dict() == {7: "", 8: "", 9: "LS1 4DY"}


def test_only_retired_outward_codes_may_fall_back_to_their_sector() -> None:
    """W1V and NPT broke no rule when they were issued; a C in the inward code never did."""
    parsed = parse(["W1V 1AA", "NPT 0AD", "SW1A 1AA", "SW1A", "SW1A 1AC", "QQ1 1AA", "", "XX"])
    assert parsed.area_lookup.tolist() == [True, True, True, True, False, True, False, False]
    assert parsed.error.astype(bool).tolist() == [True, True, False, False, True, True, True, True]


def test_parse_keeps_the_index_of_a_series() -> None:
    parsed = parse(pd.Series(["sw1a1aa", "x"], index=[5, 9]))
    assert parsed.postcode.to_dict() == {5: "SW1A 1AA", 9: ""}
    assert parsed.error.index.tolist() == [5, 9]
