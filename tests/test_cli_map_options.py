"""`dualimpact map` honours DUALIMPACT_MAP_TILES and takes a territory code in any case."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from boundaries.gazetteer import PostcodeLoadReport
from cli.main import app
from geo.settings import get_settings

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_env")
OSM_TILES = "tile.openstreetmap.org"


def _map(monkeypatch: pytest.MonkeyPatch, tiles: str, out: Path, *options: str) -> str:
    """The map file written with DUALIMPACT_MAP_TILES set to ``tiles``."""
    monkeypatch.setenv("DUALIMPACT_MAP_TILES", tiles)
    get_settings.cache_clear()
    result = runner.invoke(app, ["map", "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_map_draws_the_configured_base_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postcodes: PostcodeLoadReport
) -> None:
    assert OSM_TILES in _map(monkeypatch, "OpenStreetMap", tmp_path / "osm.html")
    assert OSM_TILES not in _map(monkeypatch, "none", tmp_path / "bare.html")


def test_map_takes_a_lower_case_territory_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postcodes: PostcodeLoadReport
) -> None:
    page = _map(monkeypatch, "none", tmp_path / "tvp.html", "--territory", "e23000029")
    assert "Gap index by need area (small areas)" in page
    assert "<title>Map: Thames Valley" in page
    assert OSM_TILES not in page
