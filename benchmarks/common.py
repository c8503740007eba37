"""Timing helpers and the result table shared by every benchmark."""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from geo.db import make_engine
from geo.settings import Settings

console = Console(width=None if sys.stdout.isatty() else 160)

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """One way of doing a benchmark's task: its label in the table and the seconds it took
    (as measured, or derived from a measurement: per query, or scaled up from a sample)."""

    label: str
    seconds: float


@dataclass(frozen=True)
class Comparison:
    """One task timed two ways on the same input in the same run."""

    task: str
    items: int
    unit: str
    ours: Timing
    baseline: Timing
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.baseline.seconds / self.ours.seconds


def _ratio(speedup: float) -> str:
    """Speed-up as ``12.3×``, or as a cost (``0.03×``) when ours is the slower one."""
    return f"{speedup:.1f}×" if speedup >= 1 else f"{speedup:.2f}×"


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def timed(label: str, func: Callable[[], T], repeat: int = 1) -> tuple[Timing, T]:
    """Time one way of doing a task with :func:`best_of`.

    Parameters
    ----------
    label : str
        How the table names this way (``ours`` or ``baseline`` column).
    func : Callable[[], T]
        The work to time, called with no arguments.
    repeat : int
        Runs; the fastest is kept.

    Returns
    -------
    tuple[Timing, T]
        The label with the fastest run's seconds, and what the last run returned (for
        checks and notes).
    """
    seconds, result = best_of(repeat, func)
    return Timing(label, seconds), result


@contextmanager
def connection(url: str, **options: object) -> Iterator[Connection]:
    """A connection to the database at ``url`` whose engine is disposed of afterwards.

    Parameters
    ----------
    url : str
        The database URL (e.g. ``Settings.owner_url``).
    **options : object
        Passed to :func:`geo.db.make_engine` (e.g. ``isolation_level="AUTOCOMMIT"``).

    Yields
    ------
    Connection
        An open connection; nothing is committed unless the caller begins a transaction.
    """
    engine = make_engine(url, **options)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def database_copy(settings: Settings, purpose: str) -> Iterator[str | None]:
    """A throwaway copy of the configured database (``CREATE DATABASE … TEMPLATE``),
    dropped afterwards, so a benchmark may write without touching the real data.

    Parameters
    ----------
    settings : Settings
        Where the server is (``admin_url`` or ``owner_url``).
    purpose : str
        The benchmark's name, in the copy's name and in the message when it is skipped.

    Yields
    ------
    str or None
        The copy's URL, or None (with a message saying what to do) when the database
        cannot be copied, e.g. because the demo server is connected to it.
    """
    server = make_url(settings.admin_url or settings.owner_url)
    maintenance = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"dualimpact_bench_{purpose}_{os.getpid()}"
    source = server.database or "dualimpact"

    def run(*statements: str) -> None:
        with connection(maintenance, isolation_level="AUTOCOMMIT") as conn:
            for statement in statements:
                conn.execute(text(statement))

    try:
        run(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    except Exception as exc:
        console.print(
            f"[yellow]{purpose} benchmark skipped: cannot copy the database ({exc}); stop "
            "anything connected to it (e.g. the demo server) and run again.[/]"
        )
        yield None
        return
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postcodes(data_dir: Path, columns: list[str]) -> pd.DataFrame:
    """The real UK unit postcodes of the shared data (``geography/postcodes.parquet``).

    Parameters
    ----------
    data_dir : Path
        The shared data folder (``Settings.require_data_dir()``).
    columns : list[str]
        The columns to read, e.g. ``["lon", "lat"]``.

    Returns
    -------
    pandas.DataFrame
        One row a postcode, only ``columns``.
    """
    return pd.read_parquet(data_dir / "geography" / "postcodes.parquet", columns=columns)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


_COLUMNS = ("task", "items", "ours", "s", "per s", "baseline", "s", "per s", "speed-up")


def _cells(row: Comparison) -> list[str]:
    """A row's cells, in the table's columns (``per s`` is items a second)."""
    return [
        row.task,
        f"{row.items:,}",
        row.ours.label,
        f"{row.ours.seconds:.3f}",
        f"{row.items / row.ours.seconds:,.0f}",
        row.baseline.label,
        f"{row.baseline.seconds:.3f}",
        f"{row.items / row.baseline.seconds:,.0f}",
        _ratio(row.speedup),
    ]


def print_table(rows: list[Comparison]) -> None:
    table = Table(title=f"Benchmarks ({machine()})")
    for column in _COLUMNS:
        table.add_column(
            column, justify="left" if column in ("task", "ours", "baseline") else "right"
        )
    for row in rows:
        table.add_row(*_cells(row))
    console.print(table)
    for row in rows:
        if row.note:
            console.print(f"[dim]{row.task}: {row.note}[/dim]")


def markdown(rows: list[Comparison]) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks --markdown benchmarks/RESULTS.md`): each",
        "row times the project's path and a naive baseline on the same input in the same run",
        "(fastest of the repeats).",
        "",
        f"Machine: {machine()}; PostgreSQL 15 + PostGIS 3.3.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|---|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    lines += [""] + [f"- {r.task}: {r.note}" for r in rows if r.note]
    return "\n".join(lines) + "\n"
