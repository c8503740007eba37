"""``python -m benchmarks [--markdown FILE]``: run every benchmark and print one table."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmarks import bench_locate
from benchmarks.common import markdown, print_table
from geo.settings import get_settings


def main(
    repeat: int = typer.Option(3, help="Runs per measurement; the fastest is reported."),
    write: Path | None = typer.Option(None, "--markdown", help="Also write the table here."),
) -> None:
    """Run the benchmarks on the real shared data; ours beside a baseline, same run."""
    data_dir = get_settings().require_data_dir()
    rows = bench_locate.run(data_dir, repeat)
    print_table(rows)
    if write:
        write.write_text(markdown(rows), encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
