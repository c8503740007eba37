"""The analysts' notebooks run top to bottom (papermill) against a database holding the
real shared data, and are stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from sqlalchemy import Engine

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    notebook: Path,
    demo_data: Engine,
    database_url: str,
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
    errors = [
        o for c in executed.cells if c.cell_type == "code" for o in c.outputs
        if o.output_type == "error"
    ]  # fmt: skip
    assert errors == []
    text_out = "".join(
        str(o.get("text", "")) for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "Open Government Licence" in text_out  # every notebook ends with the attribution
