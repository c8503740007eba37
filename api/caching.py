"""Caching what pages are built from, and answering conditional requests.

Everything cached is keyed by what it was built from (route, path and query values) and
stamped with the data version (:mod:`geo.data_version`) read *before* it was built: an
entry is served only while the version has not moved, so a change (an award, a new
activity, a delivery) shows on the next request, in every worker. The cache is a bounded
LRU; nothing in it depends on who is asking (pages render their navigation per request).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date
from email.utils import format_datetime
from typing import Generic, TypeVar, cast

from fastapi import Request, Response

from geo.data_version import DataVersion

T = TypeVar("T")

# Each response is checked with the server (ETag) before a browser reuses it.
CACHE_CONTROL = "no-cache"
# Smaller responses are sent as they are (compressing them gains less than it costs).
GZIP_MIN_BYTES = 1_000
# zlib's default level: level 9 takes about twice as long for a few per cent less.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A value and the data version it was built at."""

    version: tuple[int, date]
    value: T


class PageCache:
    """A thread-safe LRU of built values, each valid for one data version.

    Parameters
    ----------
    size
        The most entries kept (the least recently used is dropped first).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a page cache holds at least one entry, not {size}")
        self.size = size
        self._entries: OrderedDict[Hashable, Entry[object]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry (the next request for each builds it again)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: Hashable, version: DataVersion, build: Callable[[], T]) -> T:
        """The value for ``key`` built at ``version``, building it (outside the lock, so
        other keys are served meanwhile) when missing or built at another version.

        ``version`` must have been read before ``build`` reads its data: the value may then
        be newer than the version, never older.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version.key:
                self._entries.move_to_end(key)
                return cast(T, entry.value)
        value = build()
        with self._lock:
            self._entries[key] = Entry(version.key, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class Document:
    """A large text document kept ready to send: its bytes, their gzip encoding and their
    digest, each computed once (when it is cached), not on every request."""

    body: bytes
    gzipped: bytes
    digest: str
    media_type: str = "text/html; charset=utf-8"

    @classmethod
    def of(cls, text: str) -> Document:
        body = text.encode()
        return cls(body, gzip.compress(body, compresslevel=GZIP_LEVEL), _digest(body))


def _digest(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=12).hexdigest()


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _etag(version: DataVersion, digest: str, gzipped: bool) -> str:
    """A strong entity tag for content (its ``digest``) served at ``version``
    (``gzipped``: sent compressed, a different representation, so a different tag)."""
    return f'"{version.number}-{digest}{"-gzip" if gzipped else ""}"'


def _validators(tag: str, version: DataVersion) -> dict[str, str]:
    return {
        "etag": tag,
        "last-modified": format_datetime(version.changed_at.astimezone(UTC), usegmt=True),
        "cache-control": CACHE_CONTROL,
    }


def _named(request: Request, tag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag``."""
    header = request.headers.get("if-none-match", "")
    return tag in {part.strip().removeprefix("W/") for part in header.split(",")}


def document_response(
    request: Request, document: Document, version: DataVersion, headers: dict[str, str]
) -> Response:
    """``document`` (already gzipped when the client accepts it, so the middleware passes
    it through), with ``headers`` and its validators; a 304 when the client has it."""
    gzipped = _accepts_gzip(request)
    tag = _etag(version, document.digest, gzipped)
    validators = _validators(tag, version)
    if _named(request, tag):
        return Response(status_code=304, headers=validators)
    encoding = {"content-encoding": "gzip"} if gzipped else {}
    return Response(
        document.gzipped if gzipped else document.body,
        media_type=document.media_type,
        headers={**headers, **validators, **encoding, "vary": "Accept-Encoding"},
    )


def validated(request: Request, response: Response, version: DataVersion) -> Response:
    """``response`` (a page rendered for this request) with its ``ETag`` (from its body,
    and whether the gzip middleware will compress it), ``Last-Modified`` (when the data
    last changed) and ``Cache-Control``; an empty 304 when the request's
    ``If-None-Match`` names that tag already."""
    body = bytes(response.body)
    gzipped = len(body) >= GZIP_MIN_BYTES and _accepts_gzip(request)
    tag = _etag(version, _digest(body), gzipped)
    validators = _validators(tag, version)
    if _named(request, tag):
        return Response(status_code=304, headers=validators)
    response.headers.update(validators)
    return response
