"""The `dualimpact` command line, run against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_env")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


COMMANDS = [
    [],
    ["db"],
    ["db", "start"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["load"],
    ["load", "geography"],
    ["locate"],
    ["territories"],
    ["about"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "dualimpact")
def test_every_command_explains_itself(command: list[str]) -> None:
    code, out, _ = _run(*command, "--help")
    assert code == 0
    assert "Usage" in out
    assert len(out.split("Usage", 1)[1].strip()) > 40


def test_locate_one_point_prints_territory_and_need_area() -> None:
    code, out, _ = _run("locate", "--lat", "51.752", "--lon", "-1.258")
    assert code == 0
    assert "Thames Valley (E23000029)" in out
    assert "Need area" in out


def test_locate_one_point_as_json() -> None:
    code, out, _ = _run("locate", "--lat", "54.5964", "--lon", "-5.9301", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["territory_code"] == "N23000001"
    assert data["need_area_code"].startswith("95")


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ("50.3", "-4.5", "not in any of the 45 UK territories"),
        ("48.85", "2.35", "outside the UK"),
        ("95", "0", "out of range"),
    ],
)
def test_locate_a_point_that_cannot_be_placed_fails_clearly(
    lat: str, lon: str, message: str
) -> None:
    code, out, err = _run("locate", "--lat", lat, "--lon", lon)
    assert code == 2
    assert message in err
    assert out == ""


def test_locate_csv_keeps_every_row_in_order(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text(
        "name,lat,lon\n"
        "Oxford,51.752,-1.258\n"
        "bad,north,-1\n"
        "Cardiff,51.4816,-3.1791\n"
        "sea,50.3,-4.5\n"
        "Paris,48.85,2.35\n"
        "empty,,\n"
        "Belfast,54.5964,-5.9301\n"
    )
    out_path = tmp_path / "placed.csv"
    code, _, err = _run("locate", str(source), "-o", str(out_path))
    assert code == 0
    assert "7 rows: 3 placed" in err
    placed = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert placed["name"].tolist() == [
        "Oxford",
        "bad",
        "Cardiff",
        "sea",
        "Paris",
        "empty",
        "Belfast",
    ]
    assert placed["territory_code"].tolist() == [
        "E23000029",
        "",
        "W15000003",
        "",
        "",
        "",
        "N23000001",
    ]
    assert placed.loc[1, "error"] == "lat 'north' is not a number"
    assert "at sea" in placed.loc[3, "error"]
    assert "outside the UK" in placed.loc[4, "error"]
    assert placed.loc[5, "error"] == "lat is missing"
    assert {"territory_name", "need_area_code"} <= set(placed.columns)


def test_locate_csv_as_json_to_stdout(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("latitude,longitude\n55.9497,-3.1909\n")
    code, out, _ = _run(
        "locate", str(source), "--lat-column", "latitude", "--lon-column", "longitude", "--json"
    )
    assert code == 0
    assert json.loads(out)[0]["territory_name"] == "Scotland"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"x,y\n1,2\n", "missing column(s) lat, lon"),
        ("lat,lon\n51.7,-1.2\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_locate_rejects_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "points.csv"
    source.write_bytes(content)
    code, _, err = _run("locate", str(source))
    assert code == 2
    assert message in err


def test_territories_table_and_json() -> None:
    code, out, _ = _run("territories")
    assert code == 0
    assert "E23000029" in out and "Open Government Licence" in out
    code, out, _ = _run("territories", "--json")
    rows = json.loads(out)
    assert len(rows) == 45
    assert set(rows[0]) == {
        "code",
        "name",
        "nation",
        "area_km2",
        "population",
        "need_areas",
        "deprived_share",
        "national_deprived_share",
        "activities",
        "supplier_sites",
    }


def test_load_geography_twice_reports_nothing_changed() -> None:
    code, out, _ = _run("load", "geography")
    assert code == 0
    assert "nothing changed" in out
    assert "45 territories" in out


def test_load_geography_with_a_broken_file_names_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "territories.geojson"
    broken.write_text("{")
    code, _, err = _run("load", "geography", "--territories", str(broken))
    assert code == 2
    assert "cannot be read as GeoJSON" in err and "Nothing was changed" in err


def test_about_gives_the_licence_attribution() -> None:
    code, out, _ = _run("about")
    assert code == 0
    assert "Open Government Licence" in out and "mySociety" in out


def test_locate_never_overwrites_input_columns(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("name,lat,lon,territory_code,error\nOxford,51.752,-1.258,mine,keep me\n")
    out_path = tmp_path / "placed.csv"
    code, _, err = _run("locate", str(source), "-o", str(out_path))
    assert code == 0, err
    assert "territory_code_located" in err
    placed = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert placed.columns.tolist()[:5] == ["name", "lat", "lon", "territory_code", "error"]
    assert (placed.loc[0, "territory_code"], placed.loc[0, "error"]) == ("mine", "keep me")
    assert placed.loc[0, "territory_code_located"] == "E23000029"
    assert placed.loc[0, "error_located"] == ""

    code, _, err = _run("locate", str(source), "-o", str(out_path), "--suffix", "_pfa")
    assert code == 0, err
    assert "territory_code_pfa" in pd.read_csv(out_path).columns

    source.write_text("lat,lon,error,error_located\n51.752,-1.258,x,y\n")
    code, _, err = _run("locate", str(source))
    assert code == 2
    assert "error_located" in err and "--suffix" in err
