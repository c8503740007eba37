"""The territory report for a board (issue 14, part 6): its figures are coverage's own, it
names places, shows only awarded SPOs, escapes every name, carries the attribution, and
`dualimpact report` prints it to a PDF through headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pypdfium2 as pdfium
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from boundaries.store import LoadReport
from cli.main import app as cli_app
from geo import attribution
from geo.crs import to_bng
from geo.settings import get_settings
from maps import board_report, report
from tests.api.conftest import accounts, app, client, world  # noqa: F401
from tests.api.helpers import TVP, Accounts, World, close_bidding, commitment, tender_body

HOSTILE = "</script><b>x</b>${alert(1)}"
SEALED_VALUE = 7_777  # a submitted (sealed) bid's value: never on the report


@pytest.fixture
def awarded(engine: Engine, accounts: Accounts, world: World, client: TestClient) -> str:  # noqa: F811
    """A hostile supplier's awarded SPO backing a hostile-named activity, and another
    supplier's bid, submitted but not awarded, on a second tender. Returns the
    hostile activity's name."""
    name = f"Youth club {HOSTILE}"
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE activity SET name = :name, name_key = :key WHERE id = :id"),
            {"name": name, "key": name.lower(), "id": world.youth_club},
        )
        conn.execute(
            text("UPDATE organisation SET name = :name WHERE id = :id"),
            {"name": f"Acme {HOSTILE}", "id": accounts.organisations["supplier_a"]},
        )
    lead = accounts.headers("tvp_lead")
    for supplier, activity, value, steps in (
        ("supplier_a", world.youth_club, 3_000, ("submit", "score", "award")),
        ("supplier_b", world.food_bank, SEALED_VALUE, ("submit",)),
    ):
        tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
        body = {"summary": "Cleaning", "commitments": [commitment(activity, value)]}
        who = accounts.headers(supplier)
        spo = client.post(f"/tenders/{tender}/spos", json=body, headers=who).json()["id"]
        for step in steps:
            if step == "score":
                close_bidding(client, tender)
            response = client.post(
                f"/spos/{spo}/{step}", json={}, headers=who if step == "submit" else lead
            )
            assert response.status_code == 200, response.text
    return name


def _figure(html: str, key: str) -> str:
    found = re.search(rf'id="{key}">([^<]+)<', html)
    assert found, key
    return found.group(1)


def test_the_report_shows_coverages_figures_places_and_awarded_spos_only(
    engine: Engine, awarded: str
) -> None:
    with engine.connect() as conn:
        found = report.build(conn)
        board = board_report.build(conn, found, TVP)
    html = board_report.page(board).html
    (row,) = found.summary[found.summary["territory_code"] == TVP].to_dict("records")

    # The headline figures are coverage's own numbers.
    assert _figure(html, "population") == f"{row['population']:,.0f}"
    assert _figure(html, "gap-index") == f"{row['gap_index']:.2f}"
    assert _figure(html, "gap-people") == f"{row['gap_people']:,.0f}"
    assert _figure(html, "mean-reach") == f"{row['mean_reach']:.2f}"
    assert _figure(html, "activities") == f"{row['activities']:,.0f}"
    assert _figure(html, "committed") == "£3,000" == f"£{row['committed_gbp']:,.0f}"
    assert _figure(html, "capacities-assumed") == f"{row['capacities_assumed']:,.0f}"
    assert _figure(html, "activities-listed") == f"{board.trust['activities']:,.0f}"
    assert _figure(html, "verified") == f"{board.trust['verified']:,.0f}"

    # Underserved areas by place name, worst first, numbered on the map as in the table.
    worst = report.area_table(found, TVP).head(board_report.UNDERSERVED_ROWS)
    for name in worst["name"]:
        assert f"<td>{name} <span" in html
    numbered = sorted(int(n) for m in board.gap_map.markers for n in m.text.split(", "))
    assert numbered == list(range(1, len(worst) + 1))

    # The awarded SPO, escaped; the sealed bid nowhere.
    assert "&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;${alert(1)}" in html
    assert HOSTILE not in html and "<b>x</b>" not in html
    assert "Beta Construction" not in html
    assert f"£{SEALED_VALUE:,}" not in html
    assert len(board.register) == board.register_size == 1

    # Every attribution the data needs, and an A4 print stylesheet.
    for line in (attribution.GEOGRAPHY, attribution.ACTIVITIES, attribution.SUPPLIERS):
        assert line.replace("&", "&amp;") in html
    assert "size: A4" in html and "@media print" in html


