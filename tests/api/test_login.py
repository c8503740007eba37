"""Signing in: failed attempts are throttled per account and per client (429 with
Retry-After), a lockout ends when its window passes, unknown and known emails cost the
same, every attempt is recorded, and a flood of sign-ins does not slow other requests.

Which client? The throttle keys on the connection's address (``request.client``), never on
an ``X-Forwarded-For`` header the app reads itself: a client could forge that header to
get a fresh allowance on every request. Behind a reverse proxy, uvicorn's proxy-headers
support (``FORWARDED_ALLOW_IPS``) sets the connection's address from the header that
trusted proxy sends, so the throttle sees real clients there too. Here each test client is
given its own address (``TestClient(app, client=(ip, port))``).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from accounts.users import create_organisation, create_user
from api.app import create_app
from geo.settings import Settings
from tests.api.helpers import PASSWORD, SECRET

PER_ACCOUNT, PER_CLIENT = 5, 12
WRONG = "not the password at all"
PEOPLE = ("victim", "records", "expiry", "timing", "flood", "busy")


def _app(database_url: str, **login: Any) -> FastAPI:
    """The app as the other API tests make it, with these sign-in settings."""
    offline = {"secret_key": SECRET, "map_tiles": "none"}
    return create_app(Settings(database_url=database_url, **offline, **login))


def email(person: str) -> str:
    return f"{person}@login-tests.example.org"


@pytest.fixture(scope="module")
def people(engine: Engine) -> dict[str, int]:
    """A provider organisation with one person per test (each test has its own account)."""
    with engine.begin() as conn:
        organisation = create_organisation(conn, "provider", "Sign-in Test Trust")
        return {
            person: create_user(conn, email(person), person, PASSWORD, organisation, "provider")
            for person in PEOPLE
        }


@pytest.fixture(scope="module")
def app(app_database_url: str) -> FastAPI:
    """The app under test (also served by ``live_url``), with small, long-lived limits."""
    return _app(
        app_database_url,
        login_failures_per_account=PER_ACCOUNT,
        login_failures_per_client=PER_CLIENT,
        login_window_seconds=600,
    )


@pytest.fixture(scope="module")
def short_window(app_database_url: str) -> Iterator[TestClient]:
    """Three failures lock an account for two seconds; one check at a time, no queue."""
    app = _app(
        app_database_url,
        login_failures_per_account=3,
        login_window_seconds=2,
        login_concurrency=1,
        login_queue=0,
    )
    with TestClient(app, client=("192.0.2.1", 40000)) as client:
        yield client


@pytest.fixture(scope="module")
def roomy(app_database_url: str) -> Iterator[TestClient]:
    """Limits high enough never to refuse: for timing the check itself."""
    app = _app(app_database_url, login_failures_per_account=1000, login_failures_per_client=1000)
    with TestClient(app, client=("192.0.2.2", 40000)) as client:
        yield client


def address(n: int, base: str = "10.20.0.0") -> str:
    return str(IPv4Address(base) + n)


def sign_in(app: FastAPI, who: str, password: str, ip: str, **headers: str) -> httpx.Response:
    """One attempt from the client at ``ip`` (the app's lifespan has run: see ``client``)."""
    client = TestClient(app, client=(ip, 40000))
    return client.post("/token", data={"username": who, "password": password}, headers=headers)


def assert_throttled(response: httpx.Response, window: int) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    assert "try again" in response.json()["detail"]
    return retry_after


@pytest.mark.parametrize("who", [email("victim"), "nobody-here@login-tests.example.org"])
def test_one_account_tried_from_many_clients_is_throttled(
    app: FastAPI, client: TestClient, people: dict[str, int], who: str
) -> None:
    """An account is locked after PER_ACCOUNT failures whatever address they come from,
    and a real account behaves exactly like an unknown one (no discovery by throttling)."""
    base = "10.30.0.0" if who == email("victim") else "10.40.0.0"
    statuses = []
    for n in range(200):
        response = sign_in(app, who, f"{WRONG} {n}", address(n, base))
        statuses.append(response.status_code)
        if n >= PER_ACCOUNT:
            assert_throttled(response, 600)
    assert statuses == [401] * PER_ACCOUNT + [429] * (200 - PER_ACCOUNT)
    # The right password is refused too while the account is locked.
    locked = sign_in(app, who, PASSWORD, address(250, base))
    assert_throttled(locked, 600)


def test_many_accounts_tried_from_one_client_are_throttled(
    app: FastAPI, client: TestClient, people: dict[str, int]
) -> None:
    """A client is stopped after PER_CLIENT failures whichever accounts it tries, and a
    forged X-Forwarded-For does not give it a fresh allowance; other clients are not."""
    statuses = []
    for n in range(200):
        response = sign_in(
            app,
            f"guess{n}@login-tests.example.org",
            WRONG,
            "10.50.0.1",
            **{"X-Forwarded-For": address(n, "172.16.0.0")},
        )
        statuses.append(response.status_code)
        if n >= PER_CLIENT:
            assert_throttled(response, 600)
    assert statuses == [401] * PER_CLIENT + [429] * (200 - PER_CLIENT)
    elsewhere = sign_in(app, "guess0@login-tests.example.org", WRONG, "10.50.0.2")
    assert elsewhere.status_code == 401


def test_a_lockout_ends_when_its_window_passes(
    short_window: TestClient, people: dict[str, int]
) -> None:
    form = {"username": email("expiry"), "password": WRONG}
    for _ in range(3):
        assert short_window.post("/token", data=form).status_code == 401
    right = {"username": email("expiry"), "password": PASSWORD}
    retry_after = assert_throttled(short_window.post("/token", data=right), 2)
    # Refused attempts do not extend the lockout: it ends when the window has passed.
    assert_throttled(short_window.post("/token", data=form), 2)
    time.sleep(retry_after + 0.2)
    assert short_window.post("/token", data=right).status_code == 200


def test_every_attempt_is_recorded(
    app: FastAPI, client: TestClient, engine: Engine, people: dict[str, int]
) -> None:
    ip = "10.60.0.1"
    assert sign_in(app, email("records"), PASSWORD, ip).status_code == 200
    assert sign_in(app, "Nobody@Login-Tests.example.org", WRONG, ip).status_code == 401
    for _ in range(PER_ACCOUNT):
        assert sign_in(app, email("records"), WRONG, ip).status_code == 401
    assert sign_in(app, email("records"), PASSWORD, ip).status_code == 429
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT email, user_id, client, ok, reason FROM login_event "
                "WHERE client = :ip ORDER BY id"
            ),
            {"ip": ip},
        ).all()
    user = people["records"]
    assert [tuple(row) for row in rows[:3]] == [
        (email("records"), user, ip, True, None),
        ("nobody@login-tests.example.org", None, ip, False, "unknown email"),
        (email("records"), user, ip, False, "wrong password"),
    ]
    assert len(rows) == 2 + PER_ACCOUNT + 1
    throttled = rows[-1]
    assert throttled.ok is False and throttled.email == email("records")
    assert "too many failed sign-ins" in throttled.reason


