"""The ``dualimpact`` command: one entry point over the platform's domains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.markup import escape
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from typer.core import TyperGroup

from cli import boundaries, db, maps, matching, procurement, registry, report, sites, verification
from cli.common import console, err_console
from geo import attribution
from geo.errors import DualImpactError

USER_ERROR = 2


class _Commands(TyperGroup):
    """Turns the platform's own errors into a message and exit status 2, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DualImpactError as exc:
            _fail(str(exc))
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42P01":  # undefined table
                raise
            _fail("the database has no schema yet: run `dualimpact db upgrade`.")
        except (DataError, IntegrityError) as exc:
            # Last resort: a value the checks above missed, refused by the database itself.
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            _fail(f"the database refused a value ({detail}); nothing was changed.")


def _fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}", highlight=False)
    raise typer.Exit(USER_ERROR)


app = typer.Typer(
    cls=_Commands,
    help=(
        "Dual Impact: UK public-contract social value made geographic, strategic and "
        "measurable. Territories and need areas live in PostGIS; start with "
        "`dualimpact db start`, `dualimpact db upgrade`, `dualimpact load geography`."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
load_app = typer.Typer(help="Load the shared public data into the database.", no_args_is_help=True)

GROUPS = {
    "db": db.app,
    "load": load_app,
    "import": registry.import_app,
    "export": registry.export_app,
    "activities": registry.activities_app,
    "weights": matching.weights_app,
    "users": procurement.users_app,
    "audit": procurement.audit_app,
    "tender": procurement.tender_app,
}
LOADS: dict[str, Callable[..., None]] = {
    "geography": boundaries.load_geography_command,
    "postcodes": registry.load_postcodes_command,
    "activities": registry.load_activities_command,
    "suppliers": registry.load_suppliers_command,
}
COMMANDS: dict[str, Callable[..., None]] = {
    "locate": boundaries.locate,
    "geocode": registry.geocode_command,
    "territories": boundaries.territories_command,
    "recommend": matching.recommend,
    "impact": matching.impact,
    "allocate": matching.allocate_command,
    "serve": procurement.serve,
    "coverage": maps.coverage_command,
    "trust": maps.trust_command,
    "map": maps.map_command,
    "assets": maps.assets_command,
    "report": report.report_command,
}
for module in (verification, sites):
    module.add_commands(registry.activities_app)
for name, group in GROUPS.items():
    app.add_typer(group, name=name)
for name, command in LOADS.items():
    load_app.command(name)(command)
for name, command in COMMANDS.items():
    app.command(name)(command)


@app.command()
def about() -> None:
    """Where the data comes from and the attribution its licences require."""
    console.print("[bold]Data sources and attribution[/bold]\n")
    for text in (attribution.GEOGRAPHY, attribution.ACTIVITIES, attribution.SUPPLIERS):
        console.print(text + "\n")


def main() -> None:
    app()
