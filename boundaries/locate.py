"""Place lon/lat points in territories and need areas, in bulk, in memory.

Pure functions over numpy arrays and GeoDataFrames: nothing here opens a connection, so the
same code runs in the CLI, the API, the loaders and partitioned batch jobs.

* Territory: prepared polygons with a bounding-box prefilter and ``shapely.contains_xy``
  (about 5× faster than ``geopandas.sjoin`` on 2.7 M postcodes, see ``benchmarks/``).
  The boundaries are generalised, so a point outside every polygon is snapped to the
  nearest territory within ``max_snap_m`` metres (EPSG:27700) and flagged ``nearest``; a
  point on an edge shared by two territories (closer than ``EDGE_TOLERANCE_M`` to both,
  whichever side float noise puts it) goes to the lowest code, flagged ``boundary``.
* Need area: the LSOA polygon that holds the point (England and Wales, ``polygon``); off a
  clipped coastline, the nearest polygon within ``NEED_AREA_SNAP_M`` (``nearest_polygon``);
  otherwise (Scotland and Northern Ireland have points only) the nearest need-area point in
  the same territory, a Voronoi approximation (``nearest_point``). Distances are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.crs import UK_MAX_LAT, UK_MAX_LON, UK_MIN_LAT, UK_MIN_LON, in_uk_extent, to_bng

DEFAULT_MAX_SNAP_M = 2_000.0
# Closer than this to two territories counts as on their shared edge: far below the ~1 m
# precision of five-decimal coordinates and the ~1.7 m error of the grid-free projection.
EDGE_TOLERANCE_M = 0.05
# The same tolerance in degrees for the lon/lat pieces: a degree of latitude is the longest
# degree, so this is at most 5 cm in any direction.
EDGE_TOLERANCE_DEG = EDGE_TOLERANCE_M / 111_320
# A point outside every need-area polygon (clipped coastlines, estuaries, harbours) goes to
# the nearest polygon this close; the polygons are generalised to tens of metres, so 1 km
# catches the piers and sea walls without reaching across an estuary to the far shore.
NEED_AREA_SNAP_M = 1_000.0
UNPLACED = -1

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


# How a point was placed (``boundaries.tables.TERRITORY_METHODS``), stored as small codes.
CONTAINS, BOUNDARY, NEAREST = 0, 1, 2
METHOD_NAMES = np.array(["contains", "boundary", "nearest", None], dtype=object)
# How a point was placed in a need area (``boundaries.tables.NEED_AREA_METHODS``).
IN_POLYGON, NEAREST_POLYGON, NEAREST_POINT = 0, 1, 2
NEED_AREA_METHOD_NAMES = np.array(
    ["polygon", "nearest_polygon", "nearest_point", None], dtype=object
)


@dataclass(frozen=True)
class TerritoryAssignment:
    """Per point: territory row (or ``UNPLACED``), method code and distance in metres."""

    index: IntArray
    method_code: npt.NDArray[np.int8]
    distance_m: FloatArray

    @property
    def method(self) -> npt.NDArray[np.object_]:
        """Method names (``contains``, ``boundary``, ``nearest``; None when unplaced)."""
        return METHOD_NAMES[self.method_code]


class TerritoryIndex:
    """The territories cut by a regular lon/lat grid, ready for fast point lookups.

    A grid cell wholly inside one territory answers its points by table lookup; a cell cut
    by a boundary or the coast keeps the territories' pieces clipped to it, so the exact
    ``contains_xy`` test only runs on small polygons for the few points there. The same
    pieces, projected to EPSG:27700, answer the nearest-territory fallback. Rows are kept
    in code order, which is also the tie-break order.
    """

    def __init__(
        self,
        territories: gpd.GeoDataFrame,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        cell_deg: float = 0.1,
    ) -> None:
        frame = territories.sort_values("code", ignore_index=True)
        self.codes: npt.NDArray[np.str_] = frame["code"].to_numpy(dtype=str)
        self.names: npt.NDArray[np.str_] = frame["name"].to_numpy(dtype=str)
        self.max_snap_m = max_snap_m
        self._grid = _Grid(cell_deg)
        self._cell_row = np.full(self._grid.size, UNPLACED, dtype=np.int32)

        boxes = self._grid.boxes()
        cells = shapely.STRtree(boxes)
        piece_cell, piece_row, pieces = [], [], []
        for row, polygon in enumerate(frame.geometry.to_numpy()):
            inside = cells.query(polygon, predicate="contains")
            self._cell_row[inside] = row
            for cell in np.setdiff1d(cells.query(polygon, predicate="intersects"), inside):
                clipped = shapely.clip_by_rect(polygon, *shapely.bounds(boxes[cell]))
                if shapely.area(clipped) > 0:
                    piece_cell.append(cell)
                    piece_row.append(row)
                    pieces.append(clipped)
            piece_cell += inside.tolist()
            piece_row += [row] * len(inside)
            pieces += boxes[inside].tolist()

        order = np.argsort(np.asarray(piece_cell), kind="stable")
        self._piece_cell = np.asarray(piece_cell, dtype=np.int64)[order]
        self._piece_row = np.asarray(piece_row, dtype=np.int32)[order]
        self._pieces = np.asarray(pieces, dtype=object)[order]
        shapely.prepare(self._pieces)
        x, y = to_bng(*shapely.get_coordinates(self._pieces).T)
        self._bng_tree = shapely.STRtree(
            shapely.set_coordinates(self._pieces.copy(), np.column_stack([x, y]))
        )

    def assign(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> TerritoryAssignment:
        """Assign lon/lat degrees (EPSG:4326) to territories; NaNs stay unplaced."""
        lon_a = np.asarray(lon, dtype=float)
        lat_a = np.asarray(lat, dtype=float)
        index = np.full(lon_a.shape, UNPLACED, dtype=np.int32)
        method = np.full(lon_a.shape, UNPLACED, dtype=np.int8)
        distance = np.full(lon_a.shape, np.nan)

        in_grid = np.flatnonzero(in_uk_extent(lon_a, lat_a))
        cell = self._grid.cell_of(lon_a[in_grid], lat_a[in_grid])
        index[in_grid] = self._cell_row[cell]
        mixed = index[in_grid] == UNPLACED
        self._assign_in_mixed_cells(in_grid[mixed], cell[mixed], lon_a, lat_a, index, method)
        placed = index != UNPLACED
        method[placed & (method == UNPLACED)] = CONTAINS
        distance[placed] = 0.0

        stray = in_grid[index[in_grid] == UNPLACED]
        if stray.size:
            row, metres, shared = self._nearest(lon_a[stray], lat_a[stray], self.max_snap_m)
            snapped = row != UNPLACED
            index[stray[snapped]] = row[snapped]
            distance[stray[snapped]] = metres[snapped]
            method[stray[snapped]] = np.where(shared[snapped], BOUNDARY, NEAREST)
        return TerritoryAssignment(index, method, distance)

    def nearest(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
        """Nearest territory at any distance (for messages about points at sea)."""
        row, metres, _ = self._nearest(np.asarray(lon, float), np.asarray(lat, float), None)
        return row, metres

    def _assign_in_mixed_cells(
        self,
        points: IntArray,
        cell: npt.NDArray[np.int64],
        lon: FloatArray,
        lat: FloatArray,
        index: IntArray,
        method: npt.NDArray[np.int8],
    ) -> None:
        """Exact tests against the clipped pieces of each boundary cell, cell by cell."""
        if cell.size == 0:
            return
        order = np.argsort(cell, kind="stable")
        points, cell = points[order], cell[order]
        starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        ends = np.r_[starts[1:], cell.size]
        first = np.searchsorted(self._piece_cell, cell[starts], side="left")
        last = np.searchsorted(self._piece_cell, cell[starts], side="right")
        for start, end, lo, hi in zip(starts, ends, first, last, strict=True):
            group = points[start:end]
            for piece in range(lo, hi):
                hit = group[shapely.contains_xy(self._pieces[piece], lon[group], lat[group])]
                index[hit[index[hit] == UNPLACED]] = self._piece_row[piece]
            self._prefer_lower_codes_on_shared_edges(group, range(lo, hi), lon, lat, index, method)

    def _prefer_lower_codes_on_shared_edges(
        self,
        group: IntArray,
        pieces: range,
        lon: FloatArray,
        lat: FloatArray,
        index: IntArray,
        method: npt.NDArray[np.int8],
    ) -> None:
        """Points of one cell inside a territory but on its edge with a lower code (within
        ``EDGE_TOLERANCE_DEG``) go to that lower code, flagged ``boundary``: the side of
        a shared edge a point falls on is float noise. Pieces are in code order."""
        inside = group[index[group] != UNPLACED]
        if inside.size == 0 or len({int(self._piece_row[p]) for p in pieces}) < 2:
            return
        points = shapely.points(lon[inside], lat[inside])
        for piece in pieces:
            row = self._piece_row[piece]
            lower = index[inside] > row
            if not lower.any():
                continue
            near = lower & shapely.dwithin(self._pieces[piece], points, EDGE_TOLERANCE_DEG)
            index[inside[near]] = row
            method[inside[near]] = BOUNDARY

    def _nearest(
        self, lon: FloatArray, lat: FloatArray, max_distance: float | None
    ) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
        """Nearest territory row, its distance in metres, and whether the point is on an
        edge shared by two territories (both within ``EDGE_TOLERANCE_M``).

        Ties go to the lowest code.
        """
        x, y = to_bng(lon, lat)
        points = shapely.points(x, y)
        (point, piece), metres = self._bng_tree.query_nearest(
            points, max_distance=max_distance, return_distance=True, all_matches=True
        )
        best_row = np.full(lon.shape, UNPLACED, dtype=np.int32)
        best_distance = np.full(lon.shape, np.nan)
        row = self._piece_row[piece]
        order = np.lexsort((row, metres, point))  # by point, then distance, then code
        first = (
            order[np.flatnonzero(np.r_[True, np.diff(point[order]) != 0])] if order.size else order
        )
        best_row[point[first]] = row[first]
        best_distance[point[first]] = metres[first]

        shared_edge = np.zeros(lon.shape, dtype=bool)
        close = np.flatnonzero(best_distance <= EDGE_TOLERANCE_M)
        if close.size:
            near_point, near_piece = self._bng_tree.query(
                points[close], predicate="dwithin", distance=EDGE_TOLERANCE_M
            )
            pairs = np.unique(np.column_stack([near_point, self._piece_row[near_piece]]), axis=0)
            territories_near = np.bincount(pairs[:, 0], minlength=close.size)
            shared_edge[close] = territories_near > 1
            # Pairs are sorted by point then row: the first is the point's lowest code.
            first_pair = np.flatnonzero(np.r_[True, np.diff(pairs[:, 0]) != 0])
            lowest = pairs[first_pair]
            on_edge = territories_near[lowest[:, 0]] > 1
            best_row[close[lowest[on_edge, 0]]] = lowest[on_edge, 1]
        return best_row, best_distance, shared_edge


@dataclass(frozen=True)
class _Grid:
    """A regular lon/lat grid over the UK extent.

    The origin is offset by half a millionth of a degree so that no coordinate given to
    five decimal places (the precision of the postcode data) lies on a cell edge.
    """

    cell_deg: float
    lon0: float = UK_MIN_LON - 5e-7
    lat0: float = UK_MIN_LAT - 5e-7

    @property
    def nx(self) -> int:
        return int(np.ceil((UK_MAX_LON - self.lon0) / self.cell_deg)) + 1

    @property
    def ny(self) -> int:
        return int(np.ceil((UK_MAX_LAT - self.lat0) / self.cell_deg)) + 1

    @property
    def size(self) -> int:
        return self.nx * self.ny

    def boxes(self) -> npt.NDArray[np.object_]:
        iy, ix = np.divmod(np.arange(self.size), self.nx)
        x0 = self.lon0 + ix * self.cell_deg
        y0 = self.lat0 + iy * self.cell_deg
        return np.asarray(shapely.box(x0, y0, x0 + self.cell_deg, y0 + self.cell_deg), dtype=object)

    def cell_of(self, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.int64]:
        """Cell numbers of points inside the UK extent (truncation is floor there)."""
        scale = 1.0 / self.cell_deg
        ix = ((lon - self.lon0) * scale).astype(np.int64)
        iy = ((lat - self.lat0) * scale).astype(np.int64)
        return iy * self.nx + ix


@dataclass(frozen=True)
class NeedAreaPlacement:
    """Per point: need-area row (or ``UNPLACED``), method code and distance in metres (0
    inside a polygon; to the nearest polygon or representative point otherwise)."""

    index: IntArray
    method_code: npt.NDArray[np.int8]
    distance_m: FloatArray

    @property
    def method(self) -> npt.NDArray[np.object_]:
        """Method names (``polygon``, ``nearest_polygon``, ``nearest_point``; None when
        unplaced)."""
        return NEED_AREA_METHOD_NAMES[self.method_code]


class NeedAreaIndex:
    """Need-area polygons where there are any, and need-area points per territory, for
    placing points in small areas."""

    def __init__(
        self,
        need_areas: gpd.GeoDataFrame,
        territory_codes: npt.ArrayLike,
        shapes: gpd.GeoDataFrame | None = None,
    ) -> None:
        """``need_areas`` needs ``code``, ``name``, ``uk_imd_decile`` and ``territory_code``
        columns and point geometry; ``shapes`` (optional) ``area_code`` and polygon
        geometry in EPSG:4326, as :func:`boundaries.repository.need_area_shapes` gives."""
        self.codes: npt.NDArray[np.str_] = need_areas["code"].to_numpy(dtype=str)
        self.names: npt.NDArray[np.str_] = need_areas["name"].to_numpy(dtype=str)
        self.uk_deciles = need_areas["uk_imd_decile"].to_numpy(dtype=float)
        x, y = to_bng(need_areas.geometry.x.to_numpy(), need_areas.geometry.y.to_numpy())
        territory_row = pd.Index(np.asarray(territory_codes)).get_indexer(
            need_areas["territory_code"]
        )
        self._trees: dict[int, tuple[cKDTree, IntArray]] = {}
        for row in np.unique(territory_row[territory_row >= 0]):
            members = np.flatnonzero(territory_row == row).astype(np.int32)
            self._trees[int(row)] = (cKDTree(np.column_stack([x[members], y[members]])), members)

        shape_row = np.empty(0, dtype=np.int32)
        polygons = np.empty(0, dtype=object)
        if shapes is not None and len(shapes):
            shape_row = pd.Index(self.codes).get_indexer(shapes["area_code"]).astype(np.int32)
            polygons = shapes.geometry.to_numpy()[shape_row != UNPLACED]
            shape_row = shape_row[shape_row != UNPLACED]
        self._shape_row = shape_row
        self._polygons = np.asarray(polygons, dtype=object)
        # Territories whose need areas have polygons: only their points snap to the nearest
        # polygon (a Scottish point near the border stays with the Scottish points).
        self._polygon_territories = np.unique(territory_row[shape_row])
        self._bng_polygon_tree: shapely.STRtree | None = None  # built when first needed

    def place(self, territory_row: IntArray, lon: FloatArray, lat: FloatArray) -> NeedAreaPlacement:
        """Place lon/lat points (EPSG:4326) already placed in territories (rows of
        ``territory_codes``; ``UNPLACED`` points stay unplaced) in need areas.

        In a polygon first (the lowest code if polygons overlap or the point is on their
        shared edge); then, in a territory whose need areas have polygons, the nearest
        polygon within ``NEED_AREA_SNAP_M``; then the nearest need-area point of the point's
        territory.
        """
        found = np.full(territory_row.shape, UNPLACED, dtype=np.int32)
        method = np.full(territory_row.shape, UNPLACED, dtype=np.int8)
        distance = np.full(territory_row.shape, np.nan)
        todo = np.flatnonzero(territory_row != UNPLACED)
        if self._polygons.size and todo.size:
            # The polygons query a tree of the points, so each polygon is prepared once
            # (three times faster on 2.7 M postcodes than each point querying the polygons).
            points = shapely.STRtree(shapely.points(lon[todo], lat[todo]))
            polygon, point = points.query(self._polygons, predicate="contains")
            hit, row = _lowest_row_per_point(point, self._shape_row[polygon])
            found[todo[hit]] = row
            method[todo[hit]] = IN_POLYGON
            distance[todo[hit]] = 0.0
            todo = todo[found[todo] == UNPLACED]
        snap = todo[np.isin(territory_row[todo], self._polygon_territories)]
        if snap.size:
            x, y = to_bng(lon[snap], lat[snap])
            (point, polygon), metres = self._bng_polygons().query_nearest(
                shapely.points(x, y),
                max_distance=NEED_AREA_SNAP_M,
                return_distance=True,
                all_matches=True,
            )
            order = np.lexsort((self._shape_row[polygon], metres, point))
            first = order[np.flatnonzero(np.r_[True, np.diff(point[order]) != 0])]
            near = snap[point[first]]
            found[near] = self._shape_row[polygon[first]]
            method[near] = NEAREST_POLYGON
            distance[near] = metres[first]
            todo = todo[found[todo] == UNPLACED]
        x, y = to_bng(lon[todo], lat[todo])
        for row in np.unique(territory_row[todo]):
            tree_members = self._trees.get(int(row))
            if tree_members is None:
                continue
            tree, members = tree_members
            in_row = territory_row[todo] == row
            metres, nearest = tree.query(np.column_stack([x[in_row], y[in_row]]))
            found[todo[in_row]] = members[nearest]
            method[todo[in_row]] = NEAREST_POINT
            distance[todo[in_row]] = metres
        return NeedAreaPlacement(found, method, distance)

    def _bng_polygons(self) -> shapely.STRtree:
        """The polygons in EPSG:27700 metres, for the nearest-polygon fallback."""
        if self._bng_polygon_tree is None:
            x, y = to_bng(*shapely.get_coordinates(self._polygons).T)
            projected = shapely.set_coordinates(self._polygons.copy(), np.column_stack([x, y]))
            self._bng_polygon_tree = shapely.STRtree(projected)
        return self._bng_polygon_tree


def _lowest_row_per_point(
    point: npt.NDArray[np.int64], row: IntArray
) -> tuple[npt.NDArray[np.int64], IntArray]:
    """For (point, row) pairs, each point once with its lowest row."""
    order = np.lexsort((row, point))
    first = order[np.flatnonzero(np.r_[True, np.diff(point[order]) != 0])] if order.size else order
    return point[first], row[first]


@dataclass(frozen=True)
class Locator:
    """Territory and need-area lookups together, as the CLI and API use them."""

    territories: TerritoryIndex
    need_areas: NeedAreaIndex

    @classmethod
    def from_frames(
        cls,
        territories: gpd.GeoDataFrame,
        need_areas: gpd.GeoDataFrame,
        shapes: gpd.GeoDataFrame | None = None,
    ) -> Locator:
        """A locator over territories, need areas and (optionally) need-area polygons."""
        index = TerritoryIndex(territories)
        return cls(index, NeedAreaIndex(need_areas, index.codes, shapes))

    def locate(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> pd.DataFrame:
        """One row per input point, in order.

        Columns: ``territory_code``, ``territory_name``, ``territory_method``,
        ``territory_distance_m``, ``need_area_code``, ``need_area_name``,
        ``need_area_uk_decile`` (1 = most deprived), ``need_area_method`` (``polygon``,
        ``nearest_polygon``, ``nearest_point``), ``need_area_distance_m`` and ``error``
        (empty when the point was placed).
        """
        lat_a, lon_a, error = parse_coordinates(lat, lon)
        ok = error == ""
        lat_a = np.where(ok, lat_a, np.nan)
        lon_a = np.where(ok, lon_a, np.nan)

        assignment = self.territories.assign(lon_a, lat_a)
        placed = assignment.index != UNPLACED
        at_sea = ok & ~placed
        if at_sea.any():
            error[at_sea] = self._at_sea_messages(lat_a[at_sea], lon_a[at_sea])

        need = self.need_areas.place(assignment.index, lon_a, lat_a)
        need_row = need.index
        has_need = need_row != UNPLACED
        return pd.DataFrame(
            {
                "territory_code": take(self.territories.codes, assignment.index),
                "territory_name": take(self.territories.names, assignment.index),
                "territory_method": assignment.method,
                "territory_distance_m": np.round(assignment.distance_m, 1),
                "need_area_code": take(self.need_areas.codes, need_row),
                "need_area_name": take(self.need_areas.names, need_row),
                "need_area_uk_decile": pd.Series(
                    take(self.need_areas.uk_deciles, need_row), dtype="Int64"
                ),
                "need_area_method": need.method,
                "need_area_distance_m": np.where(has_need, np.round(need.distance_m, 1), np.nan),
                "error": error,
            }
        )

    def _at_sea_messages(self, lat: FloatArray, lon: FloatArray) -> list[str]:
        row, metres = self.territories.nearest(lon, lat)
        return [
            f"point (lat {la:g}, lon {lo:g}) is not in any of the 45 UK territories "
            f"(at sea, or in the Isle of Man); the nearest is "
            f"{self.territories.names[r]}, {m / 1000:.1f} km away"
            for la, lo, r, m in zip(lat, lon, row, metres, strict=True)
        ]


def parse_coordinates(
    lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.object_]]:
    """Turn raw lat/lon values (numbers or text) into floats and a per-row error message.

    The message is empty where the point is a usable UK coordinate. Checks, in order: both
    present and numeric, within the globe's ranges, inside the UK's extent (with a hint when
    lat and lon look swapped).
    """
    lat_raw = pd.Series(np.asarray(lat, dtype=object))
    lon_raw = pd.Series(np.asarray(lon, dtype=object))
    lat_a = pd.to_numeric(lat_raw, errors="coerce").to_numpy(dtype=float)
    lon_a = pd.to_numeric(lon_raw, errors="coerce").to_numpy(dtype=float)
    error = np.full(lat_a.shape, "", dtype=object)

    def flag(mask: npt.NDArray[np.bool_], make: object) -> None:
        todo = np.flatnonzero(mask & (error == ""))
        for i in todo:
            error[i] = make(i)  # type: ignore[operator]

    for name, raw, value in (("lat", lat_raw, lat_a), ("lon", lon_raw, lon_a)):
        flag(~np.isfinite(value), lambda i, n=name, r=raw: _not_a_number(n, r.iloc[i]))
    flag(np.abs(lat_a) > 90, lambda i: f"lat {lat_a[i]:g} is out of range (-90 to 90)")
    flag(np.abs(lon_a) > 180, lambda i: f"lon {lon_a[i]:g} is out of range (-180 to 180)")
    outside = ~in_uk_extent(lon_a, lat_a)
    swapped = in_uk_extent(lat_a, lon_a)
    flag(
        outside,
        lambda i: (
            f"point (lat {lat_a[i]:g}, lon {lon_a[i]:g}) is outside the UK "
            f"(lat {UK_MIN_LAT}..{UK_MAX_LAT}, lon {UK_MIN_LON}..{UK_MAX_LON})"
            + ("; are lat and lon swapped?" if swapped[i] else "")
        ),
    )
    return lat_a, lon_a, error


def _not_a_number(name: str, raw: object) -> str:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
        return f"{name} is missing"
    return f"{name} {str(raw)!r} is not a number"


def take(values: npt.NDArray[Any], index: IntArray) -> npt.NDArray[np.object_]:
    """``values[index]``, with None where the index is ``UNPLACED``."""
    out = np.full(index.shape, None, dtype=object)
    placed = index != UNPLACED
    out[placed] = values[index[placed]]
    return out
