"""Re-place activities, their delivery sites and supplier sites when a new boundary
generation is loaded.

Records keep their point; their territory and need area are worked out again against the
current boundaries (the same locator the geocoder uses for coordinates), inside the
boundary load's own transaction (:func:`boundaries.store.load_geography`'s ``replace``).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from boundaries import repository
from geo.bulk import copy_rows
from geo.errors import DataFileError

TABLES = ("activity", "delivery_site", "supplier_site")


def replace(conn: Connection) -> int:
    """Re-place every activity, delivery site and supplier site; returns how many changed
    territory or need area. A record no longer in any territory stops the load with its
    table and id."""
    locator = repository.locator(conn)
    by_code = repository.current_ids(conn)
    moved = 0
    for table in TABLES:
        points = pd.read_sql(
            text(f"SELECT id, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM {table} ORDER BY id"), conn
        )
        if points.empty:
            continue
        placed = locator.locate(points["lat"].to_numpy(), points["lon"].to_numpy())
        lost = points.loc[(placed["error"] != "").to_numpy(), "id"].tolist()
        if lost:
            raise DataFileError(
                table,
                f"{len(lost)} record(s) lie in no territory of the new boundaries "
                f"(ids {', '.join(map(str, lost[:10]))}); nothing was loaded",
            )
        conn.execute(
            text(
                f"CREATE TEMP TABLE {table}_place (id int, territory_id int,"
                " need_area_id int) ON COMMIT DROP"
            )
        )
        copy_rows(
            conn,
            f"{table}_place",
            zip(
                points["id"],
                placed["territory_code"].map(by_code["territory"]),
                placed["need_area_code"]
                .map(by_code["need_area"])
                .astype(object)
                .where(placed["need_area_code"].notna(), None),
                strict=True,
            ),
        )
        moved += conn.execute(
            text(
                f"""
                UPDATE {table} r SET territory_id = p.territory_id, need_area_id = p.need_area_id
                FROM {table}_place p WHERE r.id = p.id
                  AND (r.territory_id, r.need_area_id) IS DISTINCT FROM
                      (p.territory_id, p.need_area_id)
                """
            )
        ).rowcount
    return moved
