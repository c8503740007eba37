"""Commit before respond: a write the client was told succeeded is committed, and visible
to the very next request; a write whose COMMIT fails is reported as failed.

These run against a real uvicorn server (``live_url``): the in-process test client waits
for the whole request cycle, so it cannot see a commit that runs after the response.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.helpers import Accounts, World, tender_body

PAIRS = 100  # of each kind: 200 write-then-read pairs in all

FAIL_AT_COMMIT = "Refused at commit"


def test_a_created_tender_can_be_read_at_once(live_url: str, accounts: Accounts) -> None:
    lead = accounts.headers("tvp_lead")
    stale = []
    with httpx.Client(base_url=live_url, timeout=30) as http:
        for i in range(PAIRS):
            created = http.post("/tenders", json=tender_body(title=f"Tender {i}"), headers=lead)
            assert created.status_code == 201, created.text
            read = http.get(f"/tenders/{created.json()['id']}")
            if read.status_code != 200 or read.json()["title"] != f"Tender {i}":
                stale.append((i, read.status_code, read.text[:120]))
    assert stale == [], f"{len(stale)} of {PAIRS} reads missed the write just acknowledged"


def test_an_update_is_read_back_at_once(live_url: str, accounts: Accounts, world: World) -> None:
    provider = accounts.headers("provider")
    stale = []
    with httpx.Client(base_url=live_url, timeout=30) as http:
        for i in range(PAIRS):
            reached = 1_000 + i
            patched = http.patch(
                f"/activities/{world.youth_club}",
                json={"people_reached_per_year": reached},
                headers=provider,
            )
            assert patched.status_code == 200, patched.text
            read = http.get(f"/activities/{world.youth_club}").json()
            if read["properties"]["people_reached_per_year"] != reached:
                stale.append((i, read["properties"]["people_reached_per_year"]))
    assert stale == [], f"{len(stale)} of {PAIRS} reads returned the value before the write"


# What a deferred trigger does, at COMMIT, to a tender with the title FAIL_AT_COMMIT.
AT_COMMIT = {
    "refuse": "RAISE EXCEPTION 'tender % refused at commit', NEW.id "
    "USING ERRCODE = 'check_violation'",
    "lose the connection": "PERFORM pg_terminate_backend(pg_backend_pid())",
}


@pytest.fixture(params=AT_COMMIT)
def at_commit(request: pytest.FixtureRequest, engine: Engine) -> Iterator[str]:
    """A deferred constraint trigger that fails one tender's transaction, only at COMMIT."""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
                CREATE FUNCTION test_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.title = '{FAIL_AT_COMMIT}' THEN {AT_COMMIT[request.param]}; END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER test_at_commit AFTER INSERT ON tender
                    DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION test_at_commit();
                """
            )
        )
    yield str(request.param)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER test_at_commit ON tender"))
        conn.execute(text("DROP FUNCTION test_at_commit()"))


def test_a_failed_commit_is_an_error_not_a_success(
    live_url: str, accounts: Accounts, engine: Engine, at_commit: str
) -> None:
    response = httpx.post(
        f"{live_url}/tenders",
        json=tender_body(title=FAIL_AT_COMMIT),
        headers=accounts.headers("tvp_lead"),
        timeout=30,
    )
    if at_commit == "refuse":  # nothing was saved, and the client is told why
        assert response.status_code == 409, response.text
        assert "refused at commit" in response.json()["detail"]
    else:  # the outcome is unknown to the server: it says so, and to check before resending
        assert response.status_code == 503, response.text
        assert "Retry-After" in response.headers
        assert "may or may not have been saved" in response.json()["detail"]
    with engine.connect() as conn:
        kept = conn.execute(
            text("SELECT count(*) FROM tender WHERE title = :t"), {"t": FAIL_AT_COMMIT}
        ).scalar_one()
    assert kept == 0
