"""Moves per second through two app nodes behind HAProxy, against one node behind the same
proxy, in the same run.

Two eiso nodes (uvicorn processes of one worker each, bench/dossier_bench.py's `Server`) on
PostgreSQL and Redis, and two HAProxy processes running the deployment's configuration
(infra/deploy/haproxy.cfg, bench/haproxy.py): one balancing over node 1 alone, the other over
nodes 1 and 2 (round robin). Officers of as many agencies take new dossiers through the whole
path over GraphQL, moves only (receive, assign, three steps, return: 6 writes; bench/soak.py's
load generator, a process of its own) for `--seconds` through one proxy, then the other; the
targets take turns, the order swapped each round, and the medians of the rounds are compared
(after an uncounted warm-up through both nodes).
Each run's errors must be 0. On a 2-core machine the two nodes, PostgreSQL, Redis, HAProxy and
the load generator share the same two cores: the ratio shows what a second node adds there,
not what a second machine would.

    .venv/bin/python -m bench.app_nodes_bench [--seconds 20] [--rounds 3] [--concurrency 8]
        [--dossiers 2000] [--warmup 10]

The database (`eiso_bench_nodes` on EISO_BENCH_POSTGRES_URL) is created, filled with
`--dossiers` generated dossiers and dropped at the end; Redis is EISO_BENCH_REDIS_URL under a
throwaway key prefix. CI does not run this.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_bench
from bench import dossier_generator as generator
from bench.dossier_bench import Server
from bench.haproxy import haproxy
from bench.soak import filled, loadavg

DATABASE = "eiso_bench_nodes"
ROOT = Path(__file__).resolve().parents[1]


def moves_through(url: str, tokens: list[str], seconds: float, args) -> dict:
    """bench/soak.py's load generator, moves only, through `url` for `seconds`: its summary
    (moves, errors, requests per node)."""
    command = [
        *(sys.executable, "-m", "bench.soak", "load"),
        *("--urls", url + "/graphql", "--tokens-json", json.dumps(tokens)),
        *("--seconds", str(seconds), "--concurrency", str(args.concurrency)),
        *("--reads-per-move", "0"),
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 300,  # bounded: it stops itself after `seconds`
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the load generator failed (exit {done.returncode}): {done.stderr}")
    return json.loads(lines[-1])


def measure(proxies: dict[str, str], tokens: list[str], args) -> dict[str, list[float]]:
    """Moves per second through each proxy, per round (the targets take turns)."""
    rates: dict[str, list[float]] = {name: [] for name in proxies}
    names = list(proxies)
    for number in range(args.rounds):
        for name in names if number % 2 == 0 else reversed(names):
            result = moves_through(proxies[name], tokens, args.seconds, args)
            if result["errors"]:
                raise SystemExit(f"{name}: {result['errors']} errors: {result['error_samples']}")
            rate = result["moves"] / args.seconds
            rates[name].append(rate)
            shares = ", ".join(f"{count:,}" for count in result["by_worker"].values())
            print(f"  round {number + 1}, {name}: {rate:.1f} moves/s (per node: {shares})")
    return rates


def run(args) -> None:
    database_url = urlsplit(dossier_bench.PG_URL)._replace(path=f"/{DATABASE}").geturl()
    prefix = f"eiso-bench-nodes-{secrets.token_hex(4)}:"
    try:
        dossiers, tokens = filled(database_url, args.dossiers, args.concurrency)
        print(
            f"{dossiers:,} generated dossiers; {args.concurrency} officers, moves only, "
            f"{args.seconds:.0f} s per run, {args.rounds} rounds; {os.cpu_count()} cores, "
            f"load {loadavg()}",
            flush=True,
        )
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            folder = Path(tmp)
            (folder / "workers.py").write_text(dossier_bench.WORKERS)
            nodes = [
                stack.enter_context(Server(folder, database_url, 1, prefix)).url.removesuffix(
                    "/graphql"
                )
                for _ in range(2)
            ]
            # The deployed health checks (every 2 s): each is a /readyz on the nodes.
            proxies = {
                "one node": stack.enter_context(
                    haproxy(folder, nodes[:1], name="one", check_every=None)
                ),
                "two nodes": stack.enter_context(
                    haproxy(folder, nodes, name="two", check_every=None)
                ),
            }
            # Warm up both nodes (imports, caches, pools) through the two-node proxy, uncounted.
            moves_through(proxies["two nodes"], tokens[: args.concurrency], args.warmup, args)
            rates = measure(proxies, tokens[: args.concurrency], args)
        one, two = (statistics.median(rates[name]) for name in ("one node", "two nodes"))
        print(f"one node behind HAProxy:  {one:7.1f} moves/s (median of {args.rounds})")
        print(f"two nodes behind HAProxy: {two:7.1f} moves/s (median of {args.rounds})")
        print(f"ratio two/one: {two / one:.2f}x; {os.cpu_count()} cores, load {loadavg()}")
    finally:
        dossier_bench._flush_redis(prefix)
        asyncio.run(generator.drop_database(database_url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=10, help="seconds, uncounted")
    parser.add_argument("--concurrency", type=int, default=8, help="officers at once")
    parser.add_argument("--dossiers", type=int, default=2000, help="generated beforehand")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
