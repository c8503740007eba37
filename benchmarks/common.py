"""Timing helpers and the result table shared by every benchmark."""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass(frozen=True)
class Comparison:
    """One task timed two ways on the same input in the same run."""

    task: str
    items: int
    unit: str
    ours_label: str
    ours_s: float
    baseline_label: str
    baseline_s: float
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.baseline_s / self.ours_s


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


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def print_table(rows: list[Comparison]) -> None:
    table = Table(title=f"Benchmarks ({machine()})")
    for column in ("task", "items", "ours", "s", "per s", "baseline", "s", "per s", "speed-up"):
        table.add_column(
            column, justify="left" if column in ("task", "ours", "baseline") else "right"
        )
    for row in rows:
        table.add_row(
            row.task,
            f"{row.items:,}",
            row.ours_label,
            f"{row.ours_s:.3f}",
            f"{row.items / row.ours_s:,.0f}",
            row.baseline_label,
            f"{row.baseline_s:.3f}",
            f"{row.items / row.baseline_s:,.0f}",
            _ratio(row.speedup),
        )
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
        "| task | items | ours | s | per s | baseline | s | per s | speed-up |",
        "|---|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.task} | {r.items:,} | {r.ours_label} | {r.ours_s:.3f} | {r.items / r.ours_s:,.0f} "
        f"| {r.baseline_label} | {r.baseline_s:.3f} | {r.items / r.baseline_s:,.0f} "
        f"| {_ratio(r.speedup)} |"
        for r in rows
    ]
    lines += [""] + [f"- {r.task}: {r.note}" for r in rows if r.note]
    return "\n".join(lines) + "\n"
