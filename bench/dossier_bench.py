"""Dossiers at scale: 1,000,000 dossiers on PostgreSQL (bench/dossier_generator.py), a real
uvicorn server, and two measurements, each against a baseline of the same run:

(a) throughput: concurrent officers of many agencies take new dossiers through the whole
    path over GraphQL (receive → assign → complete every step → processed → return the
    result: 6 requests) for a fixed time; dossiers per second with 1 app worker and with 2,
    and their ratio. The load runs in a separate process (httpx, asyncio).
(b) page latency: ~200 filtered 50-dossier pages (no filter, status, procedure, late, a
    period, a code search; each followed by two more pages with `after`) as an agency's
    officer and as a province, p50/p99 of the GraphQL request against two baselines of the
    same run, interleaved: the raw SQL that returns the same rows (asyncpg in the bench
    process, no HTTP), and that SQL behind a plain Starlette endpoint of the same server
    returning the same JSON (`/raw-page`: the same HTTP client, server and orjson, so the
    ratio is what eiso's layers add). The rows and the JSON are compared. Beside each page,
    `{ __typename }` signed in and anonymous (the fixed cost of a bearer token).

Honest by construction (issue 18). Every caller is real and goes through the production
authenticator (core/auth/jwt_authenticator.py: RS256, issuer, audience, expiry, revocation;
bench/signed_in.py): the officers are users made by `create_user` with the token a desk
sign-in ends with, the province is an integration client of the province (`dossiers:read`)
whose token comes from POST /oauth/token. The baseline endpoint authenticates nobody (it is
told the caller in its request body): what eiso spends on the token is on eiso's side of the
ratio.

The raw SQL (`raw_sql`) is the best hand-written form of each query, reviewed side by side
with the app's (graphql/dossiers/page.py, infra/index_conditions.py) on the 1M database,
planning + execution time in the server (EXPLAIN ANALYZE, median of 15, 2026-12-06):

    part of the query          app's form                      forms tried for the baseline
    scope, province            province_id = ANY(:provinces)   province_id = $1
    scope, agency              UNION ALL of its own dossiers   the same UNION ALL, each arm
                               and the handed-over ones, each  ordered and limited
                               arm ordered and limited
    handed-over arm            id = ANY (ARRAY(SELECT          IN (SELECT …): 1.50 ms, with
                               dossier_id FROM dossier_steps   status 13.3 ms (a hashed
                               WHERE agency_id … AND           semi-join); = ANY (ARRAY(…)):
                               handed_over))                   1.23 ms, with status 1.32 ms
                                                               → = ANY (ARRAY(…))
    code search (prefix)       code_folded ~>=~ :low AND       lower(code) LIKE 'x%' (the
                               code_folded ~<~ :high           earlier baseline): province
                                                               73 ms (no index serves it);
                                                               code_folded LIKE: 1.73 ms;
                                                               the range: 1.52 ms → the range
    late                       was_late OR (appointment_at <   the same, statuses as literals
                               :now AND status IN (1,2,4,6)    (the partial index's
                               AND paused_at IS NULL)          predicate)
    keyset                     (received_at, id) < (:r, :i)    the same, ORDER BY received_at
                                                               DESC, id DESC LIMIT 51

The baseline runs as the database owner (no row-level security, no tenant settings, no
session), with asyncpg's prepared statements.

    .venv/bin/python -m bench.dossier_bench [--dossiers 1000000] [--provinces 4] [--agencies 50]
        [--seconds 20] [--concurrency 16] [--rounds 6] [--reuse] [--keep] [--database NAME]

The database is `eiso_bench_dossiers` (or --database) on EISO_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), created, filled and dropped at the end
(`--keep` keeps it, `--reuse` measures an existing one). Redis: EISO_BENCH_REDIS_URL
(default redis://127.0.0.1:6379/0) under a throwaway key prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_generator as generator
from bench import signed_in
from bench.common import server_env
from eiso.infra import migrate

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("EISO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE = "eiso_bench_dossiers"
PROCEDURE = "1.001193"  # birth registration: three steps
SECTOR_DATA = {
    "child_full_name": "Trần Minh Khôi",
    "date_of_birth": "2026-11-01",
    "sex": "male",
    "place_of_birth": "Trạm y tế xã Tiên Yên",
    "mother_full_name": "Nguyễn Thị Hoa",
    "mother_citizen_id": "022190001234",
}

WORKERS = textwrap.dedent('''
    import os

    from eiso.core.app import create_app
    from eiso.core.settings import get_settings

    def eiso():
        """The app with its production authenticator (bearer tokens, core/auth/
        jwt_authenticator.py), saying which worker answered (the bench waits until every
        worker has), and beside it `/raw-page`: the baseline endpoint
        (bench.dossier_bench.raw_page_app)."""
        from bench.dossier_bench import raw_page_app

        inner = create_app(get_settings())
        raw = raw_page_app(os.environ["EISO_BENCH_RAW_URL"])
        pid = str(os.getpid()).encode()

        async def app(scope, receive, send):
            async def send_pid(message):
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"x-bench-pid", pid)]
                await send(message)

            if scope["type"] == "http" and scope["path"] == "/raw-page":
                await raw(scope, receive, send)
                return
            await inner(scope, receive, send_pid if scope["type"] == "http" else send)

        return app
''')


# -- the server -------------------------------------------------------------------------------


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn --workers N` on 127.0.0.1, the app connecting as the non-superuser role (RLS on)."""

    def __init__(self, folder: Path, database_url: str, workers: int, redis_prefix: str) -> None:
        self.port = _port()
        # A file, not a pipe: a full pipe would stall the server.
        self.log = open(folder / f"server-{self.port}.log", "w+b")  # noqa: SIM115 - closed in __exit__
        env = server_env(
            DATABASE_URL=generator.app_url(database_url),
            REDIS_URL=REDIS_URL,
            REDIS_PREFIX=redis_prefix,
            PLUGINS=",".join(generator.MODULES),
            DB_POOL_SIZE="20",
            BENCH_RAW_URL=database_url,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "workers:eiso",
                "--app-dir",
                str(folder),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            cwd=Path(__file__).resolve().parents[1],
        )  # `bench` importable: the baseline endpoint
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.workers = workers
        self.pids: set[int] = set()  # the workers' process ids, known once each has answered

    def __enter__(self):
        """Ready when every worker has answered `{ __typename }` (the socket accepts before
        the apps have started). Slow on a busy machine: up to three minutes."""
        import httpx

        deadline, answered = time.monotonic() + 180, set()
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.log.seek(0)
                    raise SystemExit(f"server exited: {self.log.read().decode()[-2000:]}")
                try:  # a new connection each time: any worker may take it
                    response = httpx.post(self.url, json={"query": "{ __typename }"}, timeout=5)
                    if response.status_code == 200:
                        answered.add(response.headers.get("x-bench-pid"))
                        if len(answered) >= self.workers:
                            self.pids = {int(pid) for pid in answered if pid}
                            return self
                        continue
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            raise SystemExit("server did not start")
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *_exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


