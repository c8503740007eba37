"""Geocode postcodes or coordinates to a point, a territory and a need area.

Pure and vectorised: a :class:`Gazetteer` (unit postcodes, sectors and districts, each
already placed in a territory and need area when it was loaded) and a point locator for
given coordinates are passed in, so the same code serves a million-row CSV, an import and
one API request. The precision of every answer is reported:

* ``postcode`` — the exact unit postcode;
* ``sector`` — the postcode is well formed but unknown (new, or withheld), so the centroid
  of its sector (``SW1A 1``) is used;
* ``district`` — neither the postcode nor its sector is known, or only a district was
  given (``SW1A``, as for a safeguarded service): the district centroid;
* ``coordinates`` — lat/lon were given, and checked (numbers, inside the UK, inside a
  territory).

The gazetteer holds terminated postcodes too (the source has no termination date), so a
terminated postcode still geocodes, to where it was; one it lacks falls back to its sector
and district like any other, even from a retired district (``W1V``, ``NPT``).

A sector or district takes the territory most of its postcodes lie in;
``territory_share`` says how many (1 for a postcode or coordinates), and ``ambiguous``
flags a placement whose area straddles territories (share below
:data:`AMBIGUOUS_BELOW`): about a quarter of those are in the other territory.

When an address is given and a row's postcode is empty, impossible or unknown, a postcode
at the end of the address is used instead (``postcode_from_address``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo import postcodes

PRECISIONS = ("postcode", "sector", "district", "coordinates")
COLUMNS = [
    "postcode",
    "lat",
    "lon",
    "precision",
    "territory_code",
    "need_area_code",
    "territory_share",
    "ambiguous",
    "postcode_from_address",
    "error",
]
# A sector or district with fewer of its postcodes than this in its territory straddles a
# boundary (the cut-off of the shared data's own notes: 394 of 12,267 sectors).
AMBIGUOUS_BELOW = 0.9
# Postcode areas of the Crown Dependencies: real postcodes, but not in any UK territory.
CROWN_DEPENDENCIES = {"JE": "Jersey", "GY": "Guernsey", "IM": "the Isle of Man"}
NONE = -1

IntArray = npt.NDArray[np.int32]


class PointLocator(Protocol):
    """Anything that places lat/lon points (``boundaries.locate.Locator`` does)."""

    def locate(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> pd.DataFrame:
        """Columns ``territory_code``, ``need_area_code`` and ``error`` (empty if placed)."""
        ...


@dataclass(frozen=True)
class PlaceTable:
    """Points keyed by :func:`geo.postcodes.keys`, sorted by key for binary search.

    ``territory`` and ``need_area`` index the gazetteer's code lists (-1: none); ``share``
    is the fraction (0-1) of the place's postcodes in that territory.
    """

    key: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    territory: IntArray
    need_area: IntArray
    share: npt.NDArray[np.float64]

    def find(self, key: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Row of each key, or -1 where it is absent (or the key is -1).

        The keys are sorted first: a binary search of sorted needles is ~10× faster.
        """
        found = np.full(key.shape, NONE, dtype=np.intp)
        if self.key.size == 0 or key.size == 0:
            return found
        order = np.argsort(key, kind="stable")
        row = np.minimum(np.searchsorted(self.key, key[order]), self.key.size - 1)
        hit = (self.key[row] == key[order]) & (key[order] >= 0)
        found[order[hit]] = row[hit]
        return found


@dataclass(frozen=True)
class Gazetteer:
    units: PlaceTable
    sectors: PlaceTable
    districts: PlaceTable
    territory_codes: npt.NDArray[np.object_]
    need_area_codes: npt.NDArray[np.object_]

    @classmethod
    def from_frames(
        cls, units: pd.DataFrame, sectors: pd.DataFrame, districts: pd.DataFrame
    ) -> Gazetteer:
        """Each frame has ``name`` (postcode, sector or district text), ``lon``, ``lat``,
        ``territory_code`` and ``need_area_code`` (missing where outside), and may have
        ``territory_share`` (0-1; 1 where absent or missing, as for a unit postcode)."""
        frames = (units, sectors, districts)
        territory_codes = _categories(f["territory_code"] for f in frames)
        need_area_codes = _categories(f["need_area_code"] for f in frames)
        units_table, sectors_table, districts_table = (
            _place_table(frame, territory_codes, need_area_codes) for frame in frames
        )
        return cls(
            units=units_table,
            sectors=sectors_table,
            districts=districts_table,
            territory_codes=territory_codes,
            need_area_codes=need_area_codes,
        )


