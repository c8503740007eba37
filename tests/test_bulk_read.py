"""A bulk read waiting on a table swapped in by another transaction reads the new table's
rows, never an empty table (COPY alone snapshots before it locks: CI caught a postcode
lookup reading nothing in the middle of a reload)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest
from sqlalchemy import Engine, text

from geo.bulk import read_query

SCHEMA = pa.schema([("n", pa.int64())])


@pytest.fixture
def swapped(engine: Engine) -> Iterator[str]:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bulk_swap_probe (n bigint)"))
        conn.execute(text("INSERT INTO bulk_swap_probe VALUES (1)"))
    yield "bulk_swap_probe"
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bulk_swap_probe, bulk_swap_probe_staged"))


def _wait_until_blocked(engine: Engine, table: str) -> None:
    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :t AND NOT l.granted"
                ),
                {"t": table},
            ).scalar_one()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.01)
    raise AssertionError("the reader never waited on the swap")


@pytest.mark.parametrize("autocommit", [True, False])
def test_a_read_waiting_on_a_swap_sees_the_new_rows(
    engine: Engine, swapped: str, autocommit: bool
) -> None:
    result: list[pa.Table | BaseException] = []

    def read() -> None:
        try:
            with engine.connect() as conn:
                if autocommit:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                result.append(read_query(conn, f"SELECT n FROM {swapped} ORDER BY n", SCHEMA))
        except BaseException as exc:
            result.append(exc)

    with engine.begin() as writer:
        writer.execute(text(f"CREATE TABLE {swapped}_staged (n bigint)"))
        writer.execute(text(f"INSERT INTO {swapped}_staged VALUES (2), (3)"))
        writer.execute(text(f"LOCK TABLE {swapped} IN ACCESS EXCLUSIVE MODE"))
        reader = threading.Thread(target=read)
        reader.start()
        _wait_until_blocked(engine, swapped)
        writer.execute(text(f"DROP TABLE {swapped}"))
        writer.execute(text(f"ALTER TABLE {swapped}_staged RENAME TO {swapped}"))
    reader.join(timeout=10)

    [table] = result
    assert isinstance(table, pa.Table), table
    assert table.column("n").to_pylist() == [2, 3]
