"""Shared pieces of the command line: consoles, the engine, JSON output."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from geo.db import check_connection, make_engine
from geo.settings import Settings, get_settings

# Tables stay readable when piped (rich would otherwise wrap them at 80 columns).
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


@contextmanager
def open_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """The configured database, checked to be reachable, disposed of afterwards."""
    engine = make_engine((settings or get_settings()).sqlalchemy_url)
    try:
        check_connection(engine)
        yield engine
    finally:
        engine.dispose()


def json_text(data: Any) -> str:
    return json.dumps(_jsonable(data), indent=2, ensure_ascii=False) + "\n"


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes), safe to pipe."""
    print(json_text(data), end="")


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in frame.to_dict(orient="records")]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


@contextmanager
def steps(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr (stdout stays clean for piping) advanced by named steps."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
    with bar:
        task = bar.add_task(title, total=total)
        yield lambda label: bar.update(task, description=label, advance=1)
        bar.update(task, description="Done", completed=total)
