"""The token path (issue 18), with wrk on CPU 1 and uvicorn on CPU 0, on PostgreSQL and Redis:

1. client-credential grants (`POST /oauth/token`, HTTP Basic) per server CPU second, with the
   server's resident memory idle and its peak under the load (VmRSS, VmHWM);
2. `{ __typename }` signed in with a real access token through the production authenticator
   (core/auth/jwt_authenticator.py), against the same query anonymous, in the same run.

The database is a fresh `eiso_bench_tokens_<random>` on EISO_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end; Redis is
EISO_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0) under a prefix of the run's own. The
token rate limit is lifted for the run (it would answer 429 to one client's flood).

    python -m bench.token_bench [--seconds 5] [--connections 4] [--rounds 3]
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

WORKERS = textwrap.dedent("""
    from eiso.core.app import create_app
    from eiso.core.settings import get_settings

    def eiso():
        return create_app(get_settings())
""")


TARGETS = {
    "grant": "client-credential grants",
    "anonymous": "{ __typename } anonymous",
    "signed-in": "{ __typename } signed in (bearer)",
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
            try:  # this branch: the secret is hashed with the deployment's key
                row, secret = await create_integration_client(
                    session, secret_key=SECRET_KEY, scopes=["qms:read"], agency_code=agency.code
                )
            except TypeError:  # before issue 18: argon2id, no key
                row, secret = await create_integration_client(
                    session, scopes=["qms:read"], agency_code=agency.code
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
    with wrk.served(folder, "eiso", env) as server:
        script, headers = "graphql.lua", {}
        if target == "grant":
            script, headers = "grant.lua", {"Authorization": basic}
        elif target == "signed-in":
            headers = {"Authorization": f"Bearer {_token(server.port, basic)}"}
        command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "--timeout=10s"]
        command += ["-s", str(folder / script)]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        path = "/oauth/token" if target == "grant" else "/graphql"
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
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
        f"token path, wrk -c{args.connections} {args.seconds}s x {args.rounds} rounds, "
        "server on CPU 0, load on CPU 1, medians (PostgreSQL + Redis)"
    )
    for name in results:
        label = TARGETS[name]
        rounds = " ".join(f"{run.per_cpu_second:.0f}" for run in results[name])
        print(
            f"  {label:36s} {median(name, 'per_cpu_second'):8.0f} req/CPU-s "
            f"{median(name, 'per_second'):8.0f} req/s  RSS idle {median(name, 'rss_idle_mib'):5.0f}"
            f" MiB, peak {max(r.rss_peak_mib for r in results[name]):5.0f} MiB  ({rounds})"
        )
    if "signed-in" in results and "anonymous" in results:
        signed = median("signed-in", "per_cpu_second")
        ratio = signed / median("anonymous", "per_cpu_second")
        print(f"  signed in / anonymous (req/CPU-s): {ratio:.2f}x (goal >= 0.8x)")
    if "grant" in results:
        grants = median("grant", "per_cpu_second")
        print(f"  grants per server CPU second: {grants:.0f} (goal >= 120)")


if __name__ == "__main__":
    main()