# -- (a) throughput ---------------------------------------------------------------------------

RECEIVE = (
    'mutation($data: JSON!) { receiveDossier(input: {procedureCode: "' + PROCEDURE + '", '
    'applicant: {fullName: "Nguyễn Thị Hoa", phone: "0912345678"}, sectorData: $data}) '
    "{ dossier { id version } } }"
)
MOVES = {
    "assign": "mutation($id: ID!, $v: Int!) { "
    'assignDossier(id: $id, expectedVersion: $v, assignee: "officer-1") '
    "{ version status } }",
    "step": "mutation($id: ID!, $v: Int!) { "
    "completeStep(id: $id, expectedVersion: $v) { version status } }",
    "return": "mutation($id: ID!, $v: Int!) { "
    "returnResult(id: $id, expectedVersion: $v) { version status } }",
}
FLOW = ["assign", "step", "step", "step", "return"]  # three steps: the last one makes it processed


async def _flow(http, url: str, headers: dict, errors: list) -> int:
    """One dossier through the whole path; the number of requests it took (negative: failed)."""
    body = (
        await http.post(
            url, json={"query": RECEIVE, "variables": {"data": SECTOR_DATA}}, headers=headers
        )
    ).json()
    if body.get("errors"):
        errors.append(str(body["errors"])[:300])
        return -1
    dossier = body["data"]["receiveDossier"]["dossier"]
    dossier_id, version = dossier["id"], dossier["version"]
    for count, move in enumerate(FLOW, start=2):
        body = (
            await http.post(
                url,
                json={"query": MOVES[move], "variables": {"id": dossier_id, "v": version}},
                headers=headers,
            )
        ).json()
        if body.get("errors"):
            errors.append(str(body["errors"])[:300])
            return -count
        version = next(iter(body["data"].values()))["version"]
    status = next(iter(body["data"].values()))["status"]
    return 1 + len(FLOW) if status == "RETURNED" else -(1 + len(FLOW))


