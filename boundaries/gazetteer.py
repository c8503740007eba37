"""The postcode gazetteer in PostGIS: load it, and read it back for the geocoder.

At load time every unit postcode is placed in a territory and a need area (in memory, with
:mod:`boundaries.locate`: the LSOA polygon holding it where there is one; how is kept in
``need_area_method``), and every sector and district centroid takes the territory most of
its postcodes lie in. The load is one transaction and a no-op when neither the files nor
the boundaries it was placed against have changed. It fills new tables beside the live ones
and swaps them in at the end, in milliseconds: lookups never wait for a load, and see the
old gazetteer or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from boundaries import generations, repository
from boundaries.locate import Locator, take
from boundaries.read import file_sha256
from boundaries.sources import PostcodeGeneration
from geo import postcodes
from geo.bulk import copy_table, read_query
from geo.errors import DataFileError, InvalidInputError, NotLoadedError
from geo.geocode import Gazetteer, Geocoder

Step = Callable[[str], None]
_NO_POSTCODES = (
    "No postcodes placed on the current boundaries: run `dualimpact load postcodes` "
    "(or `make demo`)."
)

# The gazetteer's tables, in the order every reader takes them (the swap locks them in this
# order too, so it cannot deadlock with a reader). A load fills staged copies beside them.
_TABLES = ("postcode_unit", "postcode_sector", "postcode_district")
_STAGED = "_staged"

# What pg_get_indexdef says: CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING ...
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ (USING .*)$")

_PLACE_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("territory_code", pa.string()),
        ("need_area_code", pa.string()),
        ("territory_share", pa.float64()),
    ]
)


@dataclass(frozen=True)
class PostcodeLoadReport:
    units: int
    outside_territories: int
    snapped: int
    sectors: int
    districts: int
    unchanged: bool


def load_postcodes(
    engine: Engine, source: PostcodeGeneration, *, force: bool = False, step: Step = lambda _: None
) -> PostcodeLoadReport:
    """Load every unit postcode, sector and district, placed against the current boundaries.

    The new gazetteer is written to staged tables while the live ones keep answering, then
    swapped in (see :func:`_swap_in`); the whole load is one transaction.
    """
    step("Reading postcodes")
    units = _read_units(source)
    sectors = _read_centroids(source.sectors, "sector")
    districts = _read_centroids(source.districts, "district")

    with engine.begin() as conn:
        generations.lock(conn, "load_postcodes")
        boundaries = generations.current(conn)
        if "territory" not in boundaries or "need_area" not in boundaries:
            raise NotLoadedError(
                "No territories loaded yet: run `dualimpact load geography` before postcodes."
            )
        digest = hashlib.sha256()
        for path in (source.units, source.sectors, source.districts):
            digest.update(file_sha256(path).encode())
        for kind in ("territory", "need_area"):
            digest.update(boundaries[kind][1].encode())
        sha = digest.hexdigest()
        if not force and generations.is_current(conn, source, sha):
            return _report(conn, unchanged=True)

        step("Placing postcodes in territories and need areas")
        locator = repository.locator(conn)
        units = _place_units(units, locator)
        sectors = _place_areas(sectors, units, "sector", locator)
        districts = _place_areas(districts, units, "district", locator)
        ids = repository.current_ids(conn)

        step("Writing postcodes")
        for table in _TABLES:
            _create_staged(conn, table)
        copy_table(
            conn,
            f"postcode_unit{_STAGED} (postcode, sector, district, lon, lat, territory_id, "
            "territory_method, need_area_id, need_area_method)",
            pa.Table.from_pandas(
                _with_ids(units, ids)[
                    [
                        "postcode",
                        "sector",
                        "district",
                        "lon",
                        "lat",
                        "territory_id",
                        "territory_method",
                        "need_area_id",
                        "need_area_method",
                    ]
                ],
                preserve_index=False,
            ),
        )
        for table, frame, key in (
            ("postcode_sector", sectors, "sector"),
            ("postcode_district", districts, "district"),
        ):
            columns = [
                key,
                "lon",
                "lat",
                "n_postcodes",
                "territory_id",
                "territory_share",
                "need_area_id",
            ]
            copy_table(
                conn,
                f"{table}{_STAGED} ({', '.join(columns)})",
                pa.Table.from_pandas(_with_ids(frame, ids)[columns], preserve_index=False),
            )
        step("Indexing postcodes")
        indexes = [name for table in _TABLES for name in _index_staged(conn, table)]
        report = _report(conn, unchanged=False, suffix=_STAGED)
        set_id = generations.upsert(conn, source, sha, len(units))
        step("Swapping the new postcodes in")
        _swap_in(conn, indexes)
        generations.make_current(conn, source.kind, set_id)
        return report


def _create_staged(conn: Connection, table: str) -> None:
    """An empty copy of ``table``: columns, defaults, generated columns and checks, but no
    indexes yet (building them once the copy is full is much faster than row by row)."""
    conn.execute(
        text(f"CREATE TABLE {table}{_STAGED} (LIKE {table} INCLUDING ALL EXCLUDING INDEXES)")
    )


def _index_staged(conn: Connection, table: str) -> list[str]:
    """Build the indexes (primary key included) of ``table`` on its filled staged copy,
    under staged names, and analyse it; return the live names, restored by the swap."""
    staged = f"{table}{_STAGED}"
    rows = conn.execute(
        text(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid), pg_get_constraintdef(c.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_constraint c
                ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                AND c.contype IN ('p', 'u', 'x')
            WHERE x.indrelid = CAST(:table AS regclass)
            """
        ),
        {"table": table},
    ).all()
    for name, index, constraint in rows:
        if constraint is not None:
            conn.execute(text(f"ALTER TABLE {staged} ADD CONSTRAINT {name}{_STAGED} {constraint}"))
            continue
        parts = _INDEX_DEF.match(index)
        if parts is None:
            raise RuntimeError(f"cannot rebuild index {name} of {table} from {index!r}")
        conn.execute(text(f"{parts[1]} {name}{_STAGED} ON {staged} {parts[2]}"))
    conn.execute(text(f"ANALYZE {staged}"))
    return [str(name) for name, _, _ in rows]


