"""Where a dossier page's time goes, without HTTP (issue 18): the CPU per request of the app,
driven in process as an ASGI callable (no socket, no client, no uvicorn), against the raw
endpoint of bench/dossier_bench.py (`raw_page_app`: the same rows and JSON from asyncpg and
orjson) in the same process, interleaved in rounds; and `{ __typename }` anonymous, as a
province's integration client and as an agency's officer (production authenticator, real
bearer tokens: bench/signed_in.py). CPU is `time.process_time` (this process: the app, its
database driver and the event loop), the fairer figure on a shared machine; wall time beside.

On an existing dossier database (bench/dossier_bench.py --keep), with Redis for the module
set's and the revocations' pub/sub:

    .venv/bin/python -m bench.page_cpu_bench --database eiso_bench_readrt [--requests 100]
        [--rounds 5] [--profile out.txt]   # --profile: pyinstrument of the province page
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import dossier_bench, signed_in
from bench.common import asgi_call, post_scope

ORIGIN = "https://eiso.example"  # the token endpoint wants https (authlib)
Target = tuple[Any, str, bytes, str | None]  # app, path, body, authorization


async def _call(target: Target) -> None:
    app, path, body, authorization = target
    headers = ((b"authorization", authorization.encode()),) if authorization else ()
    status, answer = await asgi_call(app, post_scope(path, body, headers), body)
    if status != 200 or b'"errors"' in answer:
        raise SystemExit(f"{path}: {status} {answer[:300]!r}")


def _targets(app: Any, raw: Any, province: dict, auth: dict[str, str]) -> dict[str, Target]:
    import orjson

    now = dt.datetime.now(dt.UTC)
    typename = b'{"query":"{ __typename }"}'
    targets: dict[str, Target] = {
        "{ __typename } anonymous": (app, "/graphql", typename, None),
        "{ __typename } province client": (app, "/graphql", typename, auth["province"]),
        "{ __typename } agency officer": (app, "/graphql", typename, auth["agency"]),
    }
    for label in ("none", "status", "procedure"):
        graphql_filter = dossier_bench.filters("x", now)[label]
        page = {"query": dossier_bench.PAGE, "variables": {"filter": graphql_filter}}
        caller = ["province_id", province["id"], province["id"]]
        plain = {"caller": caller, "filter": graphql_filter, "after": None, "now": now.isoformat()}
        targets[f"province page, {label}"] = (app, "/graphql", orjson.dumps(page), auth["province"])
        targets[f"raw endpoint, {label}"] = (raw, "/raw-page", orjson.dumps(plain), None)
    return targets


async def measure(database_url: str, requests: int, rounds: int, profile: bool) -> str | None:
    """Prints the figures; returns the province page's profile when asked."""
    import httpx

    from eiso.core.app import create_app

    provinces = await dossier_bench._summary_of(database_url, "BN")
    agencies = [a | {"province_id": p["id"]} for p in provinces for a in p["agencies"]]
    busiest = max(agencies, key=lambda a: a["dossiers"])
    province = next(p for p in provinces if p["id"] == busiest["province_id"])
    officer, basic, _ = await dossier_bench._sign_in(database_url, busiest["code"], [])
    settings = signed_in.settings(
        database_url,
        redis_url=os.environ.get("EISO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        env="prod",
        log_level="WARNING",
        events_relay=False,
        events_hooks=False,
    )
    app, raw = create_app(settings), dossier_bench.raw_page_app(database_url)
    async with app.router.lifespan_context(app), raw.router.lifespan_context(raw):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
            client_token = await signed_in.grant(http, ORIGIN, basic)
        auth = {
            "province": signed_in.bearer(client_token)["authorization"],
            "agency": signed_in.bearer(officer)["authorization"],
        }
        targets = _targets(app, raw, province, auth)
        for target in targets.values():  # warm-up: caches, prepared statements, plans
            for _ in range(20):
                await _call(target)
        cpu: dict[str, list[float]] = {name: [] for name in targets}
        wall: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, target in targets.items():
                cpu_start, wall_start = time.process_time(), time.perf_counter()
                for _ in range(requests):
                    await _call(target)
                cpu[name].append((time.process_time() - cpu_start) / requests * 1e6)
                wall[name].append((time.perf_counter() - wall_start) / requests * 1e6)
        text = await _profile(targets["province page, status"], requests) if profile else None
    _report(cpu, wall, requests, rounds)
    return text


async def _profile(target: Target, requests: int) -> str:
    from pyinstrument import Profiler  # not a dependency: pip install pyinstrument

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(requests):
        await _call(target)
    profiler.stop()
    return profiler.output_text(unicode=False)


def _report(cpu: dict, wall: dict, requests: int, rounds: int) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{rounds} interleaved rounds x {requests} requests, medians; load average now {load}")
    print(f"  {'':34s} {'CPU µs':>8s} {'wall µs':>8s}  ratio (CPU)")
    anonymous = median(cpu["{ __typename } anonymous"])
    for name in cpu:
        if name.startswith("{"):
            ratio = f"{anonymous / median(cpu[name]):.2f}x anonymous / this"
        elif name.startswith("province"):
            baseline = median(cpu[name.replace("province page", "raw endpoint")])
            ratio = f"{median(cpu[name]) / baseline:.2f}x the raw endpoint"
        else:
            ratio = ""
        print(f"  {name:34s} {median(cpu[name]):8.0f} {median(wall[name]):8.0f}  {ratio}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="eiso_bench_dossiers")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="write a pyinstrument profile of the province page")
    args = parser.parse_args(argv)
    url = urlsplit(dossier_bench.PG_URL)._replace(path=f"/{args.database}").geturl()
    text = asyncio.run(measure(url, args.requests, args.rounds, bool(args.profile)))
    if text:
        Path(args.profile).write_text(text)


if __name__ == "__main__":
    main()
