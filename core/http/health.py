"""`/healthz`: the process is up. `/readyz`: the database and Redis answer, or 503 naming which."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse

from eiso.infra import db, redis_client

CHECK_TIMEOUT = 2.0


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check(name: str, probe: Awaitable[object]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return name, f"failed: {type(error).__name__}"
    return name, "ok"


async def readyz(request: Request) -> JSONResponse:
    resources = request.app.state.resources
    checks = dict(
        await asyncio.gather(
            _check("database", db.ping(resources.engine)),
            _check("redis", redis_client.ping(resources.redis)),
        )
    )
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