# Statements giving a staged table the live one's owner, then each of its grants.
_ACCESS = """
    SELECT format('ALTER TABLE %I OWNER TO %I', CAST(:staged AS text),
                  pg_get_userbyid(c.relowner)) AS statement, 0 AS step
    FROM pg_class c WHERE c.oid = CAST(:live AS regclass)
    UNION ALL
    SELECT format('GRANT %s ON %I TO %s%s', a.privilege_type, CAST(:staged AS text),
                  CASE a.grantee WHEN 0 THEN 'PUBLIC'
                       ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), 1
    FROM pg_class c CROSS JOIN aclexplode(c.relacl) a
    WHERE c.oid = CAST(:live AS regclass) AND a.grantee <> c.relowner
    ORDER BY step
"""


def _swap_in(conn: Connection, indexes: list[str]) -> None:
    """Put the staged tables in place of the live ones, keeping the live ones' owner,
    grants and index names. Readers wait only for these few catalogue changes (until the
    load commits, right after), never for the load itself."""
    conn.execute(text(f"LOCK TABLE {', '.join(_TABLES)} IN ACCESS EXCLUSIVE MODE"))
    for table in _TABLES:
        staged = f"{table}{_STAGED}"
        access = conn.execute(text(_ACCESS), {"live": table, "staged": staged}).scalars()
        for statement in access.all():
            conn.execute(text(statement))
        conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text(f"ALTER TABLE {staged} RENAME TO {table}"))
    for name in indexes:
        conn.execute(text(f"ALTER INDEX {name}{_STAGED} RENAME TO {name}"))


def read_gazetteer(conn: Connection) -> Gazetteer:
    """The whole gazetteer in memory (2.7 M postcodes, about 2 s): for bulk geocoding."""
    return Gazetteer.from_frames(
        _table(conn, "postcode_unit", "postcode", None),
        _table(conn, "postcode_sector", "sector", None),
        _table(conn, "postcode_district", "district", None),
    )


