"""Optional extras: import a module that only one feature needs, or say which extra to install.

The server and the command line start without the extras declared in ``pyproject.toml``:

* ``distributed`` (dask, dask-geopandas): the national batch jobs on a cluster,
  :mod:`maps.distributed`;
* ``stats`` (esda, libpysal): Getis-Ord Gi* hot spots, :func:`maps.density.hot_spots`.

Code that needs one of them calls :func:`require` when the feature runs, never at import time,
so ``import api.app`` and ``import cli.main`` load none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from geo.errors import MissingExtraError


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise an error naming the extra that provides it.

    Parameters
    ----------
    module : str
        Dotted name of the module to import, e.g. ``"esda.getisord"``.
    extra : str
        The package extra that installs it, e.g. ``"stats"``.
    feature : str
        What needs it, in words, e.g. ``"the hot-spot statistic (Getis-Ord Gi*)"``.

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingExtraError
        If the module, or a module it imports, is not installed.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(feature, extra, exc.name or module) from exc
