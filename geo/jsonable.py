"""Plain JSON values from what pandas and numpy hand back (NaN → null, dates → ISO text)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, overload

import numpy as np
import pandas as pd


@overload
def jsonable(value: Mapping[Any, Any]) -> dict[str, Any]: ...


@overload
def jsonable(value: object) -> Any: ...


def jsonable(value: object) -> Any:
    """``value`` as plain JSON: mappings keyed by text, sequences as lists, numpy scalars
    and Decimals as numbers, NaN/NA as null, dates and times as ISO 8601 text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts."""
    return [jsonable(r) for r in frame.to_dict(orient="records")]
