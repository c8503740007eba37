"""Placeholder: filled in by the verification work of issue 12."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the `dualimpact activities` group."""
