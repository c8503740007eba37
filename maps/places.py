"""Finding the territory a person means: from a postcode, a territory's name, a local
authority's or a need area's ("Oxford", "Oxford 008A"), for the community page's search."""

from __future__ import annotations

from sqlalchemy import Connection

from boundaries.gazetteer import place_postcode
from geo import postcodes
from geo.errors import NotFoundError
from maps.render import authority_names
from maps.report import CoverageReport


def territory_for(conn: Connection, found: CoverageReport, query: str) -> str:
    """The code of the territory a postcode or place name is in.

    Parameters
    ----------
    conn : Connection
        An open connection (postcodes are looked up in the gazetteer).
    found : CoverageReport
        National coverage: its territories and need areas give the place names.
    query : str
        A postcode ("OX4 1AA"), or a territory's, local authority's or need area's name,
        in any case.

    Returns
    -------
    str
        A territory code such as ``E23000029``.

    Raises
    ------
    NotFoundError
        When no territory, authority or need area has that name and it is no postcode
        found.
    """
    wanted = " ".join(query.split()).casefold()
    compact = wanted.replace(" ", "").upper()
    if wanted and not postcodes.reason(compact):
        return place_postcode(conn, compact).territory_code
    territories = found.summary[["territory_code", "name"]]
    exact = territories[territories["name"].str.casefold() == wanted]
    if len(exact):
        return str(exact["territory_code"].iloc[0])
    areas = found.areas[["name", "territory_code"]]
    by_area = areas[areas["name"].str.casefold() == wanted]
    if len(by_area):
        return str(by_area["territory_code"].iloc[0])
    by_authority = areas[authority_names(areas["name"]).str.casefold() == wanted]
    if len(by_authority):  # an authority across a border: the territory with most of it
        return str(by_authority["territory_code"].mode().iloc[0])
    partly = territories[territories["name"].str.casefold().str.contains(wanted, regex=False)]
    if wanted and len(partly):
        return str(partly["territory_code"].iloc[0])
    raise NotFoundError(
        f"no postcode, territory, local authority or need area called {query.strip()!r}:"
        " try a full postcode such as OX4 1AA, or a town's name such as Oxford"
    )
