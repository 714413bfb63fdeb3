"""The web room's lookup page against its GraphQL operation executed alone, in the same run,
in-process (the app's ASGI callable driven directly, no socket: the server's own work).

Targets, for one dossier accepted at an agency (a timeline of two events, an appointment):
- `operation alone`: web/operations/Lookup.graphql run by the schema itself (what the page
  runs, without HTTP): the baseline;
- `/graphql`: the same document POSTed to `/graphql` (HTTP, JSON in and out);
- `page`: GET `/tra-cuu?code=...&key=...` (the dispatcher, the trusted-documents check, the
  operation, the Jinja2 template, the HTML response).
The public rate limit counts per address: each request comes from its own address (only the
ASGI scope's field; nothing is sent anywhere). After a warm-up, rounds interleave the
targets; the median of the rounds is reported, with each target's ratio to the baseline.
Target: the page at most 1.5x the operation alone.

    python -m bench.web_bench [--requests 1000] [--rounds 5]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from bench import wrk
from bench.common import adopted_and_received
from bench.common import asgi_call as _call

_ADDRESSES = itertools.count(1)


def _address() -> tuple[str, int]:
    n = next(_ADDRESSES)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}", 1


def _scope(method: str, path: str, query: str = "", body: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": _address(),
        "server": ("127.0.0.1", 80),
    }


async def _timed(run: Callable[[], Awaitable[Any]], requests: int) -> float:
    """CPU seconds per request (the process's: one thread, no other work)."""
    started = time.process_time()
    for _ in range(requests):
        await run()
    return (time.process_time() - started) / requests


async def _dossier(resources: Any, registry: Any) -> tuple[str, str]:
    """One dossier received online at a fresh agency and accepted: (code, lookup key)."""
    from eiso.core.dossiers import engine, service
    from eiso.core.plugins.activation import set_module
    from eiso.core.workdays import WorkingCalendar
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    procedure = next(iter(registry.procedures())).code
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, "BENCH", "Tỉnh Đo Lường")
        agency = await ensure_agency(session, province, "BENCH-A", "UBND xã Đo", AgencyKind.commune)
        # A province receives dossiers only of the modules it switched on (MODULE_DISABLED).
        owner = registry.procedure_owners()[procedure]
        await set_module(session, province.id, owner, True, by="bench")
    scope = TenantScope.agencies([agency.id], [agency.province_id])
    async with resources.session(scope) as session, session.begin():
        (got,) = await adopted_and_received(session, agency, procedure, online=True)
    await service.act(
        resources,
        scope,
        got.dossier.id,
        got.dossier.version,
        engine.accept,
        actor="bench",
        calendar=WorkingCalendar(),
    )
    assert got.lookup_key is not None
    return got.dossier.code, got.lookup_key


@contextlib.asynccontextmanager
async def bench_app(**settings: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """A fresh SQLite database and the app with every bundled module, its lifespan running:
    (app, resources, registry). `settings` override the benchmark's own."""
    from eiso.core.app import create_app
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.graphql.schema import bundled_sources
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        values: dict[str, Any] = {
            "env": "prod",
            "secret_key": "bench-" + "x" * 32,
            "issuer": "https://eiso.example",
            "database_url": url,
            "log_level": "WARNING",
            "plugins": [],
        }
        resources = Resources.open(load_settings(**{**values, **settings}))
        registry = PluginRegistry.load(sources=bundled_sources())
        app = create_app(resources.settings, resources, plugins=registry)
        try:
            async with app.router.lifespan_context(app):
                yield app, resources, registry
        finally:
            await resources.close()


async def bench(requests: int, rounds: int) -> dict[str, float]:
    from starlette.requests import Request

    from eiso.web.documents import document
    from eiso.web.run import run

    async with bench_app() as (app, resources, registry):
        code, key = await _dossier(resources, registry)
        variables = {"code": code, "key": key, "province": None}
        body = orjson.dumps({"query": document("Lookup"), "variables": variables})
        query = urlencode({"code": code, "key": key})

        async def alone() -> Any:
            scope = _scope("GET", "/tra-cuu", query)
            scope["app"] = app
            return await run(Request(scope), "Lookup", variables)

        async def over_graphql() -> tuple[int, bytes]:
            return await _call(app, _scope("POST", "/graphql", body=body), body)

        async def page() -> tuple[int, bytes]:
            return await _call(app, _scope("GET", "/tra-cuu", query))

        status, html = await page()
        answered = orjson.loads((await over_graphql())[1])
        if status != 200 or code.encode() not in html or "errors" in answered:
            raise SystemExit(f"the lookup failed: {status} {answered}")
        if (await alone())["publicDossier"]["code"] != code:
            raise SystemExit("the operation alone failed")
        targets = {"operation alone": alone, "/graphql": over_graphql, "page": page}
        results: dict[str, list[float]] = {name: [] for name in targets}
        for target in targets.values():  # warm-up: caches filled, code paths loaded
            await _timed(target, max(requests // 10, 1))
        for _ in range(rounds):
            for name, target in targets.items():
                results[name].append(await _timed(target, requests))
    return report("web lookup page", results, requests, rounds)


def report(
    title: str,
    results: dict[str, list[float]],
    requests: int,
    rounds: int,
    baseline_of: Callable[[str], str] = lambda _name: "operation alone",
) -> dict[str, float]:
    """The medians of the rounds, each target against its baseline (`baseline_of`)."""
    print(f"{title}, in-process, {requests} requests x {rounds} rounds, medians")
    medians = {name: statistics.median(runs) for name, runs in results.items()}
    for name, seconds in medians.items():
        baseline = baseline_of(name)
        print(
            f"  {name:18s} {seconds * 1e6:9.1f} µs CPU/req {1 / seconds:7.0f} req/CPU s "
            f"{seconds / medians[baseline]:5.2f}x {baseline}"
        )
    return medians


def cli(
    argv: list[str] | None,
    doc: str,
    bench: Callable[[int, int], Awaitable[dict[str, float]]],
    requests: int,
    rounds: int,
) -> None:
    """`--requests` and `--rounds` (defaults given), then the benchmark."""
    args = wrk.rounds_parser(doc, requests, rounds).parse_args(argv)
    asyncio.run(bench(args.requests, args.rounds))


def main(argv: list[str] | None = None) -> None:
    cli(argv, __doc__ or "", bench, 1000, 5)


if __name__ == "__main__":
    main()
