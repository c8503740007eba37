"""What coverage and the maps read from PostGIS: need areas, activities (with whether an
awarded SPO backs them), supplier sites. Public data only: nothing here can see a bid
before award."""

from __future__ import annotations

import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geo.crs import to_bng
from maps.coverage import DEFAULT_CAPACITY
from matching.profiles import default_radius
from matching.queries import default_radii
from procurement.states import PUBLIC

_PUBLIC = ", ".join(f"'{s}'" for s in PUBLIC)


def need_areas(conn: Connection) -> pd.DataFrame:
    """Every current need area: code, name, territory, point (lon/lat and BNG metres),
    population and UK decile."""
    frame = pd.read_sql(
        text(
            """
            SELECT n.code, n.name, n.territory_code, n.population::float8 AS population,
                   n.uk_imd_decile, ST_X(n.geom) AS lon, ST_Y(n.geom) AS lat
            FROM current_need_area n
            ORDER BY n.code
            """
        ),
        conn,
    )
    frame["population"] = frame["population"].fillna(0.0)
    frame["x"], frame["y"] = to_bng(frame["lon"], frame["lat"])
    return frame


def activities(conn: Connection, *, include_all: bool = False) -> pd.DataFrame:
    """Open activities with their capacity (people a year), catchment radius (metres),
    cost per place (£ a year), trust (eligibility, verification, where they are located)
    and whether an awarded SPO backs them: the trusted ones (eligible, not lapsed), or
    every open one with ``include_all``. Unknown capacity takes the documented default, an
    unknown radius the territory profile's default (``capacity_assumed`` marks the
    former; ``service_area``: the drawn area served, EPSG:4326, or None)."""
    frame = pd.read_sql(
        text(
            f"""
            SELECT a.id AS activity_id, a.name, a.themes, a.status, a.closing_date,
                   a.funding_gap::float8 AS funding_gap,
                   a.annual_running_cost::float8 AS annual_running_cost,
                   a.people_reached_per_year::float8 AS people_reached_per_year,
                   a.service_radius_m, ST_AsBinary(a.service_area) AS service_area_wkb,
                   a.safeguarding, a.territory_code, a.provider_name,
                   a.postcode, a.lon, a.lat, a.eligibility, a.eligibility_categories,
                   a.eligibility_reason, a.verification, a.evidence_level, a.located_at,
                   a.delivery_site_count, a.fresh_on, a.trusted,
                   EXISTS (SELECT 1 FROM spo_commitment c JOIN spo s ON s.id = c.spo_id
                           WHERE c.activity_id = a.id AND s.status IN ({_PUBLIC})) AS backed,
                   coalesce((SELECT sum(c.value_gbp) FROM spo_commitment c
                             JOIN spo s ON s.id = c.spo_id
                             WHERE c.activity_id = a.id AND s.status IN ({_PUBLIC})), 0)::float8
                       AS committed_gbp
            FROM activity_placed a
            WHERE a.status <> 'closed' AND (a.trusted OR :include_all)
            ORDER BY a.id
            """
        ),
        conn,
        params={"include_all": include_all},
    )
    numbers = ["funding_gap", "annual_running_cost", "people_reached_per_year", "service_radius_m"]
    frame[numbers] = frame[numbers].apply(pd.to_numeric).astype(float)  # all-NULL: not object
    known = frame["people_reached_per_year"].gt(0)
    frame["capacity_assumed"] = ~known
    frame["capacity"] = frame["people_reached_per_year"].where(known, DEFAULT_CAPACITY)
    frame["backed"] = frame["backed"].astype(bool)
    frame["radius_m"] = frame["service_radius_m"].fillna(
        default_radius(frame["territory_code"], default_radii(conn))
    )
    frame["cost_per_place"] = (frame["annual_running_cost"] / frame["capacity"]).where(
        known & frame["annual_running_cost"].gt(0)
    )
    frame["x"], frame["y"] = to_bng(frame["lon"], frame["lat"])
    areas = frame.pop("service_area_wkb")
    frame["service_area"] = shapely.from_wkb([None if a is None else bytes(a) for a in areas])
    return frame


def supplier_sites(conn: Connection, territory: str | None = None) -> pd.DataFrame:
    """Supplier sites with their supplier, employees and point."""
    return pd.read_sql(
        text(
            """
            SELECT s.id AS site_id, s.name AS site, s.supplier_name AS supplier, s.postcode,
                   s.employees, s.territory_code, s.lon, s.lat
            FROM supplier_site_placed s
            WHERE CAST(:territory AS text) IS NULL OR s.territory_code = :territory
            ORDER BY s.id
            """
        ),
        conn,
        params={"territory": territory},
    )
