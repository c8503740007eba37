"""Cluster density on H3 hexagons: activities, supplier sites and SPO value per cell, and
Getis-Ord Gi* hot spots to tell real clusters from noise.

Counts shown to the public are suppressed below :data:`SMALL_COUNT` (a cell with one or two
activities could point at a safeguarded service): the value becomes None and
``suppressed`` is True. Totals are exact before suppression (tests check them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from geo import extras, hexes

SMALL_COUNT = 3
_HOT_SPOTS = "the hot-spot statistic (Getis-Ord Gi*)"


def density(points: pd.DataFrame, resolution: int, sums: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per H3 cell: ``count`` of points (rows with lat/lon) and the sum of each column in
    ``sums``; cells as int64, sorted."""
    located = points.dropna(subset=["lat", "lon"])
    if located.empty:
        return pd.DataFrame(columns=["cell", "count", *sums])
    cell = hexes.cells(located["lat"], located["lon"], resolution)
    grouped = located.assign(cell=cell).groupby("cell")
    out = grouped.size().rename("count").to_frame()
    for column in sums:
        out[column] = grouped[column].sum()
    return out.reset_index().sort_values("cell", ignore_index=True)


def suppress(frame: pd.DataFrame, column: str = "count") -> pd.DataFrame:
    """Public counts: values below :data:`SMALL_COUNT` become None (``suppressed``)."""
    small = frame[column] < SMALL_COUNT
    return frame.assign(
        **{column: frame[column].astype(object).where(~small, None)}, suppressed=small
    )


def hot_spots(
    counts: pd.DataFrame, column: str = "count", permutations: int = 199, seed: int = 12345
) -> pd.DataFrame:
    """Getis-Ord Gi* (esda) on the cells and their empty neighbours (zeros), with H3
    adjacency as the spatial weights. ``z`` is Gi*'s z-score, ``p`` its pseudo p-value
    from ``permutations`` (seeded: the same input gives the same answer), and ``spot`` is
    'hot' or 'cold' where p < 0.05, else ''. Needs the ``stats`` extra (esda, libpysal):
    :class:`geo.errors.MissingExtraError` says so when it is not installed."""
    getisord = extras.require("esda.getisord", "stats", _HOT_SPOTS)
    spatial_weights = extras.require("libpysal.weights", "stats", _HOT_SPOTS)
    observed = dict(zip(counts["cell"].astype(int), counts[column].astype(float), strict=True))
    cells = set(observed)
    for cell in list(observed):
        cells.update(hexes.neighbours(cell))
    ordered = sorted(cells)
    neighbours = {c: [n for n in hexes.neighbours(c) if n in cells] for c in ordered}
    with warnings.catch_warnings():  # cells on the edge of the set may have no neighbour
        warnings.simplefilter("ignore")
        weights = spatial_weights.W(neighbours, ids=ordered, silence_warnings=True)
        values = np.array([observed.get(c, 0.0) for c in ordered])
        gi = getisord.G_Local(values, weights, star=True, permutations=permutations, seed=seed)
    out = pd.DataFrame(
        {"cell": np.array(ordered, dtype=np.int64), column: values, "z": gi.Zs, "p": gi.p_sim}
    )
    out["spot"] = np.where(out["p"] < 0.05, np.where(out["z"] > 0, "hot", "cold"), "")
    return out
