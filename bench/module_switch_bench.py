"""The cost of seeing a module switch at the next request without a shared Redis.

With `memory://` (the embedded default) a worker cannot hear another process's switch, so
every request of a province caller reads the database's switch generation (one count in a
province-scoped session) and the enabled set only when it moved
(core/plugins/activation.py). Before, such a worker answered from its cache and saw a CLI
switch 9-20 s late. This compares, in the same run, `{ __typename }` as an officer of an
agency of the province, signed in with a real bearer token (bench/signed_in.py), through the
whole app (middleware, the production authenticator, module lookup, GraphQL) in process over
httpx's ASGI transport:

- "cached (before)": the module set answered from the worker's cache, no read;
- "generation read (now)": the set checked against the database per request.

The targets take turns in each round; requests per CPU second of the process (all threads)
and per wall second, medians of the rounds; then the time of the lookup alone.

    python -m bench.module_switch_bench [--requests 400] [--rounds 5] [--database-url URL]
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import signed_in
from bench.common import quiet_settings
from bench.wrk import Run, print_medians, rounds_parser, timed

MODULE = "birth_registration"
QUERY = "{ __typename }"
TARGETS = ("cached (before)", "generation read (now)")


class CachedOnly:
    """The module lookup as a worker listening on its own fakeredis did it: the set it read
    first, for every request."""

    def __init__(self, modules: frozenset[str]) -> None:
        self.modules = modules

    async def for_principal(self, resources: object, principal: object) -> frozenset[str]:
        return self.modules


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


async def _rounds(requests: int, rounds: int, url: str) -> tuple[dict[str, list[Run]], float]:

    from eiso.core.app import create_app
    from eiso.core.plugins.activation import set_module
    from eiso.core.resources import Resources
    from eiso.graphql.server.dispatch import ProvinceGraphQL
    from eiso.infra import migrate
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    migrate.upgrade(url)
    settings = quiet_settings(url, redis_url="memory://bench-switch:", plugins=[MODULE])
    resources = Resources.open(settings)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, "BENCHSW", "Tỉnh Đo Bật Tắt")
        await set_module(session, province.id, MODULE, True, by="bench")
        await ensure_agency(session, province, "BENCHSW-A", "UBND xã Đo", AgencyKind.commune)
    assert province.id is not None
    token = await signed_in.user_token(
        resources, username="can-bo-bat-tat", role="officer", agency_code="BENCHSW-A"
    )
    app = create_app(settings, resources)  # the production authenticator
    view = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/graphql")
    assert isinstance(view, ProvinceGraphQL)
    now, before = view.active, CachedOnly(frozenset({MODULE}))
    results: dict[str, list[Run]] = {name: [] for name in TARGETS}
    async with signed_in.client_of(app, token) as http:

        async def ask() -> None:
            response = await http.post("/graphql", json={"query": QUERY})
            if response.status_code != 200 or "errors" in response.json():
                raise SystemExit(f"failed answer: {response.status_code} {response.text}")

        for lookup in (now, before):  # warm up: caches, schema, connections
            view.active = lookup
            for _ in range(50):
                await ask()
        if await now.for_province(resources, province.id) != {MODULE}:
            raise SystemExit("the province does not see its module")
        for _ in range(rounds):
            for name, lookup in zip(TARGETS, (before, now), strict=True):
                view.active = lookup
                results[name].append(await timed(ask, requests))
        started = time.perf_counter()
        for _ in range(requests):
            await now.for_province(resources, province.id)
        lookup_us = (time.perf_counter() - started) / requests * 1e6
    await resources.close()
    return results, lookup_us


def bench_switch(requests: int, rounds: int, url: str | None) -> dict[str, float]:
    with _database(url) as database:
        results, lookup_us = asyncio.run(_rounds(requests, rounds, database))
        backend = database.split(":", 1)[0]
    print(
        f"module lookup per request, {QUERY} as a province officer, {requests} requests x "
        f"{rounds} rounds in process ({backend}, memory://), medians"
    )
    per_cpu = print_medians(results, 24)
    before, now = per_cpu[TARGETS[0]], per_cpu[TARGETS[1]]
    print(f"  the generation read takes {before / now:.2f}x the cached lookup's CPU per request")
    print(f"  the lookup alone (generation read): {lookup_us:.0f} µs wall per call")
    return per_cpu


def main(argv: list[str] | None = None) -> None:
    parser = rounds_parser(__doc__)
    parser.add_argument(
        "--database-url", default=None, help="a migrated database (default: a new SQLite file)"
    )
    args = parser.parse_args(argv)
    bench_switch(args.requests, args.rounds, args.database_url)


if __name__ == "__main__":
    main()
