"""The national batch jobs on a dask cluster (dask-geopandas over ``dask.distributed``):
coverage over every need area, H3 aggregation and bulk geocoding, with the very same
domain functions as the single-machine path. They are pure and partition-safe, which is
what makes this work:

* coverage: activities are split into partitions; each partition computes its activities'
  2SFCA contributions against *all* need areas (broadcast: 42,619 points, a few MB), and
  the contributions are summed, because step 2 of 2SFCA is a sum over activities;
* H3: each partition counts its points per cell; the counts are summed per cell;
* geocoding: rows are independent; the gazetteer is sent to each worker once.

Point ``client`` at any cluster (``Client("tcp://scheduler:8786")``); tests use a
``LocalCluster``. Single-machine results and these agree (tested). Needs the
``distributed`` extra (dask, dask-geopandas); each function raises
:class:`geo.errors.MissingExtraError` naming it when it is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.extras import require
from geo.geocode import Gazetteer, Geocoder
from maps import coverage, density

if TYPE_CHECKING:
    from distributed import Client

_FEATURE = "the distributed path (maps.distributed)"

_ACCESS_META = pd.DataFrame(
    {
        "area": pd.Series(dtype=np.int64),
        "access": pd.Series(dtype=float),
        "access_backed": pd.Series(dtype=float),
        "backed_count": pd.Series(dtype=np.int64),
    }
)


def _as_geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )


def _contributions(part: pd.DataFrame, need_areas: pd.DataFrame) -> pd.DataFrame:
    """One partition's share of every need area's access (zero rows dropped)."""
    accessed = coverage.access(need_areas.reset_index(drop=True), pd.DataFrame(part))
    touched = (accessed["access"] > 0) | accessed["backed_in_reach"]
    return pd.DataFrame(
        {
            "area": np.flatnonzero(touched.to_numpy()).astype(np.int64),
            "access": accessed.loc[touched, "access"].to_numpy(),
            "access_backed": accessed.loc[touched, "access_backed"].to_numpy(),
            "backed_count": accessed.loc[touched, "backed_in_reach"].to_numpy().astype(np.int64),
        }
    )


def area_coverage(
    client: Client, need_areas: pd.DataFrame, activities: pd.DataFrame, npartitions: int = 8
) -> pd.DataFrame:
    """:func:`maps.coverage.area_coverage` for the whole UK, computed on ``client``."""
    dask_geopandas = require("dask_geopandas", "distributed", _FEATURE)
    parts = dask_geopandas.from_geopandas(_as_geo(activities), npartitions=npartitions)
    areas = client.scatter(need_areas.reset_index(drop=True), broadcast=True)
    summed = client.compute(
        parts.map_partitions(_contributions, areas, meta=_ACCESS_META).groupby("area").sum()
    ).result()
    accessed = pd.DataFrame(
        {"access": 0.0, "access_backed": 0.0, "backed_in_reach": False},
        index=pd.RangeIndex(len(need_areas)),
    )
    accessed.loc[summed.index, "access"] = summed["access"].to_numpy()
    accessed.loc[summed.index, "access_backed"] = summed["access_backed"].to_numpy()
    accessed.loc[summed.index, "backed_in_reach"] = summed["backed_count"].to_numpy() > 0
    accessed.index = need_areas.index
    capacity = float(client.compute(parts["capacity"].sum()).result())
    a_ref = capacity / float(need_areas["population"].sum())
    return coverage.with_reach(need_areas, accessed, a_ref)


def _cell_counts(part: pd.DataFrame, resolution: int) -> pd.DataFrame:
    return density.density(pd.DataFrame(part), resolution)[["cell", "count"]]


def h3_counts(
    client: Client, points: pd.DataFrame, resolution: int, npartitions: int = 8
) -> pd.DataFrame:
    """:func:`maps.density.density` counts (``lat``/``lon`` points), computed on ``client``."""
    dask_geopandas = require("dask_geopandas", "distributed", _FEATURE)
    parts = dask_geopandas.from_geopandas(_as_geo(points), npartitions=npartitions)
    meta = pd.DataFrame({"cell": pd.Series(dtype=np.int64), "count": pd.Series(dtype=np.int64)})
    counts = client.compute(
        parts.map_partitions(_cell_counts, resolution, meta=meta).groupby("cell")["count"].sum()
    ).result()
    return counts.reset_index().sort_values("cell", ignore_index=True)


def _geocode_part(part: pd.DataFrame, gazetteer: Gazetteer) -> pd.DataFrame:
    placed = Geocoder(gazetteer, None).geocode(part["postcode"].reset_index(drop=True))
    placed.index = part.index
    return placed.astype(dict.fromkeys(("precision", "territory_code", "need_area_code"), str))


def geocode(
    client: Client, postcodes: pd.Series, gazetteer: Gazetteer, npartitions: int = 8
) -> pd.DataFrame:
    """:meth:`geo.geocode.Geocoder.geocode` of many postcodes, partitioned on ``client``
    (the gazetteer is sent to every worker once). Rows come back in input order."""
    dd = require("dask.dataframe", "distributed", _FEATURE)
    frame = dd.from_pandas(pd.DataFrame({"postcode": postcodes}), npartitions=npartitions)
    shared = client.scatter(gazetteer, broadcast=True)
    meta = _geocode_part(pd.DataFrame({"postcode": pd.Series([], dtype=object)}), gazetteer)
    placed = client.compute(frame.map_partitions(_geocode_part, shared, meta=meta)).result()
    return placed.sort_index()