def gazetteer_for(
    conn: Connection,
    raw_postcodes: Sequence[object] | pd.Series,
    *,
    addresses: pd.Series | None = None,
) -> Gazetteer:
    """Just the gazetteer rows these postcodes could need (exact, sector, district), and
    those of the postcodes ending ``addresses`` (for :meth:`Geocoder.geocode`'s rescue)."""
    parsed = postcodes.parse(pd.Series(list(raw_postcodes), dtype=object))
    wanted = parsed.postcode[parsed.postcode != ""]
    if addresses is not None:
        ending = postcodes.in_address(addresses)
        wanted = pd.concat([wanted, ending[ending != ""]], ignore_index=True)
    if (
        not wanted.empty
        and not conn.execute(text("SELECT EXISTS (SELECT 1 FROM postcode_district)")).scalar()
    ):
        raise NotLoadedError(_NO_POSTCODES)
    return Gazetteer.from_frames(
        _table(conn, "postcode_unit", "postcode", wanted.unique().tolist()),
        _table(conn, "postcode_sector", "sector", postcodes.sector_of(wanted).unique().tolist()),
        _table(
            conn, "postcode_district", "district", postcodes.district_of(wanted).unique().tolist()
        ),
    )


def _table(conn: Connection, table: str, key: str, only: list[str] | None) -> pd.DataFrame:
    query = f"""
        SELECT p.{key}, p.lon, p.lat, t.code, n.code,
               {"1.0::float8" if key == "postcode" else "p.territory_share"}
        FROM {table} p
        LEFT JOIN territory t ON t.id = p.territory_id
        LEFT JOIN need_area n ON n.id = p.need_area_id
        {"" if only is None else f"WHERE p.{key} = ANY(%s)"}
    """
    if only is None and "postcode" not in generations.current(conn):
        raise NotLoadedError(_NO_POSTCODES)
    return read_query(conn, query, _PLACE_SCHEMA, None if only is None else (only,)).to_pandas()


def _read_units(source: PostcodeGeneration) -> pd.DataFrame:
    path = source.units
    if not path.is_file():
        raise DataFileError(path, "file not found (check DUALIMPACT_DATA_DIR)")
    try:
        frame = pd.read_parquet(path, columns=["postcode", "lat", "lon"])
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise DataFileError(path, f"cannot be read as a postcode table: {exc}") from exc
    parsed = postcodes.parse(frame["postcode"])
    problems = [
        f"row {i + 1}: {frame['postcode'].iloc[i]!r} is not shaped like a postcode"
        for i in np.flatnonzero((parsed.postcode == "").to_numpy())
    ]
    numbers = frame[["lat", "lon"]].apply(pd.to_numeric, errors="coerce")
    problems += [
        f"row {i + 1}: lat/lon missing" for i in np.flatnonzero(numbers.isna().any(axis=1))
    ]
    duplicated = parsed.postcode.duplicated()
    problems += [
        f"row {i + 1}: {parsed.postcode.iloc[i]} repeats" for i in np.flatnonzero(duplicated)
    ]
    if problems:
        raise DataFileError(path, problems)
    return pd.DataFrame(
        {
            "postcode": parsed.postcode,
            "sector": postcodes.sector_of(parsed.postcode),
            "district": postcodes.district_of(parsed.postcode),
            "lon": numbers["lon"],
            "lat": numbers["lat"],
        }
    )


