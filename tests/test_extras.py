"""Optional extras: the server and the command line start without them, and a feature that
needs a missing one says which extra to install."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import add_exception_handlers
from geo.errors import MissingExtraError
from geo.extras import require
from maps import density, distributed

ROOT = Path(__file__).resolve().parents[1]

# Top-level modules of the `distributed` and `stats` extras, and what libpysal pulls in.
OPTIONAL = ("dask", "distributed", "dask_geopandas", "esda", "libpysal", "sklearn")

# Imports the server and the CLI, builds the app and its OpenAPI schema, runs `dualimpact
# --help` through the real entry point and `--help` of every command, then prints which
# optional modules were loaded. With "block", the optional modules cannot be imported at all,
# as in an install without the extras.
STARTUP = """
import json, sys

OPTIONAL = {optional!r}
if sys.argv[1] == "block":
    for name in OPTIONAL:
        sys.modules[name] = None

import typer.main
from typer.testing import CliRunner

import api.app
import cli.main

api.app.create_app().openapi()
sys.argv = ["dualimpact", "--help"]
try:
    cli.main.main()
except SystemExit as exc:
    assert exc.code == 0, exc.code

def commands(group, path):
    for name, command in group.commands.items():
        yield [*path, name]
        if hasattr(command, "commands"):  # a group: walk its own commands too
            yield from commands(command, [*path, name])

runner = CliRunner()
helped = 0
for path in commands(typer.main.get_command(cli.main.app), []):
    result = runner.invoke(cli.main.app, [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    helped += 1
loaded = {{name.split(".")[0] for name, module in sys.modules.items() if module is not None}}
print(json.dumps({{"loaded": sorted(loaded & set(OPTIONAL)), "helped": helped}}))
"""


def _block(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``name`` and its submodules unimportable, as if its extra were not installed."""
    for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        monkeypatch.setitem(sys.modules, loaded, None)
    monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("mode", ["installed", "block"])
def test_server_and_cli_start_without_loading_optional_extras(mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STARTUP.format(optional=OPTIONAL), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["helped"] > 20  # every command and sub-command answered --help


def _counts() -> pd.DataFrame:
    return density.density(pd.DataFrame({"lat": [52.0, 52.001, 52.2], "lon": [-1.0] * 3}), 7)


@pytest.mark.parametrize("module", ["esda", "libpysal"])
def test_hot_spots_without_the_stats_extra_name_it(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    _block(monkeypatch, module)
    with pytest.raises(MissingExtraError, match=r"hot-spot statistic .* 'stats' extra") as info:
        density.hot_spots(_counts())
    assert info.value.extra == "stats"
    assert info.value.missing.split(".")[0] == module
    assert "pip install -e '.[stats]'" in str(info.value)


# Each cluster job, the module it needs first, and a call (it fails before using the client).
CLUSTER_JOBS: dict[str, tuple[str, Callable[[], object]]] = {
    "area_coverage": (
        "dask_geopandas",
        lambda: distributed.area_coverage(None, pd.DataFrame(), pd.DataFrame()),
    ),
    "h3_counts": ("dask_geopandas", lambda: distributed.h3_counts(None, pd.DataFrame(), 7)),
    "geocode": ("dask", lambda: distributed.geocode(None, pd.Series([], dtype=object), None)),
}


@pytest.mark.parametrize("job", sorted(CLUSTER_JOBS))
def test_cluster_jobs_without_the_distributed_extra_name_it(
    monkeypatch: pytest.MonkeyPatch, job: str
) -> None:
    module, run = CLUSTER_JOBS[job]
    _block(monkeypatch, module)
    with pytest.raises(MissingExtraError, match="needs the optional 'distributed' extra") as info:
        run()
    assert info.value.missing.split(".")[0] == module
    assert "pip install -e '.[distributed]'" in str(info.value)


def test_api_answers_501_naming_the_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()
    add_exception_handlers(app)

    @app.get("/spots")
    def spots() -> list[float]:
        return density.hot_spots(_counts())["z"].tolist()

    _block(monkeypatch, "esda")
    response = TestClient(app).get("/spots")
    assert response.status_code == 501
    assert "'stats' extra" in response.json()["detail"]


def test_require_returns_the_module_when_installed() -> None:
    assert require("json", "stats", "a test") is json