async def load(
    url: str, tokens: list[str], concurrency: int, seconds: float, warmup: float
) -> dict:
    """`concurrency` officers (each of another agency, signed in with its own bearer token)
    loop over whole dossier paths; only the paths that end inside the measured window after
    `warmup` count."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = {"dossiers": 0, "requests": 0, "failed": 0, "errors": []}
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        start = time.perf_counter()
        begin, end = start + warmup, start + warmup + seconds

        async def officer(index: int) -> None:
            headers = signed_in.bearer(tokens[index % len(tokens)])
            while time.perf_counter() < end:
                try:
                    took = await _flow(http, url, headers, done["errors"])
                except httpx.HTTPError as error:
                    took = 0
                    done["errors"].append(repr(error)[:200])
                finished = time.perf_counter()
                if begin <= finished <= end:
                    if took > 0:
                        done["dossiers"] += 1
                        done["requests"] += took
                    else:
                        done["failed"] += 1

        await asyncio.gather(*(officer(i) for i in range(concurrency)))
    done["seconds"] = seconds
    done["errors"] = [e[:160] for e in done["errors"][:3]]
    return done


def run_load(url: str, tokens: list[str], concurrency: int, seconds: float, warmup: float) -> dict:
    """The load generator in its own process, so it does not share the bench's event loop."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.dossier_bench",
            "load",
            "--url",
            url,
            "--tokens-json",
            json.dumps(tokens),
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
            "--warmup",
            str(warmup),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_throughput(folder: Path, database_url: str, tokens: list[str], args, prefix: str) -> dict:
    results = {}
    for workers in (1, 2):
        with Server(folder, database_url, workers, prefix) as server:
            got = run_load(server.url, tokens, args.concurrency, args.seconds, args.warmup)
        rate = got["dossiers"] / got["seconds"]
        results[workers] = rate
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}  {rate:7.1f} dossiers/s  "
            f"({got['requests'] / got['seconds']:6.1f} requests/s, {got['failed']} failed paths"
            f"{', errors: ' + '; '.join(got['errors']) if got['errors'] else ''})"
        )
    if results[1]:
        print(f"  ratio 2 workers / 1 worker: {results[2] / results[1]:.2f}x")
    return results


# -- (b) page latency -------------------------------------------------------------------------

PAGE = """query($filter: DossierFilter, $after: String) {
  dossiers(filter: $filter, first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id code procedureCode status receivedAt appointmentAt late assignee } } } }"""
SQL_COLUMNS = (
    "province_id, id, code, procedure_code, status, current_step, assignee, received_at, "
    "appointment_at, was_late, supplement_count, version"
)


