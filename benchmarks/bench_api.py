"""API load on loopback: ``GET /activities/nearby`` and ``GET /register`` under wrk.

Workload: a throwaway copy of the configured database (``CREATE DATABASE ... TEMPLATE``,
so the real data is loaded and nothing is written to the real database), plus clearly-
labelled synthetic procurement: 300 tenders, each awarded to one synthetic supplier's SPO
with two delivery claims (synthetic funding gaps are set on the copy's activities so SPOs
can be committed). The app runs in 2 uvicorn workers; wrk sends a fixed 10 s of requests
over 8 connections, nearby rotating through 200 real postcodes.

Baselines, in the same server: ``/baseline/nearby`` computes every activity's distance and
filters afterwards (no index), ``/baseline/register`` reads the same page of 50 SPOs'
commitments and delivery with one query per SPO (N+1).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pandas as pd
from fastapi import FastAPI
from sqlalchemy import Connection, text

from accounts.users import create_organisation, create_user, get_user
from api.app import create_app
from api.deps import ReadConn
from benchmarks.common import Comparison, Timing, connection, console, database_copy
from boundaries import repository
from boundaries.gazetteer import gazetteer_for
from geo.geocode import Geocoder
from geo.settings import Settings
from matching.need import NeedIndex
from procurement import delivery, spo_queries, spos, tenders

TENDERS = 300
SECONDS = 10
CONNECTIONS = 8
BENCH_DB_ENV = "DUALIMPACT_BENCH_API_URL"
LABEL = "[synthetic benchmark]"


def bench_app() -> FastAPI:
    """The real app plus the two naive baselines (for this benchmark only)."""
    app = create_app(Settings(database_url=os.environ[BENCH_DB_ENV]))

    @app.get("/baseline/nearby", include_in_schema=False)
    def naive_nearby(conn: ReadConn, postcode: str, radius_km: float = 5.0) -> Any:
        place = conn.execute(
            text("SELECT lon, lat FROM postcode_unit WHERE postcode = :p"), {"p": postcode}
        ).one()
        frame = pd.read_sql(
            text(
                "SELECT a.*, ST_Y(a.geom) AS lat, ST_X(a.geom) AS lon, ST_Distance(a.geom::"
                "geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d"
                " FROM activity a"
            ),
            conn,
            params={"lon": place.lon, "lat": place.lat},
        )
        near = frame[frame["d"] <= radius_km * 1000].sort_values("d").head(50)
        return {"features": near[["id", "name", "lat", "lon", "d"]].to_dict("records")}

    @app.get("/baseline/register", include_in_schema=False)
    def naive_register(conn: ReadConn) -> Any:
        out = []
        for spo in conn.execute(
            text(
                "SELECT id, supplier_id FROM spo WHERE status IN ('awarded', 'delivering')"
                " ORDER BY awarded_at DESC, id LIMIT 50"
            )
        ).mappings():
            commitments = conn.execute(
                text("SELECT id, value_gbp FROM spo_commitment WHERE spo_id = :id"),
                {"id": spo["id"]},
            ).all()
            delivered = sum(
                conn.execute(
                    text(
                        "SELECT coalesce(sum(money_paid_gbp), 0) FROM spo_delivery"
                        " WHERE commitment_id = :c"
                    ),
                    {"c": c.id},
                ).scalar_one()
                for c in commitments
            )
            out.append(
                {
                    "spo": spo["id"],
                    "committed": sum(c.value_gbp for c in commitments),
                    "delivered": float(delivered),
                }
            )
        return {"spos": out}

    return app


def _seed(conn: Connection) -> None:
    """Synthetic buyers, suppliers and awarded SPOs on the copy (labelled as such)."""
    territory = "E23000029"
    conn.execute(text("UPDATE activity SET funding_gap = 1e6 WHERE funding_gap IS NULL"))
    buyer_org = create_organisation(
        conn, "buyer", f"Buyer {LABEL}", buyer_kind="police", territories=[territory]
    )
    lead = get_user(
        conn, create_user(conn, "lead@bench.invalid", "lead", "x" * 12, buyer_org, "buyer_lead")
    )
    activity_ids = conn.execute(
        text(
            "SELECT a.id, a.provider_id FROM activity_placed a"
            " WHERE a.territory_code = :t AND a.status <> 'closed' AND a.trusted"
            " ORDER BY a.id LIMIT 150"
        ),
        {"t": territory},
    ).all()
    need = NeedIndex.from_frame(repository.need_areas(conn))
    geocoder = Geocoder(gazetteer_for(conn, []), None)  # no delivery postcodes here
    start = date.today() + timedelta(days=60)
    for i in range(TENDERS):
        supplier_org = create_organisation(conn, "supplier", f"Supplier {i} {LABEL}")
        supplier = get_user(
            conn, create_user(conn, f"s{i}@bench.invalid", "s", "x" * 12, supplier_org, "supplier")
        )
        spec = tenders.TenderSpec(
            title=f"Contract {i} {LABEL}",
            territory_code=territory,
            contract_value_gbp=1e6,
            social_value_weighting_pct=10,
            outcomes=[],
            bid_deadline=datetime.now(UTC) + timedelta(days=30),
            contract_start=start,
        )
        tender = tenders.open_tender(conn, lead, spec, geocoder)
        picked = [
            activity_ids[(2 * i) % len(activity_ids)],
            activity_ids[(2 * i + 1) % len(activity_ids)],
        ]
        spo = spos.draft(
            conn,
            supplier,
            tender,
            f"SPO {i} {LABEL}",
            [
                spos.CommitmentSpec(
                    a.id,
                    "money",
                    1_000,
                    "Funding for the programme",
                    "Oxford",
                    "Local young people",
                    start + timedelta(days=200),
                )
                for a in picked
            ],
        )
        spos.submit(conn, supplier, spo)
        spos.score(conn, lead, spo, need)
        spos.award(conn, lead, spo)
        for c in spo_queries.commitments_of(conn, [spo]):
            delivery.claim(conn, supplier, c["id"], money_paid_gbp=400)


class Load(NamedTuple):
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def _wrk(url: str, script: Path | None) -> Load:
    """Requests per second, p50 and p99 latency (ms), requests completed."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def ms(pct: str) -> float:
        value, unit = re.search(rf"{pct}%\s+([\d.]+)(\w+)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Load(rps, ms("50"), ms("99"), requests)


def _rotation(postcodes: list[str], path: str, directory: Path) -> Path:
    script = directory / f"{path.strip('/').replace('/', '_')}.lua"
    listed = ", ".join(f'"{p.replace(" ", "%20")}"' for p in postcodes)
    script.write_text(
        f"local postcodes = {{{listed}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #postcodes + 1\n"
        f'  return wrk.format("GET", "{path}?radius_km=3&postcode=" .. postcodes[i])\nend\n'
    )
    return script


def _comparison(path: str, baseline_label: str, ours: Load, naive: Load) -> Comparison:
    """One endpoint's row: the seconds ours' request count takes at each side's rate."""
    note = (
        f"{ours.rps:,.0f} requests/s, p50 {ours.p50_ms:.1f} ms, p99 "
        f"{ours.p99_ms:.1f} ms (target: 500/s at p99 < 50 ms); baseline "
        f"{naive.rps:,.0f} requests/s, p99 {naive.p99_ms:.1f} ms. "
        f"{TENDERS} synthetic awarded SPOs on a throwaway copy of the database"
    )
    return Comparison(
        f"API GET {path} under load (wrk, {CONNECTIONS} connections)",
        ours.requests,
        "requests",
        Timing("the endpoint", ours.requests / ours.rps),
        Timing(baseline_label, ours.requests / naive.rps),
        note,
    )


def run(settings: Settings) -> list[Comparison]:
    if shutil.which("wrk") is None:
        console.print("[yellow]API load skipped: wrk is not installed (apt-get install wrk).[/]")
        return []
    with database_copy(settings, "api") as url:
        return [] if url is None else _measure(url)


def _measure(url: str) -> list[Comparison]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = None
    try:
        with connection(url) as conn, conn.begin():
            _seed(conn)
            postcodes = list(
                conn.execute(
                    text(
                        "SELECT p.postcode FROM postcode_unit p"
                        " JOIN territory t ON t.id = p.territory_id WHERE t.code = 'E23000029'"
                        " ORDER BY md5(p.postcode) LIMIT 200"
                    )
                ).scalars()
            )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.bench_api:bench_app",
                "--factory",
                "--port",
                str(port),
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            env={**os.environ, BENCH_DB_ENV: url},
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        rows = []
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch)
            for path, baseline, baseline_label, rotate in (
                ("/activities/nearby", "/baseline/nearby", "naive full scan", True),
                ("/register", "/baseline/register", "naive N+1 queries", False),
            ):
                ours_script = _rotation(postcodes, path, directory) if rotate else None
                base_script = _rotation(postcodes, baseline, directory) if rotate else None
                _wrk(f"{base}{path}", ours_script)  # warm up both workers
                ours = _wrk(f"{base}{path}", ours_script)
                naive = _wrk(f"{base}{baseline}", base_script)
                rows.append(_comparison(path, baseline_label, ours, naive))
        return rows
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