def test_unknown_and_known_emails_take_the_same_time(
    roomy: TestClient, people: dict[str, int]
) -> None:
    """Medians of 20 interleaved attempts each: within a factor of 1.6 of each other (the
    check used to answer an unknown email about 30 times faster)."""
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    roomy.post("/token", data={"username": "warm-up@example.org", "password": WRONG})
    for n in range(20):
        for kind, who in (("known", email("timing")), ("unknown", f"x{n}@example.org")):
            start = time.perf_counter()
            response = roomy.post("/token", data={"username": who, "password": WRONG})
            timings[kind].append(time.perf_counter() - start)
            assert response.status_code == 401
    known, unknown = (statistics.median(timings[kind]) for kind in ("known", "unknown"))
    assert 1 / 1.6 < known / unknown < 1.6, (known, unknown)


def test_a_full_queue_is_refused_at_once(short_window: TestClient, people: dict[str, int]) -> None:
    """One check at a time and no queue: of simultaneous sign-ins, those that find the
    checker busy get 429 with Retry-After at once instead of taking a worker."""
    form = {"username": email("busy"), "password": PASSWORD}
    results: list[httpx.Response] = []
    gate = threading.Barrier(6)

    def attempt() -> None:
        gate.wait()
        results.append(short_window.post("/token", data=form))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in results)
    assert 200 in statuses and 429 in statuses and set(statuses) <= {200, 429}, statuses
    busy = next(response for response in results if response.status_code == 429)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]


def _median_health(url: str, n: int = 25) -> float:
    timings = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(n):
            start = time.perf_counter()
            http.get("/health").raise_for_status()
            timings.append(time.perf_counter() - start)
            time.sleep(0.02)
    return statistics.median(timings)


def test_a_sign_in_flood_does_not_slow_other_requests(
    live_url: str, people: dict[str, int]
) -> None:
    """16 threads sign in (right password, never throttled) as fast as they can; /health
    keeps answering near its usual speed, because Argon2 checks run a few at a time."""
    baseline = _median_health(live_url)
    stop = threading.Event()
    answered: list[int] = []

    def flood() -> None:
        with httpx.Client(base_url=live_url, timeout=60) as http:
            while not stop.is_set():
                form = {"username": email("flood"), "password": PASSWORD}
                answered.append(http.post("/token", data=form).status_code)

    threads = [threading.Thread(target=flood) for _ in range(16)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # let the flood build up
        during = _median_health(live_url)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert answered and set(answered) <= {200, 429}, set(answered)
    assert answered.count(200) >= 5
    assert during < max(4 * baseline, baseline + 0.05), (baseline, during)
