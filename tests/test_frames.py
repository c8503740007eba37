"""The frames that cross packages keep their contracts (pandera schemas beside the code
that returns them), on the real shared data."""

from __future__ import annotations

from sqlalchemy import Engine

from boundaries import repository
from boundaries.frames import NeedAreas, Territories
from maps import queries, report
from maps.frames import AreaCoverage, CoverageActivities, CoverageNeedAreas, TerritoryCoverage
from registry import queries as registry_queries
from registry.frames import Activities


def test_territories_and_need_areas_keep_their_contract(demo_data: Engine) -> None:
    with demo_data.connect() as conn:
        territories = Territories.validate(repository.territories(conn))
        need_areas = NeedAreas.validate(repository.need_areas(conn))
    assert len(territories) == 45
    assert territories.crs.to_epsg() == need_areas.crs.to_epsg() == 4326


def test_activities_keep_their_contract(demo_data: Engine) -> None:
    with demo_data.connect() as conn:
        every = registry_queries.activities(conn, include_all=True)
        trusted = registry_queries.activities(conn)
    frame = Activities.validate(every, lazy=True)  # the whole register, trusted or not
    assert len(frame) > 2_000
    assert frame.crs.to_epsg() == 4326
    assert 0 < len(Activities.validate(trusted, lazy=True)) < len(frame)


def test_coverage_inputs_and_results_keep_their_contract(demo_data: Engine) -> None:
    with demo_data.connect() as conn:
        CoverageNeedAreas.validate(queries.need_areas(conn), lazy=True)
        for include_all in (False, True):
            CoverageActivities.validate(
                queries.activities(conn, include_all=include_all), lazy=True
            )
        found = report.build(conn)
    AreaCoverage.validate(found.areas, lazy=True)
    summary = TerritoryCoverage.validate(found.summary, lazy=True)
    assert len(summary) == 45
