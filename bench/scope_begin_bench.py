"""A read-only tenant session on PostgreSQL (issue 18): the scope's `set_config` sent with the
transaction's BEGIN (infra/pg_begin.py, three round trips: BEGIN with the scope, the query,
ROLLBACK) against the same session sending it as a statement of its own (four, the path
`session.connection()` still takes), and against the query alone by asyncpg (one round trip,
no scope: the floor). Interleaved in one run; wall time per read, p50 and p99.

    .venv/bin/python -m bench.scope_begin_bench [--reads 2000] [--rounds 3]

Runs `select count(*) from pg_namespace where nspname <> $1` (a catalogue table: no data needed)
on EISO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import text

from eiso.infra.db import make_engine, make_sessionmaker
from eiso.infra.pg_begin import SCOPE_AT_ONCE
from eiso.tenants.scope import TenantScope, open_session

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = "select count(*) from pg_namespace where nspname <> $1"
SCOPE = TenantScope.province(1)


async def _timed(read: Callable[[], Awaitable[int]], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        assert await read() > 0
        times.append(time.perf_counter() - start)
    return times


def _report(name: str, times: list[float], base: list[float] | None) -> str:
    p50 = statistics.median(times) * 1e3
    p99 = statistics.quantiles(times, n=100)[98] * 1e3
    ratio = "" if base is None else f"  {p50 / (statistics.median(base) * 1e3):.2f}x"
    return f"{name:<34} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms{ratio}"


async def run(reads: int, rounds: int) -> None:
    engine = make_engine(PG_URL, pool_size=1)
    sessions = make_sessionmaker(engine)
    raw = await asyncpg.connect(PG_URL)
    statement = text(QUERY.replace("$1", ":name"))

    async def session_read(at_once: bool) -> int:
        async with open_session(sessions, SCOPE) as session:
            if at_once:
                session.info[SCOPE_AT_ONCE] = True
            return int((await session.execute(statement, {"name": "x"})).scalar_one())

    async def with_begin() -> int:
        return await session_read(False)

    async def apart() -> int:
        return await session_read(True)

    async def alone() -> int:
        return int(await raw.fetchval(QUERY, "x"))

    results: dict[str, list[float]] = {"with BEGIN": [], "apart": [], "alone": []}
    try:
        for read in (with_begin, apart, alone):  # warm-up
            await _timed(read, 50)
        for _ in range(rounds):
            for name, read in (("with BEGIN", with_begin), ("apart", apart), ("alone", alone)):
                results[name] += await _timed(read, reads // rounds)
    finally:
        await raw.close()
        await engine.dispose()
    print(f"{reads} reads each, {rounds} interleaved rounds, {PG_URL.rsplit('@', 1)[-1]}")
    print(_report("asyncpg, the query alone (1 RT)", results["alone"], None))
    print(_report("scope apart (4 RT)", results["apart"], results["alone"]))
    print(_report("scope with BEGIN (3 RT)", results["with BEGIN"], results["alone"]))
    gain = statistics.median(results["apart"]) / statistics.median(results["with BEGIN"])
    print(f"scope apart / with BEGIN: {gain:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)
    asyncio.run(run(options.reads, options.rounds))


if __name__ == "__main__":
    main()
