"""Throughput of an ASGI app under `wrk` (Debian package): uvicorn pinned to CPU 0, `wrk` to
CPU 1 (`taskset`), so the load generator never competes with the server for its core."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class Run(NamedTuple):
    """On a shared machine the server gets a varying share of its core: requests per second
    of wall time move with the neighbours, requests per CPU second it used much less."""

    per_second: float
    per_cpu_second: float


def rounds_parser(doc: str, requests: int = 400, rounds: int = 5) -> argparse.ArgumentParser:
    """The options of an in-process benchmark timed in rounds: --requests, --rounds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--rounds", type=int, default=rounds)
    return parser


def load_parser(doc: str, seconds: int, connections: int) -> argparse.ArgumentParser:
    """The options of a benchmark under `wrk`: --seconds and --connections of each run (the
    benchmark's defaults), --rounds (3)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=seconds)
    parser.add_argument("--connections", type=int, default=connections)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def load_cli(
    argv: list[str] | None, doc: str, bench: Callable[[int, int, int], object], **defaults: int
) -> None:
    """`load_parser`'s options (`defaults`: seconds, connections), then `bench(seconds,
    connections, rounds)`."""
    args = load_parser(doc, **defaults).parse_args(argv)
    bench(args.seconds, args.connections, args.rounds)


def setting(connections: int, seconds: int, rounds: int) -> str:
    """How a `wrk` benchmark ran, for its report's title."""
    return (
        f"wrk -c{connections} {seconds}s x {rounds} rounds, server on CPU 0, load on CPU 1, medians"
    )


async def timed(call: Callable[[], Awaitable[object]], requests: int) -> Run:
    """`requests` calls of `call`, one after the other, as a Run (per wall and per CPU second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run(requests / wall, requests / cpu if cpu else 0.0)


def print_medians(results: dict[str, list[Run]], width: int = 30) -> dict[str, float]:
    """One line per target: the medians of its rounds (requests per CPU second and per wall
    second) and each round's per-CPU figure; returns the per-CPU medians."""
    import statistics

    per_cpu = {n: statistics.median(r.per_cpu_second for r in runs) for n, runs in results.items()}
    per_wall = {n: statistics.median(r.per_second for r in runs) for n, runs in results.items()}
    print(f"  {'':{width}s} {'req/CPU-s':>9s} {'req/s':>8s}  rounds (req/CPU-s)")
    for name, runs in results.items():
        rounds_text = " ".join(f"{r.per_cpu_second:.0f}" for r in runs)
        print(f"  {name:{width}s} {per_cpu[name]:9.0f} {per_wall[name]:8.0f}  {rounds_text}")
    return per_cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def available() -> bool:
    return bool(shutil.which("wrk") and shutil.which("taskset"))


def post_script(body: str) -> str:
    """A wrk Lua script POSTing `body` as JSON."""
    escaped = body.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"wrk.method = \"POST\"\nwrk.body = '{escaped}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int, server: subprocess.Popen) -> None:
    # Start-up takes long on a loaded machine: EISO_BENCH_START_TIMEOUT seconds (default 120).
    deadline = time.monotonic() + float(os.environ.get("EISO_BENCH_START_TIMEOUT", "120"))
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


class Server(NamedTuple):
    port: int
    pid: int


@contextlib.contextmanager
def served(folder: Path, factory: str, env: dict) -> Iterator[Server]:
    """`workers:<factory>` (a module in `folder`) under uvicorn pinned to CPU 0, from when it
    accepts connections until the block ends."""
    port = _port()
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"workers:{factory}",
            "--app-dir",
            str(folder),
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port, server)
        yield Server(port, server.pid)
    finally:
        server.terminate()
        server.wait(10)


def interleaved(
    targets: dict[str, T], rounds: int, run: Callable[[T], Run]
) -> dict[str, list[Run]]:
    """`run` of every target, `rounds` times over, the targets taking turns: a noisy neighbour
    hits every target alike."""
    results: dict[str, list[Run]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, target in targets.items():
            results[name].append(run(target))
    return results


def throughput(
    folder: Path,
    factory: str,
    env: dict,
    *,
    path: str,
    seconds: int,
    connections: int,
    script: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: int = 2,
) -> Run:
    """Requests/s of `workers:<factory>` (a module in `folder`) at `path`, and requests per
    CPU second the server process used (all its threads); a run with any non-2xx answer fails
    the benchmark rather than report a fast error."""
    with served(folder, factory, env) as server:
        command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"--timeout={timeout}s"]
        if script:
            command += ["-s", str(folder / script)]
        for key, value in (headers or {}).items():
            command += ["-H", f"{key}: {value}"]
        url = f"http://127.0.0.1:{server.port}{path}"
        subprocess.run([*command, "-d1s", url], capture_output=True, check=True)  # warm up
        cpu = _cpu_seconds(server.pid)
        out = subprocess.run(
            [*command, f"-d{seconds}s", url], capture_output=True, text=True, check=True
        ).stdout
        cpu = _cpu_seconds(server.pid) - cpu
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{factory}: {errors.group(1)} failed responses\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return Run(
        float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        requests / cpu if cpu > 0 else 0.0,
    )
