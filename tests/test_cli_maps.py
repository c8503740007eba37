"""`dualimpact coverage` and `dualimpact map`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from boundaries.gazetteer import PostcodeLoadReport
from cli.main import app
from cli.maps import trust_command
from registry.records import register_activity
from tests.api.helpers import set_eligible, set_ineligible

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
    assert "Gap index by need area (small areas)" in page


def test_map_of_an_unknown_territory_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", "--territory", "E23999999", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown territory 'E23999999'" in result.stderr


def test_coverage_and_trust_count_trusted_activities_unless_asked(registry: Engine) -> None:
    with registry.begin() as conn:
        club, shop = (
            register_activity(conn, {"name": name, "postcode": postcode}, source="test")
            for name, postcode in (
                ("Cowley youth football", "OX4 1AA"),
                ("Cowley charity shop", "OX4 3QJ"),
            )
        )
        set_eligible(conn, club.activity_id, "youth_diversion")
        set_ineligible(conn, shop.activity_id, "a test: a shop, no dual-impact programme")

    def tvp(*options: str) -> dict[str, float]:
        result = runner.invoke(app, ["coverage", "--json", *options])
        assert result.exit_code == 0, result.output
        return next(r for r in json.loads(result.stdout) if r["territory_code"] == "E23000029")

    assert (tvp()["activities"], tvp()["capacities_assumed"]) == (1, 1)
    assert tvp("--include-unverified")["activities"] == 2
    table = runner.invoke(app, ["coverage"])
    assert "Activities counted (trusted): 1; with no recorded" in table.stdout

    trust = typer.Typer()
    trust.command()(trust_command)
    said = runner.invoke(trust, ["--territory", "E23000029"])
    assert said.exit_code == 0, said.output
    assert "1 of 2 open activities (50%) are eligible dual-impact activities." in said.stdout
    rows = json.loads(runner.invoke(trust, ["--json"]).stdout)
    assert len(rows) == 45
    assert next(r for r in rows if r["territory_code"] == "E23000029")["ineligible"] == 1
