"""A single PostgreSQL node against Citus (a coordinator and two workers) on the same data
(issue 23): the dossier page, a move and a province's figures, through the app.

    .venv/bin/python -m bench.citus_bench [--dossiers 1000000] [--provinces 4] [--agencies 50]
        [--rounds 20] [--out FILE]

Four local PostgreSQL 15 clusters on spare ports of 127.0.0.1 (tests/citus_cluster.py: initdb
and pg_ctl as the `postgres` user, the same settings for all, fsync off), stopped and removed at
the end: the single node (the Citus library loaded, no extension in the database: a plain
PostgreSQL), and a coordinator with two workers. Needs the Citus build (infra/citus/build.sh).

Data: bench/dossier_generator.py fills the single node (`--dossiers` dossiers in `--provinces`
provinces of `--agencies` communes; no timeline rows), the users and the integration client
of the run are added, then the whole database is copied to the coordinator (pg_dump | psql)
and `eiso db upgrade` distributes it (infra/citus/: the tenant tables by province_id in 32
shards, co-located; the national ones as reference tables). Both hold the same rows.

Timed (wall clock, in process: the app's ASGI callable over httpx's transport, one app per
database, production authenticator with real bearer tokens from bench/signed_in.py, no
Redis but `memory://`, the relay and hooks off; the two targets take turns in every round,
their order swapped each round, after one warm-up round):

- the dossier page: `dossiers(first: 50)` as the officer of the busiest agency, and as an
  integration client of its province (`dossiers:read`, its token from the token endpoint);
- a move: `assignDossier` of a dossier the officer has just received (`receiveDossier`,
  reported too);
- a province's figures: `figures(period: this year, groupBy: AGENCY, provinceId)` as the
  province's administrator.

Routing: EXPLAIN on the coordinator of the same three queries written by hand, each naming
its province, shows one task (one shard on one worker); a query naming none shows one task
per shard. And Citus's own counters (`citus_stat_counters`, on for the database) count the
distributed statements the app ran for each operation: single-shard against multi-shard.

On one machine Citus can only add work: every statement is planned on the coordinator and
sent to a worker over a second connection (another round trip on the loopback), the two
workers share the same two cores as the coordinator and the app. The point is that nothing
breaks and that each query naming a province goes to one shard.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_generator as generator
from bench import signed_in
from bench.dossier_bench import MOVES, PAGE, RECEIVE, SECTOR_DATA, percentile

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "eiso_bench_citus"
ASSIGN = MOVES["assign"]
FIGURES = """query($period: PeriodInput!, $p: ID) {
  figures(period: $period, groupBy: AGENCY, provinceId: $p) { agencyId received finished } }"""
OPERATIONS = ("page (agency officer)", "page (province client)", "receive", "move (assign)")
OPERATIONS += ("figures (province)",)


def _cluster_module():
    sys.path.insert(0, str(ROOT))
    from tests import citus_cluster

    return citus_cluster


def _log(message: str) -> None:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S} load {load}] {message}", flush=True)


# -- data ---------------------------------------------------------------------------------------


async def _credentials(owner_url: str, busiest: str) -> dict[str, str]:
    """The run's users and client, made in the single node before it is copied."""
    from eiso.core.resources import Resources

    resources = Resources.open(_settings(owner_url, owner_url, "bench-citus-setup:"))
    province = busiest.split(".")[0]
    run = secrets.token_hex(3)
    try:
        return {
            "officer": await signed_in.user_token(
                resources, username=f"can-bo-{run}", role="officer", agency_code=busiest
            ),
            "admin": await signed_in.user_token(
                resources,
                username=f"quan-tri-{run}",
                role="province_admin",
                province_code=province,
            ),
            "client": await signed_in.client_credentials(
                resources, ["dossiers:read"], province_code=province
            ),
        }
    finally:
        await resources.close()


def _settings(url: str, owner_url: str, prefix: str):
    return signed_in.settings(
        url,
        owner_url,
        env="prod",
        redis_url=f"memory://{prefix}",
        log_level="WARNING",
        events_relay=False,
        events_hooks=False,
        plugins=list(generator.MODULES),
    )