@dataclass
class _Result:
    """Column arrays filled in place, turned into a frame at the end."""

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    precision: npt.NDArray[np.int8]
    territory: IntArray
    need_area: IntArray
    share: npt.NDArray[np.float64]
    from_address: npt.NDArray[np.bool_]
    error: npt.NDArray[np.object_]

    @classmethod
    def empty(cls, n: int) -> _Result:
        return cls(
            lat=np.full(n, np.nan),
            lon=np.full(n, np.nan),
            precision=np.full(n, NONE, dtype=np.int8),
            territory=np.full(n, NONE, dtype=np.int32),
            need_area=np.full(n, NONE, dtype=np.int32),
            share=np.full(n, np.nan),
            from_address=np.zeros(n, dtype=bool),
            error=np.full(n, "", dtype=object),
        )

    def place(
        self,
        rows: npt.NDArray[np.intp],
        table: PlaceTable,
        at: npt.NDArray[np.intp],
        precision: int,
    ) -> None:
        """Put ``rows`` where rows ``at`` of ``table`` are."""
        self.lat[rows] = table.lat[at]
        self.lon[rows] = table.lon[at]
        self.precision[rows] = precision
        self.territory[rows] = table.territory[at]
        self.need_area[rows] = table.need_area[at]
        self.share[rows] = table.share[at]

    def unplace(self, rows: npt.NDArray[np.bool_]) -> None:
        self.lat[rows] = self.lon[rows] = self.share[rows] = np.nan
        self.precision[rows] = self.territory[rows] = self.need_area[rows] = NONE


