"""Domain errors mapped to HTTP, in one table; the body always says what went wrong."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from geo.db import DatabaseUnavailableError
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
)

STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    InvalidInputError: 422,
    DataFileError: 422,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    ConflictError: 409,
    NotLoadedError: 503,
    DatabaseUnavailableError: 503,
    MissingExtraError: 501,  # an optional extra is not installed on this server
}


def _status(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return JSONResponse({"detail": str(exc)}, status_code=_status(exc), headers=headers)


async def _database(_: Request, exc: Exception) -> JSONResponse:
    """A value the domain checks missed, refused by the database: the client's fault."""
    detail = str(getattr(exc, "orig", exc)).splitlines()[0]
    status = 409 if isinstance(exc, IntegrityError) else 422
    return JSONResponse({"detail": f"the database refused this: {detail}"}, status_code=status)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
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
    return JSONResponse({"detail": summary or "invalid request", "errors": problems}, 422)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DualImpactError, _domain)
    app.add_exception_handler(IntegrityError, _database)
    app.add_exception_handler(DataError, _database)
