"""Who is signed in to the web pages, and the protection of every form.

A session cookie (HttpOnly, SameSite=Lax, Secure when the site is served over TLS) names a
row of ``web_session`` (:mod:`accounts.sessions`). Every form that changes something is
protected against cross-site request forgery by asgi-csrf (a signed double-submit token:
the ``csrftoken`` cookie and the form's hidden ``csrftoken`` field must match); the API,
which takes bearer tokens and never cookies, is outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from accounts import sessions
from accounts.sessions import Session
from accounts.users import ROLE_NAMES, User
from geo.errors import AuthenticationError, PermissionDeniedError

COOKIE = "di_session"
# Paths of the pages that sign in and change things: every POST to them needs the CSRF
# token, with or without cookies (so a forged sign-in is refused too).
WEB_PREFIXES = (
    "/sign-in",
    "/sign-out",
    "/account",
    "/invite",
    "/operator",
    "/provider",
    "/team",
    "/supplier",
    "/buyer",
)


def is_web_path(path: str) -> bool:
    """Whether ``path`` is one of the signed-in web pages (not the API)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in WEB_PREFIXES)


class _WebPaths:
    """``path in WEB_PATHS`` for every web path (asgi-csrf's ``always_protect``)."""

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and is_web_path(path)


async def _refused(_scope: Scope, send: Send, _message_id: Any) -> None:
    body = (
        "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Form expired · Dual Impact</title><link rel='stylesheet' href='/static/site.css'>"
        "</head><body><main><h1>This form has expired</h1><p class='error' role='alert'>"
        "The form was not sent from this site's own page, or it is too old. Nothing was "
        "changed.</p><p><a href='/'>Go back</a>, reload the page and send it again.</p>"
        "</main></body></html>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CsrfProtection:
    """ASGI middleware: asgi-csrf on the web pages' forms; the API passes untouched."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool) -> None:
        self.app = app
        self.protected = asgi_csrf(
            app,
            signing_secret=secret,
            always_protect=_WebPaths(),
            cookie_secure=secure,
            cookie_samesite="Lax",
            send_csrf_failed=_refused,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Pages (GET) get the token maker, for their forms (the sign-out button is on
        # every page); writes to the web paths are checked; the API is left alone.
        if scope["type"] == "http" and (
            scope["method"] in ("GET", "HEAD") or is_web_path(scope["path"])
        ):
            await self.protected(scope, receive, send)
            return
        await self.app(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The token for a form's hidden ``csrftoken`` field ("" outside the middleware)."""
    maker: Callable[[], str] | None = request.scope.get("csrftoken")
    return maker() if maker else ""


def _engine(request: Request) -> Any:
    return request.app.state.engine


async def web_session(request: Request) -> Session | None:
    """The signed-in person's session, if the cookie opens a live one (looked up once per
    request)."""
    if "web_session" in request.state._state:
        cached: Session | None = request.state.web_session
        return cached
    token = request.cookies.get(COOKIE)
    found = None
    if token:

        def load() -> Session | None:
            with _engine(request).begin() as conn:
                return sessions.resume(conn, token)

        found = await run_in_threadpool(load)
    request.state.web_session = found
    return found


class SignInRequiredError(AuthenticationError):
    """A page that needs a signed-in person was asked for by nobody signed in."""


async def web_user(session: Annotated[Session | None, Depends(web_session)]) -> User | None:
    return session.user if session else None


async def signed_in_user(user: Annotated[User | None, Depends(web_user)]) -> User:
    if user is None:
        raise SignInRequiredError("sign in to see this page")
    return user


WebUser = Annotated[User | None, Depends(web_user)]
SignedIn = Annotated[User, Depends(signed_in_user)]


def requires(*roles: str) -> Any:
    """A dependency: the signed-in person, who must have one of ``roles`` (else a 403
    page saying whose page it is)."""

    async def check(user: SignedIn) -> User:
        if user.role not in roles:
            who = " or ".join(ROLE_NAMES[role].lower() for role in roles)
            raise PermissionDeniedError(
                f"this page is for a {who}; you are signed in as "
                f"{ROLE_NAMES[user.role].lower()} at {user.organisation_name}"
            )
        return user

    return Depends(check)


def sign_in_url(request: Request) -> str:
    """The sign-in page, coming back to the page asked for."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/sign-in?next={quote(here, safe='')}"