def filters(search: str, now: dt.datetime) -> dict[str, dict]:
    month = (now - dt.timedelta(days=60)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return {
        "none": {},
        "status": {"status": "IN_PROGRESS"},
        "procedure": {"procedureCode": "LT-KS-TT-BHYT"},
        "late": {"late": True},
        "period": {
            "receivedFrom": month.isoformat(),
            "receivedTo": (month + dt.timedelta(days=31)).isoformat(),
        },
        "search": {"search": search},
    }


STATUS_NUMBERS = {"IN_PROGRESS": 4, "RETURNED": 10}


def raw_sql(
    scope_column: str,
    scope_id: int,
    province_id: int,
    graphql_filter: dict,
    after: tuple | None,
    now: dt.datetime,
):
    """The SQL a person would write for the same rows: the filter, the keyset, 51 rows of the
    columns shown; for a province its column, for an agency its own dossiers and those handed
    over to it (a step it holds, received from another agency), each walked in order."""
    where, args = [], [scope_id]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if "status" in graphql_filter:
        where.append(f"status = {arg(STATUS_NUMBERS[graphql_filter['status']])}")
    if "procedureCode" in graphql_filter:
        where.append(f"procedure_code = {arg(graphql_filter['procedureCode'])}")
    if graphql_filter.get("late"):
        where.append(
            f"(was_late OR (appointment_at < {arg(now)} AND status IN (1, 2, 4, 6)"
            " AND paused_at IS NULL))"
        )
    if "receivedFrom" in graphql_filter:
        where.append(
            f"received_at >= {arg(dt.datetime.fromisoformat(graphql_filter['receivedFrom']))}"
        )
        where.append(
            f"received_at < {arg(dt.datetime.fromisoformat(graphql_filter['receivedTo']))}"
        )
    if "search" in graphql_filter:  # a prefix of the folded code, as one index range
        low = graphql_filter["search"].lower()
        high = low[:-1] + chr(ord(low[-1]) + 1)
        where.append(f"code_folded ~>=~ {arg(low)} AND code_folded ~<~ {arg(high)}")
    if after:
        where.append(f"(received_at, id) < ({arg(after[0])}, {arg(after[1])})")
    order = "ORDER BY received_at DESC, id DESC LIMIT 51"
    if scope_column == "province_id":
        conditions = " AND ".join(["province_id = $1", *where])
        return f"SELECT {SQL_COLUMNS} FROM dossiers WHERE {conditions} {order}", args
    handed = (
        f"province_id = {arg(province_id)} AND agency_id <> $1 AND id = ANY (ARRAY("
        "SELECT dossier_id FROM dossier_steps WHERE agency_id = $1 AND handed_over))"
    )
    own = " AND ".join(["agency_id = $1", *where])
    shared = " AND ".join([handed, *where])
    sql = (
        f"(SELECT {SQL_COLUMNS} FROM dossiers WHERE {own} {order}) "
        f"UNION ALL (SELECT {SQL_COLUMNS} FROM dossiers WHERE {shared} {order}) {order}"
    )
    return sql, args


def raw_page_app(database_url: str):
    """The baseline endpoint: `raw_sql` on an asyncpg pool (as the database owner, so no
    row-level security: the query a person would write), the same JSON as the GraphQL page
    written with orjson. POST {"caller": [scope column, scope id, province id], "filter",
    "after": [received_at, id] | null, "now"}."""
    import asyncpg
    import orjson
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from eiso.core.dossiers.statuses import CLOCK_RUNS, Status
    from eiso.core.global_ids import encode_id
    from eiso.graphql.shared.connections import encode_cursor

    pool = None
    running = {int(s) for s in CLOCK_RUNS}
    names = {int(s): s.name.upper() for s in Status}  # as the GraphQL enum spells them

    def node(row, now):
        appointment = row["appointment_at"]
        late = row["was_late"] or (
            appointment is not None and row["status"] in running and now > appointment
        )
        return {
            "id": encode_id("Dossier", row["province_id"], row["id"]),
            "code": row["code"],
            "procedureCode": row["procedure_code"],
            "status": names[row["status"]],
            "receivedAt": row["received_at"].isoformat(),
            "appointmentAt": appointment.isoformat() if appointment else None,
            "late": late,
            "assignee": row["assignee"],
        }

    async def page(request):
        nonlocal pool
        if pool is None:
            pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
        asked = orjson.loads(await request.body())
        now = dt.datetime.fromisoformat(asked["now"])
        after = asked["after"] and (dt.datetime.fromisoformat(asked["after"][0]), asked["after"][1])
        sql, args = raw_sql(*asked["caller"], asked["filter"], after, now)
        async with pool.acquire() as connection:
            rows = await connection.fetch(sql, *args)
        shown = rows[:50]
        last = shown[-1] if shown else None
        body = {
            "data": {
                "dossiers": {
                    "pageInfo": {
                        "hasNextPage": len(rows) > 50,
                        "endCursor": last
                        and encode_cursor([last["received_at"].isoformat(), last["id"]]),
                    },
                    "edges": [{"node": node(row, now)} for row in shown],
                }
            }
        }
        return Response(orjson.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/raw-page", page, methods=["POST"])])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def pages(url: str, database_url: str, callers: dict[str, tuple], rounds: int) -> dict:
    """`callers`: name → (headers, scope column, scope id, province id, search term)."""
    import asyncpg
    import httpx
    import orjson

    now = dt.datetime.now(dt.UTC)
    raw_url = url.rsplit("/", 1)[0] + "/raw-page"
    times: dict[str, dict[str, list[float]]] = {
        name: {"graphql": [], "sql": [], "endpoint": [], "typename": [], "anonymous": []}
        for name in callers
    }
    per_filter: dict[tuple[str, str], list[tuple[float, float]]] = {}
    mismatches = 0
    connection = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for round_ in range(rounds + 1):  # round 0 warms up (caches, prepared statements)
                for name, (headers, column, scope_id, province_id, search) in callers.items():
                    for label, graphql_filter in filters(search, now).items():
                        after_gql, after_sql = None, None
                        for _ in range(3):  # the first page, then two more with `after`
                            start = time.perf_counter()
                            response = await http.post(
                                url,
                                json={
                                    "query": PAGE,
                                    "variables": {"filter": graphql_filter, "after": after_gql},
                                },
                                headers=headers,
                            )
                            body = response.json()
                            graphql_took = time.perf_counter() - start
                            if body.get("errors"):
                                raise SystemExit(f"{name} {label}: {body['errors']}")
                            sql, args = raw_sql(
                                column, scope_id, province_id, graphql_filter, after_sql, now
                            )
                            start = time.perf_counter()
                            rows = await connection.fetch(sql, *args)
                            sql_took = time.perf_counter() - start
                            page = body["data"]["dossiers"]
                            if [e["node"]["code"] for e in page["edges"]] != [
                                r["code"] for r in rows[:50]
                            ]:
                                mismatches += 1
                            start = (
                                time.perf_counter()
                            )  # the same rows and JSON from a plain endpoint
                            plain = await http.post(
                                raw_url,
                                content=orjson.dumps(
                                    {
                                        "caller": [column, scope_id, province_id],
                                        "filter": graphql_filter,
                                        "after": after_sql
                                        and [after_sql[0].isoformat(), after_sql[1]],
                                        "now": now.isoformat(),
                                    }
                                ),
                            )
                            endpoint_took = time.perf_counter() - start
                            if plain.json()["data"] != body["data"]:
                                mismatches += 1
                            start = time.perf_counter()  # the fixed cost: HTTP, auth, GraphQL
                            await http.post(url, json={"query": "{ __typename }"}, headers=headers)
                            typename_took = time.perf_counter() - start
                            start = time.perf_counter()  # the same, anonymous: no token
                            await http.post(url, json={"query": "{ __typename }"})
                            anonymous_took = time.perf_counter() - start
                            if round_:
                                times[name]["typename"].append(typename_took)
                                times[name]["anonymous"].append(anonymous_took)
                                times[name]["graphql"].append(graphql_took)
                                times[name]["sql"].append(sql_took)
                                times[name]["endpoint"].append(endpoint_took)
                                per_filter.setdefault((name, label), []).append(
                                    (graphql_took, sql_took, endpoint_took)
                                )
                            if not page["pageInfo"]["hasNextPage"] or len(rows) < 51:
                                break
                            after_gql = page["pageInfo"]["endCursor"]
                            after_sql = (rows[49]["received_at"], rows[49]["id"])
    finally:
        await connection.close()
    return {"times": times, "per_filter": per_filter, "mismatches": mismatches}


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report_pages(result: dict) -> None:
    """p50 / p99 per caller: the GraphQL page, the raw SQL alone (asyncpg in the bench
    process: no HTTP), the raw SQL behind a plain endpoint of the same server (the same HTTP
    client, server and JSON: what eiso's layers add), and the ratios."""

    def ms(values):
        return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000

    print(
        "  caller    pages  GraphQL p50/p99    raw SQL alone      ratio        "
        "raw SQL endpoint   ratio        { __typename }"
    )
    for name, runs in result["times"].items():
        (g50, g99), (s50, s99), (e50, e99) = (
            ms(runs["graphql"]),
            ms(runs["sql"]),
            ms(runs["endpoint"]),
        )
        print(
            f"  {name:9s} {len(runs['graphql']):5d}  {g50:6.2f} / {g99:6.2f} ms  "
            f"{s50:5.2f} / {s99:5.2f} ms  {g50 / s50:5.2f}x/{g99 / s99:5.2f}x  "
            f"{e50:5.2f} / {e99:5.2f} ms  {g50 / e50:4.2f}x/{g99 / e99:4.2f}x  "
            f"{ms(runs['typename'])[0]:5.2f} ms"
        )
    print("  { __typename } signed in against anonymous (p50 / p99 ms; anonymous / signed in):")
    for name, runs in result["times"].items():
        (t50, t99), (a50, a99) = ms(runs["typename"]), ms(runs["anonymous"])
        print(
            f"    {name:9s} signed in {t50:5.2f} / {t99:5.2f}  anonymous {a50:5.2f} / {a99:5.2f}"
            f"  {a50 / t50:4.2f}x / {a99 / t99:4.2f}x (goal >= 0.8x)"
        )
    print(
        "  per filter, p50 / p99 ms: GraphQL, raw SQL alone, raw SQL endpoint; GraphQL against "
        "the SQL (p50) and the endpoint (p50 / p99):"
    )
    for (name, label), triples in result["per_filter"].items():
        (g, g99), (s, _), (e, e99) = (ms([t[i] for t in triples]) for i in range(3))
        print(
            f"    {name:9s} {label:10s} {g:6.2f} / {g99:6.2f}  {s:5.2f}  {e:5.2f} / {e99:6.2f}"
            f"  {g / s:5.2f}x  {g / e:4.2f}x / {g99 / e99:4.2f}x"
        )
    print(f"  load average at the end: {load_average()}")
    print(
        "  pages whose rows or JSON differed between GraphQL, SQL and the endpoint: "
        f"{result['mismatches']}"
    )


# -- the run ----------------------------------------------------------------------------------


async def _summary_of(database_url: str, prefix: str) -> list[dict]:
    """Provinces and agencies (with their dossier counts) of an existing generated database."""
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            """SELECT p.id AS province_id, a.id, a.code, count(d.id) AS dossiers
               FROM agencies a JOIN provinces p ON p.id = a.province_id
               LEFT JOIN dossiers d ON d.agency_id = a.id
               WHERE p.code LIKE $1 GROUP BY 1, 2, 3 ORDER BY 1, 3""",
            prefix + "%",
        )
    finally:
        await connection.close()
    provinces: dict[int, dict] = {}
    for row in rows:
        provinces.setdefault(row["province_id"], {"id": row["province_id"], "agencies": []})[
            "agencies"
        ].append({"id": row["id"], "code": row["code"], "dossiers": row["dossiers"]})
    return list(provinces.values())


async def _handed_to(database_url: str, agency_id: int) -> int:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM dossier_steps"
            " WHERE agency_id = $1 AND from_agency_id <> agency_id",
            agency_id,
        )
    finally:
        await connection.close()


