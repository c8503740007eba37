"""UK postcodes: normalise, validate with a reason, derive sector and district, pack as keys.

Everything is vectorised over pyarrow/pandas strings (a million postcodes normalise in a
fraction of a second); the reason a postcode is impossible is worked out only for the rows
that fail. The format rules are Royal Mail's:

* outward code (district): ``A9``, ``A99``, ``A9A``, ``AA9``, ``AA99`` or ``AA9A``; the
  first letter is never Q, V or X, the second never I, J or Z; a third-position letter is
  one of ABCDEFGHJKPSTUW and a fourth-position letter one of ABEHMNPRVWXY;
* inward code: a digit and two letters, never C, I, K, M, O or V;
* ``GIR 0AA`` is the one historic exception.

Districts retired since (``W1V``, ``NPT``) break the outward rules but not the inward ones;
the gazetteer, which still holds their postcodes, is left to judge them. A postcode missing
from a form is often still at the end of the address: :func:`in_address` finds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

OUTWARD = (
    r"(?:[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY]))"
)
INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
COMPACT = re.compile(rf"^(?:GIR0AA|{OUTWARD}{INWARD})$")
EXAMPLE = "e.g. SW1A 1AA"
EMPTY = "postcode is empty"
# A postcode closing an address, before any country name and punctuation (upper case).
_COUNTRIES = (
    r"UNITED\s+KINGDOM|GREAT\s+BRITAIN|GB|UK|U\.K\.|ENGLAND|SCOTLAND|WALES|NORTHERN\s+IRELAND"
)
_IN_ADDRESS = re.compile(
    rf"(?<![A-Z0-9])(?P<outward>[A-Z]{{1,2}}[0-9][A-Z0-9]?)\s*(?P<inward>[0-9][A-Z]{{2}})"
    rf"(?:[\s,.;:]+(?:{_COUNTRIES}))*[\s,.;:]*$"
)

_KEY_DIGITS = np.zeros(256, dtype=np.uint8)
_KEY_DIGITS[np.frombuffer(b"0123456789", np.uint8)] = np.arange(1, 11)
_KEY_DIGITS[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(11, 37)


@dataclass(frozen=True)
class Postcodes:
    """A column of postcodes, normalised, checked and keyed.

    ``postcode`` is the spaced, upper-case form of anything with 5 to 7 letters and digits
    (empty otherwise), so that historic postcodes the current rules reject (``NPT 0AD``,
    ``W1V 1AA``) can still be found in the gazetteer. ``error`` is why the text breaks the
    current format rules (empty where it does not). The keys are :func:`keys` of the
    postcode, its sector and its district (-1 where there is no postcode shape).
    ``area_lookup`` is where its sector and district may stand in for an unknown postcode:
    it breaks no rule, or only the outward-code patterns (a retired district such as
    ``W1V``, which the gazetteer judges), never the inward code's (``SW1A 1AC``: a typo).
    """

    postcode: pd.Series
    error: pd.Series
    unit_key: npt.NDArray[np.int64]
    sector_key: npt.NDArray[np.int64]
    district_key: npt.NDArray[np.int64]
    area_lookup: npt.NDArray[np.bool_]

    def take(self, rows: npt.NDArray[np.intp]) -> Postcodes:
        """These postcodes at positions ``rows`` (numbered from 0), in that order."""
        return Postcodes(
            postcode=self.postcode.iloc[rows],
            error=self.error.iloc[rows],
            unit_key=self.unit_key[rows],
            sector_key=self.sector_key[rows],
            district_key=self.district_key[rows],
            area_lookup=self.area_lookup[rows],
        )


def parse(raw: pd.Series | pa.Array | list[object]) -> Postcodes:
    """Normalise and check postcodes: case, spaces and a missing space are forgiven
    (``" sw1a1aa "`` becomes ``"SW1A 1AA"``); impossible ones get a reason.

    An outward code on its own (``"SW1A"``) is accepted as a district: it has only a
    district key.
    """
    text = _arrow_strings(raw)
    compact = pc.ascii_upper(pc.replace_substring(pc.utf8_trim_whitespace(text), " ", ""))
    shaped = pc.match_substring_regex(compact, r"^[A-Z0-9]{5,7}$")
    outward_only = pc.match_substring_regex(compact, f"^{OUTWARD}$")
    spaced = pc.if_else(
        shaped, pc.utf8_replace_slice(compact, -3, -3, " "), pc.if_else(outward_only, compact, "")
    )
    index = raw.index if isinstance(raw, pd.Series) else None

    chars = _char_codes(pc.if_else(shaped, compact, ""))
    shaped_np = shaped.to_numpy(zero_copy_only=False)
    # Dropping the last 2 (sector) or 3 (district) characters of a right-aligned code gives
    # the right-aligned code of the sector or district: pack the leading columns.
    unit, sector, district = (
        np.where(shaped_np, _pack(chars[:, :width]), -1) for width in (7, 5, 4)
    )
    district_only = outward_only.to_numpy(zero_copy_only=False)
    if district_only.any():
        district[district_only] = _pack(_char_codes(pc.filter(compact, outward_only)))

    valid = pc.match_substring_regex(compact, COMPACT.pattern).to_numpy(zero_copy_only=False)
    valid |= district_only
    inward_ok = pc.match_substring_regex(compact, f"{INWARD}$").to_numpy(zero_copy_only=False)
    invalid = np.flatnonzero(~valid)
    error = np.full(len(valid), "", dtype=object)
    empty = np.flatnonzero(~valid & (pc.utf8_length(compact).to_numpy(zero_copy_only=False) == 0))
    error[empty] = EMPTY
    invalid = np.setdiff1d(invalid, empty, assume_unique=True)
    if invalid.size:
        originals = pc.take(text, pa.array(invalid)).to_pylist()
        error[invalid] = [reason(value) for value in originals]
    return Postcodes(
        postcode=pd.Series(spaced, index=index, dtype=str),
        error=pd.Series(error, index=index, dtype=str),
        unit_key=unit,
        sector_key=sector,
        district_key=district,
        area_lookup=valid | (shaped_np & inward_ok),
    )


def in_address(address: pd.Series) -> pd.Series:
    """The postcode at the end of each address, normalised (empty where there is none).

    Trailing punctuation and country names (``GB``, ``United Kingdom``, ``England``...)
    are skipped; the postcode must be whole (``CO10 2XG``, or ``CO102XG``), stand apart
    from the word before it and have a possible inward code (a retired outward code such
    as ``W1V`` is kept for the gazetteer to judge). A district alone is not a postcode.
    The index of ``address`` is kept.
    """
    upper = address.astype(object).where(address.notna(), "").astype(str).str.upper()
    found = upper.str.extract(_IN_ADDRESS, expand=True).fillna("")
    candidate = found["outward"] + " " + found["inward"]
    parsed = parse(candidate.where(found["outward"] != "", ""))
    usable = pd.Series(parsed.area_lookup, index=address.index) & (found["outward"] != "")
    return parsed.postcode.where(usable, "")


def normalise_one(raw: str) -> str:
    """One postcode, normalised; raises ``ValueError`` with the reason when impossible."""
    parsed = parse([raw])
    if parsed.error.iloc[0]:
        raise ValueError(parsed.error.iloc[0])
    return str(parsed.postcode.iloc[0])


def reason(raw: str) -> str:
    """Why ``raw`` cannot be a UK postcode (empty string when it can)."""
    compact = re.sub(r"\s+", "", str(raw)).upper()
    if not compact:
        return EMPTY
    odd = sorted({c for c in compact if not c.isascii() or not c.isalnum()})
    if odd:
        return f"postcode {raw.strip()!r} contains {' '.join(odd)!r}: only letters and digits"
    if COMPACT.match(compact):
        return ""
    if not 5 <= len(compact) <= 7:
        return (
            f"postcode {raw.strip()!r} has {len(compact)} letters and digits; "
            f"a UK postcode has 5 to 7 ({EXAMPLE})"
        )
    outward, inward = compact[:-3], compact[-3:]
    if not re.fullmatch(r"[0-9][A-Z]{2}", inward):
        return f"inward code {inward!r} must be a digit then two letters ({EXAMPLE})"
    if not re.fullmatch(INWARD, inward):
        return f"inward code {inward!r} uses C, I, K, M, O or V, which UK postcodes never do"
    if outward[0] in "QVX" or outward[0].isdigit():
        return f"outward code {outward!r} cannot start with {outward[0]!r}"
    if len(outward) > 1 and outward[1] in "IJZ":
        return f"outward code {outward!r} cannot have {outward[1]!r} second"
    return (
        f"outward code {outward!r} is not a UK pattern (A9, A99, A9A, AA9, AA99 or AA9A; {EXAMPLE})"
    )


def sector_of(postcode: pd.Series) -> pd.Series:
    """``"SW1A 1AA"`` → ``"SW1A 1"`` (empty, or a district alone, gives empty)."""
    full = postcode.str.contains(" ", regex=False)
    return postcode.str.slice(0, -2).where(full, "")


def district_of(postcode: pd.Series) -> pd.Series:
    """``"SW1A 1AA"`` → ``"SW1A"``; a district alone stays as it is."""
    full = postcode.str.contains(" ", regex=False)
    return postcode.str.slice(0, -4).where(full, postcode)


def _arrow_strings(raw: pd.Series | pa.Array | list[object]) -> pa.Array:
    """Any text column as a pyarrow string array, with missing values as empty text."""
    if isinstance(raw, pa.Array):
        array = raw
    else:
        series = raw if isinstance(raw, pd.Series) else pd.Series(list(raw), dtype=object)
        array = pa.array(series.astype("str"), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.fill_null(pc.cast(array, pa.string()), "")


def keys(text: pd.Series | pa.Array | list[object]) -> npt.NDArray[np.int64]:
    """Pack postcodes, sectors or districts into unique 64-bit integers (spaces ignored).

    Up to seven letters and digits, base 37; anything longer, or empty, gives -1. Integer
    keys make million-row lookups a hash or binary search instead of string compares.
    """
    compact = pc.ascii_upper(pc.replace_substring(_arrow_strings(text), " ", ""))
    fits = pc.match_substring_regex(compact, r"^[A-Z0-9]{1,7}$").to_numpy(zero_copy_only=False)
    return np.where(fits, _pack(_char_codes(pc.if_else(fits, compact, ""))), -1)


def _pack(chars: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Base-37 number of each row of right-aligned digit codes (column by column: fast)."""
    packed = np.zeros(len(chars), dtype=np.int64)
    for column in range(chars.shape[1]):
        packed *= 37
        packed += chars[:, column]
    return packed


def _char_codes(compact: pa.Array) -> npt.NDArray[np.uint8]:
    """(n, 7) digit codes of up to seven ASCII letters and digits, right-aligned (0 = pad)."""
    padded = pc.cast(pc.utf8_lpad(compact, 7, " "), pa.binary(7))
    if len(padded) == 0:
        return np.zeros((0, 7), dtype=np.uint8)
    data = padded.buffers()[1]
    raw = np.frombuffer(data, dtype=np.uint8, count=len(padded) * 7, offset=padded.offset * 7)
    return _KEY_DIGITS[raw.reshape(-1, 7)]
