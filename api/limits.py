"""Refuse request bodies over a size limit (413) before any endpoint reads them, whether
the client declares the length or streams the body in chunks. A file upload (evidence) may
be as large as the settings' ``evidence_max_bytes`` and the form around it; everything else
has the app's limit."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The paths that take a file, and the room the rest of their form may take (bytes).
UPLOAD_PATHS = re.compile(r"/provider/activities/\d+/evidence/file")
FORM_ROOM_BYTES = 64_000


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.limit(scope)
        page = b"text/html" in headers.get(b"accept", b"")
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit, page=page)
            return
        if declared is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        # Read the body here (bounded), then hand it on as one message.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit, page=page)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def limit(self, scope: Scope) -> int:
        """The largest body accepted for this request, in bytes: an upload's is the app's
        ``settings.evidence_max_bytes`` and room for its form, when larger."""
        if scope.get("method") == "POST" and UPLOAD_PATHS.fullmatch(scope["path"]):
            settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
            if settings is not None:
                upload: int = settings.evidence_max_bytes + FORM_ROOM_BYTES
                return max(self.max_bytes, upload)
        return self.max_bytes

    async def _refuse(self, send: Send, limit: int, *, page: bool) -> None:
        message = f"the request body is larger than {limit:,} bytes"
        if page:  # a browser's form: a page saying what to do
            detail = (
                "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                "<title>Too large · Dual Impact</title>"
                "<link rel='stylesheet' href='/static/site.css'></head><body><main>"
                f"<h1>Too large</h1><p class='error' role='alert'>{message.capitalize()}: "
                "nothing was stored.</p><p>Go back and send a smaller file, or a link to it."
                "</p></main></body></html>"
            ).encode()
            kind = b"text/html; charset=utf-8"
        else:
            detail = json.dumps({"detail": message}).encode()
            kind = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(detail)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": detail})
