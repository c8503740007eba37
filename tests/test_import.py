"""Importing activities and suppliers: every row accounted for, nothing half-written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from geo.errors import DataFileError, InvalidInputError
from registry import activities, oruk, privacy, queries, suppliers
from registry.importer import ImportReport, run_import
from registry.upsert import Upsert

HEADER = "name,description,postcode,funding_gap,status,closing_date,themes,evidence\n"


def _csv(tmp_path: Path, body: str, name: str = "activities.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _accounted(report: ImportReport) -> bool:
    buckets = report.stored + report.updated + report.merged + report.unchanged + report.rejected
    return buckets == report.rows


def test_good_rows_are_stored_and_bad_rows_listed_with_row_column_reason(
    registry: Engine, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "Youth boxing club,Boxing for young people,ox1 1dp,18000,at risk,2027-03-31,,"
        "www.example.org\n"
        "Food bank,Emergency food parcels,CF10 1EP,,,,,\n"
        "Bad postcode,,QQ1 1AA,,,,,\n"
        "Negative gap,,OX1 1DP,-5,,,,\n"
        "Undated risk,,OX1 1DP,,at risk,,,\n"
        "Unknown theme,,OX1 1DP,,,,knitting,\n"
        ",no name,OX1 1DP,,,,,\n"
        "Not a link,,OX1 1DP,,,,,ftp:/nowhere\n"
        "Sea,,JE3 2DU,,,,,\n",
    )
    report = run_import(registry, activities.SPEC, path)
    # An unknown theme or a link that is not a web address is dropped; the row is kept.
    assert (report.stored, report.rejected) == (4, 5)
    assert _accounted(report)
    errors = report.errors.set_index("row")
    assert errors.loc[4, "column"] == "postcode"
    assert "cannot start with 'Q'" in errors.loc[4, "reason"]
    assert errors.loc[5, "reason"] == "funding_gap must be zero or more"
    assert errors.loc[6, "reason"] == "an at-risk activity needs a closing_date"
    assert "unknown themes knitting" in errors.loc[7, "reason"]
    assert errors.loc[8, "reason"] == "name is empty"
    assert "is not a web address" in errors.loc[9, "reason"]
    assert "Jersey" in errors.loc[10, "reason"]
    assert errors.loc[[7, 9], "outcome"].tolist() == ["value dropped, row imported"] * 2

    with registry.connect() as conn:
        stored = queries.activities(conn).set_index("name")
    club = stored.loc["Youth boxing club"]
    assert club["status"] == "at_risk" and str(club["closing_date"]) == "2027-03-31"
    assert float(club["funding_gap"]) == 18_000
    assert club["territory_code"] == "E23000029" and club["location_precision"] == "postcode"
    assert list(club["evidence_links"]) == ["https://www.example.org"]
    assert "youth" in club["themes"] and "sport_physical_activity" in club["themes"]
    assert list(stored.loc["Food bank", "themes"]) == ["food_poverty"]
    # A file of services says where each is delivered; the rules assess every row.
    assert set(stored["located_at"]) == {"delivery"}
    assert stored.loc["Food bank", "eligibility_categories"] == ["hardship_food_debt"]


def test_reimporting_the_same_file_changes_nothing(registry: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Youth club,Games night,OX1 1DP,,,,,\nFood bank,,CF10 1EP,,,,,\n")
    first = run_import(registry, activities.SPEC, path)
    with registry.connect() as conn:
        before = conn.execute(text("SELECT id, updated_at FROM activity ORDER BY id")).all()
    second = run_import(registry, activities.SPEC, path)
    assert (first.stored, second.stored, second.updated, second.unchanged) == (2, 0, 0, 2)
    with registry.connect() as conn:
        assert conn.execute(text("SELECT id, updated_at FROM activity ORDER BY id")).all() == before


def test_near_duplicates_are_merged_not_doubled(registry: Engine, tmp_path: Path) -> None:
    first = _csv(
        tmp_path,
        "Youth Club,Games,OX1 1DP,,,,,https://a.example.org\n"
        "youth club,,ox11dp,500,,,,https://b.example.org\n"  # same name and postcode
        "Youth Club,Games,OX1 1DP,,,,,https://a.example.org\n",  # exact repeat
    )
    report = run_import(registry, activities.SPEC, first)
    assert (report.stored, report.merged) == (1, 2)
    other_source = _csv(tmp_path, "YOUTH CLUB,,OX1 1DP,,,,,https://c.example.org\n", "other.csv")
    report = run_import(registry, activities.SPEC, other_source)
    assert (report.stored, report.merged) == (0, 1)
    assert _count(registry, "activity") == 1
    with registry.connect() as conn:
        club = queries.activities(conn).iloc[0]
    assert float(club["funding_gap"]) == 500
    assert list(club["evidence_links"]) == [
        "https://a.example.org",
        "https://b.example.org",
        "https://c.example.org",
    ]


def test_an_interrupted_import_leaves_the_database_as_it_was(
    registry: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(registry, activities.SPEC, _csv(tmp_path, "Kept,,OX1 1DP,,,,,\n", "kept.csv"))
    path = _csv(tmp_path, "".join(f"Activity {i},,OX1 1DP,,,,,\n" for i in range(50)))

    def interrupted(self: Upsert, *, merged: bool) -> str:
        raise KeyboardInterrupt  # after the INSERT of new rows has run

    monkeypatch.setattr(Upsert, "_update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_import(registry, activities.SPEC, path)
    assert _count(registry, "activity") == 1
    assert _count(registry, "organisation") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"name,postcode\n", "has a header but no rows"),
        ("name,postcode\nCaf\xe9 club,OX1 1DP\n".encode("cp1252"), "--encoding cp1252"),
        (b"label,place\nClub,OX1 1DP\n", "missing column(s) for name"),
    ],
    ids=["empty", "header only", "wrong encoding", "missing column"],
)
def test_unusable_files_are_refused_whole(
    registry: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_import(registry, activities.SPEC, path)
    assert _count(registry, "activity") == 0


def test_encoding_and_column_mapping_options(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    # A youth club: eligible, so listed by default.
    path.write_bytes("Project title,Where\nCaf\xe9 youth club \xa3,OX1 1DP\n".encode("cp1252"))
    report = run_import(
        registry,
        activities.SPEC,
        path,
        encoding="cp1252",
        mapping={"name": "Project title", "postcode": "Where"},
    )
    assert report.stored == 1
    with registry.connect() as conn:
        assert queries.activities(conn).iloc[0]["name"] == "Café youth club £"


def test_unknown_mapping_is_a_clear_error(registry: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Club,,OX1 1DP,,,,,\n")
    with pytest.raises(DataFileError, match="unknown field 'nmae'"):
        run_import(registry, activities.SPEC, path, mapping={"nmae": "name"})
    with pytest.raises(DataFileError, match="no column 'Title'"):
        run_import(registry, activities.SPEC, path, mapping={"name": "Title"})


def test_xlsx_and_geojson_files(registry: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Postcode", "People reached"])
    sheet.append(["Walking group", "EH1 1YZ", "120"])
    sheet.append(["Broken", "EH1 1YZ", "lots"])
    book.save(tmp_path / "activities.xlsx")
    report = run_import(registry, activities.SPEC, tmp_path / "activities.xlsx")
    assert (report.stored, report.rejected) == (1, 1)
    assert report.errors.iloc[0][["row", "column"]].tolist() == [3, "People reached"]

    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Refuge"},
                "geometry": {"type": "Point", "coordinates": [-1.258, 51.752]},
            },
            {
                "type": "Feature",
                "properties": {"name": "Estate outreach", "postcode": "M1 1AE"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [-2.25, 53.47],
                            [-2.23, 53.47],
                            [-2.23, 53.49],
                            [-2.25, 53.49],
                            [-2.25, 53.47],
                        ]
                    ],
                },
            },
            {"type": "Feature", "properties": {"name": "Nowhere"}, "geometry": None},
        ],
    }
    (tmp_path / "areas.geojson").write_text(json.dumps(features))
    report = run_import(registry, activities.SPEC, tmp_path / "areas.geojson")
    assert (report.stored, report.rejected) == (2, 1)
    with registry.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name, location_precision, safeguarding, service_area IS NOT NULL"
                " FROM activity WHERE source = 'areas' ORDER BY name"
            )
        ).all()
    assert rows == [
        ("Estate outreach", "postcode", False, True),
        ("Refuge", "coordinates", True, False),  # classified as safeguarding by its name
    ]


def test_a_hundred_thousand_rows(registry: Engine, tmp_path: Path, data_dir: Path) -> None:
    postcodes = pd.read_parquet(data_dir / "geography" / "postcodes.parquet", columns=["postcode"])
    rows = postcodes.sample(100_000, random_state=5, replace=True)["postcode"].to_numpy()
    frame = pd.DataFrame(
        {
            "id": range(100_000),
            "name": [f"Test activity {i}" for i in range(100_000)],
            "postcode": rows,
        }
    )
    frame.loc[::1000, "postcode"] = "not a postcode"
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    report = run_import(registry, activities.SPEC, path)
    assert report.rows == 100_000
    assert report.rejected == 100
    assert report.stored == 99_900
    assert _accounted(report)
    assert _count(registry, "activity") == 99_900


def test_theme_overrides_survive_reimport(registry: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Youth club,Games night,OX1 1DP,,,,,\n")
    run_import(registry, activities.SPEC, path)
    with registry.begin() as conn:
        activity_id = conn.execute(text("SELECT id FROM activity")).scalar_one()
        assert queries.set_themes(conn, activity_id, ["mental_health"]) == ["mental_health"]
    run_import(registry, activities.SPEC, path)
    with registry.begin() as conn:
        assert conn.execute(text("SELECT themes, themes_source FROM activity")).one() == (
            ["mental_health"],
            "override",
        )
        assert queries.set_themes(conn, activity_id, None) == ["youth"]


def test_shared_activity_files_fold_and_merge(registry: Engine, data_dir: Path) -> None:
    folder = data_dir / "activities"
    curated = run_import(registry, activities.SPEC, folder / "activity_organisations.csv")
    assert curated.layout == "activity-organisations"
    assert curated.rows == 2_208 and _accounted(curated)
    assert curated.stored > 2_100
    grants = run_import(registry, activities.SPEC, folder / "raw" / "grants_360giving_flat.csv")
    assert (grants.layout, grants.source_rows, grants.rows) == ("360giving", 3_000, 2_208)
    assert grants.stored < 5  # the same organisations: merged into the curated records
    again = run_import(registry, activities.SPEC, folder / "activity_organisations.csv")
    assert (again.stored, again.updated) == (0, 0)
    with registry.connect() as conn:
        # 360Giving gives an organisation's registered office, never where it delivers.
        bases = conn.execute(text("SELECT DISTINCT location_basis FROM activity")).scalars()
        assert list(bases) == ["registered_office"]
        # Every grant's title, in award order, whatever file came first.
        titles = conn.execute(
            text("SELECT grant_titles FROM activity WHERE name = 'Copenhagen Youth Project'")
        ).scalar_one()
        assert titles.split("; ")[0] == "Towrds youth projects in Kings Cross"
        assert "Covid-19 Emergency Funding" in titles.split("; ")
        # Every activity written was assessed by the eligibility rules.
        unassessed = conn.execute(
            text(
                "SELECT count(*) FROM activity WHERE eligibility_reason IS NULL"
                " OR eligibility_reason LIKE 'not yet assessed%'"
            )
        ).scalar_one()
        assert unassessed == 0


def test_open_referral_round_trip_keeps_safeguarded_places_coarse(
    registry: Engine, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "Women's refuge,Safe house for women escaping domestic abuse,OX1 1DP,,,,,\n"
        "Youth club,Games night,OX1 1DP,2500,at risk,2027-01-31,,\n",
    )
    run_import(registry, activities.SPEC, path)
    with registry.connect() as conn:
        document = oruk.services(queries.activities(conn).drop(columns="geom"))
    by_name = {s["name"]: s for s in document["contents"]}
    refuge = by_name["Women's refuge"]["service_at_locations"][0]["location"]
    assert "latitude" not in refuge and refuge["addresses"][0]["postal_code"] == "OX1"
    club = by_name["Youth club"]
    assert club["x_dualimpact"]["funding_gap"] == 2500
    assert club["x_dualimpact"]["closing_date"] == "2027-01-31"

    exported = tmp_path / "services.json"
    exported.write_text(json.dumps(document))
    report = run_import(registry, activities.SPEC, exported)
    assert report.layout == "oruk"
    assert (report.stored, report.merged, report.rejected) == (0, 2, 0)
    assert _count(registry, "activity") == 2


def test_suppliers_fold_name_variants_and_sites(registry: Engine, data_dir: Path) -> None:
    report = run_import(
        registry, suppliers.SPEC, data_dir / "suppliers" / "supplier_sites_more.csv"
    )
    assert _accounted(report)
    assert report.merged > 200  # one site per supplier and postcode, however many notices
    with registry.connect() as conn:
        names = (
            conn.execute(
                text(
                    "SELECT name FROM organisation"
                    " WHERE kind = 'supplier' AND name ILIKE 'apetito%'"
                )
            )
            .scalars()
            .all()
        )
        sites = conn.execute(text("SELECT count(*) FROM supplier_site")).scalar_one()
    assert len(names) == 1  # "APETITO LIMITED" and "Apetito Limited"
    assert sites == report.stored
    ocds = run_import(registry, suppliers.SPEC, data_dir / "suppliers" / "supplier_sites_ocds.csv")
    assert "Jersey" in ocds.errors.set_index("row").loc[2, "reason"]


def test_reimport_never_resets_what_a_person_set(registry: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path, "Women's centre,Drop-in,OX1 1DP,,,,,\n")
    run_import(registry, activities.SPEC, path)
    with registry.begin() as conn:
        activity_id = conn.execute(text("SELECT id FROM activity")).scalar_one()
        queries.update_activity(
            conn,
            activity_id,
            {
                "safeguarding": True,
                "status": "at_risk",
                "closing_date": date(2027, 6, 30),
            },
        )
    report = run_import(registry, activities.SPEC, path)
    assert (report.updated, report.unchanged) == (0, 1)
    with registry.connect() as conn:
        assert conn.execute(text("SELECT status, safeguarding FROM activity")).one() == (
            "at_risk",
            True,
        )


def test_a_renamed_activity_is_matched_by_its_new_name(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "renamed.csv"
    path.write_text("id,name,postcode\nA1,Alpha,OX1 1DP\n")
    run_import(registry, activities.SPEC, path)
    path.write_text("id,name,postcode\nA1,Beta,OX1 1DP\n")
    run_import(registry, activities.SPEC, path)
    with registry.connect() as conn:
        keys = (
            conn.execute(text("SELECT name_key FROM activity WHERE source_key = 'renamed:A1'"))
            .scalars()
            .all()
        )
    assert keys == ["beta"]


def test_row_numbers_are_spreadsheet_rows_even_after_blank_lines(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("name,postcode\nGood,OX1 1DP\n\n,OX1 1DP\n")
    report = run_import(registry, activities.SPEC, path)
    assert report.rows == 2
    assert report.errors["row"].tolist() == [4]


def test_dates_in_any_common_form(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text(
        "name,postcode,status,closing_date\n"
        "A,OX1 1DP,at risk,2027-03-31\n"
        "B,OX1 1DP,at risk,2027-03-31T00:00:00+00:00\n"
        "C,OX1 1DP,at risk,31/03/2027\n"
        "D,OX1 1DP,at risk,soon\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert (report.stored, report.rejected) == (3, 1)
    assert "closing_date is not a date" in report.errors.iloc[0]["reason"]


def test_numbers_too_big_for_the_register_are_named(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "name,postcode,people_reached_per_year,funding_gap\n"
        "A,OX1 1DP,99999999999,\n"
        "B,OX1 1DP,,1e13\n"
        "C,OX1 1DP,,inf\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert report.rejected == 3
    reasons = report.errors["reason"].tolist()
    assert "people_reached_per_year is more than 2,147,483,647" in reasons
    assert "funding_gap is more than 1,000,000,000,000" in reasons
    assert "funding_gap is not an amount in pounds" in reasons


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"file_format": "pdf"}, "unknown format 'pdf'"),
        ({"encoding": "klingon"}, "'klingon' is not a text encoding"),
    ],
)
def test_unknown_format_or_encoding_is_named(
    registry: Engine, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = _csv(tmp_path, "Club,,OX1 1DP,,,,,\n")
    with pytest.raises((DataFileError, InvalidInputError), match=message):
        run_import(registry, activities.SPEC, path, **options)


def test_exports_never_carry_a_safeguarded_place(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "refuge.csv"
    path.write_text(
        "name,description,postcode,address\n"
        "Haven,Refuge for women escaping domestic abuse,OX1 1DP,1 Secret Street\n"
    )
    run_import(registry, activities.SPEC, path)
    with registry.connect() as conn:
        frame = queries.activities(conn).drop(columns="geom")
    text_out = json.dumps(oruk.services(frame)) + privacy.redact(frame).to_csv()
    for secret in (
        "OX1 1DP",
        "1DP",
        "Secret Street",
        str(frame["need_area_code"].iloc[0]),
        f"{frame['lat'].iloc[0]:.4f}",
    ):
        assert secret not in text_out
