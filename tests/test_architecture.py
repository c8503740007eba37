"""The layers hold: import-linter's contracts (pyproject.toml) pass on the tree, and fail
as soon as the base imports a domain package; no module takes another package's private
names."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "geo",
    "boundaries",
    "registry",
    "accounts",
    "matching",
    "procurement",
    "maps",
    "api",
    "cli",
    "benchmarks",
)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_layer_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("upward", ["registry.themes", "procurement.states", "maps.coverage"])
def test_the_base_importing_a_domain_package_breaks_the_contract(
    tmp_path: Path, upward: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_not_python)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "geo" / "probe.py").write_text(f"import {upward}\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "geo.probe -> " + upward in result.stdout


def _not_python(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()}


def test_no_module_takes_another_packages_private_names() -> None:
    reach_ins = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            where = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(), str(path))
            # Names bound to modules (or objects) of other packages, e.g. `from maps import render`.
            foreign: dict[str, str] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    if node.module.split(".")[0] == package:
                        continue
                    private = [a.name for a in node.names if _private(a.name)]
                    if private:
                        reach_ins.append(f"{where}: from {node.module} import {private}")
                    foreign.update({a.asname or a.name: node.module for a in node.names})
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.split(".")[0] != package:
                            foreign[alias.asname or alias.name.split(".")[0]] = alias.name
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in foreign
                    and foreign[node.value.id].split(".")[0] in PACKAGES
                    and _private(node.attr)
                ):
                    reach_ins.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    assert reach_ins == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")
