"""The registry commands: load postcodes, import, export, geocode, themes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from tests.test_registry_reads import add_site, import_rows, set_columns

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_env", "postcodes")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["import"],
        ["import", "activities"],
        ["import", "suppliers"],
        ["export", "activities"],
        ["geocode"],
        ["load", "postcodes"],
        ["load", "activities"],
        ["load", "suppliers"],
        ["activities", "themes"],
        ["activities", "assess"],
        ["activities", "show"],
    ],
    ids=lambda c: " ".join(c),
)
def test_every_registry_command_explains_itself(command: list[str]) -> None:
    code, out, _ = _run(*command, "--help")
    assert code == 0 and "Usage" in out


def test_geocode_keeps_every_row_in_order(tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    source.write_text(
        "ref,postcode,note\n"
        "a,ox11dp,exact\n"
        "b,QQ1 1AA,impossible\n"
        "c,E1W 9ZZ,sector\n"
        "d,,empty\n"
        "e, cf10 1ep ,spaces\n"
    )
    out_path = tmp_path / "placed.csv"
    code, _, err = _run("geocode", str(source), "-o", str(out_path))
    assert code == 0
    assert "5 rows: 3 placed, 2 with an error" in err
    placed = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert placed.columns.tolist() == [
        "ref",
        "postcode",
        "note",
        "lat",
        "lon",
        "precision",
        "territory_code",
        "need_area_code",
        "territory_share",
        "ambiguous",
        "postcode_from_address",
        "error",
    ]
    assert placed["ref"].tolist() == ["a", "b", "c", "d", "e"]
    assert placed["precision"].tolist() == ["postcode", "", "sector", "", "postcode"]
    assert placed["territory_code"].tolist() == ["E23000029", "", "E23000001", "", "W15000003"]
    assert "cannot start with 'Q'" in placed.loc[1, "error"]


def test_geocode_by_coordinates_as_json(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("latitude,longitude\n54.5964,-5.9301\n48.85,2.35\n")
    code, out, _ = _run(
        "geocode", str(source), "--lat-column", "latitude", "--lon-column", "longitude", "--json"
    )
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["territory_code"] == "N23000001" and rows[0]["precision"] == "coordinates"
    assert "outside the UK" in rows[1]["error"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"name,place\nx,y\n", "needs a 'postcode' column"),
        ("postcode\nCaf\xe9\n".encode("cp1252"), "--encoding cp1252"),
    ],
)
def test_geocode_refuses_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    code, _, err = _run("geocode", str(source))
    assert code == 2
    assert message in err


@pytest.mark.usefixtures("registry")
def test_import_reports_and_writes_the_errors_file(tmp_path: Path) -> None:
    source = tmp_path / "clubs.csv"
    source.write_text("name,postcode\nYouth club,OX1 1DP\nBroken,QQ1 1AA\n")
    errors = tmp_path / "problems.csv"
    code, out, _ = _run("import", "activities", str(source), "--errors", str(errors), "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["stored"], summary["rejected"]) == (1, 1)
    listed = pd.read_csv(errors)
    assert listed.columns.tolist() == ["row", "column", "value", "reason", "outcome"]
    assert listed.iloc[0]["row"] == 3


@pytest.mark.usefixtures("registry")
def test_import_with_a_mapping_then_export_and_override_themes(tmp_path: Path) -> None:
    source = tmp_path / "clubs.csv"
    source.write_text("Project,Where\nYouth club,OX1 1DP\n")
    code, out, _ = _run(
        "import", "activities", str(source), "--map", "name=Project", "--map", "postcode=Where"
    )
    assert code == 0 and "1 stored" in out
    code, _, err = _run("import", "activities", str(source), "--map", "name")
    assert code == 2 and "use field=column" in err

    exported = tmp_path / "services.json"
    code, _, _ = _run("export", "activities", "-o", str(exported))
    assert code == 0
    service = json.loads(exported.read_text())["contents"][0]
    assert service["name"] == "Youth club"
    assert "Open Government Licence" not in service  # attribution sits on the document

    code, out, _ = _run("activities", "themes", "999999", "youth")
    assert code == 2
    code, out, err = _run("activities", "themes", "1", "knitting")
    assert code == 2


@pytest.mark.usefixtures("registry")
def test_territories_count_activities_and_supplier_sites(tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    source.write_text("supplier_name,postcode\nAcme Ltd,OX1 1DP\nAcme Limited,OX1 1DP\n")
    result = runner.invoke(app, ["import", "suppliers", str(source)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "1 stored" in result.stdout and "1 merged" in result.stdout
    _, out, _ = _run("territories", "--json")
    thames = next(row for row in json.loads(out) if row["code"] == "E23000029")
    assert thames["supplier_sites"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "activities", "--territory", "E99999999"], "unknown territory 'E99999999'"),
        (["export", "activities", "-o", "/no/such/folder/out.json"], "does not exist"),
        (["export", "activities", "--format", "xml"], "unknown export format 'xml'"),
        (["activities", "show", "999999"], "no activity with id 999999"),
        (["activities", "assess", "--activity", "999999"], "no activity with id 999999"),
        (["geocode", "{dup}"], "postcode appear twice in the header"),
        (["geocode", "{ok}", "-o", "/no/such/folder/out.csv"], "does not exist"),
        (["geocode", "{ok}", "--encoding", "klingon"], "'klingon' is not a text encoding"),
        (["activities", "update", "1", "--funding-gap", "nan"], "funding gap (£) must be"),
        (["activities", "update", "1", "--funding-gap", "inf"], "funding gap (£) must be"),
        (["activities", "update", "1", "--people-reached", "99999999999"], "people reached"),
    ],
)
def test_bad_options_are_named_not_tracebacks(
    tmp_path: Path, args: list[str], message: str
) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("postcode,postcode\nOX1 1DP,OX1 1DP\n")
    ok = tmp_path / "ok.csv"
    ok.write_text("postcode\nOX1 1DP\n")
    code, _, err = _run(*[a.format(dup=dup, ok=ok) for a in args])
    assert code == 2, err
    assert message in err


def _placed(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_geocode_never_overwrites_input_columns(tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    source.write_text(
        "ref,postcode,lat,lon,territory_code,error\n"
        "a,OX1 1DP,,,mine,keep me\n"
        "b,CF10 1EP,51.4816,-3.1791,,\n"
    )
    out_path = tmp_path / "placed.csv"
    code, _, err = _run("geocode", str(source), "-o", str(out_path))
    assert code == 0, err
    assert "lat_geocoded" in err and "territory_code_geocoded" in err
    placed = _placed(out_path)
    assert placed.columns.tolist() == [
        "ref",
        "postcode",
        "lat",
        "lon",
        "territory_code",
        "error",
        "lat_geocoded",
        "lon_geocoded",
        "precision",
        "territory_code_geocoded",
        "need_area_code",
        "territory_share",
        "ambiguous",
        "postcode_from_address",
        "error_geocoded",
    ]
    assert placed["territory_code"].tolist() == ["mine", ""]
    assert placed["error"].tolist() == ["keep me", ""]
    assert placed["lat"].tolist() == ["", "51.4816"]
    assert placed["territory_code_geocoded"].tolist() == ["E23000029", "W15000003"]
    assert placed["precision"].tolist() == ["postcode", "coordinates"]
    assert placed["error_geocoded"].tolist() == ["", ""]

    code, _, err = _run("geocode", str(source), "-o", str(out_path), "--suffix", "_di")
    assert code == 0, err
    assert {"lat_di", "territory_code_di", "error_di"} <= set(_placed(out_path).columns)


def test_geocode_refuses_when_the_suffixed_name_is_taken_too(tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    source.write_text("postcode,error,error_geocoded\nOX1 1DP,x,y\n")
    code, _, err = _run("geocode", str(source))
    assert code == 2
    assert "error_geocoded" in err and "--suffix" in err


def test_geocode_takes_postcodes_from_the_address_column(tmp_path: Path) -> None:
    source = tmp_path / "suppliers.csv"
    source.write_text(
        "name,postcode,address\n"
        '1 Oak Group Limited,,"Sudbury Business Centre, Milner Road, Sudbury, Suffolk, '
        'United Kingdom, CO10 2XG"\n'
        "Club,OX1 1DP,\n"
        "Nowhere,,Somewhere without a postcode\n"
    )
    out_path = tmp_path / "placed.csv"
    code, _, err = _run("geocode", str(source), "-o", str(out_path))
    assert code == 0, err
    assert "1 postcode taken from the address" in err
    placed = _placed(out_path)
    assert placed["postcode_from_address"].tolist() == ["CO10 2XG", "", ""]
    assert placed["precision"].tolist() == ["postcode", "postcode", ""]
    assert placed["error"].tolist()[:2] == ["", ""]
    assert placed["ambiguous"].tolist() == ["false", "false", ""]
    code, _, err = _run("geocode", str(source), "--address-column", "street")
    assert code == 2
    assert "no column 'street' (--address-column)" in err


# Export: every activity by default, each saying how far it can be trusted.
EXPORTED = {
    "eligibility",
    "eligibility_categories",
    "eligibility_reason",
    "verification",
    "delivery_site_count",
    "provider_key",
    "source_key",
}


@pytest.fixture
def club_and_castle(registry: Engine, tmp_path: Path) -> dict[str, int]:
    """An eligible youth club with a delivery site, and an ineligible castle (set with SQL,
    not by the rules)."""
    ids = import_rows(
        registry,
        tmp_path,
        "Cowley Youth Club,OX4 1AA,youth;crime_prevention\n"
        "Oxford Castle restoration,OX1 1DP,arts_culture\n",
        header="name,postcode,themes",
    )
    set_columns(
        registry,
        ids["Cowley Youth Club"],
        eligibility="eligible",
        eligibility_categories=["youth_diversion", "family_support"],
        eligibility_reason=None,
    )
    set_columns(
        registry,
        ids["Oxford Castle restoration"],
        eligibility="ineligible",
        eligibility_categories=[],
        eligibility_reason="heritage building",
        eligibility_source="decision",
    )
    add_site(registry, ids["Cowley Youth Club"], "OX4 1BB")
    return ids


def test_export_lists_every_activity_with_its_trust(
    club_and_castle: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "activities.csv"
    code, _, err = _run("export", "activities", "--format", "csv", "-o", str(out))
    assert code == 0, err
    rows = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("name")
    assert set(rows.columns) >= EXPORTED
    club, castle = rows.loc["Cowley Youth Club"], rows.loc["Oxford Castle restoration"]
    # Lists are one ";"-separated cell, as the importer reads them back.
    assert club["eligibility_categories"] == "youth_diversion;family_support"
    assert club["themes"] == "youth;crime_prevention"
    assert (club["verification"], club["delivery_site_count"]) == ("listed", "1")
    assert (castle["eligibility"], castle["eligibility_reason"]) == (
        "ineligible",
        "heritage building",
    )

    code, out_text, _ = _run("export", "activities", "--format", "csv", "--trusted-only")
    assert code == 0
    trusted = pd.read_csv(io.StringIO(out_text), dtype=str)
    assert trusted["name"].tolist() == ["Cowley Youth Club"]

    code, out_text, _ = _run("export", "activities", "--format", "json")
    assert code == 0
    records = {r["name"]: r for r in json.loads(out_text)}
    assert set(records) == {"Cowley Youth Club", "Oxford Castle restoration"}
    assert set(records["Cowley Youth Club"]) >= EXPORTED
    assert records["Cowley Youth Club"]["eligibility_categories"] == [
        "youth_diversion",
        "family_support",
    ]
    assert records["Cowley Youth Club"]["delivery_site_count"] == 1

    code, out_text, _ = _run("export", "activities")
    assert code == 0
    services = {s["name"]: s for s in json.loads(out_text)["contents"]}
    extra = services["Cowley Youth Club"]["x_dualimpact"]
    assert (extra["eligibility"], extra["verification"], extra["delivery_site_count"]) == (
        "eligible",
        "listed",
        1,
    )
    assert services["Oxford Castle restoration"]["x_dualimpact"]["eligibility_reason"] == (
        "heritage building"
    )
    categories = [
        a["taxonomy_term"]["code"]
        for a in services["Cowley Youth Club"]["attributes"]
        if a["taxonomy_term"]["vocabulary"] == "dualimpact-categories"
    ]
    assert categories == ["youth_diversion", "family_support"]


def test_assess_runs_the_rules_again_and_counts(
    registry: Engine, club_and_castle: dict[str, int]
) -> None:
    """Depends on the eligibility rules (registry.eligibility): a youth club is eligible."""
    club = club_and_castle["Cowley Youth Club"]
    set_columns(registry, club, eligibility="needs_review", eligibility_categories=[])
    code, out, err = _run("activities", "assess")
    assert code == 0, err
    assert "1 activity assessed by the rules: 1 eligible, 0 ineligible, 0 need review" in out
    with registry.connect() as conn:
        stored: dict[str, str] = dict(
            conn.execute(text("SELECT name, eligibility FROM activity")).all()
        )
    # The castle was decided by a person: kept, and not counted.
    assert stored == {
        "Cowley Youth Club": "eligible",
        "Oxford Castle restoration": "ineligible",
    }
    code, out, _ = _run("activities", "assess", "--activity", str(club), "--json")
    assert code == 0
    assert json.loads(out) == {"eligible": 1, "ineligible": 0, "needs_review": 0}


def test_show_says_in_plain_words_how_far_an_activity_can_be_trusted(
    registry: Engine, club_and_castle: dict[str, int]
) -> None:
    club = club_and_castle["Cowley Youth Club"]
    with registry.begin() as conn:
        conn.execute(
            text(
                "UPDATE activity SET verification = 'verified', verified_at = now(),"
                " evidence_level = 3 WHERE id = :id"
            ),
            {"id": club},
        )
    code, out, err = _run("activities", "show", str(club))
    assert code == 0, err
    assert "Youth diversion, Family support (by the rules)" in out
    assert "evidence level 3 of 5" in out
    assert "within the 3-year lapse period" in out
    assert "Delivery sites: 1" in out
    assert "Trusted: yes" in out

    code, out, _ = _run("activities", "show", str(club_and_castle["Oxford Castle restoration"]))
    assert code == 0
    assert "heritage building (by a person's decision)" in out
    assert "Last heard of: never" in out
    assert "Delivery sites: none recorded" in out
    assert "Trusted: no" in out


@pytest.mark.parametrize("file_format", ["oruk", "csv", "json"])
def test_no_export_carries_a_safeguarded_place(
    registry: Engine, tmp_path: Path, file_format: str
) -> None:
    import_rows(
        registry,
        tmp_path,
        "Haven,Refuge for women escaping domestic abuse,OX1 1DP,1 Secret Street\n",
        header="name,description,postcode,address",
    )
    code, out, err = _run("export", "activities", "--format", file_format)
    assert code == 0, err
    assert "Haven" in out
    for secret in ("OX1 1DP", "1DP", "Secret Street", "51.749", "-1.256"):
        assert secret not in out
