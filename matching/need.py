"""The need of the people an activity serves, from the need areas in its service area.

An activity serves a circle (its ``service_radius_m``, or the profile's default radius) or a
drawn polygon. The need areas whose representative point lies inside are its catchment; the
need score is their population-weighted mean of ``(10 - UK decile) / 9`` (decile 1, the
most deprived tenth of the UK, scores 1; decile 10 scores 0). The UK composite index is
used so that areas in different nations compare. When no need-area point falls inside
(a small radius in a rural area), the nearest one stands in, so every activity has a score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.crs import to_bng

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NeedIndex:
    """Need-area points (EPSG:27700 metres) with population and UK decile."""

    x: FloatArray
    y: FloatArray
    population: FloatArray
    uk_decile: FloatArray
    tree: cKDTree

    @classmethod
    def from_frame(cls, need_areas: pd.DataFrame) -> NeedIndex:
        """``need_areas`` has point geometry (EPSG:4326), ``population``, ``uk_imd_decile``."""
        x, y = to_bng(need_areas.geometry.x.to_numpy(), need_areas.geometry.y.to_numpy())
        population = need_areas["population"].astype(float).fillna(0.0).to_numpy()
        return cls(
            x=x,
            y=y,
            population=population,
            uk_decile=need_areas["uk_imd_decile"].astype(float).to_numpy(),
            tree=cKDTree(np.column_stack([x, y])),
        )

    def served(
        self,
        x: FloatArray,
        y: FloatArray,
        radius_m: FloatArray,
        areas: list[object] | None = None,
    ) -> pd.DataFrame:
        """Catchment need of activities at ``x, y`` (metres, EPSG:27700).

        ``areas`` optionally gives, per activity, a service-area polygon in EPSG:27700
        (None where the radius applies). Columns: ``need_score`` (0-1),
        ``served_population``, ``mean_uk_decile``, ``share_top10`` and ``share_top20``
        (population shares in UK deciles 1 and 1-2), ``need_areas`` (how many).
        """
        members = self.tree.query_ball_point(np.column_stack([x, y]), radius_m)
        for i, area in enumerate(areas or []):
            if area is not None:
                box = shapely.bounds(area)
                near = self.tree.query_ball_point(
                    [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2],
                    np.hypot(box[2] - box[0], box[3] - box[1]) / 2,
                )
                near = np.asarray(near, dtype=np.int64)
                inside = shapely.contains_xy(area, self.x[near], self.y[near])
                members[i] = near[inside].tolist()
        empty = [i for i, found in enumerate(members) if not found]
        if empty:
            _, nearest = self.tree.query(np.column_stack([x[empty], y[empty]]))
            for i, j in zip(empty, np.atleast_1d(nearest), strict=True):
                members[i] = [int(j)]

        owner = np.repeat(np.arange(len(members)), [len(m) for m in members])
        flat = np.fromiter((j for m in members for j in m), dtype=np.int64, count=owner.size)
        weight = self.population[flat]
        decile = self.uk_decile[flat]
        n = len(members)

        def total(values: FloatArray) -> FloatArray:
            return np.bincount(owner, weights=values, minlength=n).astype(np.float64)

        population = total(weight)
        safe = np.where(population > 0, population, 1.0)
        return pd.DataFrame(
            {
                "need_score": total(weight * (10.0 - decile) / 9.0) / safe,
                "served_population": population,
                "mean_uk_decile": total(weight * decile) / safe,
                "share_top10": total(np.where(decile <= 1, weight, 0.0)) / safe,
                "share_top20": total(np.where(decile <= 2, weight, 0.0)) / safe,
                "need_areas": np.bincount(owner, minlength=n),
            }
        )
