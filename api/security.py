"""Security headers on every response: a strict Content-Security-Policy (scripts and styles
from the app alone, plus a map's own inline ones by hash), no MIME sniffing, no framing by
other sites (the app's pages frame its own maps), and only the origin as referrer when a
request leaves the site (map tiles)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maps import render

POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),  # Leaflet's and Swagger UI's icons are data: URLs
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "frame-src": ("'self'",),
    "form-action": ("'self'",),
    "base-uri": ("'none'",),
    "object-src": ("'none'",),
    "frame-ancestors": ("'self'",),
}
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "SAMEORIGIN",  # frame-ancestors 'self', for older browsers
}


def content_security_policy(extra: Mapping[str, Iterable[str]] | None = None) -> str:
    """The app's Content-Security-Policy, with ``extra`` sources added to their directives
    (say ``{"script-src": ["'sha256-…'"]}``)."""
    extra = extra or {}
    return "; ".join(
        " ".join((directive, *sources, *extra.get(directive, ())))
        for directive, sources in POLICY.items()
    )


def map_policy(page: render.MapPage, tiles: str | None) -> str:
    """The policy of a map document: its own inline scripts and styles (by hash) and its
    base layer's tiles (``tiles``: a folium tile name, or None), and nothing else."""
    origin = render.tile_origin(tiles)
    return content_security_policy(
        {
            "script-src": page.scripts,
            "style-src": page.styles,
            "img-src": [origin] if origin else [],
        }
    )


def map_response(page: render.MapPage, tiles: str | None) -> HTMLResponse:
    """A map document under its policy (:func:`map_policy`)."""
    return HTMLResponse(page.html, headers={"content-security-policy": map_policy(page, tiles)})


class SecurityHeaders:
    """ASGI middleware: :data:`HEADERS` and the policy on every response (a response that
    sets its own policy, as a map does, keeps it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.policy = content_security_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", self.policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)
