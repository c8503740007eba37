"""H3 hexagons as 64-bit integers inside (never strings: ~5× faster to group, half the
memory), and as hexadecimal strings at every boundary (API, CLI, analysts' frames,
notebooks), as GIS tools name them: :func:`labels` on the way out, :func:`from_labels` on
the way in.

Resolutions used by the maps, from the zoom a map is drawn at: 6 (36 km² cells) for the
whole UK and zooms up to 9, 7 (5 km²) at zoom 10 (a territory), 8 (0.7 km²) at 11, 9
(0.1 km²) from 12 (a town).
"""

from __future__ import annotations

from collections.abc import Iterable

import h3.api.numpy_int as h3
import numpy as np
import numpy.typing as npt

from geo.errors import InvalidInputError

IntArray = npt.NDArray[np.int64]
MIN_RESOLUTION, MAX_RESOLUTION = 6, 9


def resolution_for_zoom(zoom: float) -> int:
    """The H3 resolution whose cells read well at a web-map zoom level (6 to 9)."""
    return int(np.clip(round(zoom) - 3, MIN_RESOLUTION, MAX_RESOLUTION))


def cells(lat: npt.ArrayLike, lon: npt.ArrayLike, resolution: int) -> IntArray:
    """The cell of each point, as int64."""
    lats = np.asarray(lat, dtype=float)
    lons = np.asarray(lon, dtype=float)
    return np.fromiter(
        (h3.latlng_to_cell(a, b, resolution) for a, b in zip(lats, lons, strict=True)),
        dtype=np.uint64,
        count=lats.size,
    ).astype(np.int64)


def outline(cell: int) -> list[list[float]]:
    """A cell's boundary as a closed GeoJSON ring of [lon, lat] pairs."""
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(np.uint64(cell))]
    return [*ring, ring[0]]


def neighbours(cell: int) -> list[int]:
    """The six (five at a pentagon) cells touching ``cell``."""
    return [int(c) for c in h3.grid_ring(np.uint64(cell), 1)]


def label(cell: int) -> str:
    """The usual hexadecimal name of a cell (as h3 tools show it)."""
    return str(h3.int_to_str(np.uint64(int(cell) & 0xFFFFFFFFFFFFFFFF)))


def labels(cell_ids: npt.ArrayLike) -> list[str]:
    """The hexadecimal names of many int64 cells, for a boundary (API, CLI, a frame handed
    to an analyst)."""
    return [label(c) for c in np.asarray(cell_ids, dtype=np.int64)]


def from_labels(names: Iterable[object]) -> IntArray:
    """Hexadecimal cell names (``"87195da49ffffff"``) as int64 cells.

    Raises
    ------
    InvalidInputError
        Naming the first value that is not the name of an H3 cell.
    """
    found = []
    for name in names:
        if not isinstance(name, str) or not h3.is_valid_cell(_parsed(name)):
            raise InvalidInputError(
                f"{name!r} is not an H3 cell name (hexadecimal, such as '87195da49ffffff')"
            )
        found.append(_parsed(name))
    return np.array(found, dtype=np.uint64).astype(np.int64)


def _parsed(name: str) -> np.uint64:
    try:
        return np.uint64(int(name, 16))
    except (ValueError, OverflowError):
        return np.uint64(0)  # not a cell


def centres(cell_ids: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Centres of many cells as (lat, lon) arrays."""
    found = [h3.cell_to_latlng(np.uint64(c)) for c in np.asarray(cell_ids, dtype=np.int64)]
    points = np.array(found, dtype=float).reshape(-1, 2)
    return points[:, 0], points[:, 1]