def test_the_gap_map_draws_english_areas_as_polygons(engine: Engine, geography: LoadReport) -> None:
    with engine.connect() as conn:
        found = report.build(conn)
        board = board_report.build(conn, found, TVP)
    areas = report.territory_areas(found, TVP)
    assert board.gap_map.polygons == len(areas) and board.gap_map.on_hexagons == 0
    assert {m.text for m in board.gap_map.places} >= {"Oxford", "Reading"}


def _areas(codes: list[str], lon: list[float], lat: list[float], gap: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"code": codes, "name": [f"Testville 00{i}A" for i in range(len(codes))], "lon": lon,
         "lat": lat, "gap": gap, "population": 1_500.0, "need": gap, "reach": 0.0,
         "gap_people": [g * 1_500 for g in gap]}
    )  # fmt: skip
    frame["x"], frame["y"] = to_bng(frame["lon"], frame["lat"])
    return frame


def test_areas_with_no_polygon_are_drawn_on_hexagons_and_shaded_by_gap_class() -> None:
    areas = _areas(["E1", "S1"], [-1.25, -1.10], [51.75, 51.80], [0.05, 0.9])
    square = shapely.box(-1.26, 51.74, -1.24, 51.76)
    shapes = gpd.GeoDataFrame({"area_code": ["E1"]}, geometry=[square], crs="EPSG:4326")
    outline = shapely.box(-1.4, 51.6, -1.0, 51.9)
    drawn = board_report.gap_map(areas, shapes, outline, areas.head(1))
    assert (drawn.polygons, drawn.on_hexagons) == (1, 1)
    lightest, *_, darkest = drawn.classes
    assert lightest.path.startswith("M") and darkest.path.startswith("M")  # E1, then S1's cell
    assert all(c.path == "" for c in drawn.classes[1:-1])
    assert drawn.width == board_report.MAP_WIDTH and drawn.height > 0
    assert [m.text for m in drawn.markers] == ["1"] and drawn.places[0].text == "Testville"


# --- the command line -----------------------------------------------------------------

runner = CliRunner()


@pytest.mark.usefixtures("cli_env")
def test_report_prints_a_pdf_for_a_lower_case_code(tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = runner.invoke(cli_app, ["report", "--territory", "e23000029", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"%PDF-"
    pdf = pdfium.PdfDocument(out)
    assert len(pdf) >= 1
    first = pdf[0].get_textpage().get_text_range()
    assert "Thames Valley" in first and "At a glance" in first


@pytest.mark.usefixtures("cli_env")
def test_report_of_an_unknown_territory_says_how_to_find_codes(tmp_path: Path) -> None:
    result = runner.invoke(
        cli_app, ["report", "--territory", "E23999999", "-o", str(tmp_path / "r.pdf")]
    )
    assert result.exit_code == 2
    assert "unknown territory 'E23999999'" in result.stderr
    assert "dualimpact territories" in result.stderr


@pytest.mark.usefixtures("cli_env")
def test_report_without_chromium_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUALIMPACT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    get_settings.cache_clear()
    result = runner.invoke(cli_app, ["report", "--territory", TVP, "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2
    assert "apt-get install chromium" in result.stderr and "DUALIMPACT_CHROMIUM" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.usefixtures("cli_env")
def test_report_refuses_a_format_it_cannot_write(tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["report", "--territory", TVP, "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 2 and ".pdf or .html" in result.stderr
