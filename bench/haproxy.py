"""Debian's HAProxy in front of eiso nodes on 127.0.0.1, for tests/test_app_nodes.py and
bench/app_nodes_bench.py: the deployment's own configuration (infra/deploy/haproxy.cfg) with
the nodes' addresses in place of the Docker service, run in the foreground from a temporary
folder and stopped after."""

from __future__ import annotations

import contextlib
import pathlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx

DEPLOYED = pathlib.Path(__file__).resolve().parents[1] / "infra" / "deploy" / "haproxy.cfg"
START_SECONDS = 30  # until the proxy answers /readyz through every node


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render(port: int, nodes: list[str], check_every: str | None = "500ms") -> str:
    """The deployment's configuration listening on 127.0.0.1:`port`, balancing over `nodes`
    (base URLs such as http://127.0.0.1:8001) named node1, node2, ...; the Docker resolver
    left out, health checks every `check_every` (default 0.5 s, so a test does not wait for
    them; None: the deployed interval)."""
    text = DEPLOYED.read_text()
    text = re.sub(r"(?ms)^# Docker's embedded DNS.*?\n\n", "", text)
    text = re.sub(r"(?m)^(\s*)bind :8080$", rf"\g<1>bind 127.0.0.1:{port}", text)
    if check_every is not None:
        text = re.sub(r"\binter 2s\b", f"inter {check_every}", text)
    addresses = [url.removeprefix("http://") for url in nodes]
    servers = "".join(f"    server node{i} {a}\n" for i, a in enumerate(addresses, 1))
    text, count = re.subn(r"(?m)^\s*server-template .*\n", servers, text)
    if count != 1 or f"127.0.0.1:{port}" not in text:
        raise ValueError(f"{DEPLOYED} no longer has the lines this render replaces")
    return text


def binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy",) if pathlib.Path(p).exists()), None
    )


@contextlib.contextmanager
def haproxy(
    folder: pathlib.Path,
    nodes: list[str],
    port: int | None = None,
    name: str = "haproxy",
    check_every: str | None = "500ms",
) -> Iterator[str]:
    """HAProxy over `nodes` on `port` (default: a free one), health checks every `check_every`
    (see `render`), started once `/readyz` answers through each node; yields its base URL and
    stops it after the block, whatever happens in it."""
    program = binary()
    if program is None:
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    port = port or free_port()
    config = folder / f"{name}.cfg"
    config.write_text(render(port, nodes, check_every))
    checked = subprocess.run(
        [program, "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    if checked.returncode != 0:
        raise RuntimeError(f"haproxy refuses {config}: {checked.stderr or checked.stdout}")
    log = (folder / f"{name}.log").open("wb")
    # -db: foreground, no daemon; -W would add a master process we would have to stop too.
    process = subprocess.Popen([program, "-db", "-f", str(config)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_every_node(url, process, len(nodes))
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _wait_for_every_node(url: str, process: subprocess.Popen, nodes: int) -> None:
    """Until `/readyz` through the proxy has answered 200 from `nodes` distinct servers (round
    robin: consecutive requests take turns), or START_SECONDS."""
    seen: set[str] = set()
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"haproxy exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                answer = http.get(url + "/readyz")
                if answer.status_code == 200:
                    seen.add(answer.headers.get("x-served-by", ""))
                    if len(seen - {""}) >= nodes:
                        return
                    continue
            time.sleep(0.1)
    raise RuntimeError(f"haproxy did not reach {nodes} nodes within {START_SECONDS} s: {seen}")