def _read_centroids(path: Path, key: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(path, "file not found (check DUALIMPACT_DATA_DIR)")
    try:
        frame = pd.read_csv(path, dtype={key: str}, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(path, f"cannot be read as UTF-8 CSV: {exc}") from exc
    missing = [c for c in (key, "lat", "lon", "n_postcodes") if c not in frame.columns]
    if missing:
        raise DataFileError(path, f"missing column(s): {', '.join(missing)}")
    return frame[[key, "lat", "lon", "n_postcodes"]]


def _place_units(units: pd.DataFrame, locator: Locator) -> pd.DataFrame:
    lon, lat = units["lon"].to_numpy(), units["lat"].to_numpy()
    assignment = locator.territories.assign(lon, lat)
    need = locator.need_areas.place(assignment.index, lon, lat)
    units["territory_code"] = take(locator.territories.codes, assignment.index)
    units["territory_method"] = assignment.method
    units["need_area_code"] = take(locator.need_areas.codes, need.index)
    units["need_area_method"] = need.method
    return units


def _place_areas(
    areas: pd.DataFrame, units: pd.DataFrame, key: str, locator: Locator
) -> pd.DataFrame:
    """Each area takes the territory most of its postcodes are in (ties: lowest code)."""
    counts = (
        units.dropna(subset=["territory_code"])
        .groupby([key, "territory_code"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values([key, "n", "territory_code"], ascending=[True, False, True])
    )
    modal = counts.drop_duplicates(key).set_index(key)
    totals = units.groupby(key).size()
    areas = areas.copy()
    areas["territory_code"] = areas[key].map(modal["territory_code"])
    areas["territory_share"] = areas[key].map(modal["n"]) / areas[key].map(totals)
    row = pd.Index(locator.territories.codes).get_indexer(areas["territory_code"])
    need = locator.need_areas.place(
        row.astype(np.int32), areas["lon"].to_numpy(), areas["lat"].to_numpy()
    )
    areas["need_area_code"] = take(locator.need_areas.codes, need.index)
    return areas


def _with_ids(frame: pd.DataFrame, ids: dict[str, dict[str, int]]) -> pd.DataFrame:
    frame = frame.copy()
    frame["territory_id"] = frame["territory_code"].map(ids["territory"]).astype("Int64")
    frame["need_area_id"] = frame["need_area_code"].map(ids["need_area"]).astype("Int64")
    return frame


def _report(conn: Connection, *, unchanged: bool, suffix: str = "") -> PostcodeLoadReport:
    """What the gazetteer holds (``suffix``: of the staged tables, before the swap)."""
    unit, sector, district = (f"{table}{suffix}" for table in _TABLES)
    row = conn.execute(
        text(
            f"""
            SELECT (SELECT count(*) FROM {unit}),
                   (SELECT count(*) FROM {unit} WHERE territory_id IS NULL),
                   (SELECT count(*) FROM {unit} WHERE territory_method <> 'contains'),
                   (SELECT count(*) FROM {sector}),
                   (SELECT count(*) FROM {district})
            """
        )
    ).one()
    units, outside, snapped, sectors, districts = row
    return PostcodeLoadReport(units, outside, snapped, sectors, districts, unchanged)


@dataclass(frozen=True)
class Place:
    """Where one postcode is: its normalised form, point, precision, territory, need area."""

    postcode: str
    lat: float
    lon: float
    precision: str
    territory_code: str
    need_area_code: str | None


_PLACE_ONE = """
    SELECT p.precision, p.lon, p.lat, t.code AS territory_code, n.code AS need_area_code
    FROM (
        SELECT 0 AS rank, 'postcode' AS precision, lon, lat, territory_id, need_area_id
        FROM postcode_unit WHERE postcode = :postcode
        UNION ALL
        SELECT 1, 'sector', lon, lat, territory_id, need_area_id
        FROM postcode_sector WHERE sector = :sector
        UNION ALL
        SELECT 2, 'district', lon, lat, territory_id, need_area_id
        FROM postcode_district WHERE district = :district
    ) p
    LEFT JOIN territory t ON t.id = p.territory_id
    LEFT JOIN need_area n ON n.id = p.need_area_id
    ORDER BY p.rank LIMIT 1
"""


def place_postcode(conn: Connection, raw: str) -> Place:
    """One postcode placed (exact, else sector, else district), or a clear error why not.

    A well-formed postcode found in a territory is answered by one indexed query (the API
    does this on every request); anything else takes the full geocoder, for its reasons.
    """
    compact = "".join(str(raw).split()).upper()
    if not postcodes.reason(compact):
        unit = f"{compact[:-3]} {compact[-3:]}"
        row = (
            conn.execute(
                text(_PLACE_ONE),
                {"postcode": unit, "sector": unit[:-2], "district": compact[:-3]},
            )
            .mappings()
            .one_or_none()
        )
        if row is not None and row["territory_code"] is not None:
            return Place(postcode=unit, **row)
    placed = Geocoder(gazetteer_for(conn, [raw]), None).geocode(pd.Series([raw])).iloc[0]
    if placed["error"]:
        raise InvalidInputError(f"postcode {raw!r}: {placed['error']}")
    return Place(
        postcode=str(placed["postcode"]),
        lat=float(placed["lat"]),
        lon=float(placed["lon"]),
        precision=str(placed["precision"]),
        territory_code=str(placed["territory_code"]),
        need_area_code=None if pd.isna(placed["need_area_code"]) else str(placed["need_area_code"]),
    )
