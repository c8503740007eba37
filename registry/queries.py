"""Read and change registry records: the SQL of the registry domain lives here."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import InvalidInputError, NotFoundError
from registry.themes import VOCABULARY, classify

_ACTIVITIES = """
    SELECT a.id, a.source_key, a.name, a.description, a.themes, a.themes_source,
           o.natural_key AS provider_key,
           o.name AS provider_name, a.postcode, a.address, ST_Y(a.geom) AS lat,
           ST_X(a.geom) AS lon, a.location_precision, t.code AS territory_code,
           t.name AS territory_name, n.code AS need_area_code, n.uk_imd_decile,
           a.status, a.closing_date, a.funding_gap, a.annual_running_cost,
           a.people_reached_per_year, a.service_radius_m / 1000.0 AS service_radius_km,
           a.evidence_links, a.safeguarding, a.grant_count, a.grant_total_gbp,
           a.last_award_year, a.funders, a.source, a.geom
    FROM activity a
    JOIN territory t ON t.id = a.territory_id
    LEFT JOIN organisation o ON o.id = a.provider_id
    LEFT JOIN need_area n ON n.id = a.need_area_id
"""


def activities(conn: Connection, territory: str | None = None) -> gpd.GeoDataFrame:
    """Activities (all, or one territory's) as points in EPSG:4326, ordered by id."""
    where, params = "", {}
    if territory:
        where, params = "WHERE t.code = :territory", {"territory": territory}
    return gpd.read_postgis(
        text(f"{_ACTIVITIES} {where} ORDER BY a.id"), conn, geom_col="geom", params=params
    )


def counts_by_territory(conn: Connection) -> pd.DataFrame:
    """Activities and supplier sites per territory code."""
    return pd.read_sql(
        text(
            """
            SELECT t.code,
                   (SELECT count(*) FROM activity a WHERE a.territory_id = t.id) AS activities,
                   (SELECT count(*) FROM supplier_site s WHERE s.territory_id = t.id)
                       AS supplier_sites
            FROM territory t JOIN boundary_set b ON b.id = t.boundary_set_id AND b.is_current
            """
        ),
        conn,
    )


def set_themes(conn: Connection, activity_id: int, themes: list[str] | None) -> list[str]:
    """Override an activity's themes, or (``None``) hand them back to the classifier.

    Returns the themes now stored.
    """
    row = conn.execute(
        text("SELECT name, description FROM activity WHERE id = :id FOR UPDATE"),
        {"id": activity_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no activity with id {activity_id}")
    if themes is None:
        chosen, source = (
            classify(pd.Series([f"{row.name} {row.description or ''}"]))[0],
            "classifier",
        )
    else:
        unknown = [t for t in themes if t not in VOCABULARY]
        if unknown:
            raise InvalidInputError(
                f"unknown theme(s) {', '.join(unknown)}; use: {', '.join(VOCABULARY)}"
            )
        chosen, source = sorted(set(themes), key=VOCABULARY.index), "override"
    conn.execute(
        text(
            "UPDATE activity SET themes = :themes, themes_source = :source, updated_at = now()"
            " WHERE id = :id"
        ),
        {"themes": chosen, "source": source, "id": activity_id},
    )
    return list(chosen)
