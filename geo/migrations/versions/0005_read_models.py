"""Read models: views for what several packages read, so the current-generation join and
the placed-record column lists are written once.

* ``current_territory``: territories of the current territory generation (with its vintage);
* ``current_need_area``: need areas of the current need-area generation, with the code of the
  territory each was assigned to;
* ``activity_placed``: every activity with its provider, territory, need area (and its
  deprivation deciles) and lon/lat;
* ``supplier_site_placed``: every supplier site with its supplier, territory, need area and
  lon/lat.

Activities and sites keep the territory row they were placed in (``territory_id``), so the
placed views join by id, not by generation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = {
    "current_territory": """
        SELECT t.id, t.boundary_set_id, b.vintage, t.code, t.name, t.nation, t.force_name,
               t.area_km2, t.geom
        FROM territory t JOIN boundary_set b ON b.id = t.boundary_set_id AND b.is_current
    """,
    "current_need_area": """
        SELECT n.id, n.boundary_set_id, n.code, n.name, n.nation, n.population,
               n.uk_imd_score, n.uk_imd_rank, n.uk_imd_decile, n.national_imd_score,
               n.national_imd_decile, n.point_method, n.territory_id,
               t.code AS territory_code, n.territory_method, n.geom
        FROM need_area n
        JOIN boundary_set b ON b.id = n.boundary_set_id AND b.is_current
        JOIN territory t ON t.id = n.territory_id
    """,
    "activity_placed": """
        SELECT a.id, a.source_key, a.source, a.name, a.name_key, a.description, a.themes,
               a.themes_source, a.provider_id, o.natural_key AS provider_key,
               o.name AS provider_name, a.address, a.postcode, a.location_precision,
               a.territory_id, t.code AS territory_code, t.name AS territory_name,
               a.need_area_id, n.code AS need_area_code, n.uk_imd_decile,
               n.national_imd_decile, a.service_radius_m, a.service_area,
               a.people_reached_per_year, a.annual_running_cost, a.funding_gap, a.status,
               a.closing_date, a.evidence_links, a.safeguarding, a.grant_count,
               a.grant_total_gbp, a.last_award_year, a.funders,
               ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat, a.geom, a.created_at, a.updated_at
        FROM activity a
        JOIN territory t ON t.id = a.territory_id
        LEFT JOIN organisation o ON o.id = a.provider_id
        LEFT JOIN need_area n ON n.id = a.need_area_id
    """,
    "supplier_site_placed": """
        SELECT s.id, s.source_key, s.source, s.supplier_id, o.natural_key AS supplier_key,
               o.name AS supplier_name, s.name, s.address, s.employees, s.postcode,
               s.location_precision, s.territory_id, t.code AS territory_code,
               t.name AS territory_name, s.need_area_id, n.code AS need_area_code,
               n.uk_imd_decile, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, s.geom,
               s.created_at, s.updated_at
        FROM supplier_site s
        JOIN organisation o ON o.id = s.supplier_id
        JOIN territory t ON t.id = s.territory_id
        LEFT JOIN need_area n ON n.id = s.need_area_id
    """,
}


def upgrade() -> None:
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
