"""Prometheus metrics. With several workers set PROMETHEUS_MULTIPROC_DIR (docs/operating.md)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("eiso_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "eiso_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _route(scope) -> str:
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    return getattr(endpoint, "__name__", None) or type(endpoint).__name__


# The labelled children by (method, endpoint, status): `labels()` takes a lock and builds
# its key on every call, as much as the rest of the middleware together. Bounded: the method
# comes from the client.
_children: dict[tuple, tuple] = {}


def observe_request(scope, status: int, seconds: float) -> None:
    key = (scope["method"], scope.get("endpoint"), status)
    children = _children.get(key)
    if children is None:
        if len(_children) >= 4096:
            _children.clear()
        route = _route(scope)
        children = _children[key] = (REQUESTS.labels(scope["method"], route, str(status)),
                                     LATENCY.labels(scope["method"], route))
    children[0].inc()
    children[1].observe(seconds)


async def metrics_endpoint(_request: Request) -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