def _copy(single, citus, name: str) -> None:
    """The whole single-node database into the coordinator's (which has only the extension)."""
    pg = _cluster_module().PG_BIN
    dump = subprocess.Popen(
        [str(pg / "pg_dump"), "-h", "127.0.0.1", "-p", str(single.coordinator_port),
         "-U", "postgres", "--no-owner", "-d", name],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    restore = subprocess.run(
        [str(pg / "psql"), "-h", "127.0.0.1", "-p", str(citus.coordinator_port), "-U", "postgres",
         "-d", name, "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise SystemExit(f"copying the database failed: {restore.stderr[-2000:]}")


def _distribute(owner_url: str, app_url: str) -> str:
    """`eiso db upgrade` on the coordinator: the migrations (none left) and the distribution."""
    env = {
        **os.environ,
        "EISO_DATABASE_URL": app_url,
        "EISO_MIGRATION_DATABASE_URL": owner_url,
        "EISO_PLUGINS": ",".join(generator.MODULES),
        "EISO_SECRET_KEY": signed_in.SECRET_KEY,
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "eiso"), "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"eiso db upgrade failed: {done.stderr[-3000:]}")
    return next((line for line in done.stderr.splitlines() if "Citus:" in line), done.stderr)


async def _sql(url: str, statements: list[str]) -> list[list[Any]]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return [list(await connection.fetch(sql)) for sql in statements]
    finally:
        await connection.close()


# -- the timed operations -------------------------------------------------------------------------


class Target:
    """One database's app, in process, with the run's credentials."""

    def __init__(self, name: str, owner_url: str, tokens: dict[str, str], province: int) -> None:
        from eiso.core.app import create_app
        from eiso.core.resources import Resources

        self.name, self.tokens, self.province = name, tokens, province
        settings = _settings(generator.app_url(owner_url), owner_url, f"bench-citus-{name}:")
        self.resources = Resources.open(settings)
        self.app = create_app(settings, self.resources)
        self.headers: dict[str, dict[str, str]] = {}

    @contextlib.asynccontextmanager
    async def running(self):
        import httpx

        transport = httpx.ASGITransport(app=self.app)
        async with (
            self.app.router.lifespan_context(self.app),
            httpx.AsyncClient(transport=transport, base_url=signed_in.ISSUER, timeout=120) as http,
        ):
            self.http = http
            client = await signed_in.grant(http, signed_in.ISSUER, self.tokens["client"])
            self.headers = {
                "officer": signed_in.bearer(self.tokens["officer"]),
                "admin": signed_in.bearer(self.tokens["admin"]),
                "client": signed_in.bearer(client),
            }
            try:
                yield self
            finally:
                await self.resources.close()

    async def ask(self, who: str, query: str, variables: dict | None = None) -> dict:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers[who],
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"{self.name}: {response.status_code} {str(body)[:600]}")
        return body["data"]

    async def round(self) -> dict[str, float]:
        """Each operation once: its wall-clock seconds."""
        from eiso.core.global_ids import encode_id

        took: dict[str, float] = {}

        async def timed(name: str, work: Callable[[], Awaitable[dict]]) -> dict:
            start = time.perf_counter()
            data = await work()
            took[name] = time.perf_counter() - start
            return data

        await timed("page (agency officer)", lambda: self.ask("officer", PAGE, {"filter": {}}))
        await timed("page (province client)", lambda: self.ask("client", PAGE, {"filter": {}}))
        got = await timed("receive", lambda: self.ask("officer", RECEIVE, {"data": SECTOR_DATA}))
        dossier = got["receiveDossier"]["dossier"]
        await timed(
            "move (assign)",
            lambda: self.ask("officer", ASSIGN, {"id": dossier["id"], "v": dossier["version"]}),
        )
        period = {"year": dt.datetime.now(generator.VN_TZ).year}
        province = encode_id("Province", self.province, self.province)
        await timed(
            "figures (province)",
            lambda: self.ask("admin", FIGURES, {"period": period, "p": province}),
        )
        return took


async def measure(targets: list[Target], rounds: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {
        t.name: {op: [] for op in OPERATIONS} for t in targets
    }
    async with contextlib.AsyncExitStack() as stack:
        for target in targets:
            await stack.enter_async_context(target.running())
        for number in range(rounds + 1):  # round 0 warms up (pools, caches, plans)
            for target in targets if number % 2 else reversed(targets):
                took = await target.round()
                if number:
                    for op, seconds in took.items():
                        times[target.name][op].append(seconds)
    return times


async def routed(
    target: Target, citus_owner_url: str, count: int, log: Path
) -> dict[str, tuple[int, int, Counter[str]]]:
    """Citus's counters of single-shard and multi-shard statements over `count` runs of each
    operation through the app, and the multi-shard statements themselves (the coordinator
    logs them: `citus.multi_task_query_log_level`)."""
    import asyncpg

    connection = await asyncpg.connect(citus_owner_url)
    counts = {}
    try:
        async with target.running():
            for op in OPERATIONS:
                if op == "receive":
                    continue  # counted with the move (a move needs a fresh dossier)
                await connection.execute(
                    "SELECT citus_stat_counters_reset(oid) FROM pg_database"
                    " WHERE datname = current_database()"
                )
                offset = await asyncio.to_thread(lambda: log.stat().st_size)
                for _ in range(count):
                    await _one(target, op)
                row = await connection.fetchrow(
                    "SELECT query_execution_single_shard, query_execution_multi_shard"
                    " FROM citus_stat_counters WHERE name = current_database()"
                )
                logged = await asyncio.to_thread(_read_from, log, offset)
                counts[op] = (row[0], row[1], _multi_shard(logged))
    finally:
        await connection.close()
    return counts


def _read_from(path: Path, offset: int) -> str:
    with path.open(encoding="utf-8", errors="replace") as text:
        text.seek(offset)
        return text.read()


_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def _multi_shard(log: str) -> Counter[str]:
    """The statements logged after Citus's "multi-task query about to be executed"."""
    found: Counter[str] = Counter()
    lines, flagged = log.splitlines(), False
    for number, line in enumerate(lines):
        if "multi-task query about to be executed" in line:
            flagged = True
        elif flagged and "STATEMENT:" in line:
            statement = [line.split("STATEMENT:", 1)[1]]
            for more in lines[number + 1 :]:
                if _PREFIX.match(more):
                    break
                statement.append(more)
            sql = " ".join(" ".join(statement).split())
            found[re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", sql)[:500]] += 1
            flagged = False
    return found


async def _one(target: Target, op: str) -> None:
    from eiso.core.global_ids import encode_id

    if op.startswith("page (agency"):
        await target.ask("officer", PAGE, {"filter": {}})
    elif op.startswith("page (province"):
        await target.ask("client", PAGE, {"filter": {}})
    elif op.startswith("move"):
        got = await target.ask("officer", RECEIVE, {"data": SECTOR_DATA})
        dossier = got["receiveDossier"]["dossier"]
        await target.ask("officer", ASSIGN, {"id": dossier["id"], "v": dossier["version"]})
    else:
        period = {"year": dt.datetime.now(generator.VN_TZ).year}
        province = encode_id("Province", target.province, target.province)
        await target.ask("admin", FIGURES, {"period": period, "p": province})


def explains(province: int, dossier: int) -> dict[str, str]:
    year = dt.datetime.now(generator.VN_TZ).year
    return {
        "page of a province": "SELECT id, code, status FROM dossiers"
        f" WHERE province_id = {province} ORDER BY received_at DESC, id DESC LIMIT 51",
        "move of a dossier": f"UPDATE dossiers SET assignee = 'officer-1', version = version + 1"
        f" WHERE province_id = {province} AND id = {dossier}",
        "figures of a province": "SELECT agency_id, count(*) FROM dossiers"
        f" WHERE province_id = {province} AND received_at >= '{year}-01-01'"
        " AND status NOT IN (1, 3) GROUP BY agency_id",
        "page of the nation (no province: every shard)": "SELECT id, code, status FROM dossiers"
        " ORDER BY received_at DESC, id DESC LIMIT 51",
    }


async def explain(owner_url: str, province: int) -> dict[str, list[str]]:
    dossier = (
        await _sql(owner_url, [f"SELECT max(id) FROM dossiers WHERE province_id = {province}"])
    )[0][0][0]
    plans = {}
    for name, sql in explains(province, dossier).items():
        rows = (await _sql(owner_url, [f"EXPLAIN (COSTS OFF) {sql}"]))[0]
        lines = [row[0] for row in rows]
        plans[name] = [
            line.strip()
            for line in lines
            if re.search(r"Task Count|Tasks Shown|Node: host|Custom Scan|->  Task", line)
        ]
    return plans


# -- the run ------------------------------------------------------------------------------------


def report(times: dict[str, dict[str, list[float]]], args, lines: list[str]) -> None:
    single, citus = times["single node"], times["citus"]
    lines.append(
        f"| operation ({args.rounds} rounds) | single node p50 / p90 | Citus p50 / p90 | "
        "Citus / single (p50) |"
    )
    lines.append("|---|---|---|---|")
    for op in OPERATIONS:
        s50, s90 = percentile(single[op], 0.5) * 1000, percentile(single[op], 0.9) * 1000
        c50, c90 = percentile(citus[op], 0.5) * 1000, percentile(citus[op], 0.9) * 1000
        lines.append(
            f"| {op} | {s50:.1f} / {s90:.1f} ms | {c50:.1f} / {c90:.1f} ms | {c50 / s50:.2f}x |"
        )


def run(args) -> list[str]:
    cluster = _cluster_module()
    if not cluster.citus_installed():
        raise SystemExit("Citus is not installed: run infra/citus/build.sh")
    lines: list[str] = []
    with cluster.local_citus(workers=0) as single, cluster.local_citus() as citus:
        _log(f"single node on port {single.coordinator_port}; Citus on {citus.ports}")
        single_url, citus_url = single.url(DATABASE), citus.url(DATABASE)
        summary = generator.fill(
            single_url,
            dossiers=args.dossiers,
            provinces=args.provinces,
            agencies=args.agencies,
            events=False,
        )
        _log(
            f"generated {summary.dossiers:,} dossiers in the single node in {summary.seconds:.0f} s"
        )
        agencies = [a | {"province_id": p["id"]} for p in summary.provinces for a in p["agencies"]]
        busiest = max(agencies, key=lambda a: a["dossiers"])
        province = busiest["province_id"]
        in_province = sum(a["dossiers"] for a in agencies if a["province_id"] == province)
        tokens = asyncio.run(_credentials(single_url, busiest["code"]))
        start = time.perf_counter()
        citus.create_database(DATABASE, generator.APP_ROLE)
        _copy(single, citus, DATABASE)
        _log(f"copied to the coordinator in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        said = _distribute(citus_url, generator.app_url(citus_url))
        asyncio.run(
            _sql(
                citus_url,
                [
                    f'ALTER DATABASE "{DATABASE}" SET citus.enable_stat_counters = on',
                    "SELECT truncate_local_data_after_distributing_table(logicalrelid)"
                    " FROM pg_dist_partition",
                    "ANALYZE",
                ],
            )
        )
        _log(f"distributed in {time.perf_counter() - start:.0f} s: {said.strip()}")
        counts = asyncio.run(
            _sql(
                citus_url,
                [
                    "SELECT count(*) FROM dossiers",
                    "SELECT count(DISTINCT shardid) FROM pg_dist_shard"
                    " WHERE logicalrelid = 'dossiers'::regclass",
                    "SELECT nodename || ':' || nodeport, count(*) FROM citus_shards"
                    " WHERE table_name = 'dossiers'::regclass GROUP BY 1 ORDER BY 1",
                ],
            )
        )
        lines.append(
            f"{counts[0][0][0]:,} dossiers on Citus in {counts[1][0][0]} shards "
            f"({', '.join(f'{r[0]}: {r[1]}' for r in counts[2])}); busiest agency "
            f"{busiest['code']} ({busiest['dossiers']:,} dossiers), its province {in_province:,}"
        )
        targets = [
            Target("single node", single_url, tokens, province),
            Target("citus", citus_url, tokens, province),
        ]
        _log(f"timing, {args.rounds} rounds")
        times = asyncio.run(measure(targets, args.rounds))
        report(times, args, lines)
        _log("routing: EXPLAIN and Citus's counters")
        for name, plan in asyncio.run(explain(citus_url, province)).items():
            lines.append(f"EXPLAIN {name}: " + "; ".join(plan))
        asyncio.run(
            _sql(
                citus_url,
                [f'ALTER DATABASE "{DATABASE}" SET citus.multi_task_query_log_level = log'],
            )
        )
        target = Target("citus", citus_url, tokens, province)
        log = citus.directory / f"node-{citus.coordinator_port}" / "log"
        for op, (one, many, which) in asyncio.run(
            routed(target, citus_url, args.count, log)
        ).items():
            lines.append(
                f"{op} x {args.count} through the app: {one} single-shard, {many} multi-shard "
                "distributed statements"
            )
            lines.extend(f"    multi-shard x {n}: {sql}" for sql, n in which.most_common())
        _log("stopping the clusters")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--provinces", type=int, default=4)
    parser.add_argument("--agencies", type=int, default=50, help="agencies per province")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--count", type=int, default=5, help="runs per operation for the counters")
    parser.add_argument("--out", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    lines = run(args)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
