"""The need of the people an activity serves, from the need areas in its service area: the
one catchment-need model, used alike by the SPO score, recommendations, coverage and maps.

An activity serves a drawn polygon (its ``service_area``) when it has one, else a circle of
its ``service_radius_m``, else of the default radius of its territory's weight profile
(:attr:`matching.profiles.WeightProfile.default_service_radius_m`). The need areas whose
representative point lies inside are its catchment; the need score is their
population-weighted mean of ``(10 - UK decile) / 9`` (decile 1, the most deprived tenth of
the UK, scores 1; decile 10 scores 0). The UK composite index is used so that areas in
different nations compare. When no need-area point falls inside
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
        return cls.from_points(x, y, need_areas["population"], need_areas["uk_imd_decile"])

    @classmethod
    def from_points(
        cls,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        population: pd.Series,
        uk_imd_decile: pd.Series,
    ) -> NeedIndex:
        """Need areas given as EPSG:27700 points ``x, y`` (metres), with ``population``
        (people; missing counts as 0) and ``uk_imd_decile`` (1-10)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return cls(
            x=x,
            y=y,
            population=population.astype(float).fillna(0.0).to_numpy(),
            uk_decile=uk_imd_decile.astype(float).to_numpy(),
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


def served_need(
    activities: pd.DataFrame, need: NeedIndex, default_radius_m: float | pd.Series
) -> pd.DataFrame:
    """Catchment need of activities, indexed like ``activities`` (columns as
    :meth:`NeedIndex.served`).

    Parameters
    ----------
    activities
        ``lon``, ``lat`` (EPSG:4326 degrees), ``service_radius_m`` (metres; NaN: not
        given) and, optionally, ``service_area`` (shapely polygons in EPSG:4326 or None).
    need
        The need areas.
    default_radius_m
        The radius (metres) of an activity that gives neither polygon nor radius: its
        territory profile's ``default_service_radius_m``, one figure or one per activity
        (a Series indexed like ``activities``).
    """
    x, y = to_bng(activities["lon"].to_numpy(float), activities["lat"].to_numpy(float))
    radius = (
        pd.to_numeric(activities["service_radius_m"], errors="coerce")
        .fillna(default_radius_m)
        .to_numpy(float)
    )
    drawn = activities.get("service_area", [])
    areas = [
        None if area is None else shapely.transform(area, _bng_xy, interleaved=False)
        for area in drawn
    ]
    served = need.served(x, y, radius, areas if any(a is not None for a in areas) else None)
    served.index = activities.index
    return served


def _bng_xy(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    return to_bng(x, y)
