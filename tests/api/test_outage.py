"""Database outages under a running server: 503 with Retry-After and a body that says what
is down (JSON, or a page for a browser), then recovery without restarting the app.

The server here runs on its own throwaway PostgreSQL cluster (migrated, empty), which the
tests stop and start under it; the project's own cluster is never touched.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accounts import tokens
from api.app import create_app
from geo import migrate
from geo.db import CONNECT_TIMEOUT_S, ensure_database
from geo.localdb import LocalCluster
from geo.settings import Settings
from tests.api.helpers import SECRET, tender_body

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalCluster, str]]:
    """A throwaway cluster (as the project's own: ``initdb`` + ``pg_ctl``), migrated."""
    home = Path(tempfile.mkdtemp(prefix="dualimpact-outage-"))
    home.chmod(0o755)  # the cluster's owner (postgres, when run as root) must get in
    password = secrets.token_urlsafe(16)
    local = LocalCluster(home / "pgdata", _free_port(), password)
    try:
        local.start()
        url = f"postgresql+psycopg://postgres:{password}@127.0.0.1:{local.port}/dualimpact"
        ensure_database(url)
        migrate.upgrade(url)
        yield local, url
    finally:
        local.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def app(cluster: tuple[LocalCluster, str]) -> FastAPI:
    """The app over the throwaway cluster (``live_url`` serves it)."""
    return create_app(Settings(database_url=cluster[1], secret_key=SECRET, map_tiles="none"))


def _assert_unavailable(response: httpx.Response, content_type: str = "application/json") -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"].startswith(content_type)


def test_an_outage_answers_503_then_the_server_recovers(
    cluster: tuple[LocalCluster, str], live_url: str
) -> None:
    local, _ = cluster
    signed_in = {"Authorization": f"Bearer {tokens.issue(1, SECRET, 30)}"}
    with httpx.Client(base_url=live_url, timeout=30) as http:
        assert http.get("/health").json()["database"] == "ok"
        assert http.get("/tenders").status_code == 200

        local.stop()
        try:
            health = http.get("/health")
            _assert_unavailable(health)
            assert health.json()["status"] == "unavailable"
            assert health.json()["database"] == "unreachable"
            for path in ("/territories", "/tenders", "/register", "/coverage/territories"):
                response = http.get(path)
                _assert_unavailable(response)
                assert "database is unreachable" in response.json()["detail"]
                assert "127.0.0.1" not in response.text  # connection details stay in the log
            _assert_unavailable(http.post("/tenders", json=tender_body(), headers=signed_in))
            _assert_unavailable(http.post("/token", data={"username": "a@b.c", "password": "x"}))
            page = http.get("/territory/E23000029", headers={"Accept": BROWSER})
            _assert_unavailable(page, "text/html")
            assert "database is unreachable" in page.text
        finally:
            local.start()

        deadline = time.monotonic() + 30
        while (health := http.get("/health")).status_code != 200:
            _assert_unavailable(health)  # at most the connections lost in the outage fail
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.2)
        assert health.json()["database"] == "ok"
        assert http.get("/tenders").status_code == 200


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers, like a hung database."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_a_hung_database_gives_503_after_the_connect_timeout(silent_server: int) -> None:
    hung = create_app(
        Settings(
            database_url=f"postgresql://postgres@127.0.0.1:{silent_server}/dualimpact",
            secret_key=SECRET,
            map_tiles="none",
        )
    )
    answers: list[httpx.Response] = []

    def ask() -> None:
        with TestClient(hung) as client:
            answers.append(client.get("/health"))

    asking = threading.Thread(target=ask, daemon=True)
    started = time.monotonic()
    asking.start()
    asking.join(timeout=CONNECT_TIMEOUT_S * 3)
    assert answers, "the request hung on a database that never answers"
    _assert_unavailable(answers[0])
    assert time.monotonic() - started < CONNECT_TIMEOUT_S * 3
