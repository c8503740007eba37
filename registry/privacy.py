"""Safeguarding: what may be shown of an activity whose exact place must never be public
(a refuge, a domestic-abuse service). One set of rules, used by every output — exports,
recommendations, allocations, the API, maps:

* no point (lat/lon) and no street address;
* the postcode cut to its district (``OX1 1DP`` → ``OX1``), need area blanked;
* keys that were built from the postcode replaced by a stable hash;
* distances banded up to a whole kilometre (never under 1 km), and everything derived from
  distance (proximity, totals) computed from the band, so that the place cannot be worked
  back out from several origins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

BAND_M = 1_000.0
SAFEGUARDED_PREFIX = "dualimpact-safeguarded:"

# Any activity record (a TypedDict or a plain mapping): redacted, it keeps its type.
R = TypeVar("R", bound=Mapping[str, Any])


def band(distance_m: pd.Series | np.ndarray) -> np.ndarray:
    """Distances rounded up to whole kilometres, at least 1 km (metres)."""
    metres = np.asarray(distance_m, dtype=float)
    return np.maximum(np.ceil(metres / BAND_M), 1.0) * BAND_M


def hidden_key(key: str) -> str:
    """A stable stand-in for a key that may contain a postcode; a stand-in stays as it is,
    so that redacting twice (a frame, then each record) gives the same key."""
    if key.startswith(SAFEGUARDED_PREFIX):
        return key
    return SAFEGUARDED_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


# What a safeguarded record loses, whichever form it is in.
_POINT = ("lat", "lon")
_BLANKED = ("address", "need_area_code", "geometry", "geom")
_KEYS = ("source_key", "provider_key")


def district(postcode: object) -> object:
    """``OX1 1DP`` → ``OX1`` (other values as they are)."""
    return postcode.split(" ")[0] if isinstance(postcode, str) else postcode


def redact(frame: pd.DataFrame) -> pd.DataFrame:
    """Activity rows with the safeguarded ones reduced to what may be shown (columns that
    are present are redacted; others are left alone)."""
    if "safeguarding" not in frame or frame.empty:
        return frame
    out = frame.copy()
    safe = out["safeguarding"].fillna(False).astype(bool).to_numpy()
    if not safe.any():
        return out
    for column in _POINT:
        if column in out:
            out[column] = out[column].astype(float).where(~safe, np.nan)
    for column in _BLANKED:
        if column in out:
            out[column] = out[column].astype(object).where(~safe, None)
    if "postcode" in out:
        out["postcode"] = out["postcode"].astype(object).where(~safe, out["postcode"].map(district))
    for column in _KEYS:
        if column in out:
            out[column] = [
                hidden_key(str(k)) if s and isinstance(k, str) else k
                for k, s in zip(out[column], safe, strict=True)
            ]
    if "distance_m" in out:
        out["distance_m"] = np.where(safe, band(out["distance_m"]), out["distance_m"])
    return out


def redact_record(record: R) -> R:
    """One activity record (a dict), redacted by the same rules as :func:`redact`, for
    paths that serve a handful of records and cannot afford a frame."""
    if not record.get("safeguarding"):
        return record
    out: dict[str, Any] = dict(record)
    for column in (*_POINT, *_BLANKED):
        if column in out:
            out[column] = None
    if "postcode" in out:
        out["postcode"] = district(out["postcode"])
    for column in _KEYS:
        if isinstance(out.get(column), str):
            out[column] = hidden_key(out[column])
    if out.get("distance_m") is not None:
        out["distance_m"] = float(band([out["distance_m"]])[0])
    return cast(R, out)
