"""Matching against PostGIS: index-assisted candidates, territory rules, profiles, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from cli.main import app
from matching import queries
from matching.profiles import STANDARD
from registry import activities
from registry.importer import run_import

BANBURY = queries.Origin("OX16 5AA", 52.0594, -1.3390)


@pytest.fixture
def placed(registry: Engine, tmp_path: Path) -> Engine:
    """Four activities around Banbury (Thames Valley); one across the county line."""
    path = tmp_path / "activities.csv"
    path.write_text(
        "name,postcode,themes,funding_gap,annual_running_cost\n"
        "Banbury youth club,OX16 5AA,youth,5000,20000\n"
        "Banbury food bank,OX16 9AA,food_poverty,,\n"
        "Bicester mentoring,OX26 6AA,youth,,\n"
        "Brackley boxing,NN13 7AA,youth,,\n"  # nearer than Bicester, but Northamptonshire
    )
    report = run_import(registry, activities.SPEC, path)
    assert report.stored == 4
    with registry.begin() as conn:
        # A community team's decision (the rules may not know boxing is youth work).
        conn.execute(
            text(
                "UPDATE activity SET eligibility = 'eligible', eligibility_source = 'decision',"
                " eligibility_categories = '{youth_diversion}', eligibility_reason = NULL"
            )
        )
        conn.execute(text("ANALYZE activity"))
    return registry


def test_candidates_come_nearest_first_and_only_from_the_territory(placed: Engine) -> None:
    with placed.connect() as conn:
        found = queries.candidates(conn, [BANBURY], "E23000029", per_origin=10, cutoff_m=50_000)
    assert "Brackley boxing" not in set(found["name"])
    assert found["distance_m"].is_monotonic_increasing
    assert found["name"].tolist()[-1] == "Bicester mentoring"
    with placed.connect() as conn:
        north = queries.candidates(conn, [BANBURY], "E23000022", per_origin=10, cutoff_m=50_000)
    assert north["name"].tolist() == ["Brackley boxing"]


def test_candidates_respect_the_cut_off(placed: Engine) -> None:
    with placed.connect() as conn:
        found = queries.candidates(conn, [BANBURY], "E23000029", per_origin=10, cutoff_m=5_000)
    assert set(found["name"]) == {"Banbury youth club", "Banbury food bank"}
    assert (found["distance_m"] <= 5_000).all()


def _plan(conn: Connection, sql: str, params: dict) -> str:
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    rows = conn.execute(text(f"EXPLAIN {sql}"), params).scalars().all()
    return "\n".join(rows)


def test_the_lateral_query_walks_the_gist_index(placed: Engine) -> None:
    params = {
        "labels": ["a"],
        "lons": [BANBURY.lon],
        "lats": [BANBURY.lat],
        "per_origin": 10,
        "cutoff_m": 25_000,
        "outcomes": [],
        "include_all": False,
    }
    with placed.connect() as conn, conn.begin():
        params["territory_id"] = queries.territory_id(conn, "E23000029")
        plan = _plan(conn, queries.CANDIDATES_SQL, params)
    assert "Index Scan using ix_activity_geog on activity" in plan
    assert "Order By: ((geom)::geography <->" in plan


def test_the_same_distance_as_a_plain_join_cannot_use_the_index(placed: Engine) -> None:
    naive = """
        SELECT o.label, a.id FROM unnest(CAST(:labels AS text[]), CAST(:lons AS float8[]),
             CAST(:lats AS float8[])) AS o(label, lon, lat)
        JOIN activity a ON true
        ORDER BY a.geom::geography <-> ST_SetSRID(ST_MakePoint(o.lon, o.lat), 4326)::geography
        LIMIT 10
    """
    params = {"labels": ["a"], "lons": [BANBURY.lon], "lats": [BANBURY.lat]}
    with placed.connect() as conn, conn.begin():
        plan = _plan(conn, naive, params)
    assert "Order By: ((geom)::geography <->" not in plan
    assert "Sort" in plan


def test_territory_profiles_override_the_standard_one(placed: Engine) -> None:
    with placed.begin() as conn:
        assert queries.profile_for(conn, "E23000029") == STANDARD
        queries.save_profile(conn, "E23000029", STANDARD.with_weights(need=0.9))
        saved = queries.profile_for(conn, "E23000029")
        assert saved.weights["need"] == 0.9
        assert queries.profile_for(conn, "E23000022") == STANDARD
        queries.reset_profile(conn, "E23000029")
        assert queries.profile_for(conn, "E23000029") == STANDARD


runner = CliRunner()


@pytest.mark.usefixtures("cli_env")
def test_recommend_cli_ranks_and_explains(placed: Engine) -> None:
    result = runner.invoke(
        app, ["recommend", "--postcode", "ox16 5aa", "--outcomes", "youth", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["territory"] == "E23000029"
    names = [r["name"] for r in data["recommendations"]]
    assert names[0] == "Banbury youth club" and "Brackley boxing" not in names
    first = data["recommendations"][0]
    assert first["reason"].startswith("0 m from OX16 5AA") or "from OX16 5AA" in first["reason"]
    assert {"proximity", "need", "urgency", "theme_fit", "capacity_evidence"} <= set(first)


@pytest.mark.usefixtures("cli_env", "placed")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--postcode", "QQ1 1AA"], "cannot start with 'Q'"),
        (["--postcode", "ZZ9 9ZZ"], "cannot have 'Z' second"),
        (["--territory", "E99999999"], "unknown territory 'E99999999'"),
        (["--territory", "E23000029", "--outcomes", "knitting"], "unknown outcome(s) knitting"),
        (["--supplier", "999999"], "no supplier with id 999999"),
    ],
)
def test_recommend_cli_names_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["recommend", *args])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.usefixtures("cli_env", "placed")
def test_weights_cli_set_show_reset() -> None:
    assert (
        runner.invoke(
            app,
            ["weights", "set", "--territory", "E23000029", "--name", "TVP 2027", "--need", "0.6"],
        ).exit_code
        == 0
    )
    shown = json.loads(
        runner.invoke(app, ["weights", "show", "--territory", "E23000029", "--json"]).stdout
    )
    assert shown["name"] == "TVP 2027" and shown["weights"]["need"] > 0.4
    bad = runner.invoke(
        app, ["weights", "set", "--territory", "E23000029", "--name", "x", "--need", "-1"]
    )
    assert bad.exit_code == 2 and "zero or more" in bad.stderr
    assert runner.invoke(app, ["weights", "reset", "--territory", "E23000029"]).exit_code == 0


@pytest.mark.usefixtures("cli_env")
def test_impact_needs_reach_then_estimates_by_agency(placed: Engine) -> None:
    with placed.connect() as conn:
        club = conn.execute(
            text("SELECT id FROM activity WHERE name = 'Banbury youth club'")
        ).scalar_one()
    missing = runner.invoke(app, ["impact", "--activity", str(club)])
    assert missing.exit_code == 2 and "no people reached per year" in missing.stderr

    update = ["activities", "update", str(club), "--people-reached", "200"]
    assert runner.invoke(app, update).exit_code == 0
    result = runner.invoke(app, ["impact", "--activity", str(club), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["price_year"] == "2025/26" and "2.0%" in data["uprating"]
    assert data["assumptions"].startswith("illustrative default assumptions")
    total = data["total"]
    assert 0 < total["low"] <= total["central"] <= total["high"]
    assert sum(v["central"] for v in data["by_agency"].values()) == pytest.approx(total["central"])
    assert "Open Government Licence" in data["attribution"]


@pytest.mark.usefixtures("cli_env", "placed")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999", "--people-reached", "5"], "no activity with id 999999"),
        (["{id}", "--funding-gap", "-1"], "funding gap (£) must be zero or more"),
        (["{id}", "--status", "at_risk"], "needs a closing date"),
        (["{id}", "--status", "sleeping"], "must be active, at_risk or closed"),
    ],
)
def test_activity_updates_refuse_bad_values(placed: Engine, args: list[str], message: str) -> None:
    with placed.connect() as conn:
        club = conn.execute(
            text("SELECT id FROM activity WHERE name = 'Banbury food bank'")
        ).scalar_one()
    result = runner.invoke(app, ["activities", "update", *[a.format(id=club) for a in args]])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.usefixtures("cli_env")
def test_allocate_cli_shares_pledges_within_gaps_and_beats_greedy(
    placed: Engine, tmp_path: Path
) -> None:
    with placed.begin() as conn:
        conn.execute(
            text("UPDATE activity SET funding_gap = 8000 WHERE name = 'Bicester mentoring'")
        )
    pledges = tmp_path / "pledges.csv"
    pledges.write_text(
        'supplier,postcode,kind,amount\nAcme,OX16 9AA,money,"£6,000"\nBeta,OX26 6AA,hours,500\n'
    )
    result = runner.invoke(
        app, ["allocate", "--territory", "E23000029", "--pledges", str(pledges), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["activities_with_gap"] == 2  # youth club (5,000) and mentoring (8,000)
    flows = pd.DataFrame(data["flows"])
    assert (
        flows.groupby("activity")["amount_gbp"]
        .sum()
        .le(pd.Series({"Banbury youth club": 5_000.0, "Bicester mentoring": 8_000.0}) + 1e-6)
        .all()
    )
    assert (
        flows.groupby("pledge_id")["amount_gbp"]
        .sum()
        .le(pd.Series({2: 6_000.0, 3: 500 * 12.21}) + 1e-6)
        .all()
    )
    assert data["lp"]["impact"] >= data["greedy"]["impact"] - 1e-6


@pytest.mark.usefixtures("cli_env", "placed")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("supplier,postcode,kind\nA,OX16 9AA,money\n", "missing column(s): amount"),
        ("supplier,postcode,kind,amount\nA,OX16 9AA,money,lots\n", "amount 'lots' is not a number"),
        ("supplier,postcode,kind,amount\nA,QQ1 1AA,money,5\n", "row 2: outward code 'QQ1'"),
        ("supplier,postcode,kind,amount\nA,OX16 9AA,money,-5\n", "negative amount"),
    ],
)
def test_allocate_cli_names_bad_pledges(tmp_path: Path, content: str, message: str) -> None:
    pledges = tmp_path / "pledges.csv"
    pledges.write_text(content)
    result = runner.invoke(app, ["allocate", "--territory", "E23000029", "--pledges", str(pledges)])
    assert result.exit_code == 2
    assert message in result.stderr
