"""A second eiso worker for the tests: its own uvicorn process on the test's database and
Redis, as a deployment runs several."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest

from eiso.core.settings import Settings
from tests.ws_client import free_port

# How long the worker may take to answer: a loaded machine imports slowly.
START_SECONDS = 90


@contextlib.asynccontextmanager
async def worker_process(
    folder: pathlib.Path,
    module: str,
    source: str,
    settings: Settings,
    *,
    plugins: str | None,
    port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[str]:
    """`source` saved as `<module>.py` in `folder` and served by uvicorn (`<module>:app`) in a
    process of its own, on the database, Redis and prefix of `settings`, with `plugins` (None:
    every installed one), on `port` (default: a free one), with `extra_env` added; yields its
    base URL once `/healthz` answers and stops it after the block."""
    (folder / f"{module}.py").write_text(source)
    port = port or free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "EISO_PLUGINS"},
        "EISO_ENV": "test",
        "EISO_DATABASE_URL": settings.database_url,
        "EISO_REDIS_URL": settings.redis_url,
        "EISO_REDIS_PREFIX": settings.redis_prefix,
        **({"EISO_PLUGINS": plugins} if plugins is not None else {}),
        "EISO_LOG_JSON": "false",
        **(extra_env or {}),
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - starts it, does not wait
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"{module}:app",
            "--app-dir",
            str(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _started(url)
        yield url
    finally:
        server.terminate()
        server.wait(10)


async def _started(url: str) -> None:
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    async with httpx.AsyncClient() as http:
        while asyncio.get_running_loop().time() < deadline:
            try:
                await http.get(url + "/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    pytest.fail(f"the second worker did not start within {START_SECONDS} s")
