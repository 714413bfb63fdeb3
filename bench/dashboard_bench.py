"""The province console's dashboard against its GraphQL operations alone, on PostgreSQL, with
the dossiers of bench/dossier_generator.py, in the same run, in-process (the app's ASGI
callable driven directly, no socket: the server's own work).

One province of A agencies and N dossiers received over the past year (the generator's
realistic rows, their finished columns stamped as bench/figures_bench.py does, its indexes
built after the load). A province administrator signs in through the real flow (the desk's:
web/desk_auth.py). Targets, interleaved in rounds after a warm-up:
- `operations alone`: web/operations/ConsoleDashboardMe.graphql and ConsoleDashboard.graphql
  (the period's figures of the province and per agency, twelve months of figures and the
  conformity of the agencies) run by the schema with the administrator's token;
- `dashboard page`: GET `/quan-tri/bang-dieu-khien` (the same operations, the five SVG
  charts, the template, the HTML); the charts are drawn once per distinct numbers, so after
  the warm-up this is the page shown again with the same numbers;
- `page, charts anew`: the same page, the charts' drawings forgotten before each request (the
  first view after the numbers changed).
Reported: the wall-clock time of each request (p50, p90) and each page's p50 against the
operations' p50. Target (issue 21): at most 1.5x; the p50 below what a person notices.
`--profile`: a cProfile of one page request (charts drawn anew) after the rounds, the page's
own functions first.

    .venv/bin/python -m bench.dashboard_bench [--dossiers 100000 --agencies 50]
        [--requests 20 --rounds 3] [--period 2026-11] [--reuse] [--keep] [--profile]
    # the issue's size: --dossiers 1000000 --agencies 250 (generation takes a while)

The database `eiso_bench_dashboard` is dropped at the end unless --keep. Results:
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import dossier_generator as generator
from bench.desk_bench import PASSWORD, _sign_in, kept_token
from bench.figures_bench import fill_rollups, prepare
from bench.web_bench import _call, _scope

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/eiso_bench_dashboard"
BASE = "http://eiso.example"
USERNAME = "can-bo-do"  # the name bench/desk_bench.py's sign-in types


async def _province_admin(resources: Any) -> dict[str, Any]:
    """The generated province (the busiest) and its administrator."""
    from sqlalchemy import text

    from eiso.core.auth.users import create_user
    from eiso.tenants.scope import TenantScope

    async with resources.session(TenantScope.nation()) as session, session.begin():
        row = (
            await session.execute(
                text(
                    "SELECT p.id, p.code, count(*) FROM dossiers d JOIN provinces p"
                    " ON p.id = d.province_id GROUP BY p.id, p.code ORDER BY 3 DESC LIMIT 1"
                )
            )
        ).one()
        taken = await session.execute(
            text("SELECT 1 FROM auth_users WHERE username = :u"), {"u": USERNAME}
        )
        if taken.first() is None:  # --reuse: made by an earlier run
            await create_user(
                session,
                username=USERNAME,
                role="province_admin",
                password=PASSWORD,
                province_code=row.code,
            )
    return {"id": row.id, "code": row.code, "dossiers": row[2]}


async def _samples(target: Callable[[], Awaitable[Any]], requests: int) -> list[float]:
    """Wall-clock seconds of each request."""
    taken = []
    for _ in range(requests):
        started = time.perf_counter()
        await target()
        taken.append(time.perf_counter() - started)
    return taken


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _profile(profile: cProfile.Profile) -> None:
    """The page's own functions (eiso's web modules, pygal, Jinja, the templates) by
    cumulative time: where its time goes beside the operations."""
    stats = pstats.Stats(profile).sort_stats("cumulative")
    stats.print_stats(r"web/(?!run\.py)|pygal|jinja2|markupsafe|templates", 25)


async def measure(
    database_url: str, period: str, requests: int, rounds: int, profile: bool = False
) -> dict[str, Any]:
    from starlette.requests import Request

    from eiso.core.app import create_app
    from eiso.core.global_ids import encode_id
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.graphql.schema import bundled_sources
    from eiso.web.console_dashboard import DASHBOARD, Period, dashboard_variables
    from eiso.web.console_dashboard_charts import DRAWINGS
    from eiso.web.run import run

    settings = load_settings(
        env="dev",  # the session cookie without Secure: the benchmark speaks plain HTTP
        secret_key="bench-" + "x" * 32,
        issuer=BASE,
        database_url=generator.app_url(database_url),
        migration_database_url=database_url,
        redis_url="memory://bench-dashboard:",
        log_level="WARNING",
        log_json=False,
        plugins=[],
    )
    resources = Resources.open(settings)
    registry = PluginRegistry.load(sources=bundled_sources())
    app = create_app(settings, resources, plugins=registry)
    try:
        async with app.router.lifespan_context(app):
            province = await _province_admin(resources)
            cookie = await _sign_in(app, BASE)
            query = f"ky={period}"

            def scope() -> dict[str, Any]:
                made = _scope("GET", DASHBOARD, query)
                made["headers"] = [*made["headers"], (b"cookie", cookie.encode())]
                made["app"] = app
                return made

            token = await kept_token(app, resources, scope())
            chosen = Period.parse(period, dt.date.today())
            assert chosen is not None
            named = {
                "id": encode_id("Province", province["id"], province["id"]),
                "code": province["code"],
            }
            variables = dashboard_variables(named, chosen, None)
            me = {"provinceCode": "", "named": False}

            async def alone() -> Any:
                request = Request(scope())
                await run(request, "ConsoleDashboardMe", me, token=token)
                return await run(request, "ConsoleDashboard", variables, token=token)

            async def page() -> tuple[int, bytes]:
                return await _call(app, scope())

            async def page_anew() -> tuple[int, bytes]:
                for drawing in DRAWINGS:
                    drawing.cache_clear()
                return await page()

            status, html = await page()
            if status != 200 or b"<svg " not in html:
                raise SystemExit(f"the dashboard failed: {status} {html[:300]!r}")
            received = (await alone())["total"][0]["received"]
            targets = {
                "operations alone": alone,
                "dashboard page": page,
                "page, charts anew": page_anew,
            }
            samples: dict[str, list[float]] = {name: [] for name in targets}
            for target in targets.values():  # warm-up
                await _samples(target, max(requests // 5, 1))
            for _ in range(rounds):
                for name, target in targets.items():
                    samples[name].extend(await _samples(target, requests))
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
                await page_anew()
                profiler.disable()
    finally:
        await resources.close()
    result = {name: {"p50": statistics.median(s), "p90": _p(s, 0.9)} for name, s in samples.items()}
    alone_p50 = result["operations alone"]["p50"]
    ratio = result["dashboard page"]["p50"] / alone_p50
    ratio_anew = result["page, charts anew"]["p50"] / alone_p50
    print(
        f"province dashboard, {province['dossiers']:,} dossiers of the province, period {period} "
        f"({received:,} received), {requests} requests x {rounds} rounds"
    )
    for name, got in result.items():
        print(f"  {name:18s} p50 {got['p50'] * 1e3:8.1f} ms  p90 {got['p90'] * 1e3:8.1f} ms")
    print(f"  page / operations alone (p50): {ratio:.2f}x  (target <= 1.5x)")
    print(f"  page, charts anew / operations alone (p50): {ratio_anew:.2f}x")
    if profiler is not None:
        _profile(profiler)
    return {**result, "ratio": ratio, "ratio_anew": ratio_anew, "page_bytes": len(html)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--agencies", type=int, default=50, help="agencies of the province")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--period", default=None, help="YYYY or YYYY-MM; default: this month")
    parser.add_argument("--reuse", action="store_true", help="measure an existing database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true", help="cProfile one page request")
    args = parser.parse_args(argv)
    period = args.period or dt.date.today().strftime("%Y-%m")

    async def go() -> None:
        if not args.reuse:
            await prepare(args.database_url, args.dossiers, 1, args.agencies, lean=False)
        try:
            await fill_rollups(args.database_url)  # the figures read the rollups
            await measure(args.database_url, period, args.requests, args.rounds, args.profile)
        finally:
            if not args.keep:
                await generator.drop_database(args.database_url)

    asyncio.run(go())


if __name__ == "__main__":
    main()
