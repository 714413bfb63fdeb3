"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a large share of throughput)."""

from __future__ import annotations

import os
import time

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eiso.core import metrics
from eiso.core.logs import request_id


class RequestContextMiddleware:
    """Gives each request an id (kept from `X-Request-ID` when sent), times and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or os.urandom(8).hex()  # as secrets.token_hex, a call less
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.observe_request(scope, status, time.perf_counter() - started)
            request_id.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None


class CORS(CORSMiddleware):
    """Starlette's CORS, with a short way for requests that carry no `Origin` (same-origin
    pages, servers, probes): they only get `Vary: Origin`, as Starlette would add, without
    building header objects twice per request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _vary_origin(message.get("headers") or [])
            await send(message)

        await self.app(scope, receive, send_with_vary)


def _vary_origin(headers) -> list:
    """`Vary` joined into one header with `Origin` last (Starlette's `headers["Vary"] = ...`)."""
    others = [(name, value) for name, value in headers if name.lower() != b"vary"]
    values = [value for name, value in headers if name.lower() == b"vary"]
    return [*others, (b"vary", b", ".join([*values, b"Origin"]))]