async def _analyze(database_url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("ANALYZE dossiers")
    finally:
        await connection.close()


def _flush_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    finally:
        client.close()


async def _sign_in(
    database_url: str, busiest: str | None, officers: list[str]
) -> tuple[str, str, list[str]]:
    """Real credentials (bench/signed_in.py): the busiest agency's officer's token, the HTTP
    Basic header of an integration client of its province (`dossiers:read`: its token comes
    from the token endpoint once the server is up), and a token for an officer of each
    agency in `officers`."""
    from eiso.core.resources import Resources

    settings = signed_in.settings(database_url, redis_url="memory://bench-dossiers:")
    resources = Resources.open(settings)
    run_id = secrets.token_hex(3)

    async def officer(code: str) -> str:
        return await signed_in.user_token(
            resources, username=f"can-bo-{run_id}-{code.lower()}", role="officer", agency_code=code
        )

    try:
        if busiest is None:
            return "", "", [await officer(code) for code in officers]
        province = busiest.split(".")[0]  # the generator's agency codes: <province>.<nnn>
        basic = await signed_in.client_credentials(
            resources, ["dossiers:read"], province_code=province
        )
        return await officer(busiest), basic, [await officer(code) for code in officers]
    finally:
        await resources.close()


async def _grant(graphql_url: str, basic: str) -> str:
    import httpx

    async with httpx.AsyncClient(timeout=60) as http:
        return await signed_in.grant(http, graphql_url.rsplit("/", 1)[0], basic)


def run(args) -> None:
    database_url = urlsplit(PG_URL)._replace(path=f"/{args.database}").geturl()
    prefix = f"eiso-bench-{secrets.token_hex(4)}:"
    try:
        if args.reuse:
            start = time.perf_counter()
            migrate.upgrade(database_url, generator.app_url(database_url))
            asyncio.run(_analyze(database_url))  # statistics for indexes a migration just made
            print(
                f"migrated and analysed the existing {args.database} "
                f"in {time.perf_counter() - start:.1f} s"
            )
        else:
            summary = generator.fill(
                database_url,
                dossiers=args.dossiers,
                provinces=args.provinces,
                agencies=args.agencies,
            )
            print(
                f"generated {summary.dossiers:,} dossiers and {summary.events:,} timeline rows in "
                f"{summary.seconds:.0f} s ({summary.dossiers / summary.seconds:,.0f} dossiers/s)"
            )
        provinces = asyncio.run(_summary_of(database_url, "BN"))
        agencies = [a | {"province_id": p["id"]} for p in provinces for a in p["agencies"]]
        print(
            f"{sum(a['dossiers'] for a in agencies):,} dossiers in {len(provinces)} provinces, "
            f"{len(agencies)} agencies; machine: {os.cpu_count()} cores shared with other jobs"
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "workers.py").write_text(WORKERS)
            if not args.skip_pages:
                busiest = max(agencies, key=lambda a: a["dossiers"])
                province = next(p for p in provinces if p["id"] == busiest["province_id"])
                in_province = sum(a["dossiers"] for a in province["agencies"])
                month = (dt.datetime.now(generator.VN_TZ) - dt.timedelta(days=45)).strftime("%y%m")
                search = f"{busiest['code'].lower()}-{month}"
                officer, province_client, _ = asyncio.run(
                    _sign_in(database_url, busiest["code"], [])
                )
                handed = asyncio.run(_handed_to(database_url, busiest["id"]))
                print(
                    f"(b) 50-dossier pages: agency {busiest['code']} "
                    f"({busiest['dossiers']:,} dossiers and {handed:,} handed over to it), "
                    f"its province ({in_province:,}), {args.rounds} rounds after a warm-up, "
                    "1 worker; signed in with bearer tokens (the officer's, the province "
                    "client's from the token endpoint)"
                )
                with Server(folder, database_url, 1, prefix) as server:
                    province_token = asyncio.run(_grant(server.url, province_client))
                    callers = {
                        "agency": (
                            signed_in.bearer(officer),
                            "agency_id",
                            busiest["id"],
                            province["id"],
                            search,
                        ),
                        "province": (
                            signed_in.bearer(province_token),
                            "province_id",
                            province["id"],
                            province["id"],
                            search,
                        ),
                    }
                    print(f"  load average at the start: {load_average()}")
                    report_pages(asyncio.run(pages(server.url, database_url, callers, args.rounds)))
            if not args.skip_throughput:
                _, _, officers = asyncio.run(
                    _sign_in(database_url, None, [a["code"] for a in agencies[: args.concurrency]])
                )
                print(
                    f"(a) receive → return over GraphQL: {args.concurrency} officers "
                    f"of as many agencies, {args.warmup:.0f} s warm-up + {args.seconds:.0f} s "
                    "measured, 6 requests per dossier"
                )
                bench_throughput(folder, database_url, officers, args, prefix)
    finally:
        _flush_redis(prefix)
        if not args.keep:
            asyncio.run(generator.drop_database(database_url))
            print(f"dropped {args.database}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    worker = commands.add_parser("load", help="(internal) the load generator process")
    worker.add_argument("--url", required=True)
    worker.add_argument("--tokens-json", required=True)
    worker.add_argument("--concurrency", type=int, default=16)
    worker.add_argument("--seconds", type=float, default=20)
    worker.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--provinces", type=int, default=4)
    parser.add_argument("--agencies", type=int, default=50, help="agencies per province")
    parser.add_argument(
        "--seconds", type=float, default=20, help="measured load time per worker count"
    )
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6, help="page rounds (36 pages each)")
    parser.add_argument("--database", default=DATABASE, help="the name of the benchmark's database")
    parser.add_argument("--reuse", action="store_true", help=f"measure the existing {DATABASE}")
    parser.add_argument("--keep", action="store_true", help=f"do not drop {DATABASE}")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "load":
        result = asyncio.run(
            load(
                args.url,
                json.loads(args.tokens_json),
                args.concurrency,
                args.seconds,
                args.warmup,
            )
        )
        print(json.dumps(result))
        return
    run(args)


if __name__ == "__main__":
    main()
