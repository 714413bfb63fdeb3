"""The edge every request passes, in the layer Starlette always puts outermost (pure ASGI:
Starlette's BaseHTTPMiddleware costs a large share of throughput).

`RequestEdge` is Starlette's `ServerErrorMiddleware` (the 500 answer to an unhandled error)
that also gives each request an id (kept from `X-Request-ID` when sent), times and counts
it, and applies CORS: requests with an `Origin` header go through Starlette's
CORSMiddleware; those without (same-origin pages, servers, probes) only get `Vary: Origin`.
With no `EISO_ISSUER` (dev, test), it also tells the auth code where the request was
addressed (core/auth/issuer.py), for HTTP requests and websockets alike.
`EdgeStarlette` is the Starlette app with it in place of the plain `ServerErrorMiddleware`:
one layer and one wrapper around `send` where separate middleware were three of each, each
costing a bare app a few percent of its throughput (bench/http_bench.py).
"""

from __future__ import annotations

import inspect
import itertools
import os
import time
from collections.abc import Callable
from typing import Any, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from eiso.core.auth.issuer import served_at
from eiso.core.http import metrics
from eiso.core.logs import request_id


class RequestEdge(ServerErrorMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        handler: ExceptionHandler | None = None,
        debug: bool = False,
        cors: dict[str, Any] | None = None,
        issuer_from_request: bool = False,
    ) -> None:
        """`cors`: CORSMiddleware's options (allow_origins, ...), or None for no CORS.
        `issuer_from_request`: no issuer is configured, each request's base URL is it."""
        super().__init__(app, handler=handler, debug=debug)
        self.cors = CORSMiddleware(app, **cors) if cors else None
        self.observe = metrics.observer()
        self.issuer_from_request = issuer_from_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.issuer_from_request and scope["type"] in ("http", "websocket"):
            token = served_at.set(base_url(scope))
            try:
                await self._serve(scope, receive, send)
            finally:
                served_at.reset(token)
            return
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid, origin = _read_headers(scope)
        rid = rid or b"%s%08x" % (_prefix, next(_sequence))  # unique without a system call
        token = request_id.set(rid)  # bytes: the logs decode the few they print
        started = time.perf_counter()
        status = 0  # no response started yet
        # Without `Origin`, CORS only varies on it. A second `Vary` line, not one joined with
        # the response's own: HTTP reads field lines of a list field as one list (RFC 9110
        # 5.3), and no scan of the response's headers is needed.
        added = (
            ((b"vary", b"Origin"), (b"x-request-id", rid))
            if self.cors is not None and not origin
            else ((b"x-request-id", rid),)
        )

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*(message.get("headers") or ()), *added]
            await send(message)

        try:
            await (self.cors if origin and self.cors is not None else self.app)(
                scope, receive, send_at_edge
            )
        except Exception as error:
            if not status:  # as ServerErrorMiddleware: a 500 page, then the error goes on up
                response = await self._error_page(Request(scope), error)
                await response(scope, receive, send_at_edge)
            raise
        finally:
            self.observe(scope, status or 500, time.perf_counter() - started)
            request_id.reset(token)

    async def _error_page(self, request: Request, error: Exception) -> Response:
        """ServerErrorMiddleware's choice: the traceback in debug, else the handler or its page."""
        if self.debug:
            return await run_in_threadpool(self.debug_response, request, error)
        if self.handler is None:
            return self.error_response(request, error)
        # The handler of a 500 takes the HTTP request (Starlette's type also admits WebSocket
        # handlers); a coroutine function answers once awaited. eiso sets none: an app option.
        handler = cast("Callable[[Request, Exception], Any]", self.handler)
        if inspect.iscoroutinefunction(handler):
            return await handler(request, error)
        return await run_in_threadpool(handler, request, error)


class EdgeStarlette(Starlette):
    """Starlette with `RequestEdge` as its outermost layer, where Starlette puts its own
    `ServerErrorMiddleware` (same handler, same debug)."""

    def __init__(
        self,
        *args: Any,
        cors: dict[str, Any] | None = None,
        issuer_from_request: bool = False,
        **kwargs: Any,
    ) -> None:
        self.edge_cors = cors
        self.issuer_from_request = issuer_from_request
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        outermost = super().build_middleware_stack()
        assert isinstance(outermost, ServerErrorMiddleware), "Starlette's stack changed"
        return RequestEdge(
            outermost.app,
            handler=outermost.handler,
            debug=outermost.debug,
            cors=self.edge_cors,
            issuer_from_request=self.issuer_from_request,
        )


# New request ids: a random prefix per process and a counter (os.urandom per request was a
# tenth of the middleware's cost). A forked worker draws its own prefix.
_prefix = os.urandom(4).hex().encode()
_sequence = itertools.count(1)


def _reseed() -> None:
    global _prefix, _sequence
    _prefix, _sequence = os.urandom(4).hex().encode(), itertools.count(1)


os.register_at_fork(after_in_child=_reseed)


def _read_headers(scope: Scope) -> tuple[bytes | None, bool]:
    """(a well-formed incoming request id or None, whether an `Origin` header came)."""
    rid, origin = None, False
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value[:64]
            if candidate.replace(b"-", b"").isalnum():  # ASCII letters and digits only
                rid = candidate
        elif name == b"origin":
            origin = True
    return rid, origin


_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def base_url(scope: Scope) -> str:
    """scheme://host[:port] the request was addressed to (a websocket's as http(s)), with
    the app's root path: what a browser would put before `/oauth/...`."""
    scheme: str = scope.get("scheme") or "http"
    scheme = _HTTP_SCHEME.get(scheme, scheme)
    host = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), None
    )
    if host is None:
        server_host, port = scope.get("server") or ("127.0.0.1", None)
        default = {"http": 80, "https": 443}.get(scheme)  # a port browsers leave out
        host = server_host if port in (None, default) else f"{server_host}:{port}"
    return f"{scheme}://{host}{scope.get('root_path', '')}".rstrip("/")
