"""``python -m benchmarks [--markdown FILE]``: run every benchmark and print one table."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmarks import (
    bench_api,
    bench_coverage,
    bench_geocode,
    bench_locate,
    bench_match,
    bench_national,
)
from benchmarks.common import markdown, print_table
from geo.settings import get_settings


def main(
    repeat: int = typer.Option(3, help="Runs per measurement; the fastest is reported."),
    write: Path | None = typer.Option(None, "--markdown", help="Also write the table here."),
) -> None:
    """Run the benchmarks on the real shared data; ours beside a baseline, same run."""
    settings = get_settings()
    rows = bench_locate.run(settings.require_data_dir(), repeat)
    rows += bench_geocode.run(settings)
    rows += bench_match.run(settings)
    rows += bench_coverage.run(settings)
    rows += bench_national.run(settings)
    rows += bench_api.run(settings)
    print_table(rows)
    if write:
        write.write_text(markdown(rows), encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
