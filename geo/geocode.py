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
terminated postcode still geocodes, to where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo import postcodes

PRECISIONS = ("postcode", "sector", "district", "coordinates")
COLUMNS = ["postcode", "lat", "lon", "precision", "territory_code", "need_area_code", "error"]
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

    ``territory`` and ``need_area`` index the gazetteer's code lists (-1: none).
    """

    key: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    territory: IntArray
    need_area: IntArray

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
        ``territory_code`` and ``need_area_code`` (missing where outside)."""
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
    error: npt.NDArray[np.object_]

    @classmethod
    def empty(cls, n: int) -> _Result:
        return cls(
            lat=np.full(n, np.nan),
            lon=np.full(n, np.nan),
            precision=np.full(n, NONE, dtype=np.int8),
            territory=np.full(n, NONE, dtype=np.int32),
            need_area=np.full(n, NONE, dtype=np.int32),
            error=np.full(n, "", dtype=object),
        )

    def unplace(self, rows: npt.NDArray[np.bool_]) -> None:
        self.lat[rows] = self.lon[rows] = np.nan
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
    ) -> pd.DataFrame:
        """One row per input row, in order, with :data:`COLUMNS`.

        Where a row has coordinates (lat or lon not empty) they are used and checked;
        otherwise its postcode is; ``postcode`` is the normalised postcode either way.
        ``territory_code``, ``need_area_code`` and ``precision``
        are categoricals; ``error`` says why a row could not be placed (empty if placed).
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
            normalised = self._by_postcode(result, postcode, ~by_coordinates)
        else:
            result.error[~by_coordinates] = "no postcode or coordinates"
        return pd.DataFrame(
            {
                "postcode": normalised.reset_index(drop=True),
                "lat": result.lat,
                "lon": result.lon,
                "precision": pd.Categorical.from_codes(result.precision, PRECISIONS),
                "territory_code": pd.Categorical.from_codes(result.territory, territory_codes),
                "need_area_code": pd.Categorical.from_codes(result.need_area, need_area_codes),
                "error": result.error,
            }
        )

    def _by_postcode(
        self, result: _Result, raw: pd.Series, rows: npt.NDArray[np.bool_]
    ) -> pd.Series:
        parsed = postcodes.parse(raw.reset_index(drop=True))
        rule_error = parsed.error.to_numpy(dtype=object)
        well_formed = rule_error == ""
        todo = rows.copy()
        for precision, table, key in (
            (0, self.gazetteer.units, parsed.unit_key),
            (1, self.gazetteer.sectors, parsed.sector_key),
            (2, self.gazetteer.districts, parsed.district_key),
        ):
            candidates = np.flatnonzero(todo if precision == 0 else todo & well_formed)
            found = table.find(key[candidates])
            # A postcode the format rules reject is used only if the gazetteer knows it.
            hit, rows_found = candidates[found >= 0], found[found >= 0]
            result.lat[hit] = table.lat[rows_found]
            result.lon[hit] = table.lon[rows_found]
            result.precision[hit] = precision
            result.territory[hit] = table.territory[rows_found]
            result.need_area[hit] = table.need_area[rows_found]
            todo[hit] = False

        text = parsed.postcode.to_numpy(dtype=object)
        outside = np.flatnonzero(rows & (result.precision != NONE) & (result.territory == NONE))
        for row in outside:
            result.error[row] = f"postcode {text[row]} is {_outside_territories(text[row])}"
        result.unplace(np.isin(np.arange(len(text)), outside))
        result.error[todo & ~well_formed] = rule_error[todo & ~well_formed]
        for row in np.flatnonzero(todo & well_formed):
            place = CROWN_DEPENDENCIES.get(text[row][:2])
            result.error[row] = (
                f"postcode {text[row]} is in {place}, outside the 45 UK territories"
                if place
                else f"unknown postcode {text[row]}: neither it, its sector nor its district "
                "is in the gazetteer"
                if " " in text[row]
                else f"unknown postcode district {text[row]}"
            )
        return parsed.postcode

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
    )


def _texts(values: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(values.fillna("").astype(str).str.strip(), dtype=object)