class Geocoder:
    """Postcodes first, with sector and district fallbacks; coordinates when given."""

    def __init__(self, gazetteer: Gazetteer, locator: PointLocator | None) -> None:
        """``locator`` places rows given by coordinates; it may be None when none are."""
        self.gazetteer = gazetteer
        self.locator = locator

    def geocode(
        self,
        postcode: pd.Series | None = None,
        lat: pd.Series | None = None,
        lon: pd.Series | None = None,
        address: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Place every row: by its coordinates where given, else by its postcode.

        Parameters
        ----------
        postcode
            Postcodes as written (case and spaces are forgiven).
        lat, lon
            Coordinates in degrees (WGS84), as text or numbers; a row with either is placed
            by them, and checked (numbers, inside the UK, inside a territory).
        address
            Addresses: where a row's postcode is empty, impossible or unknown, a postcode at
            the end of its address is used instead (see :func:`geo.postcodes.in_address`).

        Returns
        -------
        pandas.DataFrame
            One row per input row, in order, with :data:`COLUMNS`: ``postcode`` (the
            normalised postcode used), ``lat``/``lon`` (degrees), ``precision``,
            ``territory_code`` and ``need_area_code`` (categoricals), ``territory_share``
            (0-1: the share of the sector's or district's postcodes in that territory, 1
            for a postcode or coordinates), ``ambiguous`` (nullable boolean: the area
            straddles territories), ``postcode_from_address`` and ``error`` (why a row
            could not be placed; empty if placed).
        """
        given = [s for s in (postcode, lat, lon) if s is not None]
        if not given:
            raise ValueError("geocode needs a postcode column, or lat and lon columns")
        n = len(given[0])
        result = _Result.empty(n)
        territory_codes = list(self.gazetteer.territory_codes)
        need_area_codes = list(self.gazetteer.need_area_codes)

        by_coordinates = np.zeros(n, dtype=bool)
        if lat is not None and lon is not None:
            by_coordinates = (_texts(lat) != "") | (_texts(lon) != "")
            if by_coordinates.any():
                self._by_coordinates(
                    result, lat, lon, by_coordinates, territory_codes, need_area_codes
                )
        normalised = pd.Series("", index=range(n), dtype=str)
        if postcode is not None:
            normalised = self._by_postcode(result, postcode, ~by_coordinates, address)
        else:
            result.error[~by_coordinates] = "no postcode or coordinates"
        ambiguous = pd.array(result.share < AMBIGUOUS_BELOW, dtype="boolean")
        ambiguous[result.precision == NONE] = pd.NA
        return pd.DataFrame(
            {
                "postcode": normalised,
                "lat": result.lat,
                "lon": result.lon,
                "precision": pd.Categorical.from_codes(result.precision, PRECISIONS),
                "territory_code": pd.Categorical.from_codes(result.territory, territory_codes),
                "need_area_code": pd.Categorical.from_codes(result.need_area, need_area_codes),
                "territory_share": result.share,
                "ambiguous": ambiguous,
                "postcode_from_address": result.from_address,
                "error": result.error,
            }
        )

    def _by_postcode(
        self,
        result: _Result,
        raw: pd.Series,
        rows: npt.NDArray[np.bool_],
        address: pd.Series | None,
    ) -> pd.Series:
        """Place ``rows`` by postcode (else by the one ending their address); the
        normalised postcode used for every row."""
        parsed = postcodes.parse(raw.reset_index(drop=True))
        normalised = parsed.postcode
        text: npt.NDArray[np.object_] = parsed.postcode.to_numpy(dtype=object)
        rule_error = parsed.error.to_numpy(dtype=object)
        at = np.flatnonzero(rows)
        todo = np.zeros(len(text), dtype=bool)
        todo[at] = self._look_up(result, parsed.take(at), at)
        if address is not None and todo.any():
            retry = np.flatnonzero(todo)
            found = postcodes.in_address(address.iloc[retry]).to_numpy(dtype=object)
            retry, found = retry[found != ""], found[found != ""]
            unplaced = self._look_up(result, postcodes.parse(list(found)), retry)
            rescued = retry[~unplaced]
            text[rescued] = normalised.iloc[rescued] = found[~unplaced]
            result.from_address[rescued] = True
            todo[rescued] = False

        outside = np.flatnonzero(rows & (result.precision != NONE) & (result.territory == NONE))
        for row in outside:
            result.error[row] = f"postcode {text[row]} is {_outside_territories(text[row])}"
        result.unplace(np.isin(np.arange(len(text)), outside))
        broken = todo & (rule_error != "")
        result.error[broken] = rule_error[broken]
        for row in np.flatnonzero(todo & ~broken):
            place = CROWN_DEPENDENCIES.get(text[row][:2])
            result.error[row] = (
                f"postcode {text[row]} is in {place}, outside the 45 UK territories"
                if place
                else f"unknown postcode {text[row]}: neither it, its sector nor its district "
                "is in the gazetteer"
                if " " in text[row]
                else f"unknown postcode district {text[row]}"
            )
        return normalised

    def _look_up(
        self, result: _Result, parsed: postcodes.Postcodes, rows: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.bool_]:
        """Place ``rows`` of the result at ``parsed`` (one postcode per row, in order) by
        unit, else sector, else district; whether each is still unplaced.

        A postcode the format rules reject is looked up exactly (the gazetteer knows
        historic ones); by its sector and district only if ``area_lookup`` allows.
        """
        todo = np.ones(len(rows), dtype=bool)
        for precision, table, key in (
            (0, self.gazetteer.units, parsed.unit_key),
            (1, self.gazetteer.sectors, parsed.sector_key),
            (2, self.gazetteer.districts, parsed.district_key),
        ):
            candidates = np.flatnonzero(todo if precision == 0 else todo & parsed.area_lookup)
            found = table.find(key[candidates])
            hit = found >= 0
            result.place(rows[candidates[hit]], table, found[hit], precision)
            todo[candidates[hit]] = False
        return todo

    def _by_coordinates(
        self,
        result: _Result,
        lat: pd.Series,
        lon: pd.Series,
        rows: npt.NDArray[np.bool_],
        territory_codes: list[str],
        need_area_codes: list[str],
    ) -> None:
        if self.locator is None:
            raise ValueError("this geocoder has no point locator for rows with coordinates")
        index = np.flatnonzero(rows)
        located = self.locator.locate(lat.to_numpy()[index], lon.to_numpy()[index])
        placed = (located["error"] == "").to_numpy()
        result.lat[index[placed]] = pd.to_numeric(
            pd.Series(lat.to_numpy()[index[placed]]), errors="coerce"
        ).to_numpy(dtype=float)
        result.lon[index[placed]] = pd.to_numeric(
            pd.Series(lon.to_numpy()[index[placed]]), errors="coerce"
        ).to_numpy(dtype=float)
        result.precision[index[placed]] = PRECISIONS.index("coordinates")
        result.share[index[placed]] = 1.0
        result.territory[index] = _codes_of(located["territory_code"], territory_codes)
        result.need_area[index] = _codes_of(located["need_area_code"], need_area_codes)
        result.error[index] = located["error"].to_numpy(dtype=object)


def _outside_territories(postcode: str) -> str:
    place = CROWN_DEPENDENCIES.get(postcode[:2])
    if place:
        return f"in {place}, outside the 45 UK territories"
    return "outside the 45 UK territories"


def _codes_of(values: pd.Series, categories: list[str]) -> IntArray:
    """Positions of ``values`` in ``categories`` (appending new ones); missing → -1."""
    present = values[values.notna() & (values.astype(str) != "")].astype(str)
    new = sorted(set(present.unique()) - set(categories))
    categories.extend(new)
    out = pd.Index(categories).get_indexer(values.astype(object).where(values.notna(), None))
    return np.asarray(out, dtype=np.int32)


def _categories(columns: object) -> npt.NDArray[np.object_]:
    values = pd.concat([pd.Series(c, dtype=object) for c in columns])  # type: ignore[attr-defined]
    return np.array(sorted(values.dropna().unique()), dtype=object)


def _place_table(
    frame: pd.DataFrame,
    territory_codes: npt.NDArray[np.object_],
    need_area_codes: npt.NDArray[np.object_],
) -> PlaceTable:
    key = postcodes.keys(frame["name"])
    order = np.argsort(key, kind="stable")
    share = (
        pd.to_numeric(frame["territory_share"], errors="coerce").fillna(1.0).to_numpy(float)
        if "territory_share" in frame
        else np.ones(len(frame))
    )
    return PlaceTable(
        key=key[order],
        lon=frame["lon"].to_numpy(dtype=float)[order],
        lat=frame["lat"].to_numpy(dtype=float)[order],
        territory=pd.Index(territory_codes)
        .get_indexer(frame["territory_code"])[order]
        .astype(np.int32),
        need_area=pd.Index(need_area_codes)
        .get_indexer(frame["need_area_code"])[order]
        .astype(np.int32),
        share=share[order],
    )


def _texts(values: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(values.fillna("").astype(str).str.strip(), dtype=object)
