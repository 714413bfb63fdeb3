"""eiso as production runs it, for the resilience tests: `uvicorn --factory eiso.core.app:asgi`
in a process of its own on 127.0.0.1, configured by environment variables, which a test can
SIGKILL and start again on the same port (so the issuer of its tokens stays the same)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.ws_client import free_port

# How long the server may take to answer /healthz: a loaded machine imports slowly.
START_SECONDS = 90


ROOT = pathlib.Path(__file__).resolve().parents[1]


class LiveServer:
    def __init__(
        self, log: pathlib.Path, env: dict[str, str], factory: str = "eiso.core.app:asgi"
    ) -> None:
        self.port = free_port()
        self.factory = factory  # `tests.<module>:<function>` resolves from the checkout
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        # Tokens name the issuer: fixed, so a restarted server accepts the earlier ones.
        self.env = {**os.environ, "EISO_ISSUER": self.url, **env}
        self.log_path, self.process = log, None
        self.starts = 0

    async def start(self) -> None:
        """Start it and wait for `/healthz` (at most START_SECONDS)."""
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - starts it, does not wait
                [
                    sys.executable,
                    *("-m", "uvicorn", "--factory", self.factory),
                    *("--host", "127.0.0.1", "--port", str(self.port)),
                    *("--log-level", "warning", "--no-access-log"),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.starts += 1
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        async with httpx.AsyncClient(timeout=5) as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"eiso exited at start: {self.log_tail()}", pytrace=False)
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        pytest.fail(f"eiso did not start within {START_SECONDS} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback by the app; PostgreSQL aborts what was open."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


def server_env(settings, *, redis_url: str | None = None, plugins: str = "") -> dict[str, str]:
    """The environment of a server on the database and Redis of `settings`."""
    return {
        "EISO_ENV": "test",
        "EISO_DATABASE_URL": settings.database_url,
        "EISO_MIGRATION_DATABASE_URL": settings.migration_database_url or settings.database_url,
        "EISO_REDIS_URL": redis_url or settings.redis_url,
        "EISO_REDIS_PREFIX": settings.redis_prefix,
        "EISO_PLUGINS": plugins,
        "EISO_LOG_JSON": "false",
        "EISO_LOG_LEVEL": "WARNING",
        # As in production (the test environment turns them off by default).
        "EISO_EVENTS_RELAY": "true",
        "EISO_EVENTS_HOOKS": "true",
        "EISO_EVENTS_RELAY_INTERVAL": "0.1",
    }


@contextlib.asynccontextmanager
async def live_server(folder: pathlib.Path, env: dict[str, str]) -> AsyncIterator[LiveServer]:
    """A started server, stopped (or killed) after the block whatever happens in it."""
    server = LiveServer(folder / "eiso-server.log", env)
    try:
        await server.start()
        yield server
    finally:
        server.stop()
