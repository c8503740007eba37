"""Loading boundaries: idempotent, all-or-nothing, and aware of boundary generations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from boundaries import generations
from boundaries.gazetteer import PostcodeLoadReport, gazetteer_for
from boundaries.sources import need_areas_2019, territories_2023
from boundaries.store import LoadReport, load_geography
from geo import migrate
from geo.db import make_engine
from geo.errors import DataFileError, NotLoadedError
from registry import activities, placement
from registry.importer import run_import


def _snapshot(engine: Engine) -> tuple[object, ...]:
    """Counts, ids and a checksum of every stored geometry (need-area polygons too) and
    assignment."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                """
                SELECT (SELECT count(*) FROM territory), (SELECT count(*) FROM need_area),
                       (SELECT count(*) FROM territory_piece),
                       (SELECT md5(string_agg(id || code || md5(ST_AsBinary(geom)), ','
                                              ORDER BY id)) FROM territory),
                       (SELECT md5(string_agg(id || code || territory_id || uk_imd_decile, ','
                                              ORDER BY id)) FROM need_area),
                       (SELECT md5(string_agg(need_area_id || md5(ST_AsBinary(geom)), ','
                                              ORDER BY need_area_id)) FROM need_area_shape),
                       (SELECT string_agg(id || content_sha256 || is_current, ',' ORDER BY id)
                          FROM boundary_set)
                """
            )
        ).one()


def test_reloading_the_same_files_changes_nothing(
    engine: Engine, geography: LoadReport, data_dir: Path
) -> None:
    before = _snapshot(engine)
    again = load_geography(engine, territories_2023(data_dir), need_areas_2019(data_dir))
    assert again.unchanged
    assert (again.territories, again.need_areas) == (45, 42_619)
    assert _snapshot(engine) == before


def test_forced_reload_keeps_counts_and_ids(
    engine: Engine, postcodes: PostcodeLoadReport, data_dir: Path
) -> None:
    before = _snapshot(engine)
    again = load_geography(
        engine, territories_2023(data_dir), need_areas_2019(data_dir), force=True
    )
    assert not again.unchanged
    assert _snapshot(engine)[:6] == before[:6]
    # The same boundaries again: postcodes placed on them stay current.
    with engine.connect() as conn:
        assert "postcode" in generations.current(conn)


def _write_territories(tmp_path: Path, data_dir: Path, edit) -> Path:
    collection = json.loads((data_dir / "geography" / "territories.geojson").read_text())
    edit(collection)
    path = tmp_path / "territories.geojson"
    path.write_text(json.dumps(collection))
    return path


MALFORMED_TERRITORIES = {
    "one territory missing": (lambda c: c["features"].pop(), "has 44 features"),
    "duplicate code": (
        lambda c: c["features"][1]["properties"].update(code="E23000001"),
        "duplicate codes: E23000001",
    ),
    "bad code": (
        lambda c: c["features"][0]["properties"].update(code="X1"),
        "code 'X1' is not a territory GSS code",
    ),
    "missing column": (
        lambda c: [f["properties"].pop("nation") for f in c["features"]],
        "missing column(s): nation",
    ),
    "null geometry": (
        lambda c: c["features"][3].update(geometry=None),
        "geometry is missing or not a polygon",
    ),
    "swapped coordinates": (
        lambda c: c["features"][2]["geometry"].update(
            coordinates=_swap(c["features"][2]["geometry"]["coordinates"])
        ),
        "lies outside the UK",
    ),
}


def _swap(coordinates):
    if isinstance(coordinates[0], int | float):
        return [coordinates[1], coordinates[0]]
    return [_swap(c) for c in coordinates]


@pytest.mark.parametrize("case", sorted(MALFORMED_TERRITORIES))
def test_malformed_territory_file_leaves_stored_data_untouched(
    case: str, engine: Engine, geography: LoadReport, data_dir: Path, tmp_path: Path
) -> None:
    edit, message = MALFORMED_TERRITORIES[case]
    path = _write_territories(tmp_path, data_dir, edit)
    before = _snapshot(engine)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_geography(
            engine, territories_2023(data_dir).with_file(path), need_areas_2019(data_dir)
        )
    assert _snapshot(engine) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "cannot be read as GeoJSON"),
        (b"{not json", "cannot be read as GeoJSON"),
        (b'{"type": "FeatureCollection", "features": []}', "missing column"),
    ],
)
def test_unreadable_territory_file_is_rejected(
    content: bytes,
    message: str,
    engine: Engine,
    geography: LoadReport,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "territories.geojson"
    path.write_bytes(content)
    before = _snapshot(engine)
    with pytest.raises(DataFileError, match=message):
        load_geography(
            engine, territories_2023(data_dir).with_file(path), need_areas_2019(data_dir)
        )
    assert _snapshot(engine) == before


def _need_area_file(tmp_path: Path, data_dir: Path, transform) -> Path:
    lines = (data_dir / "geography" / "need_areas.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "need_areas.csv"
    path.write_bytes(transform(lines))
    return path


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (
            lambda ls: "\n".join([ls[0], ls[1].replace("54.65504", "north")]).encode(),
            "line 2: lat 'north' is not a number",
        ),
        (
            lambda ls: "\n".join([ls[0].replace("uk_imd_decile", "decile"), *ls[1:3]]).encode(),
            "missing column(s): uk_imd_decile",
        ),
        (
            lambda ls: "\n".join([ls[0], ls[1], ls[1]]).encode(),
            "line 3: area code 95AA01S1 repeats an earlier row",
        ),
        (lambda ls: "\n".join(ls[:3]).encode("utf-16"), "cannot be read as UTF-8 CSV"),
        (lambda ls: ls[0].encode(), "has no rows"),
        (
            lambda ls: "\n".join([ls[0], ls[1].replace(",4,4,", ",11,4,")]).encode(),
            "uk_imd_decile 11 is not 1-10",
        ),
    ],
    ids=["not a number", "missing column", "duplicate", "utf-16", "header only", "decile 11"],
)
def test_malformed_need_area_file_leaves_stored_data_untouched(
    transform,
    message: str,
    engine: Engine,
    geography: LoadReport,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    path = _need_area_file(tmp_path, data_dir, transform)
    before = _snapshot(engine)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_geography(
            engine, territories_2023(data_dir), need_areas_2019(data_dir).with_file(path)
        )
    assert _snapshot(engine) == before


def test_missing_file_is_named(engine: Engine, geography: LoadReport, data_dir: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        load_geography(
            engine,
            territories_2023(data_dir).with_file(data_dir / "nope.geojson"),
            need_areas_2019(data_dir),
        )


def test_a_failure_mid_load_rolls_everything_back(
    engine: Engine, geography: LoadReport, data_dir: Path
) -> None:
    before = _snapshot(engine)

    def fail_after_territories(label: str) -> None:
        if label == "Writing need areas":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_geography(
            engine,
            territories_2023(data_dir),
            need_areas_2019(data_dir),
            force=True,
            step=fail_after_territories,
        )
    assert _snapshot(engine) == before


def test_a_new_boundary_generation_loads_beside_the_old_one(
    empty_database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        load_geography(engine, territories_2023(data_dir), need_areas_2019(data_dir))
        newer = tmp_path / "territories_2025.geojson"
        shutil.copy(data_dir / "geography" / "territories.geojson", newer)
        report = load_geography(
            engine,
            territories_2023(data_dir).with_file(newer, "Police force areas December 2025"),
            need_areas_2019(data_dir),
        )
        assert (report.territories, report.need_areas) == (45, 42_619)
        with engine.connect() as conn:
            sets = conn.execute(
                text(
                    "SELECT vintage, is_current FROM boundary_set WHERE kind = 'territory'"
                    " ORDER BY id"
                )
            ).all()
            used = (
                conn.execute(
                    text(
                        """
                    SELECT DISTINCT b.vintage FROM need_area n
                    JOIN territory t ON t.id = n.territory_id
                    JOIN boundary_set b ON b.id = t.boundary_set_id
                    """
                    )
                )
                .scalars()
                .all()
            )
            stored = conn.execute(text("SELECT count(*) FROM territory")).scalar()
        assert sets == [
            ("Police force areas December 2023 (unchanged since December 2020)", False),
            ("Police force areas December 2025", True),
        ]
        assert used == ["Police force areas December 2025"]
        assert stored == 90  # both generations kept
    finally:
        engine.dispose()


def test_a_new_generation_re_places_records_and_retires_the_gazetteer(
    empty_database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        load_geography(engine, territories_2023(data_dir), need_areas_2019(data_dir))
        source = tmp_path / "clubs.csv"
        source.write_text("name,lat,lon\nOxford club,51.752,-1.258\n")
        assert run_import(engine, activities.SPEC, source).stored == 1
        newer = tmp_path / "territories_2025.geojson"
        shutil.copy(data_dir / "geography" / "territories.geojson", newer)
        report = load_geography(
            engine,
            territories_2023(data_dir).with_file(newer, "Police force areas December 2025"),
            need_areas_2019(data_dir),
            replace=placement.replace,
        )
        assert report.replaced == 1
        with engine.connect() as conn:
            vintage = conn.execute(
                text(
                    "SELECT b.vintage FROM activity a JOIN territory t ON t.id = a.territory_id"
                    " JOIN boundary_set b ON b.id = t.boundary_set_id"
                )
            ).scalar_one()
            assert vintage == "Police force areas December 2025"
            with pytest.raises(NotLoadedError, match="load postcodes"):
                gazetteer_for(conn, ["OX1 1DP"])
    finally:
        engine.dispose()
