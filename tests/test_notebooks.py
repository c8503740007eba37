"""The analysts' notebooks run top to bottom (papermill) against a database holding the
real shared data, are stored without outputs, draw their maps with no network, carry a
labelled static chart with the attribution, and their key figures (a JSON record in the
cell tagged ``key-figures``) agree with the same figures worked out here from the database
and the data files."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h3
import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from sqlalchemy import Connection, Engine, text

from geo.settings import Settings
from maps import density, report
from matching import impact, valueset

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# A script or stylesheet fetched from elsewhere (a CDN): the map is blank offline.
FETCHED = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
ATTRIBUTION = "Open Government Licence"
TRUSTED_IN = "FROM activity_placed WHERE trusted AND territory_code = :t"


def test_there_are_four_notebooks_and_none_stores_outputs() -> None:
    assert [n.name for n in NOTEBOOKS] == [
        "01_coverage_gaps.ipynb",
        "02_matching_profiles.ipynb",
        "03_national_density.ipynb",
        "04_secondary_impact.ipynb",
    ]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        tagged = [c for c in code if "key-figures" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one cell tagged key-figures"


def _outputs(book: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs]


def _key_figures(book: nbformat.NotebookNode) -> dict[str, Any]:
    (cell,) = [c for c in book.cells if "key-figures" in c.metadata.get("tags", [])]
    (record,) = [o["data"]["application/json"] for o in cell.outputs if "data" in o]
    return dict(record)


def _scalar(conn: Connection, sql: str, **params: object) -> Any:
    return conn.execute(text(sql), params).scalar_one()


def _coverage_gaps(figures: dict[str, Any], conn: Connection, settings: Settings) -> None:
    code = figures["territory"]
    assert figures["territories"] == _scalar(conn, "SELECT count(*) FROM current_territory") == 45
    in_territory = "FROM current_need_area WHERE territory_code = :t"
    assert figures["need_areas"] == _scalar(conn, f"SELECT count(*) {in_territory}", t=code)
    people = _scalar(conn, f"SELECT coalesce(sum(population), 0) {in_territory}", t=code)
    assert figures["population"] == people > 0
    assert figures["activities"] == _scalar(conn, f"SELECT count(*) {TRUSTED_IN}", t=code) > 0
    found = report.build(conn)  # afresh, outside the notebook's kernel
    areas = report.area_table(found, code)
    assert figures["gap_index"] == pytest.approx(areas["gap_people"].sum() / people)
    assert 0.0 < figures["gap_index"] < 1.0 and figures["mean_reach"] > 0.0
    assert figures["most_underserved"] == areas.iloc[0]["code"]
    assert 0 < figures["what_if_rows"] <= figures["activities"]


def _matching_profiles(figures: dict[str, Any], conn: Connection, settings: Settings) -> None:
    sites: dict[str, int] = dict(
        conn.execute(
            text(
                "SELECT supplier_name, count(*) FROM supplier_site_placed"
                " WHERE territory_code = :t GROUP BY supplier_name"
            ),
            {"t": figures["territory"]},
        ).all()
    )
    assert figures["sites"] == sites[figures["supplier"]] == max(sites.values())
    assert figures["recommendations"] == figures["sites"] * figures["top"]
    trusted = {
        row[0]
        for row in conn.execute(
            text(f"SELECT id {TRUSTED_IN} AND status <> 'closed'"), {"t": figures["territory"]}
        )
    }
    assert figures["recommended_activities"] and set(figures["recommended_activities"]) <= trusted
    assert figures["crs"] == "EPSG:4326"
    assert figures["with_reasons"] == figures["recommendations"]
    assert 0.0 <= figures["mean_shared"] <= figures["top"]


def _national_density(figures: dict[str, Any], conn: Connection, settings: Settings) -> None:
    resolution = figures["resolution"]
    points = conn.execute(
        text(
            "SELECT lat, lon FROM activity_placed"
            " WHERE trusted AND NOT coalesce(safeguarding, false) AND lat IS NOT NULL"
        )
    ).all()
    named = Counter(h3.latlng_to_cell(lat, lon, resolution) for lat, lon in points)  # h3's names
    assert figures["activities"] == len(points) and figures["activity_cells"] == len(named)
    busiest, count = min(named.items(), key=lambda kv: (-kv[1], kv[0]))
    assert (figures["busiest_cell"], figures["busiest_cell_count"]) == (busiest, count)
    sites = conn.execute(text("SELECT lat, lon FROM supplier_site_placed WHERE lat IS NOT NULL"))
    site_cells = {h3.latlng_to_cell(lat, lon, resolution) for lat, lon in sites}
    assert figures["site_cells"] == len(site_cells) and figures["sites"] >= len(site_cells)
    counts = pd.DataFrame(
        {
            "cell": np.array([h3.str_to_int(c) for c in named], dtype=np.uint64).astype(np.int64),
            "count": list(named.values()),
        }
    )
    spots = density.hot_spots(counts)["spot"].value_counts()
    assert (figures["hot"], figures["cold"]) == (spots.get("hot", 0), spots.get("cold", 0))


def _secondary_impact(figures: dict[str, Any], conn: Connection, settings: Settings) -> None:
    awarded = _scalar(
        conn, "SELECT count(*) FROM spo WHERE status IN ('awarded', 'delivering', 'completed')"
    )
    if awarded == 0:
        assert figures["awarded"] == 0 and figures["illustrative"]
    assert figures["illustrative"] == (figures["awarded"] == 0)
    basis = conn.execute(
        text(f"SELECT id, name, themes {TRUSTED_IN} AND id = ANY(:ids)"),
        {"t": figures["territory"], "ids": figures["basis_activities"]},
    ).all()
    assert len(basis) == len(figures["basis_activities"]) == 5  # all trusted, in the territory
    value_set = valueset.open_value_set(settings.require_data_dir())
    bands = [
        band
        for id_, name, themes in basis
        for band in impact.estimate(
            impact.ActivityFacts(
                activity_id=id_, name=name, themes=list(themes), people_reached_per_year=50
            ),
            value_set,
        ).by_agency.values()
    ]
    assert figures["central_gbp"] == pytest.approx(sum(b.central for b in bands))
    assert figures["low_gbp"] <= figures["central_gbp"] <= figures["high_gbp"]
    assert figures["agency_groups"] >= 1
    assert figures["assumptions"] == len(value_set.assumptions)


CHECKS: dict[str, Callable[[dict[str, Any], Connection, Settings], None]] = {
    "01_coverage_gaps": _coverage_gaps,
    "02_matching_profiles": _matching_profiles,
    "03_national_density": _national_density,
    "04_secondary_impact": _secondary_impact,
}
MAPS = {"01_coverage_gaps", "03_national_density"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_key_figures_are_right(
    notebook: Path,
    demo_data: Engine,
    database_url: str,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)  # the kernel inherits it
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    out = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook), str(out), kernel_name="python3", progress_bar=False, cwd=str(tmp_path)
    )
    executed = nbformat.read(out, as_version=4)
    outputs = _outputs(executed)
    assert [o for o in outputs if o["output_type"] == "error"] == []
    assert ATTRIBUTION in "".join(str(o.get("text", "")) for o in outputs)  # the last cell

    pages = [
        html.unescape(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
    ]
    assert [f for page in pages for f in FETCHED.findall(page)] == []  # draws offline
    if notebook.stem in MAPS:
        assert any("L.map(" in page for page in pages)

    charts = [o for o in outputs if "image/png" in o.get("data", {})]
    assert charts, "a static chart, shown inline"
    figures = _key_figures(executed)
    chart = figures.pop("chart")
    assert chart["x"] and chart["y"], "labelled axes"
    assert any(re.search(r"\(.+\)", chart[axis]) for axis in ("x", "y")), "a unit"
    assert ATTRIBUTION in chart["caption"]

    with demo_data.connect() as conn:
        CHECKS[notebook.stem](figures, conn, settings)
