"""The one middleware every request passes (pure ASGI: Starlette's BaseHTTPMiddleware costs a
large share of throughput).

`RequestEdge` gives each request an id (kept from `X-Request-ID` when sent), times and counts
it, and applies CORS: requests with an `Origin` header go through Starlette's CORSMiddleware;
those without (same-origin pages, servers, probes) only get `Vary: Origin`, as Starlette
would add. One middleware with one wrapper around `send`, not three: each layer and wrapper
cost a bare app a few percent of its throughput (bench/http_bench.py).
"""

from __future__ import annotations

import itertools
import os
import time

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eiso.core import metrics
from eiso.core.logs import request_id


class RequestEdge:
    def __init__(self, app: ASGIApp, cors: dict | None = None) -> None:
        """`cors`: CORSMiddleware's options (allow_origins, ...), or None for no CORS."""
        self.app = app
        self.cors = CORSMiddleware(app, **cors) if cors else None
        self.observe = metrics.observer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid, origin = _read_headers(scope)
        rid = rid or f"{_prefix}{next(_sequence):08x}"  # unique without a system call
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        vary = self.cors is not None and not origin

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers") or []
                if vary:
                    headers = _vary_origin(headers)
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await (self.cors if origin and self.cors is not None else self.app)(scope, receive, send_at_edge)
        finally:
            self.observe(scope, status, time.perf_counter() - started)
            request_id.reset(token)


# New request ids: a random prefix per process and a counter (os.urandom per request was a
# tenth of the middleware's cost). A forked worker draws its own prefix.
_prefix = os.urandom(4).hex()
_sequence = itertools.count(1)


def _reseed() -> None:
    global _prefix, _sequence
    _prefix, _sequence = os.urandom(4).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_reseed)


def _read_headers(scope: Scope) -> tuple[str | None, bool]:
    """(a well-formed incoming request id or None, whether an `Origin` header came)."""
    rid, origin = None, False
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                rid = candidate
        elif name == b"origin":
            origin = True
    return rid, origin


def _vary_origin(headers) -> list:
    """`Vary` joined into one header with `Origin` last (Starlette's `headers["Vary"] = ...`)."""
    for name, _value in headers:
        if name.lower() == b"vary":
            break
    else:
        return [*headers, (b"vary", b"Origin")]
    others = [(name, value) for name, value in headers if name.lower() != b"vary"]
    values = [value for name, value in headers if name.lower() == b"vary"]
    return [*others, (b"vary", b", ".join([*values, b"Origin"]))]
