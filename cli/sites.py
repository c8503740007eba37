"""Where an activity is delivered: `dualimpact activities sites-add / sites-list /
sites-remove`. The command line is the operator's tool: it acts as the operator (as
`activities update` does), and each change goes into the activity's history without a
person's name."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, open_engine, print_json
from geo.errors import InvalidInputError
from registry import delivery_sites
from registry.delivery_sites import Site


def sites_add(
    activity_id: int = typer.Argument(..., help="Activity id."),
    postcode: str | None = typer.Option(None, help="Where the site is (or --lat and --lon)."),
    lat: float | None = typer.Option(None, help="Latitude, degrees (EPSG:4326)."),
    lon: float | None = typer.Option(None, help="Longitude, degrees (EPSG:4326)."),
    label: str | None = typer.Option(None, help="What people call the site."),
    address: str | None = typer.Option(None, help="Its street address."),
    service_area: Path | None = typer.Option(
        None, help="GeoJSON file of the area it serves (a Polygon or MultiPolygon, or a Feature)."
    ),
) -> None:
    """Add a place where an activity is delivered (apart from its registered office)."""
    area = None if service_area is None else _geojson(service_area)
    with open_engine() as engine, engine.begin() as conn:
        site = delivery_sites.add(
            conn,
            activity_id,
            delivery_sites.prepare(
                conn,
                postcode=postcode,
                lon=lon,
                lat=lat,
                label=label,
                address=address,
                service_area=area,
            ),
        )
    console.print(
        f"Activity {activity_id}: delivery site {site['id']} added at "
        f"{_where(site)} ({site['territory_name']})."
    )


def sites_list(
    activity_id: int = typer.Argument(..., help="Activity id."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout instead of a table."),
) -> None:
    """List where an activity is delivered, the site it is placed at first (safeguarded
    activities show only a postcode district)."""
    with open_engine() as engine, engine.connect() as conn:
        found = delivery_sites.sites(conn, activity_id)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(f"Activity {activity_id} has no delivery sites: it is read at its own point.")
        return
    table = Table("id", "label", "where", "precision", "territory", "area served")
    for site in found:
        table.add_row(
            str(site["id"]),
            site["label"] or "",
            _where(site),
            site["location_precision"],
            f"{site['territory_name']} ({site['territory_code']})",
            "yes" if site["service_area"] else "",
        )
    console.print(table)


def sites_remove(
    activity_id: int = typer.Argument(..., help="Activity id."),
    site_id: int = typer.Argument(..., help="Delivery site id (see sites-list)."),
) -> None:
    """Remove one of an activity's delivery sites."""
    with open_engine() as engine, engine.begin() as conn:
        site = delivery_sites.remove(conn, activity_id, site_id)
    console.print(f"Activity {activity_id}: delivery site {site['id']} ({_where(site)}) removed.")


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the `dualimpact activities` group."""
    group.command("sites-add")(sites_add)
    group.command("sites-list")(sites_list)
    group.command("sites-remove")(sites_remove)


def _where(site: Site) -> str:
    if site["postcode"]:
        return str(site["postcode"])
    if site["lat"] is None or site["lon"] is None:
        return "(withheld)"
    return f"{site['lat']:.5f}, {site['lon']:.5f}"


def _geojson(path: Path) -> dict[str, object]:
    """The GeoJSON object in ``path``, or a clear error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read the area served from {path}: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInputError(f"{path} does not hold a GeoJSON object")
    return document
