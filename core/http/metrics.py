"""Prometheus metrics. With several workers set PROMETHEUS_MULTIPROC_DIR (docs/operating.md)."""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class RequestStats:
    """The request counter and latency histogram in plain Python numbers, turned into the
    two Prometheus families when scraped. Under uvicorn prometheus_client's locked values
    cost ~8 µs a request, as much as the rest of the middleware; the event loop is one
    thread, so plain numbers need no lock. One record per (method, endpoint, status), found
    with one dict lookup: the labels are built once, the histograms summed at scrape time.
    (Several workers: prometheus_client's multiprocess files instead, see `observe_request`.)"""

    _BOUNDS = (*(str(b) for b in BUCKETS), "+Inf")
    _SIZE = 4096  # the method comes from the client: bounded

    def __init__(self) -> None:
        # (method, endpoint, status) -> [labels, count, count per bucket (not cumulative)..., sum]
        self.records: dict[tuple, list] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        key = (scope["method"], scope.get("endpoint"), status)
        record = self.records.get(key)
        if record is None:
            record = self._new(key)
        record[1] += 1
        record[2 + bisect.bisect_left(BUCKETS, seconds)] += 1
        record[-1] += seconds

    def _new(self, key: tuple) -> list:
        if len(self.records) >= self._SIZE:
            self.records.clear()
        labels = labels_of(key)
        record = self.records[key] = [labels, 0, *([0] * (len(BUCKETS) + 1)), 0.0]
        return record

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "eiso_http_requests", "HTTP requests", labels=["method", "route", "status"]
        )
        latency: dict[tuple[str, str], list] = {}
        for record in list(self.records.values()):
            labels = record[0]
            requests.add_metric(labels, record[1])
            summed = latency.setdefault(labels[:2], [0] * (len(BUCKETS) + 2))
            for index, value in enumerate(record[2:]):
                summed[index] += value
        duration = HistogramMetricFamily(
            "eiso_http_request_duration_seconds",
            "HTTP request duration",
            labels=["method", "route"],
        )
        for labels, values in latency.items():
            cumulative = itertools.accumulate(values[:-1])
            duration.add_metric(
                labels, list(zip(self._BOUNDS, cumulative, strict=True)), values[-1]
            )
        yield requests
        yield duration


def labels_of(key: tuple) -> tuple[str, str, str]:
    """(method, route, status) of a (method, endpoint, status) key."""
    method, endpoint, status = key
    route = (
        "unmatched"
        if endpoint is None
        else getattr(endpoint, "__name__", None) or type(endpoint).__name__
    )
    return method, route, str(status)


if MULTIPROCESS:
    REQUESTS = Counter("eiso_http_requests_total", "HTTP requests", ["method", "route", "status"])
    LATENCY = Histogram(
        "eiso_http_request_duration_seconds",
        "HTTP request duration",
        ["method", "route"],
        buckets=BUCKETS,
    )
    # the labelled children: `labels()` takes a lock and builds its key on every call
    _children: dict[tuple, tuple] = {}
else:
    STATS = RequestStats()
    REGISTRY.register(STATS)


def observer() -> Callable[[Scope, int, float], None]:
    """`observe_request`, or in-process the stats' own method (a call less per request)."""
    return observe_request if MULTIPROCESS else STATS.observe


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    if not MULTIPROCESS:
        STATS.observe(scope, status, seconds)
        return
    key = (scope["method"], scope.get("endpoint"), status)
    children = _children.get(key)
    if children is None:
        if len(_children) >= 4096:
            _children.clear()
        labels = labels_of(key)
        children = _children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels[:2]))
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
