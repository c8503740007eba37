"""Messy files meet the importers: every bad row is named, nothing good is lost, the errors
file is written before anything is committed, and one body keeps one identifier.

The files here are small ones written for these tests (not real organisations), except
where a test names the shared data it reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from accounts import tokens
from accounts.users import create_organisation, create_user
from api.app import create_app
from cli.main import app
from geo.errors import DataFileError, InvalidInputError
from geo.settings import Settings
from registry import activities, suppliers
from registry.importer import run_import
from registry.layouts import GRANT_TITLES_MAX, grant_titles
from registry.names import company_number, org_id
from registry.records import register_activity

runner = CliRunner()


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# -- identifiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("6227377", "06227377"),
        (" 06227377 ", "06227377"),
        ("SC123456", "SC123456"),
        ("sc 91075", "SC091075"),
        ("NIO29999", "NI029999"),  # the letter O typed for a zero
        ("OC301540", "OC301540"),
        ("2018542.0", "02018542"),  # a number that went through a spreadsheet
        ("No. 394744", "00394744"),
        ("0", ""),
        ("00000000", ""),
        ("N/A", ""),
        ("n/a", ""),
        ("none", ""),
        ("-", ""),
        ("TBC", ""),
        ("", ""),
    ],
)
def test_company_numbers_are_normalised_and_placeholders_are_no_number(
    given: str, expected: str
) -> None:
    assert company_number(pd.Series([given])).tolist() == [expected]


@pytest.mark.parametrize(
    ("org_identifier", "charity", "company", "expected"),
    [
        ("GB-COH-6227377", "", "", "GB-COH-06227377"),
        ("", "", "6227377", "GB-COH-06227377"),
        ("gb-coh-06227377", "", "", "GB-COH-06227377"),
        ("", "1143789", "7661145", "GB-CHC-1143789"),  # a charity number comes first
        ("GB-CHC-1143789", "", "", "GB-CHC-1143789"),
        ("", "SC 036 733", "", "GB-SC-SC036733"),
        ("GB-SC-SCO22150", "", "", "GB-SC-SC022150"),
        ("GB-CHC-SC035154", "", "", "GB-SC-SC035154"),
        ("", "NIC100859", "", "GB-NIC-100859"),
        ("GB-NIC-NIC100859", "", "", "GB-NIC-100859"),
        ("GB-COH-IP1004137", "1004137", "", "GB-COH-IP1004137"),  # a given org-id wins
        ("GB-COH-", "276892", "", "GB-CHC-276892"),  # a bare prefix is no identifier
        ("GB-REV", "", "", ""),
        ("DUMMY01", "1091001", "", "GB-CHC-1091001"),
        ("360G-wolfson:org-6780", "", "", ""),
        ("", "0", "0", ""),
        ("", "N/A", "none", ""),
        ("", "-", "TBC", ""),
        ("", "GB-CHC-1091001", "", "GB-CHC-1091001"),
    ],
)
def test_one_normaliser_builds_every_org_id(
    org_identifier: str, charity: str, company: str, expected: str
) -> None:
    built = org_id(pd.Series([org_identifier]), pd.Series([charity]), pd.Series([company]))
    assert built.tolist() == [expected]


def test_placeholder_company_numbers_never_merge_suppliers(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "firms.csv"
    path.write_text(
        "supplier_name,company_number,postcode\n"
        "Able & Co Solicitors,0,OX1 1DP\n"
        "Baker Law LLP,0,CF10 1EP\n"
        "Carter Legal,00000000,EH1 1YZ\n"
        "Dawson Partners,N/A,OX1 1DP\n"
    )
    report = run_import(registry, suppliers.SPEC, path)
    assert (report.stored, report.rejected) == (4, 0)
    with registry.connect() as conn:
        keys = conn.execute(
            text(
                "SELECT natural_key, company_number FROM organisation"
                " WHERE kind = 'supplier' ORDER BY natural_key"
            )
        ).all()
    assert [key for key, _ in keys] == [
        "name:able and co solicitors",
        "name:baker law",
        "name:carter legal",
        "name:dawson partners",
    ]
    assert {number for _, number in keys} == {None}


def test_placeholder_charity_numbers_never_merge_providers(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "charities.csv"
    path.write_text(
        "name,provider_name,charity_number,company_number,postcode\n"
        "Lunch club,Eastside Elders,0,0,OX1 1DP\n"
        "Homework club,Westside Learning,N/A,0,OX1 1DP\n"
        "Coffee morning,Northside Friends,-,00000000,OX1 1DP\n"
        "Book club,Southside Readers,n/a,N/A,OX1 1DP\n"
        "Chess club,Upton Players,TBC,n/a,OX1 1DP\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert report.stored == 5
    with registry.connect() as conn:
        numbers = conn.execute(
            text("SELECT charity_number, company_number FROM organisation")
        ).all()
    assert len(numbers) == 5
    assert set(numbers) == {(None, None)}


def test_the_organisations_and_grants_files_key_each_body_alike(
    registry: Engine, data_dir: Path
) -> None:
    """The shared recipients file and the grants it was built from name the same 2,208
    recipients: importing the grants after it adds no organisation and leaves none unused."""
    folder = data_dir / "activities"
    run_import(registry, activities.SPEC, folder / "activity_organisations.csv")
    alone = _count(registry, "organisation")
    grants = run_import(registry, activities.SPEC, folder / "raw" / "grants_360giving_flat.csv")
    assert grants.stored == 0
    assert _count(registry, "organisation") == alone
    with registry.connect() as conn:
        unused = conn.execute(
            text(
                "SELECT count(*) FROM organisation o WHERE NOT EXISTS"
                " (SELECT 1 FROM activity a WHERE a.provider_id = o.id)"
            )
        ).scalar_one()
        padded = conn.execute(
            text(
                "SELECT count(*) FROM organisation WHERE natural_key = 'GB-COH-06227377'"
                " OR natural_key = 'GB-COH-6227377'"
            )
        ).scalar_one()
    assert unused == 0
    assert padded <= 1


# -- the errors file ----------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env", "registry")
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/errors.csv", "does not exist"),
        ("a_folder", "is a folder"),
        ("a_file.txt/errors.csv", "is not a folder"),
    ],
    ids=["missing folder", "a folder", "under a file"],
)
def test_an_unusable_errors_path_is_refused_before_anything_is_imported(
    engine: Engine, tmp_path: Path, where: str, message: str
) -> None:
    source = tmp_path / "clubs.csv"
    source.write_text("name,postcode\nYouth club,OX1 1DP\nBroken,QQ1 1AA\n")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file.txt").write_text("not a folder")
    errors = tmp_path / where
    code, _, err = _invoke("import", "activities", str(source), "--errors", str(errors))
    assert code == 2, err
    said = " ".join(err.split())
    assert message in said and "--errors" in said
    assert str(errors) in err.replace("\n", "")
    assert _count(engine, "activity") == 0


@pytest.mark.usefixtures("cli_env", "registry")
def test_a_failed_errors_file_rolls_the_import_back(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "clubs.csv"
    source.write_text("name,postcode\nYouth club,OX1 1DP\nBroken,QQ1 1AA\n")
    errors = tmp_path / "problems.csv"
    errors.write_text("an older errors file\n")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    code, _, err = _invoke("import", "activities", str(source), "--errors", str(errors))
    assert code == 2, err
    said = " ".join(err.split())
    assert "No space left on device" in said and "nothing was imported" in said
    assert _count(engine, "activity") == 0
    assert errors.read_text() == "an older errors file\n"  # never half-written
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- ragged rows and control characters ---------------------------------------------------


def test_a_trailing_comma_on_every_row_shifts_nothing(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("name,postcode,funding_gap\nYouth club,OX1 1DP,500,\nFood bank,CF10 1EP,,\n")
    report = run_import(registry, activities.SPEC, path)
    assert (report.stored, report.rejected) == (2, 0), report.errors
    with registry.connect() as conn:
        rows = conn.execute(text("SELECT name, postcode FROM activity"))
        stored = {str(name): str(postcode) for name, postcode in rows}
    assert stored == {"Youth club": "OX1 1DP", "Food bank": "CF10 1EP"}


def test_rows_with_more_fields_than_the_header_are_rejected_alone(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "name,postcode\n"
        "Smith, Jones and Co,OX1 1DP\n"  # an unquoted comma in the name
        "Youth club,OX1 1DP\n"
        "Food bank,CF10 1EP,extra,more\n"
        "Walking group,EH1 1YZ\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert (report.rows, report.stored, report.rejected) == (4, 2, 2)
    errors = report.errors.set_index("row")
    assert errors.loc[2, "reason"] == "row 2 has 3 fields, the header has 2"
    assert errors.loc[4, "reason"] == "row 4 has 4 fields, the header has 2"
    with registry.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM activity")).scalars())
    assert names == {"Youth club", "Walking group"}


def test_nul_and_control_characters_reject_their_row_with_a_reason(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "control.csv"
    path.write_bytes(
        b"name,description,postcode\n"
        b"Youth\x00club,Games,OX1 1DP\n"
        b"Food bank,Parcels\x1b[31m,CF10 1EP\n"
        b'Walking group,"Multi-line\r\nis fine",EH1 1YZ\n'
        b"Lunch club,Tab\tis fine,OX1 1DP\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert (report.stored, report.rejected) == (2, 2), report.errors
    errors = report.errors.set_index("row")
    assert "control character" in errors.loc[2, "reason"]
    assert "U+0000" in errors.loc[2, "reason"]
    assert errors.loc[2, "column"] == "name"
    assert errors.loc[2, "value"] == "Youth\\x00club"  # shown, never written raw
    assert "U+001B" in errors.loc[3, "reason"]


def test_a_control_character_through_the_api_is_a_clear_refusal(
    registry: Engine, app_database_url: str
) -> None:
    with registry.begin() as conn:
        with pytest.raises(InvalidInputError, match="control character"):
            register_activity(conn, {"name": "Youth\x00club", "postcode": "OX1 1DP"}, "test")
        organisation = create_organisation(conn, "provider", "Control Character Trust")
        user = create_user(
            conn,
            "control@example.org",
            "control",
            "a long enough password",
            organisation,
            "provider",
        )
    secret = "test-signing-key-not-for-production-0123456789"
    api = create_app(Settings(database_url=app_database_url, secret_key=secret, map_tiles="none"))
    headers = {"Authorization": f"Bearer {tokens.issue(user, secret, 30)}"}
    with TestClient(api) as client:
        response = client.post(
            "/activities", json={"name": "Youth\u0000club", "postcode": "OX1 1DP"}, headers=headers
        )
    assert 400 <= response.status_code < 500, response.text
    assert "control character" in response.text
    assert _count(registry, "activity") == 0


# -- bad optional values ------------------------------------------------------------------


def test_a_junk_link_or_unknown_theme_is_dropped_not_the_row(
    registry: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "optional.csv"
    path.write_text(
        "name,postcode,themes,evidence\n"
        "Youth club,OX1 1DP,youth;knitting,https://a.example.org ftp:/nowhere\n"
        "Food bank,CF10 1EP,knitting,\n"
        "Walking group,EH1 1YZ,,not a link\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert (report.stored, report.rejected) == (3, 0)
    warnings = report.errors.set_index("row")
    assert warnings["outcome"].unique().tolist() == ["value dropped, row imported"]
    first = warnings.loc[2].set_index("column")["reason"]
    assert "unknown themes knitting" in first["themes"]
    assert "'ftp:/nowhere' is not a web address" in first["evidence"]
    assert "'not', 'a', 'link' are not web addresses" in warnings.loc[4, "reason"]
    with registry.connect() as conn:
        stored = {
            name: (themes, links)
            for name, themes, links in conn.execute(
                text("SELECT name, themes, evidence_links FROM activity")
            )
        }
    assert stored["Youth club"] == (["youth"], ["https://a.example.org"])
    assert stored["Food bank"][0] == ["food_poverty"]  # the classifier's, from the name
    assert stored["Walking group"][1] == []


@pytest.mark.usefixtures("cli_env", "registry")
def test_the_errors_file_says_what_happened_to_each_row(tmp_path: Path) -> None:
    source = tmp_path / "clubs.csv"
    source.write_text("name,postcode,themes\nYouth club,OX1 1DP,knitting\nBroken,QQ1 1AA,\n")
    errors = tmp_path / "problems.csv"
    code, out, err = _invoke("import", "activities", str(source), "--errors", str(errors))
    assert code == 0, err
    listed = pd.read_csv(errors)
    assert listed.columns.tolist() == ["row", "column", "value", "reason", "outcome"]
    assert listed["outcome"].tolist() == ["value dropped, row imported", "row rejected"]
    assert "1 stored" in out and "1 rejected" in out


# -- folded 360Giving recipients ----------------------------------------------------------


def test_every_grant_of_a_folded_recipient_is_listed(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "grants.csv"
    path.write_text(
        "Identifier,Title,Recipient Org:Identifier,Recipient Org:Name,"
        "Recipient Org:Postal Code,Amount Awarded,Award Date,Funding Org:Name\n"
        "G1,Kit,GB-CHC-1000001,Riverside Youth,QQ1 1AA,500,2021-04-01,A Fund\n"
        "G2,Trips,GB-CHC-1000002,Hilltop Food Aid,OX1 1DP,800,2021-05-01,A Fund\n"
        "G3,Coach,GB-CHC-1000001,Riverside Youth,QQ1 1AA,700,2022-04-01,B Fund\n"
        "G4,Rent,GB-CHC-1000001,Riverside Youth,,900,2023-04-01,B Fund\n"
    )
    report = run_import(registry, activities.SPEC, path)
    assert (report.layout, report.source_rows, report.rows) == ("360giving", 4, 2)
    assert (report.stored, report.rejected) == (1, 1)
    assert report.errors["row"].tolist() == [2, 4, 5]
    assert set(report.errors["column"]) == {"postcode"}
    assert set(report.errors["value"]) == {"QQ1 1AA"}


# -- workbooks ----------------------------------------------------------------------------


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Read me first"])
    notes.append(["This workbook lists our clubs on the second sheet."])
    clubs = book.create_sheet("Clubs")
    clubs.append(["Name", "Postcode"])
    clubs.append(["Walking group", "EH1 1YZ"])
    clubs.append(["Youth club", "OX1 1DP"])
    path = tmp_path / "clubs.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("sheet", ["Clubs", "clubs", "2"])
def test_a_workbook_sheet_is_chosen_by_name_or_number(
    registry: Engine, workbook: Path, sheet: str
) -> None:
    report = run_import(registry, activities.SPEC, workbook, sheet=sheet)
    assert (report.stored, report.rejected) == (2, 0)


def test_an_unknown_sheet_names_the_sheets_there_are(registry: Engine, workbook: Path) -> None:
    with pytest.raises(DataFileError, match=r"no sheet 'Club'.*1 'Notes', 2 'Clubs'"):
        run_import(registry, activities.SPEC, workbook, sheet="Club")
    with pytest.raises(DataFileError, match=r"no sheet '3'.*1 'Notes', 2 'Clubs'"):
        run_import(registry, activities.SPEC, workbook, sheet="3")
    # The first sheet by default: it has no name column.
    with pytest.raises(DataFileError, match="missing column"):
        run_import(registry, activities.SPEC, workbook)


def test_sheet_is_only_for_workbooks(registry: Engine, tmp_path: Path) -> None:
    path = tmp_path / "clubs.csv"
    path.write_text("name,postcode\nYouth club,OX1 1DP\n")
    with pytest.raises(InvalidInputError, match="--sheet applies to Excel workbooks"):
        run_import(registry, activities.SPEC, path, sheet="Clubs")


@pytest.mark.usefixtures("cli_env", "registry")
def test_the_sheet_option_on_the_command_line(workbook: Path) -> None:
    code, out, err = _invoke("import", "activities", str(workbook), "--sheet", "Clubs", "--json")
    assert code == 0, err
    assert json.loads(out)["stored"] == 2


def test_a_recipients_grant_titles_are_kept_distinct_and_capped() -> None:
    titles = pd.Series(
        ["Youth club", " Youth club ", "", None, *[f"Grant {i:04}" for i in range(500)]]
    )
    joined = grant_titles(titles)
    assert joined.startswith("Youth club; Grant 0000; Grant 0001")
    # Cut at a title boundary, never in the middle of one.
    assert len(joined) <= GRANT_TITLES_MAX and joined.split("; ")[-1].startswith("Grant ")
    assert len(joined.split("; ")[-1]) == len("Grant 0000")
