"""The FastAPI application: one engine and one set of in-memory indexes per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from api.caching import GZIP_LEVEL, GZIP_MIN_BYTES
from api.deps import Indexes
from api.errors import add_exception_handlers
from api.limits import BodyLimit
from api.routers import (
    activities,
    admin,
    auth,
    coverage,
    delivery_sites,
    health,
    maps,
    ogc,
    pages,
    recommendations,
    register,
    reports,
    spos,
    tenders,
    territories,
    verification,
)
from api.security import SecurityHeaders
from api.web import account, buyer, provider, supplier, team
from api.web.session import CsrfProtection
from geo.attribution import SHORT
from geo.db import make_engine
from geo.settings import Settings, get_settings
from maps import assets

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Larger request bodies are refused (413) before they are read: no endpoint needs more.
MAX_BODY_BYTES = 1_000_000

DESCRIPTION = f"""
Dual Impact: social value in UK public contracts, made geographic, strategic and measurable.

Public reads (territories, activities, recommendations, the register of awarded Social
Purchase Orders) need no sign-in. Everything that writes needs an access token from
`POST /token`, and is scoped to the signed-in user's organisation. Before award an SPO is
visible only to its supplier and the tender's buyer, in every endpoint.

{SHORT}
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No ping on every checkout (a round trip per request); connections are recycled
        # hourly instead, and a dropped one fails one request, not the server.
        engine = make_engine(
            settings.sqlalchemy_url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=False,
            pool_recycle=3600,
        )
        app.state.engine = engine
        app.state.settings = settings
        app.state.indexes = Indexes(engine, settings.page_cache_size)
        try:
            await run_in_threadpool(assets.ensure)
        except Exception as exc:
            logger.warning("browser libraries unavailable (%s): maps and /docs will not draw", exc)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="Dual Impact API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is a page of the app's own (api.routers.pages), with Swagger UI served
        # locally: FastAPI's loads it from a CDN with an inline script.
        docs_url=None,
        redoc_url=None,
        license_info={"name": "MIT (code); data under the Open Government Licence v3.0"},
    )
    # Text above a kilobyte is gzipped for clients that accept it (inside the security
    # headers, so a 304 or an error is never compressed; CSP hashes are of the uncompressed
    # inline blocks, unchanged).
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(CsrfProtection, secret=settings.signing_key(), secure=settings.cookie_secure)
    app.add_middleware(SecurityHeaders)  # outermost: even a refused body gets the headers
    add_exception_handlers(app)
    for module in (
        health,
        auth,
        territories,
        activities,
        verification,
        delivery_sites,
        recommendations,
        tenders,
        spos,
        register,
        admin,
        coverage,
        maps,
        pages,
        account,
        provider,
        team,
        supplier,
        buyer,
    ):
        app.include_router(module.router)
    app.include_router(ogc.router)  # OGC API Features and Tiles (standard GIS access)
    app.include_router(reports.router)  # the printable territory report for a board
    app.mount("/static/vendor", StaticFiles(directory=assets.VENDOR_DIR, check_dir=False), "vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), "static")
    return app
