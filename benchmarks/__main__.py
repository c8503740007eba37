"""``python -m benchmarks [--markdown FILE]``: run every benchmark and print one table, then
the eligibility rules' agreement with the hand-labelled sample (:mod:`benchmarks.eligibility`)."""

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
    bench_pages,
    eligibility,
)
from benchmarks.common import markdown, print_table
from geo.settings import get_settings


def main(
    repeat: int = typer.Option(3, help="Runs per measurement; the fastest is reported."),
    write: Path | None = typer.Option(None, "--markdown", help="Also write the table here."),
) -> None:
    """Run the benchmarks on the real shared data; ours beside a baseline, same run; then
    score the eligibility rules against the labelled sample."""
    settings = get_settings()
    rows = bench_locate.run(settings.require_data_dir(), repeat)
    rows += bench_geocode.run(settings)
    rows += bench_match.run(settings)
    rows += bench_coverage.run(settings)
    rows += bench_national.run(settings)
    rows += bench_api.run(settings)
    rows += bench_pages.run(settings)
    print_table(rows)
    scores, labelled = eligibility.run(settings.require_data_dir())
    quality = eligibility.markdown(scores, labelled)
    print(quality)
    if write:
        write.write_text(markdown(rows) + "\n" + quality, encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
