"""A forced postcode reload never blocks lookups: the gazetteer is rebuilt beside the live
tables and swapped in at once, so a lookup sees the old data or the new, never an error or
a long wait, and the swapped-in tables keep the indexes and grants of the old ones."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from boundaries.gazetteer import PostcodeLoadReport, gazetteer_for, load_postcodes, place_postcode
from boundaries.sources import postcodes_2025

TABLES = ("postcode_unit", "postcode_sector", "postcode_district")
PROBE = "OX1 1DP"  # a unit postcode: answered by the unit table
SECTOR_PROBE = "OX1 9ZZ"  # no such unit: answered by its sector
NUDGE = 0.0001  # degrees added to the probe's stored longitude, so old and new differ
WAIT_LIMIT_S = 5.0  # a lookup may wait this long at most (the old load blocked ~18 s)
READER = f"dualimpact_test_reader_{os.getpid()}"


@dataclass
class Lookup:
    started: float
    seconds: float
    lon: float | None = None
    sector_lon: float | None = None
    error: str | None = None


@dataclass
class Reload:
    lookups: list[Lookup] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)
    finished: float = 0.0
    report: PostcodeLoadReport | None = None
    failure: BaseException | None = None
    old_lon: float = 0.0
    new_lon: float = 0.0
    sector_lon: float = 0.0
    indexes_before: set[tuple[str, str]] = field(default_factory=set)
    indexes_after: set[tuple[str, str]] = field(default_factory=set)
    reader_may_select: dict[str, bool] = field(default_factory=dict)


def _indexes(conn: Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:t)"),
        {"t": list(TABLES)},
    ).all()
    return {(name, definition) for name, definition in rows}


def _lookup(conn: Connection) -> Lookup:
    started = time.monotonic()
    try:
        lon = place_postcode(conn, PROBE).lon
        sector = gazetteer_for(conn, [SECTOR_PROBE]).sectors
        return Lookup(started, time.monotonic() - started, lon, float(sector.lon[0]))
    except Exception as exc:  # every failure is a finding: keep it for the assertions
        return Lookup(started, time.monotonic() - started, error=repr(exc))


@pytest.fixture(scope="module")
def reload(engine: Engine, postcodes: PostcodeLoadReport, data_dir: Path) -> Iterator[Reload]:
    """A forced reload of the real gazetteer, with lookups running all through it."""
    result = Reload()
    with engine.begin() as conn:
        result.new_lon = conn.execute(
            text("SELECT lon FROM postcode_unit WHERE postcode = :p"), {"p": PROBE}
        ).scalar_one()
        result.old_lon = result.new_lon + NUDGE
        conn.execute(
            text("UPDATE postcode_unit SET lon = :lon WHERE postcode = :p"),
            {"lon": result.old_lon, "p": PROBE},
        )
        conn.execute(text(f"CREATE ROLE {READER} NOLOGIN"))
        conn.execute(text(f"GRANT SELECT ON {', '.join(TABLES)} TO {READER}"))
        result.indexes_before = _indexes(conn)

    def run() -> None:
        try:
            result.report = load_postcodes(
                engine,
                postcodes_2025(data_dir),
                force=True,
                step=lambda name: result.steps.__setitem__(name, time.monotonic()),
            )
        except BaseException as exc:
            result.failure = exc
        result.finished = time.monotonic()

    loader = threading.Thread(target=run)
    with engine.connect() as conn:
        reader = conn.execution_options(isolation_level="AUTOCOMMIT")
        result.sector_lon = float(gazetteer_for(reader, [SECTOR_PROBE]).sectors.lon[0])
        loader.start()
        while loader.is_alive():
            result.lookups.append(_lookup(reader))
            time.sleep(0.02)
        result.lookups.append(_lookup(reader))
    loader.join()
    try:
        with engine.connect() as conn:
            result.indexes_after = _indexes(conn)
            result.reader_may_select = {
                table: conn.execute(
                    text("SELECT has_table_privilege(:role, :table, 'SELECT')"),
                    {"role": READER, "table": table},
                ).scalar_one()
                for table in TABLES
            }
        yield result
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {READER}"))
            conn.execute(text(f"DROP ROLE {READER}"))


def test_the_reload_finishes_and_says_what_it_loaded(reload: Reload) -> None:
    assert reload.failure is None
    assert reload.report is not None and not reload.report.unchanged
    assert reload.report.units > 2_500_000


def test_lookups_never_wait_on_a_reload(reload: Reload) -> None:
    writing = reload.steps["Writing postcodes"]
    during = [lookup for lookup in reload.lookups if lookup.started >= writing]
    assert len(during) >= 20, "the lookups should overlap the writing of the new tables"
    slowest = max(lookup.seconds for lookup in reload.lookups)
    assert slowest < WAIT_LIMIT_S, f"a lookup waited {slowest:.1f} s on the reload"


def test_lookups_see_the_old_data_or_the_new_never_an_error(reload: Reload) -> None:
    assert [lookup.error for lookup in reload.lookups if lookup.error] == []
    seen = [lookup.lon for lookup in reload.lookups]
    assert set(seen) <= {reload.old_lon, reload.new_lon}
    switched = seen.index(reload.new_lon)  # the swap happened once, for good
    assert set(seen[:switched]) <= {reload.old_lon} and set(seen[switched:]) == {reload.new_lon}
    assert {lookup.sector_lon for lookup in reload.lookups} == {reload.sector_lon}


def test_the_new_tables_keep_the_indexes_and_grants(reload: Reload) -> None:
    assert reload.indexes_after == reload.indexes_before
    assert reload.reader_may_select == dict.fromkeys(TABLES, True)
