"""Postcode normalisation, validation and keys (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.postcodes import district_of, keys, normalise_one, parse, reason, sector_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A 1AA ", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("s w 1 a 1 a a", "SW1A 1AA"),
        ("m11ae", "M1 1AE"),
        ("b338th", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("GIR 0AA", "GIR 0AA"),
        ("sw1a", "SW1A"),  # a district on its own
    ],
)
def test_postcodes_are_normalised(raw: str, expected: str) -> None:
    assert normalise_one(raw) == expected


@pytest.mark.parametrize(
    ("raw", "because"),
    [
        ("", "postcode is empty"),
        ("   ", "postcode is empty"),
        ("XX", "has 2 letters and digits; a UK postcode has 5 to 7"),
        ("SW1A1AA1", "has 8 letters and digits"),
        ("SW1A-1AA", "contains '-': only letters and digits"),
        ("£1 1AA", "contains '£'"),
        ("QA1 1AA", "outward code 'QA1' cannot start with 'Q'"),
        ("VA1 1AA", "cannot start with 'V'"),
        ("AZ1 1AA", "cannot have 'Z' second"),
        ("1AB 1AA", "cannot start with '1'"),
        ("SW1A 1AC", "inward code '1AC' uses C, I, K, M, O or V"),
        ("AB1 2C3", "inward code '2C3' must be a digit then two letters"),
    ],
)
def test_impossible_postcodes_are_rejected_with_the_reason(raw: str, because: str) -> None:
    with pytest.raises(ValueError, match=because.replace("(", r"\(")):
        normalise_one(raw)


def test_historic_shapes_keep_a_normal_form_for_the_gazetteer_to_judge() -> None:
    parsed = parse(["npt0ad", "w1v1aa"])
    assert parsed.postcode.tolist() == ["NPT 0AD", "W1V 1AA"]
    assert all(parsed.error)  # current rules reject them...
    assert (parsed.unit_key > 0).all()  # ...but they can still be looked up


def test_sector_and_district_keys_match_their_own_text() -> None:
    parsed = parse(["SW1A 1AA", "M1 1AE", "EC1A 1BB"])
    assert np.array_equal(parsed.sector_key, keys(sector_of(parsed.postcode)))
    assert np.array_equal(parsed.district_key, keys(district_of(parsed.postcode)))
    assert sector_of(parsed.postcode).tolist() == ["SW1A 1", "M1 1", "EC1A 1"]
    assert district_of(parsed.postcode).tolist() == ["SW1A", "M1", "EC1A"]


def test_real_postcodes_are_all_well_shaped_and_keys_are_unique(data_dir) -> None:
    real = pd.read_parquet(data_dir / "geography" / "postcodes.parquet", columns=["postcode"])
    parsed = parse(real["postcode"].str.lower().str.replace(" ", "", regex=False))
    assert (parsed.postcode == real["postcode"]).all()
    assert len(np.unique(parsed.unit_key)) == len(real)


# Royal Mail's letters by position in the outward code, and for the inward code.
OUTWARD_LETTERS = {
    0: "ABCDEFGHIJKLMNOPRSTUWYZ",  # never Q, V, X
    1: "ABCDEFGHKLMNOPQRSTUVWXY",  # never I, J, Z
    2: "ABCDEFGHJKPSTUW",  # A9A
    3: "ABEHMNPRVWXY",  # AA9A
}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # never C, I, K, M, O, V


@st.composite
def valid_postcodes(draw: st.DrawFn) -> str:
    pattern = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]))
    outward = "".join(
        draw(st.sampled_from(OUTWARD_LETTERS[i] if symbol == "A" else "0123456789"))
        for i, symbol in enumerate(pattern)
    )
    inward = draw(st.sampled_from("0123456789")) + "".join(
        draw(st.sampled_from(INWARD_LETTERS)) for _ in range(2)
    )
    return f"{outward} {inward}"


@settings(max_examples=300, deadline=None)
@given(valid_postcodes(), st.lists(st.booleans(), min_size=8, max_size=8), st.booleans())
def test_any_valid_postcode_survives_case_and_spacing(
    postcode: str, spaces: list[bool], lower: bool
) -> None:
    compact = postcode.replace(" ", "")
    messy = "".join(c + (" " if space else "") for c, space in zip(compact, spaces, strict=False))
    messy = f"  {messy.lower() if lower else messy} "
    assert normalise_one(messy) == postcode


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_any_text_is_either_a_postcode_or_has_a_reason(text: str) -> None:
    parsed = parse([text])
    if parsed.error.iloc[0] == "":
        assert parsed.postcode.iloc[0] != ""
    else:
        assert parsed.error.iloc[0] == reason(text)
