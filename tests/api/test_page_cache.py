"""Fast pages: coverage, maps and page tables cached per data version, ETag/304, gzip.

Every cached thing must change on the first request after a write (no time window), be
the same for everyone (navigation and form tokens rendered per request), stay bounded,
and never carry a bid before its award."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts import sessions
from api.app import create_app
from api.caching import PageCache
from api.web.session import COOKIE
from geo import data_version
from geo.data_version import DataVersion
from geo.settings import Settings
from registry.records import register_activity
from tests.api.helpers import (
    SECRET,
    TVP,
    Accounts,
    World,
    scored_secret_bid,
    set_eligible,
)

TERRITORY_PAGE = f"/territory/{TVP}"
TERRITORY_MAP = f"/maps/territory/{TVP}.html"
CACHED = ["/", TERRITORY_PAGE, TERRITORY_MAP, "/maps/uk.html"]


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return data_version.current(conn).number


def _trusted(page: str) -> int:
    """The territory page's count of trusted activities."""
    found = re.search(r"(\d+) are trusted", page)
    assert found, "the page says how many activities are trusted"
    return int(found.group(1))


@pytest.mark.parametrize("path", CACHED)
def test_a_page_the_browser_has_gets_a_304(client: TestClient, world: World, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    assert modified.endswith("GMT") and first.headers["cache-control"] == "no-cache"
    again = client.get(path, headers={"if-none-match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    stale = client.get(path, headers={"if-none-match": '"0-stale"'})
    assert stale.status_code == 200 and stale.text == first.text


def test_text_is_gzipped_only_for_clients_that_accept_it(client: TestClient, world: World) -> None:
    plain = client.get(TERRITORY_MAP, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    zipped = client.get(TERRITORY_MAP, headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.text == plain.text  # the same document (httpx decompresses)
    # The compressed and plain bodies are different representations: different tags.
    assert zipped.headers["etag"] != plain.headers["etag"]
    # The map's own policy (hashes of its inline blocks) survives compression.
    assert zipped.headers["content-security-policy"] == plain.headers["content-security-policy"]
    assert "sha256-" in zipped.headers["content-security-policy"]
    # A small response is not worth compressing.
    small = client.get("/health", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers
    # A download is compressed intact.
    csv = client.get(
        f"/coverage/areas?territory={TVP}&format=csv", headers={"accept-encoding": "gzip"}
    )
    assert csv.status_code == 200
    assert csv.headers["content-encoding"] == "gzip" and "need" in csv.text.splitlines()[0]


def test_a_write_moves_the_version_once_per_transaction_when_it_commits(
    engine: Engine, world: World
) -> None:
    before = _version(engine)
    with engine.begin() as conn:
        registered = register_activity(
            conn, {"name": "Temple Cowley chess club", "postcode": "OX4 1AA"}, source="test"
        )
        set_eligible(conn, registered.activity_id, "youth_diversion")
        assert _version(engine) == before  # not seen by others before the commit
    assert _version(engine) == before + 1
    with engine.begin() as conn:
        register_activity(conn, {"name": "Rolled back club", "postcode": "OX4 1AA"}, "test")
        conn.rollback()
    assert _version(engine) == before + 1


def test_a_new_activity_shows_on_every_cached_page_at_once(
    client: TestClient, engine: Engine, world: World
) -> None:
    assert "Littlemore model railway" not in client.get(TERRITORY_MAP).text  # cached now
    tag = client.get(TERRITORY_MAP).headers["etag"]
    page = client.get(TERRITORY_PAGE)
    with engine.begin() as conn:
        registered = register_activity(
            conn,
            {
                "name": "Littlemore model railway youth club",
                "postcode": "OX4 4XP",
                "funding_gap": 2_000,
                "people_reached_per_year": 40,
            },
            source="test",
        )
        set_eligible(conn, registered.activity_id, "youth_diversion")
    assert "Littlemore model railway" in client.get(TERRITORY_MAP).text
    assert client.get(TERRITORY_MAP, headers={"if-none-match": tag}).status_code == 200
    # The page's counts of activities listed and trusted move with it.
    again = client.get(TERRITORY_PAGE, headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 200
    assert _trusted(again.text) == _trusted(page.text) + 1


def test_a_bid_never_shows_through_a_cached_page_and_its_award_shows_at_once(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    lead, supplier = accounts.headers("tvp_lead"), accounts.headers("supplier_a")
    for path in CACHED:
        client.get(path)  # every page cached before the bid
    spo = scored_secret_bid(client, engine, lead, supplier, world.youth_club)
    for path in CACHED:  # rebuilt after the bid (the version moved): still no bid
        text = client.get(path, headers=supplier).text
        assert "SECRET" not in text and "Acme Facilities" not in text, path
    assert client.post(f"/spos/{spo}/award", headers=lead).status_code == 200
    assert "Acme Facilities Ltd" in client.get(TERRITORY_PAGE).text


def test_two_people_never_get_each_others_navigation(
    client: TestClient, accounts: Accounts, world: World, engine: Engine
) -> None:
    with engine.begin() as conn:
        provider = sessions.start(conn, accounts.users["provider"])
        supplier = sessions.start(conn, accounts.users["supplier_a"])
    for path in ("/", TERRITORY_PAGE):
        pages = {}
        for who, token in (("provider", provider), ("supplier", supplier), ("nobody", None)):
            client.cookies.clear()
            if token:
                client.cookies.set(COOKIE, token)
            pages[who] = client.get(path).text
        client.cookies.clear()
        assert "My activities" in pages["provider"] and "Bids and SPOs" not in pages["provider"]
        assert "Bids and SPOs" in pages["supplier"] and "My activities" not in pages["supplier"]
        assert "Sign out" not in pages["nobody"] and "My activities" not in pages["nobody"]
        assert "Bids and SPOs" not in pages["nobody"]


def test_the_page_cache_stays_bounded_and_drops_the_least_recently_used() -> None:
    cache = PageCache(3)
    version = DataVersion(7, datetime.now(UTC), date.today())
    built: list[int] = []

    def build(n: int) -> int:
        built.append(n)
        return n * 10

    for n in range(10):
        assert cache.get(n, version, lambda n=n: build(n)) == n * 10  # type: ignore[misc]
        assert len(cache) <= 3
    cache.get(8, version, lambda: build(-1))  # 8 used: 7 is now the oldest
    cache.get(10, version, lambda: build(10))
    assert cache.get(8, version, lambda: build(-1)) == 80  # kept
    cache.get(7, version, lambda: build(77))  # dropped, so built again
    assert built == [*range(10), 10, 77]
    moved = DataVersion(8, datetime.now(UTC), date.today())
    assert cache.get(8, moved, lambda: 81) == 81  # another version: rebuilt
    tomorrow = DataVersion(8, datetime.now(UTC), date.today() + timedelta(days=1))
    assert cache.get(8, tomorrow, lambda: 82) == 82  # another day (lapses): rebuilt
    with pytest.raises(ValueError, match="at least one entry"):
        PageCache(0)


def test_an_app_with_a_small_cache_keeps_it_small(app_database_url: str, world: World) -> None:
    settings = Settings(
        database_url=app_database_url, secret_key=SECRET, map_tiles="none", page_cache_size=2
    )
    with TestClient(create_app(settings)) as small:
        pages = small.app.state.indexes.pages  # type: ignore[attr-defined]
        for budget in (1_000, 2_000, 3_000, 4_000):
            assert small.get(f"{TERRITORY_PAGE}?budget_gbp={budget}").status_code == 200
            assert len(pages) <= 2
        assert len(pages) == 2
