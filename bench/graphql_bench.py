"""GraphQL benchmarks of the plugin system, each against a baseline measured in the same run:

1. schema assembly time for 1..20 modules (vs the core alone);
2. `{ __typename }` throughput of eiso (anonymous: the core schema; an officer of an agency
   of a province, signed in with a real bearer token through the production authenticator
   (bench/signed_in.py): one module set from the worker's cache, kept fresh by pub/sub, + the
   module gate) vs a bare Starlette JSON route, with wrk on one core and uvicorn on the other
   (`taskset`). Needs `wrk` (Debian: apt-get install wrk).

    python -m bench.graphql_bench [--seconds 5] [--connections 16] [--rounds 3]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import strawberry
from strawberry.tools import create_type

from bench import signed_in, wrk
from bench.common import server_env
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import LocalizedText, ModuleInfo, hookimpl
from eiso.graphql.schema import make_assembler


def fake_module(i: int):
    name = f"bench_module_{i:02d}"
    query = strawberry.type(
        type(
            f"BenchModule{i:02d}Query",
            (),
            {
                "__annotations__": {f"field_{k}": str for k in range(10)},
                **{f"field_{k}": "x" for k in range(10)},
            },
        )
    )

    def act(self) -> str:
        return "ok"

    mutation = create_type(
        f"BenchModule{i:02d}Mutation",
        [_named(strawberry.mutation(resolver=act), f"act_{k}") for k in range(3)],
    )

    class Plugin:
        @hookimpl
        def eiso_module(self):
            return ModuleInfo(
                name=name,
                title=LocalizedText(vi="Mô-đun đo", en="Bench"),
                version="1.0",
                sector="bench",
            )

        @hookimpl
        def eiso_graphql_query(self):
            return query

        @hookimpl
        def eiso_graphql_mutation(self):
            return mutation

    return PluginSource.of(name, Plugin())


def _named(field, name):
    field.python_name = name
    return field


def bench_assembly() -> None:
    sources = [fake_module(i) for i in range(20)]
    registry = PluginRegistry.load(None, sources)
    names = sorted(registry.names())

    def timed(modules) -> float:
        runs = []
        for _ in range(5):
            assembler = make_assembler(registry)  # a cold cache each time
            start = time.perf_counter()
            assembler.get(modules)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    core = timed(())
    print("schema assembly (median of 5, cold cache)")
    print(f"  core only          {core * 1000:7.1f} ms   1.00x")
    for count in (1, 2, 5, 10, 20):
        took = timed(names[:count])
        print(f"  core + {count:2d} modules  {took * 1000:7.1f} ms  {took / core:5.2f}x")
    assembler = make_assembler(registry)
    assembler.get(names)
    start = time.perf_counter()
    for _ in range(10_000):
        assembler.get(names)
    print(f"  cached lookup      {(time.perf_counter() - start) / 10_000 * 1e6:7.1f} µs")


WORKERS = textwrap.dedent("""
    import orjson
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from eiso.core.app import create_app
    from eiso.core.settings import get_settings

    async def bare_endpoint(request):
        await request.body()
        return Response(orjson.dumps({"data": {"__typename": "Query"}}),
                        media_type="application/json")

    def bare():
        return Starlette(routes=[Route("/graphql", bare_endpoint, methods=["POST"])])

    def eiso():
        return create_app(get_settings())  # the production authenticator: bearer tokens
""")

QUERY = '{"query":"{ __typename }"}'


def report(title: str, results: dict[str, list]) -> dict[str, float]:
    """Per target the median of the rounds (requests per second, and per CPU second of the
    server: the fairer figure on a shared machine), with ratios to the first target's."""
    per_cpu = {
        name: statistics.median(r.per_cpu_second for r in runs) for name, runs in results.items()
    }
    per_second = {
        name: statistics.median(r.per_second for r in runs) for name, runs in results.items()
    }
    base_cpu, base_wall = next(iter(per_cpu.values())), next(iter(per_second.values()))
    print(title)
    print(
        f"  {'':34s} {'req/CPU-s':>9s} {'ratio':>6s} {'req/s':>8s} {'ratio':>6s}"
        "  rounds (req/CPU-s)"
    )
    for name, runs in results.items():
        rounds = " ".join(f"{r.per_cpu_second:.0f}" for r in runs)
        print(
            f"  {name:34s} {per_cpu[name]:9.0f} {per_cpu[name] / base_cpu:5.2f}x "
            f"{per_second[name]:8.0f} {per_second[name] / base_wall:5.2f}x  {rounds}"
        )
    return per_cpu


async def _arrange(url: str) -> str:
    """A province with a module on, an agency of it and its officer: the officer's token."""
    from eiso.core.plugins.activation import set_module
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    settings = load_settings(
        database_url=url, secret_key=signed_in.SECRET_KEY, issuer=signed_in.ISSUER
    )
    resources = Resources.open(settings)
    try:
        async with resources.session(TenantScope.nation()) as session:
            province = await ensure_province(session, "BENCH", "Tỉnh Đo Lường")
            await set_module(session, province.id, "vendor_demo", True, by="bench")
            await ensure_agency(session, province, "BENCH-A", "UBND xã Đo", AgencyKind.commune)
            await session.commit()
        return await signed_in.user_token(
            resources, username="can-bo-do", role="officer", agency_code="BENCH-A"
        )
    finally:
        await resources.close()


def bench_throughput(seconds: int, connections: int, rounds: int = 3) -> None:
    if not wrk.available():
        print("throughput: skipped, `wrk` is not installed (apt-get install wrk)")
        return
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "workers.py").write_text(WORKERS)
        (folder / "post.lua").write_text(wrk.post_script(QUERY))
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate.upgrade(url)
        token = asyncio.run(_arrange(url))
        env = server_env(DATABASE_URL=url, PLUGINS="vendor_demo")
        targets = {
            "bare Starlette route": ("bare", None),
            "eiso, anonymous (core schema)": ("eiso", None),
            "eiso, signed in, province with a module": ("eiso", signed_in.bearer(token)),
        }
        results = wrk.interleaved(
            targets,
            rounds,
            lambda target: wrk.throughput(
                folder,
                target[0],
                env,
                path="/graphql",
                seconds=seconds,
                connections=connections,
                script="post.lua",
                headers=target[1],
            ),
        )
    report(
        f"`{{ __typename }}` throughput, {wrk.setting(connections, seconds, rounds)}",
        results,
    )


def main(argv: list[str] | None = None) -> None:
    parser = wrk.load_parser(__doc__, seconds=5, connections=16)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-assembly", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_assembly:
        bench_assembly()
    if not args.skip_throughput:
        bench_throughput(args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()
