"""ASGI guards around the API: request bodies bounded before they are read, and no defect ends a request
without an answer in the one error shape (nor reaches the server's own unthrottled traceback log)."""

from __future__ import annotations

import json
import logging
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import body, http_code
from gateway.log_limit import LogThrottle, excerpt, traceback_excerpt

log = logging.getLogger(__name__)


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer with `{"error": {"code", "message"}}`."""
    data = json.dumps(body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """413 for a body over `max_bytes`: at once when its Content-Length says so, else as soon as the bytes
    received pass the limit, so a huge body is never read whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body over {self.max_bytes} bytes (api.max_body_bytes)"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await send_error(send, 413, http_code(413), too_large)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, too_large)  # answered by the app's HTTP error handler
            return message

        await self.app(scope, bounded, send)


class JsonWrites:
    """Refuses (415) a write whose Content-Type is not application/json, with or without a body.

    A web page on the plant network can make a browser send a form or a plain-text POST to another origin
    without asking it first; a request that says it carries JSON needs the API's consent (a CORS preflight),
    which this API never gives. So no page can drive a write from a browser, whatever the API's keys.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS and scope["path"].startswith("/api/"):
            content_type = dict(scope["headers"]).get(b"content-type", b"")
            if content_type.split(b";")[0].strip().lower() != b"application/json":
                await send_error(send, 415, "unsupported_media_type",
                                 "a write needs 'Content-Type: application/json' (an empty body is fine)")
                return
        await self.app(scope, receive, send)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class FaultGuard:
    """Turns an exception that escaped the app into a 500 in the error shape, logged at a limited rate."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._throttle = LogThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except HTTPException as exc:  # raised outside a route (a body over the limit read by no route)
            if not started:
                await send_error(send, exc.status_code, http_code(exc.status_code), str(exc.detail))
        except Exception as exc:
            self._log(scope, exc)
            if not started:
                await send_error(send, 500, "internal_error", "internal error; the service goes on running")

    def _log(self, scope: Scope, exc: Exception) -> None:
        left_out = self._throttle.allow(type(exc).__name__, time.monotonic())
        if left_out is not None:
            more = f" ({left_out} more since the last report)" if left_out else ""
            log.error("internal error on %s %s%s\n%s", scope.get("method"), excerpt(str(scope.get("path"))), more,
                      traceback_excerpt(exc))
