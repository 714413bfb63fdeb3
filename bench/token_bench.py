"""The token path (issue 18), with wrk on CPU 1 and uvicorn on CPU 0, on PostgreSQL and Redis,
each eiso target against a hand-written one in the same run (targets interleaved):

1. client-credential grants (`POST /oauth/token`, HTTP Basic) per server CPU second, with the
   server's resident memory idle and its peak under the load (VmRSS, VmHWM). Baseline: a
   hand-written grant endpoint on a bare Starlette app doing the same work the best way a
   person would write it: the Basic header decoded, the same rate-limit count in Redis (INCR
   and EXPIRE pipelined), the client's row read by primary key on an asyncpg pool
   (`SELECT secret_hash, scopes, province_id, agency_id FROM auth_clients WHERE client_id =
   $1`, the same table and keyed hash as eiso), `hmac.compare_digest`, the same claims signed
   RS256 with a 2048-bit key (joserfc), the JSON answer.
2. `{ __typename }` signed in with a real access token through the production authenticator
   (core/auth/jwt_authenticator.py), against the same query anonymous. Baseline: the same pair
   on a bare Starlette endpoint that answers the query's JSON by hand and checks a bearer token
   as a person would write it for speed: a per-process dict of verified tokens (RS256 checked
   on a miss), a set of revoked ids; its signed-in/anonymous ratio is what eiso's is measured
   against.

The database is a fresh `eiso_bench_tokens_<random>` on EISO_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end; Redis is
EISO_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0) under a prefix of the run's own. The
token rate limit is lifted for the run (it would answer 429 to one client's flood).

    python -m bench.token_bench [--seconds 5] [--connections 4] [--rounds 3]
        [--targets grant,grant-raw,anonymous,signed-in,anonymous-raw,signed-in-raw]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import secrets
import statistics
import subprocess
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from typing import NamedTuple

from bench import dossier_generator as generator
from bench import wrk

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("EISO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-" + "x" * 32
ISSUER = "https://eiso.example"

WORKERS = textwrap.dedent('''
    import base64
    import hashlib
    import hmac
    import json
    import os
    import secrets
    import time

    import asyncpg
    import redis.asyncio as aioredis
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from eiso.core.app import create_app
    from eiso.core.global_ids import encode_id
    from eiso.core.settings import get_settings

    def eiso():
        return create_app(get_settings())

    def raw():
        """The hand-written baseline: a grant endpoint and a `{ __typename }` endpoint."""
        key = RSAKey.generate_key(2048, parameters={"kid": "raw", "alg": "RS256"}, private=True)
        header = {"alg": "RS256", "kid": "raw", "typ": "at+jwt"}
        secret_key = os.environ["EISO_SECRET_KEY"].encode()
        mac_key = hashlib.sha256(b"eiso-client-secret:" + secret_key).digest()
        issuer, prefix = os.environ["EISO_ISSUER"], os.environ["EISO_REDIS_PREFIX"]
        dsn = os.environ["EISO_DATABASE_URL"].replace("+asyncpg", "")
        redis = aioredis.from_url(os.environ["EISO_REDIS_URL"])
        pool = None
        verified, revoked = {}, set()
        refused = Response(b'{"error":"invalid_client"}', 401, media_type="application/json")

        async def token(request):
            nonlocal pool
            if pool is None:
                pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
            form = await request.form()
            if form.get("grant_type") != "client_credentials":
                return Response(b'{"error":"unsupported_grant_type"}', 400)
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            async with redis.pipeline(transaction=False) as pipe:
                counter = prefix + "raw-rate:" + client_id
                pipe.incr(counter)
                pipe.expire(counter, 60)
                await pipe.execute()
            async with pool.acquire() as connection:
                row = await connection.fetchrow(
                    "SELECT secret_hash, scopes, province_id, agency_id FROM auth_clients"
                    " WHERE client_id = $1",
                    client_id,
                )
            mac = hmac.new(mac_key, secret.encode(), hashlib.sha256).hexdigest()
            if row is None or not hmac.compare_digest("hmac-sha256$" + mac, row["secret_hash"]):
                return refused
            now, scope = int(time.time()), " ".join(json.loads(row["scopes"]))
            province, agency = row["province_id"], row["agency_id"]
            claims = {
                "iss": issuer, "aud": "eiso", "sub": client_id, "client_id": client_id,
                "iat": now, "exp": now + 900, "jti": secrets.token_urlsafe(16),
                "scope": scope, "roles": [],
                "tenant": {
                    "kind": "agencies",
                    "province_ids": [encode_id("Province", province, province)],
                    "agency_ids": [encode_id("Agency", province, agency)],
                },
            }
            body = {
                "access_token": jwt.encode(header, claims, key), "token_type": "Bearer",
                "expires_in": 900, "scope": scope,
            }
            return JSONResponse(body, headers={"cache-control": "no-store"})

        async def graphql(request):
            asked = json.loads(await request.body())
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            if bearer:
                claims = verified.get(bearer)
                if claims is None or claims["exp"] <= time.time():
                    try:
                        claims = jwt.decode(bearer, key, algorithms=["RS256"]).claims
                    except JoseError:
                        return refused
                    verified[bearer] = claims
                if claims["jti"] in revoked:
                    return refused
            if asked["query"] != "{ __typename }":
                return Response(b"", 400)
            return Response(b'{"data":{"__typename":"Query"}}', media_type="application/json")

        return Starlette(
            routes=[
                Route("/oauth/token", token, methods=["POST"]),
                Route("/graphql", graphql, methods=["POST"]),
            ]
        )
''')


TARGETS = {
    "grant": "client-credential grants",
    "grant-raw": "  hand-written grants",
    "anonymous": "{ __typename } anonymous",
    "signed-in": "{ __typename } signed in (bearer)",
    "anonymous-raw": "  hand-written, anonymous",
    "signed-in-raw": "  hand-written, signed in",
}


class Load(NamedTuple):
    per_second: float
    per_cpu_second: float
    rss_idle_mib: float
    rss_peak_mib: float


def _status_mib(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


async def _arrange(database_url: str) -> tuple[str, str]:
    """A province, an agency and an integration client; its id and secret."""
    from eiso.core.auth.clients import create_integration_client
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    settings = load_settings(database_url=database_url, secret_key=SECRET_KEY)
    resources = Resources.open(settings)
    try:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            province = await ensure_province(session, "BT", "Tỉnh Đo Token")
            agency = await ensure_agency(
                session, province, "BT-01", "Sở Đo Token", AgencyKind.department
            )
            row, secret = await create_integration_client(
                session, secret_key=SECRET_KEY, scopes=["qms:read"], agency_code=agency.code
            )
        return row.client_id, secret
    finally:
        await resources.close()


def _token(port: int, basic: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["access_token"]


def _run(folder: Path, env: dict, target: str, basic: str, seconds: int, connections: int) -> Load:
    factory = "raw" if target.endswith("-raw") else "eiso"
    with wrk.served(folder, factory, env) as server:
        script, headers = "graphql.lua", {}
        if target.startswith("grant"):
            script, headers = "grant.lua", {"Authorization": basic}
        elif target.startswith("signed-in"):
            headers = {"Authorization": f"Bearer {_token(server.port, basic)}"}
        command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "--timeout=10s"]
        command += ["-s", str(folder / script)]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        path = "/oauth/token" if target.startswith("grant") else "/graphql"
        url = f"http://127.0.0.1:{server.port}{path}"
        subprocess.run([*command, "-d1s", url], capture_output=True, check=True)  # warm up
        idle = _status_mib(server.pid, "VmRSS")
        cpu = wrk._cpu_seconds(server.pid)
        out = subprocess.run(
            [*command, f"-d{seconds}s", url], capture_output=True, text=True, check=True
        ).stdout
        cpu = wrk._cpu_seconds(server.pid) - cpu
        peak = _status_mib(server.pid, "VmHWM")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{target}: {errors.group(1)} failed responses\n{out}")
    if "Socket errors" in out:  # timeouts: requests that never completed within the run
        print(f"  ({target}: {out.split('Socket errors:')[1].splitlines()[0].strip()})")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(per_second, requests / cpu if cpu > 0 else 0.0, idle, peak)


def main(argv: list[str] | None = None) -> None:
    parser = wrk.load_parser(__doc__, seconds=5, connections=4)
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="a comma-separated subset of: " + ", ".join(TARGETS),
    )
    args = parser.parse_args(argv)
    targets = [name for name in args.targets.split(",") if name in TARGETS]
    if not wrk.available():
        print("skipped: `wrk` is not installed (apt-get install wrk)")
        return
    # A name of the run's own: two runs at once must not drop each other's database.
    database_url = PG_URL.rsplit("/", 1)[0] + f"/eiso_bench_tokens_{secrets.token_hex(3)}"
    asyncio.run(generator.create_database(database_url))
    try:
        client_id, secret = asyncio.run(_arrange(generator.app_url(database_url)))
        basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        env = {
            **os.environ,
            "EISO_ENV": "prod",
            "EISO_SECRET_KEY": SECRET_KEY,
            "EISO_ISSUER": ISSUER,
            "EISO_DATABASE_URL": generator.app_url(database_url),
            "EISO_REDIS_URL": REDIS_URL,
            "EISO_REDIS_PREFIX": f"eiso-bench-tokens-{secrets.token_hex(4)}:",
            "EISO_PLUGINS": "",
            "EISO_LOG_LEVEL": "WARNING",
            "EISO_TOKEN_RATE_LIMIT": str(10**9),
        }
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "workers.py").write_text(WORKERS)
            (folder / "graphql.lua").write_text(wrk.post_script('{"query":"{ __typename }"}'))
            (folder / "grant.lua").write_text(
                'wrk.method = "POST"\nwrk.body = "grant_type=client_credentials"\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            )
            results = wrk.interleaved(
                {name: name for name in targets},
                args.rounds,
                lambda target: _run(folder, env, target, basic, args.seconds, args.connections),
            )
    finally:
        asyncio.run(generator.drop_database(database_url))
    report(results, args)


def report(results: dict[str, list[Load]], args: argparse.Namespace) -> None:
    def median(name: str, field: str) -> float:
        return statistics.median(getattr(run, field) for run in results[name])

    print(
        f"token path, {wrk.setting(args.connections, args.seconds, args.rounds)} "
        "(PostgreSQL + Redis)"
    )
    for name in results:
        label = TARGETS[name]
        rounds = " ".join(f"{run.per_cpu_second:.0f}" for run in results[name])
        print(
            f"  {label:36s} {median(name, 'per_cpu_second'):8.0f} req/CPU-s "
            f"{median(name, 'per_second'):8.0f} req/s  RSS idle {median(name, 'rss_idle_mib'):5.0f}"
            f" MiB, peak {max(r.rss_peak_mib for r in results[name]):5.0f} MiB  ({rounds})"
        )

    def cost_us(name: str) -> float:  # server CPU microseconds per request
        return 1e6 / median(name, "per_cpu_second")

    if "grant" in results and "grant-raw" in results:
        ratio = cost_us("grant") / cost_us("grant-raw")
        print(
            f"  grants: {median('grant', 'per_cpu_second'):.0f} per server CPU second"
            f" (goal >= 120), {ratio:.2f}x the hand-written grant's CPU cost"
        )
    for suffix, label in (("", "eiso"), ("-raw", "hand-written")):
        signed, anonymous = "signed-in" + suffix, "anonymous" + suffix
        if signed in results and anonymous in results:
            ratio = median(signed, "per_cpu_second") / median(anonymous, "per_cpu_second")
            extra = cost_us(signed) - cost_us(anonymous)
            print(
                f"  {label}: signed in / anonymous (req/CPU-s) {ratio:.2f}x"
                f" (goal >= 0.8x), a bearer token adds {extra:+.0f} us of CPU per request"
            )


if __name__ == "__main__":
    main()
