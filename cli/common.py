"""Shared pieces of the command line: consoles, the engine, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from geo.db import check_connection, make_engine
from geo.errors import InvalidInputError
from geo.jsonable import jsonable
from geo.settings import Settings, get_settings

# Tables stay readable when piped (rich would otherwise wrap them at 80 columns).
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


@contextmanager
def open_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """The configured database as its owner (the command line is the operator's tool; the
    web app connects as the app role), checked to be reachable, disposed of afterwards."""
    engine = make_engine((settings or get_settings()).owner_url)
    try:
        check_connection(engine)
        yield engine
    finally:
        engine.dispose()


def json_text(data: Any) -> str:
    return json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n"


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes), safe to pipe."""
    print(json_text(data), end="")


@contextmanager
def steps(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr (stdout stays clean for piping) advanced by named steps."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
    with bar:
        task = bar.add_task(title, total=total)
        yield lambda label: bar.update(task, description=label, advance=1)
        bar.update(task, description="Done", completed=total)


def writable(path: Path | None) -> Path | None:
    """Check an output path before any work is done (its folder must exist)."""
    if path is not None and not path.parent.is_dir():
        raise InvalidInputError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path


# The acting user of a command that changes records on someone's behalf (their sign-in
# email): the same permission table as the web app then decides.
AS_USER = typer.Option(..., "--as", help="Sign-in email of the user acting.")
