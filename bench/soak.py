"""Soak: two eiso workers on PostgreSQL and Redis under mixed reads and moves for a long
while (10 minutes by default); requests served, errors (must be 0), p50/p99 latency, and each
worker's resident memory (VmRSS from /proc) at start and end (growth must stay under 10 %).

    .venv/bin/python -m bench.soak [--minutes 10] [--concurrency 8] [--reads-per-move 2]
        [--dossiers 20000] [--warmup 30]

The two workers are two uvicorn processes on two ports of 127.0.0.1 (with `--workers 2` on one
socket the kernel hands a handful of keep-alive connections to whichever worker accepts first,
often all to one); the officers alternate between them, so each serves half. Officers of as
many agencies each loop over whole dossier paths over GraphQL (receive, assign,
three steps, return: 6 writes), and after every write read `reads-per-move` times (their
agency's first page of 20 dossiers, the dossier they work on with its timeline, in turn). The
load runs in a process of its own (httpx, asyncio); the workers relay their events to Redis
as in production. A request counts as an error when it answers other than 200 or with GraphQL
errors, or fails on the way. The load generator also prints the p50/p99 of the first minute
and of the last (the run's own baseline: latency should not drift up). Memory: each worker's
RSS when the server is ready, after the warm-up (the baseline: caches such as the
prepared-document LRU have filled) and at the end, sampled every 30 s in between. The exit
status is 1 if there was an error or a worker grew by 10 % or more over the baseline.

The database (`eiso_bench_soak` on EISO_BENCH_POSTGRES_URL) is created, filled with
`--dossiers` generated dossiers (bench/dossier_generator.py) and dropped at the end; Redis is
EISO_BENCH_REDIS_URL under a throwaway key prefix. CI does not run this.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_bench, signed_in
from bench import dossier_generator as generator
from bench.dossier_bench import FLOW, MOVES, RECEIVE, SECTOR_DATA, Server

DATABASE = "eiso_bench_soak"
WORKERS = 2
RSS_EVERY = 30.0  # seconds between memory samples
MAX_GROWTH = 0.10

PAGE = "{ dossiers(first: 20) { totalCount edges { node { id code status late } } } }"
ONE = (
    "query($id: ID!) { dossier(id: $id) { code status version assignee timeline { toStatus at } } }"
)


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB (VmRSS of /proc/<pid>/status); 0 once gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# -- the load generator (its own process) -----------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {"read": [], "move": []}
        self.by_worker: dict[str, int] = {}
        self.timeline: list[tuple[float, float]] = []  # (started, seconds) of every request
        self.errors = 0
        self.samples: list[str] = []

    async def ask(self, http, url: str, kind: str, headers: dict, query: str, variables: dict):
        """One request; its `data`, or None after counting an error."""
        start = time.perf_counter()
        try:
            response = await http.post(
                url, json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json() if response.status_code == 200 else {"errors": response.text}
            pid = response.headers.get("x-bench-pid", "?")
            self.by_worker[pid] = self.by_worker.get(pid, 0) + 1
        except Exception as error:  # noqa: BLE001 - every failure is a counted error
            body = {"errors": repr(error)}
        self.latency[kind].append(time.perf_counter() - start)
        self.timeline.append((start, self.latency[kind][-1]))
        if body.get("errors") or not body.get("data"):
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: {str(body.get('errors'))[:200]}")
            return None
        return body["data"]


async def load(urls: list[str], tokens: list[str], args) -> dict:
    import httpx

    tally = Tally()
    limits = httpx.Limits(max_connections=args.concurrency)
    end = time.perf_counter() + args.seconds

    async def officer(index: int, http) -> None:
        url = urls[index % len(urls)]
        headers = signed_in.bearer(tokens[index % len(tokens)])  # each officer its own token
        turn = 0

        async def reads(dossier_id: str) -> None:
            nonlocal turn
            for _ in range(args.reads_per_move):
                turn += 1
                query, variables = (PAGE, {}) if turn % 2 else (ONE, {"id": dossier_id})
                await tally.ask(http, url, "read", headers, query, variables)

        while time.perf_counter() < end:
            data = await tally.ask(http, url, "move", headers, RECEIVE, {"data": SECTOR_DATA})
            if data is None:
                await asyncio.sleep(0.5)  # an error is counted; do not spin on it
                continue
            dossier = data["receiveDossier"]["dossier"]
            await reads(dossier["id"])
            version = dossier["version"]
            for move in FLOW:
                variables = {"id": dossier["id"], "v": version}
                data = await tally.ask(http, url, "move", headers, MOVES[move], variables)
                if data is None:
                    break
                version = next(iter(data.values()))["version"]
                await reads(dossier["id"])

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(officer(i, http) for i in range(args.concurrency)))
    every = tally.latency["read"] + tally.latency["move"]
    # The baseline of the same run: the first minute against the last (drift over the soak).
    begin, finish = tally.timeline[0][0], tally.timeline[-1][0]
    for name, low, high in [("first", begin, begin + 60), ("last", finish - 60, finish)]:
        window = [seconds for started, seconds in tally.timeline if low <= started <= high]
        p50, p99 = 1000 * percentile(window, 0.5), 1000 * percentile(window, 0.99)
        print(
            f"  {name} minute: {len(window):,} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            file=sys.stderr,
        )
    return {
        "requests": len(every),
        "reads": len(tally.latency["read"]),
        "moves": len(tally.latency["move"]),
        "by_worker": tally.by_worker,
        "errors": tally.errors,
        "error_samples": tally.samples,
        "p50_ms": {k: 1000 * percentile(v, 0.5) for k, v in tally.latency.items()}
        | {"all": 1000 * percentile(every, 0.5)},
        "p99_ms": {k: 1000 * percentile(v, 0.99) for k, v in tally.latency.items()}
        | {"all": 1000 * percentile(every, 0.99)},
    }


# -- the run ----------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def soak(servers: list[Server], tokens: list[str], args) -> tuple[dict, dict[int, list[int]]]:
    """The load for `args.seconds` in a subprocess, sampling each worker's RSS meanwhile."""
    rss = {pid: [rss_kib(pid)] for server in servers for pid in sorted(server.pids)}
    command = [
        sys.executable,
        "-m",
        "bench.soak",
        "load",
        "--urls",
        ",".join(server.url for server in servers),
        "--tokens-json",
        json.dumps(tokens),
        "--seconds",
        str(args.seconds),
        "--concurrency",
        str(args.concurrency),
        "--reads-per-move",
        str(args.reads_per_move),
    ]
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryFile("w+") as out:
        generator_process = subprocess.Popen(command, stdout=out, cwd=root, text=True)
        try:
            start = time.monotonic()
            next_sample, baseline_taken = start + RSS_EVERY, False
            # Bounded: the load stops itself after `seconds`; allow it 5 minutes to finish.
            while (
                generator_process.poll() is None and time.monotonic() < start + args.seconds + 300
            ):
                time.sleep(1)
                now = time.monotonic()
                if not baseline_taken and now >= start + args.warmup:
                    for pid in rss:
                        rss[pid].append(rss_kib(pid))
                    baseline_taken = True
                    print(f"  after {args.warmup:.0f} s warm-up: {_rss_line(rss, 1)}", flush=True)
                if now >= next_sample:
                    for pid in rss:
                        rss[pid].append(rss_kib(pid))
                    next_sample += RSS_EVERY
                    print(
                        f"  {now - start:5.0f} s: {_rss_line(rss, -1)}, load {loadavg()}",
                        flush=True,
                    )
            for pid in rss:
                rss[pid].append(rss_kib(pid))
        finally:
            if generator_process.poll() is None:
                generator_process.kill()
            generator_process.wait(30)
        out.seek(0)
        lines = out.read().strip().splitlines()
    if generator_process.returncode != 0 or not lines:
        raise SystemExit(f"the load generator failed (exit {generator_process.returncode})")
    return json.loads(lines[-1]), rss


