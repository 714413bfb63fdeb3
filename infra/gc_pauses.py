"""Python's cyclic garbage collector after start-up (issue 18).

A started worker holds ~250,000 long-lived objects (the modules, the schemas, SQLAlchemy's
mappers, the catalogue): each full collection (generation 2) walks all of them, 0.1-0.3 s
of one core during which no request moves. They were the dashboard's p90 (~0.3 s) and
the dossier page's p99 at 1M (docs/benchmarks.md). `freeze_startup_objects` collects once,
then moves every object alive into the permanent generation (`gc.freeze`): the collector no
longer walks them, and a full collection is over in microseconds. They are never freed,
which is what they are: the app's for its lifetime. Objects made later are collected as
before.

Python's thresholds are kept (700, 10, 10): raised to 10,000 allocations for the young
generation they changed no page's CPU measurably (bench/page_cpu_bench.py, interleaved runs,
docs/benchmarks.md). Once per process: a process that starts several apps (the tests) freezes
at the first only, so the objects of an app dropped later can still be collected."""

from __future__ import annotations

import gc

_done = False


def freeze_startup_objects() -> bool:
    """Collect and freeze the survivors, once per process; True when done by this call."""
    global _done
    if _done:
        return False
    _done = True
    gc.collect()
    gc.freeze()
    return True
