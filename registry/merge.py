"""Fold duplicate rows of one file together before they are written."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def fold_duplicates(
    frame: pd.DataFrame, keys: Sequence[Sequence[str]], list_columns: Sequence[str] = ()
) -> tuple[pd.DataFrame, int]:
    """Merge rows that share any of the key column sets, in turn.

    The first row of a group keeps its place; its empty values are filled from the later
    rows and its list columns take the union. Returns the frame and how many rows were
    folded away. Rows whose key has an empty part are never merged on that key.
    """
    folded = 0
    for columns in keys:
        key = frame[list(columns)].astype(object).fillna("").astype(str).agg("|".join, axis=1)
        complete = frame[list(columns)].notna().all(axis=1)
        duplicated = key.duplicated(keep=False) & complete
        if not duplicated.any():
            continue
        group = key[duplicated]
        merged = (
            frame[duplicated]
            .groupby(group, sort=False)
            .agg({c: (_union if c in list_columns else _first) for c in frame.columns})
        )
        # Groups come in order of first appearance; each takes its first row's place.
        merged.index = group.index[~group.duplicated(keep="first").to_numpy()]
        folded += int(duplicated.sum()) - len(merged)
        combined = pd.concat([frame[~duplicated], merged])
        frame = combined.loc[frame.index.intersection(combined.index)]
    return frame, folded


def _first(values: pd.Series) -> object:
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def _union(values: pd.Series) -> object:
    seen: list[object] = []
    for items in values.dropna():
        seen += [item for item in items if item not in seen]
    return seen or None