def _rss_line(rss: dict[int, list[int]], index: int) -> str:
    return ", ".join(f"worker {pid} {values[index] / 1024:.1f} MiB" for pid, values in rss.items())


def report(result: dict, rss: dict[int, list[int]], args) -> bool:
    """Print the figures; whether the run passed (0 errors, each worker under 10 % growth)."""
    seconds = args.seconds
    print(
        f"served {result['requests']:,} requests in {seconds / 60:.1f} min "
        f"({result['requests'] / seconds:.1f}/s): {result['reads']:,} reads, "
        f"{result['moves']:,} moves; errors: {result['errors']}"
    )
    served = ", ".join(f"worker {pid} {count:,}" for pid, count in result["by_worker"].items())
    print(f"  requests per worker: {served}")
    for sample in result["error_samples"]:
        print(f"  error: {sample}")
    for kind in ("all", "read", "move"):
        p50, p99 = result["p50_ms"][kind], result["p99_ms"][kind]
        print(f"  {kind:4}  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    passed = result["errors"] == 0
    for pid, values in rss.items():
        ready, baseline, end = values[0], values[1], values[-1]
        growth = (end - baseline) / baseline if baseline else float("inf")
        passed &= growth < MAX_GROWTH
        print(
            f"  worker {pid}: RSS ready {ready / 1024:.1f} MiB, after warm-up "
            f"{baseline / 1024:.1f} MiB, end {end / 1024:.1f} MiB ({growth:+.1%} over the "
            f"warm-up; {(end - ready) / ready:+.1%} over ready), peak {max(values) / 1024:.1f} MiB"
        )
    print(f"load average at the end: {loadavg()}; {'PASSED' if passed else 'FAILED'}")
    return passed


def filled(database_url: str, dossiers: int, agencies: int) -> tuple[int, list[str]]:
    """The database created and filled with `dossiers` generated dossiers in two provinces
    and `agencies` agencies: the dossiers made, and the bearer token of an officer of each
    agency (bench/signed_in.py: the production authenticator checks them)."""
    summary = generator.fill(database_url, dossiers=dossiers, provinces=2, agencies=agencies)
    provinces = asyncio.run(dossier_bench._summary_of(database_url, "BN"))
    codes = [a["code"] for p in provinces for a in p["agencies"]]
    _, _, tokens = asyncio.run(dossier_bench._sign_in(database_url, None, codes))
    return summary.dossiers, tokens


def run(args) -> bool:
    database_url = urlsplit(dossier_bench.PG_URL)._replace(path=f"/{args.database}").geturl()
    prefix = f"eiso-soak-{secrets.token_hex(4)}:"
    try:
        dossiers, tokens = filled(database_url, args.dossiers, args.concurrency)
        print(
            f"{dossiers:,} generated dossiers in {len(tokens)} agencies; "
            f"{WORKERS} workers, {args.concurrency} officers, {args.reads_per_move} reads per "
            f"move, {args.seconds / 60:.1f} min; {os.cpu_count()} cores, load {loadavg()}",
            flush=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "workers.py").write_text(dossier_bench.WORKERS)
            with contextlib.ExitStack() as stack:
                servers = [
                    stack.enter_context(Server(folder, database_url, 1, prefix))
                    for _ in range(WORKERS)
                ]
                pids = {pid: [rss_kib(pid)] for server in servers for pid in server.pids}
                print(f"  ready: {_rss_line(pids, 0)}", flush=True)
                result, rss = soak(servers, tokens[: args.concurrency], args)
        return report(result, rss, args)
    finally:
        dossier_bench._flush_redis(prefix)
        asyncio.run(generator.drop_database(database_url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    worker = commands.add_parser("load", help="(internal) the load generator process")
    worker.add_argument("--urls", required=True, help="the workers' URLs, comma-separated")
    worker.add_argument("--tokens-json", required=True)
    for options in (parser, worker):
        options.add_argument("--concurrency", type=int, default=8, help="officers at once")
        options.add_argument("--reads-per-move", type=int, default=2)
    worker.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=30, help="seconds before the baseline")
    parser.add_argument("--dossiers", type=int, default=20_000)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args(argv)
    if args.command == "load":
        urls = args.urls.split(",")
        print(json.dumps(asyncio.run(load(urls, json.loads(args.tokens_json), args))))
        return
    args.seconds = args.minutes * 60
    if not run(args):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
