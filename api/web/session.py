"""Who is signed in to the web pages, and the protection of every form.

A session cookie (HttpOnly, SameSite=Lax, Secure when the site is served over TLS) names a
row of ``web_session`` (:mod:`accounts.sessions`). Every form that changes something is
protected against cross-site request forgery by asgi-csrf (a signed double-submit token:
the ``csrftoken`` cookie and the form's hidden ``csrftoken`` field must match); the API,
which takes bearer tokens and never cookies, is outside it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from asgi_csrf import (
    DEFAULT_COOKIE_NAME,
    DEFAULT_SIGNING_NAMESPACE,
    asgi_csrf,
    cookies_from_scope,
)
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# A multipart form's first part, when it is the token (our forms put it first): asgi-csrf's
# own multipart reader does not work with python-multipart >= 0.0.2x (FileClass is gone),
# so the token is checked here against the signed cookie, as asgi-csrf checks it, and then
# handed on in the x-csrftoken header, which asgi-csrf checks first.
_TOKEN_PART = re.compile(
    rb'--(?P<boundary>[^\r\n]+)\r\ncontent-disposition: *form-data; *name="csrftoken"\r\n'
    rb"\r\n(?P<token>[^\r\n]{1,200})\r\n",
    re.IGNORECASE,
)
_TOKEN_PART_BYTES = 1024


async def _token_first(scope: Scope, receive: Receive) -> tuple[bytes | None, Receive]:
    """The csrftoken of a multipart body whose first part it is (else None), reading at
    most the first kilobyte; the messages read are replayed."""
    read: list[Message] = []
    head = b""
    while len(head) < _TOKEN_PART_BYTES:
        message = await receive()
        read.append(message)
        head += message.get("body", b"")
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        return read.pop(0) if read else await receive()

    found = _TOKEN_PART.match(head)
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    if found is None or b"boundary=" + found["boundary"] not in content_type:
        return None, replay
    return found["token"], replay


class CsrfProtection:
    """ASGI middleware: asgi-csrf on the web pages' forms; the API passes untouched."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool) -> None:
        self.app = app
        self.signer = URLSafeSerializer(secret)
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
            headers = dict(scope["headers"])
            if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
                token, receive = await _token_first(scope, receive)
                if token is None or not self._matches_cookie(scope, token):
                    await _refused(scope, send, None)
                    return
                scope = {**scope, "headers": [*scope["headers"], (b"x-csrftoken", token)]}
            await self.protected(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _matches_cookie(self, scope: Scope, token: bytes) -> bool:
        """Whether ``token`` is the request's own signed csrftoken cookie."""
        cookie = str(cookies_from_scope(scope).get(DEFAULT_COOKIE_NAME, ""))
        try:
            self.signer.loads(cookie, DEFAULT_SIGNING_NAMESPACE)
        except BadSignature:
            return False
        return secrets.compare_digest(token, cookie.encode())


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
