"""Prometheus metrics. With several workers set PROMETHEUS_MULTIPROC_DIR (docs/operating.md)."""

from __future__ import annotations

import bisect
import itertools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from starlette.requests import Request
from starlette.responses import Response

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _route(scope) -> str:
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    return getattr(endpoint, "__name__", None) or type(endpoint).__name__


# The labels by (method, endpoint, status), built once. Bounded: the method comes from the client.
_labels: dict[tuple, tuple[str, str, str]] = {}


def _labels_of(scope, status: int) -> tuple[str, str, str]:
    key = (scope["method"], scope.get("endpoint"), status)
    labels = _labels.get(key)
    if labels is None:
        if len(_labels) >= 4096:
            _labels.clear()
        labels = _labels[key] = (scope["method"], _route(scope), str(status))
    return labels


class RequestStats:
    """The request counter and latency histogram in plain Python numbers, turned into the
    two Prometheus families when scraped. Under uvicorn prometheus_client's locked values
    cost ~8 µs a request, as much as the rest of the middleware; the event loop is one
    thread, so plain numbers need no lock. (Several workers: prometheus_client's
    multiprocess files instead, see `observe_request`.)"""

    _BOUNDS = (*(str(b) for b in BUCKETS), "+Inf")

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        # (method, route) -> [count per bucket (not cumulative), sum]
        self.latency: dict[tuple[str, str], list] = {}

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        self.counts[labels] = self.counts.get(labels, 0) + 1
        latency = self.latency.get(labels[:2])
        if latency is None:
            latency = self.latency[labels[:2]] = [0] * (len(BUCKETS) + 1) + [0.0]
        latency[bisect.bisect_left(BUCKETS, seconds)] += 1
        latency[-1] += seconds

    def collect(self):
        requests = CounterMetricFamily("eiso_http_requests", "HTTP requests", labels=["method", "route", "status"])
        for labels, count in list(self.counts.items()):
            requests.add_metric(labels, count)
        duration = HistogramMetricFamily("eiso_http_request_duration_seconds", "HTTP request duration",
                                         labels=["method", "route"])
        for labels, values in list(self.latency.items()):
            cumulative = itertools.accumulate(values[:-1])
            duration.add_metric(labels, list(zip(self._BOUNDS, cumulative, strict=True)), values[-1])
        yield requests
        yield duration


if MULTIPROCESS:
    REQUESTS = Counter("eiso_http_requests_total", "HTTP requests", ["method", "route", "status"])
    LATENCY = Histogram("eiso_http_request_duration_seconds", "HTTP request duration", ["method", "route"],
                        buckets=BUCKETS)
    # the labelled children: `labels()` takes a lock and builds its key on every call
    _children: dict[tuple, tuple] = {}
else:
    STATS = RequestStats()
    REGISTRY.register(STATS)


def observe_request(scope, status: int, seconds: float) -> None:
    labels = _labels_of(scope, status)
    if not MULTIPROCESS:
        STATS.observe(labels, seconds)
        return
    children = _children.get(labels)
    if children is None:
        if len(_children) >= 4096:
            _children.clear()
        children = _children[labels] = (REQUESTS.labels(*labels), LATENCY.labels(*labels[:2]))
    children[0].inc()
    children[1].observe(seconds)


async def metrics_endpoint(_request: Request) -> Response:
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
