"""The ``dualimpact`` command: one entry point over the platform's domains."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from typer.core import TyperGroup

from cli import boundaries, db, maps, matching, procurement, registry
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
    err_console.print(f"[bold red]Error:[/bold red] {message}", highlight=False)
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

app.add_typer(db.app, name="db")
app.add_typer(load_app, name="load")
app.add_typer(registry.import_app, name="import")
app.add_typer(registry.export_app, name="export")
app.add_typer(registry.activities_app, name="activities")
load_app.command("geography")(boundaries.load_geography_command)
load_app.command("postcodes")(registry.load_postcodes_command)
load_app.command("activities")(registry.load_activities_command)
load_app.command("suppliers")(registry.load_suppliers_command)
app.command()(boundaries.locate)
app.command("geocode")(registry.geocode_command)
app.command("territories")(boundaries.territories_command)
app.command("recommend")(matching.recommend)
app.command("impact")(matching.impact)
app.command("allocate")(matching.allocate_command)
app.add_typer(matching.weights_app, name="weights")
app.add_typer(procurement.users_app, name="users")
app.add_typer(procurement.audit_app, name="audit")
app.command("serve")(procurement.serve)
app.command("coverage")(maps.coverage_command)
app.command("map")(maps.map_command)
app.command("assets")(maps.assets_command)


@app.command()
def about() -> None:
    """Where the data comes from and the attribution its licences require."""
    console.print("[bold]Data sources and attribution[/bold]\n")
    for text in (attribution.GEOGRAPHY, attribution.ACTIVITIES, attribution.SUPPLIERS):
        console.print(text + "\n")


def main() -> None:
    app()
