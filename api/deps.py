"""Request-scoped dependencies: connections, the signed-in user, shared indexes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import geopandas as gpd
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from accounts import tokens
from accounts.users import User, get_user
from api.caching import PageCache
from api.schemas import Include
from boundaries import repository
from geo import data_version
from geo.data_version import DataVersion
from geo.db import DatabaseUnavailableError, outage
from geo.errors import AuthenticationError
from geo.settings import Settings
from maps import report
from maps.report import CoverageReport
from matching.need import NeedIndex
from procurement.visibility import Viewer

oauth2 = OAuth2PasswordBearer(tokenUrl="/token", auto_error=False)


class Indexes:
    """What pages are built from, held in memory per process.

    Need areas and territories are built on first use; they change only when new
    boundaries are loaded: restart the server after that. National coverage, rendered
    maps and page tables are kept for the data version they were built at
    (:mod:`geo.data_version`) and rebuilt on the first request after it moves.

    Parameters
    ----------
    engine
        The app's engine.
    cache_size
        How many maps and page tables to keep (:class:`api.caching.PageCache`).
    """

    def __init__(self, engine: Engine, cache_size: int = 256) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._need: NeedIndex | None = None
        self._coverage: dict[bool, tuple[tuple[int, date], CoverageReport]] = {}
        self._outlines: gpd.GeoDataFrame | None = None
        self.pages = PageCache(cache_size)

    def need(self) -> NeedIndex:
        with self._lock:
            if self._need is None:
                with self._engine.connect() as conn:
                    self._need = NeedIndex.from_frame(repository.need_areas(conn))
            return self._need

    def version(self) -> DataVersion:
        """The data version now (one read of a one-row table)."""
        with self._engine.connect() as conn:
            return data_version.current(conn)

    def coverage(
        self, *, include_all: bool = False, version: DataVersion | None = None
    ) -> CoverageReport:
        """National coverage of trusted activities (``include_all``: of every activity
        listed) at ``version`` (read now if not given), rebuilt (about half a second of
        work) when the data has changed since it was built."""
        version = version or self.version()
        with self._lock:
            cached = self._coverage.get(include_all)
            if cached is None or cached[0] != version.key:
                with self._engine.connect() as conn:
                    cached = (version.key, report.build(conn, include_all=include_all))
                self._coverage[include_all] = cached
            return cached[1]

    def outlines(self) -> gpd.GeoDataFrame:
        """The 45 territories, simplified for national maps."""
        with self._lock:
            if self._outlines is None:
                with self._engine.connect() as conn:
                    self._outlines = repository.territory_outlines(conn)
            return self._outlines


@dataclass(frozen=True)
class Built:
    """National coverage and the data version it stands for (read before it was built:
    key anything made from it by this version)."""

    version: DataVersion
    coverage: CoverageReport


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def indexes_of(request: Request) -> Indexes:
    indexes: Indexes = request.app.state.indexes
    return indexes


def read_connection(request: Request) -> Iterator[Connection]:
    """A connection for reads, in autocommit: no BEGIN/ROLLBACK round trips per request
    (each statement sees the latest committed data). Function-scoped (see
    :data:`ReadConn`): back in the pool before the response is sent."""
    with engine_of(request).connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def write_connection(request: Request) -> Iterator[Connection]:
    """One transaction for the whole request: committed if the endpoint returns, rolled
    back if it raises. Function-scoped (see :data:`WriteConn`), so the COMMIT runs before
    the response is sent: a write the client is told succeeded is already visible to its
    next request, and a COMMIT that fails (a deferred constraint, a lost connection)
    becomes the error response instead of a success for a write that was lost."""
    with engine_of(request).connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        except BaseException:
            transaction.rollback()
            raise
        try:
            transaction.commit()
        except OperationalError as exc:
            if outage(exc) == "busy":
                raise
            raise DatabaseUnavailableError(
                "the connection to the database was lost while saving this change, so it may "
                "or may not have been saved: read it back before sending it again"
            ) from exc


async def optional_user(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> User | None:
    """The signed-in user, if a token came (async: anonymous reads skip the thread pool)."""
    if token is None:
        return None
    user_id = tokens.user_id_of(token, settings_of(request).signing_key())

    def load() -> User:
        with engine_of(request).connect() as conn:
            return get_user(conn, user_id)

    return await run_in_threadpool(load)


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise AuthenticationError("sign in first: this needs an access token (POST /token)")
    return user


# scope="function": the code after ``yield`` (returning the connection, the COMMIT) runs
# when the endpoint returns, before the response leaves, not after it has been sent.
ReadConn = Annotated[Connection, Depends(read_connection, scope="function")]
WriteConn = Annotated[Connection, Depends(write_connection, scope="function")]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
SettingsDep = Annotated[Settings, Depends(settings_of)]
IndexesDep = Annotated[Indexes, Depends(indexes_of)]


def built_of(indexes: IndexesDep, include: Include = "trusted") -> Built:
    """The data version, then national coverage at it (of the trusted activities, or of
    every open activity with ``?include=all``)."""
    version = indexes.version()
    return Built(version, indexes.coverage(include_all=include == "all", version=version))


BuiltDep = Annotated[Built, Depends(built_of)]


async def viewer(user: OptionalUser) -> Viewer:
    return Viewer.of(user)


ViewerDep = Annotated[Viewer, Depends(viewer)]
