"""Where the server CPU of eiso's moves goes: bench/moves_bench.py's eiso arm under py-spy.

The same database, officer, token and requests as bench/moves_bench.py (receive → assign →
completeStep × 3 → returnResult over `/graphql`); the uvicorn server runs under
`py-spy record` (on-CPU samples only), and the collapsed stacks are summed per layer: each
sample goes to the first rule below that a frame of its stack matches, from the leaf up
(SQLAlchemy's work inside its greenlets shows as stacks of their own, rooted at
`Session.execute`).

    .venv/bin/python -m bench.moves_profile [--dossiers 60] [--rate 250] [--out prof.txt]
        [--arm eiso|raw]

`--arm raw` profiles the hand-written arm instead (its endpoint's own frames are the layer
"raw endpoint"), to see what share of a move any server on this stack pays (HTTP, the sends).

Needs py-spy (`uv pip install py-spy`); the collapsed stacks are kept in `--out` (speedscope
and flamegraph.pl read them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_generator as generator
from bench import moves_bench as moves
from bench import wrk

# (layer, substrings of a frame "function (file:line)"): the first that matches a frame,
# from the leaf up, takes the sample. Library internals are named by their package's folder.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("postgres driver (asyncpg)", ("asyncpg/",)),
    ("raw endpoint", ("workers.py",)),
    ("JWT / authentication", ("core/auth/", "http/authentication", "joserfc", "cryptography")),
    ("tenant scope", ("tenants/scope.py", "infra/rls.py", "infra/pg_begin.py")),
    ("audit", ("core/audit.py",)),
    ("outbox", ("infra/outbox.py",)),
    ("rollups / figures listener", ("rollups", "qms/figures")),
    ("slips", ("dossiers/slips", "dossiers/facts")),
    ("SQLAlchemy compile", ("sqlalchemy/sql/compiler", "sqlalchemy/sql/cache_key")),
    ("SQLAlchemy ORM", ("sqlalchemy/orm/",)),
    ("SQLAlchemy core / engine", ("sqlalchemy/",)),
    ("dossier engine", ("core/dossiers/",)),
    ("GraphQL parse / validate", ("graphql/language/", "graphql/validation/")),
    ("GraphQL execute", ("graphql/execution/", "strawberry/", "eiso/graphql/")),
    ("HTTP (uvicorn / starlette)", ("uvicorn/", "starlette/", "h11/", "httptools", "core/http/")),
    ("JSON", ("orjson", "json/")),
    ("event loop", ("asyncio/", "uvloop")),
)


# A sample whose last Python frame is the loop's own run is the event loop waiting in C
# (py-spy's idle detection does not see it in every sandbox): left out.
IDLE = ("Runner.run", "BaseEventLoop._run_once", "BaseSelector.select", "EpollSelector.select")
# A sample whose stack holds one of these is the server starting, not serving.
STARTUP = ("_find_and_load", "import_from_string", "create_app", "lifespan", "Config.load")


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needles in LAYERS:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def summary(collapsed: Path, top: int) -> str:
    layers: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    skipped = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        if stack.split(";")[-1].startswith(IDLE):
            continue
        if any(marker in stack for marker in STARTUP):
            skipped += int(count)
            continue
        samples = int(count)
        total += samples
        layers[layer_of(stack)] += samples
        leaves[stack.split(";")[-1]] += samples
    lines = [
        f"{total} on-CPU samples ({skipped} of start-up left out)",
        f"{'layer':32} {'share':>6}",
    ]
    lines += [f"{name:32} {100 * n / total:5.1f}%" for name, n in layers.most_common()]
    lines += ["", f"top {top} leaf frames"]
    lines += [f"{100 * n / total:5.1f}% {frame}" for frame, n in leaves.most_common(top)]
    return "\n".join(lines)


@contextlib.contextmanager
def profiled(
    folder: Path, env: dict, spy: str, rate: int, out: Path, arm: str = "eiso"
) -> Iterator[int]:
    """The arm's uvicorn on CPU 0 as a child of `py-spy record` (attaching to a running
    process is refused in some sandboxes); py-spy writes its file when the server exits."""
    port = wrk._port()
    command = [spy, "record", "--rate", str(rate), "--format", "raw", "--nonblocking"]
    command += ["--output", str(out), "--", "taskset", "-c", "0", sys.executable, "-m"]
    command += ["uvicorn", "--factory", f"workers:{arm}", "--app-dir", str(folder)]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    record = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wrk._wait(port, record)
        yield port
    finally:
        server = subprocess.run(["pgrep", "-P", str(record.pid)], capture_output=True, text=True)
        for pid in server.stdout.split():
            os.kill(int(pid), signal.SIGTERM)
        record.wait(120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", default="moves-profile.txt", help="the collapsed stacks")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--arm", choices=("eiso", "raw"), default="eiso")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    name = f"eiso_bench_moves_{secrets.token_hex(3)}"
    database_url = moves.PG_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(generator.create_database(database_url))
    out = Path(args.out).resolve()
    try:
        arranged = asyncio.run(moves._arrange(database_url))
        env = moves.bench_env(generator.app_url(database_url), arranged)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "workers.py").write_text(moves.WORKERS)
            with wrk.served(folder, "eiso", env) as server:  # the token, unprofiled
                base = f"http://127.0.0.1:{server.port}"
                token = asyncio.run(
                    moves.sign_in(base, arranged["client_id"], arranged["username"])
                )
            with profiled(folder, env, spy, args.rate, out, args.arm) as port:
                asyncio.run(moves._drive(port, args.arm, token, 4, 1))  # warm
                asyncio.run(moves._drive(port, args.arm, token, args.dossiers, args.concurrency))
    finally:
        asyncio.run(generator.drop_database(database_url))
    print(summary(out, args.top))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
