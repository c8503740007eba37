"""`dualimpact coverage` and `dualimpact map`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from boundaries.gazetteer import PostcodeLoadReport
from cli.main import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_env")


def test_coverage_by_territory_as_json(postcodes: PostcodeLoadReport) -> None:
    result = runner.invoke(app, ["coverage", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 45
    assert {"gap_index", "mean_reach", "deprived_backed_share", "committed_per_head"} <= set(
        rows[0]
    )
    gaps = [r["gap_index"] for r in rows]
    assert gaps == sorted(gaps, reverse=True)


def test_a_territorys_underserved_areas_as_csv(postcodes: PostcodeLoadReport) -> None:
    result = runner.invoke(app, ["coverage", "--territory", "E23000029", "--csv", "--top", "3"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and all(r["territory_code"] == "E23000029" for r in rows)


def test_map_writes_a_self_contained_page(tmp_path: Path, postcodes: PostcodeLoadReport) -> None:
    out = tmp_path / "tvp.html"
    result = runner.invoke(app, ["map", "--territory", "E23000029", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Leaflet" in page and "cdn." not in page.split("<body>")[0]  # inlined libraries
    assert "Open Government Licence" in page
    assert "Gap index (need areas on hexagons)" in page


def test_map_of_an_unknown_territory_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", "--territory", "E23999999", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown territory 'E23999999'" in result.stderr
