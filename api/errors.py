"""Domain errors mapped to HTTP, in one table; the body always says what went wrong."""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web.render import page
from api.web.session import sign_in_url, web_session
from geo.db import DatabaseUnavailableError, outage
from geo.errors import (
    AuthenticationError,
    ConflictError,
    DataFileError,
    DualImpactError,
    InvalidInputError,
    MissingExtraError,
    NotFoundError,
    NotLoadedError,
    PermissionDeniedError,
    TooManyAttemptsError,
)

logger = logging.getLogger(__name__)

# How long a client is asked to wait before retrying when the database is down or busy.
RETRY_AFTER_S = 5

STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    InvalidInputError: 422,
    DataFileError: 422,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    ConflictError: 409,
    TooManyAttemptsError: 429,  # with Retry-After
    NotLoadedError: 503,
    DatabaseUnavailableError: 503,  # with Retry-After, as is any database outage
    MissingExtraError: 501,  # an optional extra is not installed on this server
}


def _status(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


# Headings of the HTML error page, by status.
HEADINGS = {
    400: "That request could not be used",
    401: "Sign in first",
    403: "Not yours to do",
    404: "Page not found",
    405: "Page not found",
    409: "That cannot be done now",
    413: "Too large",
    422: "Something in the request is not right",
    429: "Too many attempts",
}
NEXT_STEPS = {
    404: "Check the address, or start again from the menu.",
    403: "If you think you should be able to do this, ask your organisation's lead or the "
    "platform operator.",
    409: "Reload the page to see the record as it is now, then try again.",
}


async def _html_error(request: Request, status: int, detail: str) -> HTMLResponse:
    """The error as a page, in the site's layout (for people using a browser), with the
    signed-in person's navigation."""
    try:
        await web_session(request)
    except Exception:  # the database is down: the page is still drawn, signed out
        request.state.web_session = None
    return page(
        request,
        "error.html",
        status,
        error=detail,
        heading=HEADINGS.get(status, "Something went wrong"),
        next_step=NEXT_STEPS.get(status),
    )


def _wants_page(request: Request) -> bool:
    return _prefers_html(request.headers.get("accept", ""))


async def _http(request: Request, exc: Exception) -> Response:
    """Unknown pages and methods: a page for a browser, JSON for an API client."""
    assert isinstance(exc, StarletteHTTPException)
    if _wants_page(request):
        detail = (
            "There is no page at this address."
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return await _html_error(request, exc.status_code, detail)
    return await http_exception_handler(request, exc)


async def _domain(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AuthenticationError) and _wants_page(request):
        return RedirectResponse(sign_in_url(request), 303)
    if _wants_page(request):
        return await _html_error(request, _status(exc), str(exc))
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    if isinstance(exc, TooManyAttemptsError):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": str(exc)}, status_code=_status(exc), headers=headers)


async def _database(_: Request, exc: Exception) -> JSONResponse:
    """A value the domain checks missed, refused by the database: the client's fault."""
    detail = str(getattr(exc, "orig", exc)).splitlines()[0]
    status = 409 if isinstance(exc, IntegrityError) else 422
    return JSONResponse({"detail": f"the database refused this: {detail}"}, status_code=status)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """422 naming each bad field; the offending input is not echoed back (it may be huge,
    or not representable in JSON, like Infinity)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    problems = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in errors
    ]
    summary = "; ".join(
        f"{'.'.join(str(part) for part in p['loc'][1:]) or 'body'}: {p['msg']}" for p in problems
    )
    if _wants_page(request):
        return await _html_error(request, 422, summary or "invalid request")
    return JSONResponse({"detail": summary or "invalid request", "errors": problems}, 422)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
    """503 with ``Retry-After`` when the database cannot serve the request, instead of a
    500: JSON naming what is down, or a short page when a browser asked for HTML. The
    connection details stay in the server's log."""
    logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    if isinstance(exc, DatabaseUnavailableError):
        body = _outage("unreachable", str(exc))
    else:
        body = _outage(outage(exc) if isinstance(exc, OperationalError) else "busy")
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _prefers_html(request.headers.get("accept", "")):
        return HTMLResponse(_OUTAGE_PAGE.format(detail=html.escape(body["detail"])), 503, headers)
    return JSONResponse(body, 503, headers)


def _outage(state: str, detail: str | None = None) -> dict[str, str]:
    """The body of a 503 for a database that is ``state`` (unreachable or busy)."""
    if detail is None:
        detail = (
            f"the database is {state} (this service itself is up): try again in {RETRY_AFTER_S} s"
        )
    return {"detail": detail, "status": "unavailable", "database": state}


# That 503 in the OpenAPI documentation (any endpoint may answer it; /health declares it).
OUTAGE_RESPONSE: dict[str, Any] = {
    "description": "The database is down (`unreachable`) or cannot finish requests (`busy`); "
    "`Retry-After` says when to try again (seconds).",
    "content": {"application/json": {"example": _outage("unreachable")}},
}


_OUTAGE_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Temporarily unavailable - Dual Impact</title></head>
<body>
<h1>Temporarily unavailable</h1>
<p>{detail}</p>
<p>Reload this page in a few seconds.</p>
</body>
</html>
"""


def _prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` header ranks HTML above JSON, as a browser asking for a page
    does; an API client (``*/*``, ``application/json``, no header) gets JSON."""
    weights: dict[str, float] = {}
    for item in accept.lower().split(","):
        media, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media] = weight

    def weight_of(media: str) -> float:
        for candidate in (media, f"{media.split('/')[0]}/*", "*/*"):
            if candidate in weights:
                return weights[candidate]
        return 0.0

    return weight_of("text/html") > weight_of("application/json")


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DualImpactError, _domain)
    app.add_exception_handler(IntegrityError, _database)
    app.add_exception_handler(DataError, _database)
    for outage_error in (DatabaseUnavailableError, OperationalError, PoolTimeoutError):
        app.add_exception_handler(outage_error, _unavailable)
