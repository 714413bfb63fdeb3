"""`/healthz`: the process is up. `/readyz`: can this node serve requests?

Only the database decides readiness (503 when it does not answer): with Redis down eiso runs
degraded but serves every request (docs/operating.md, "What eiso survives"), so a load balancer
must keep the node in rotation; the body reports Redis as `degraded` for monitoring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse

from eiso.infra import db, redis_client

CHECK_TIMEOUT = 2.0


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check(name: str, probe: Awaitable[object], failure: str) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - any failure is reported, none raised
        return name, f"{failure}: {type(error).__name__}"
    return name, "ok"


async def readyz(request: Request) -> JSONResponse:
    resources = request.app.state.resources
    checks = dict(
        await asyncio.gather(
            _check("database", db.ping(resources.engine), "failed"),
            _check("redis", redis_client.ping(resources.redis), "degraded"),
        )
    )
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif checks["redis"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JSONResponse({"status": status, "checks": checks}, status_code=code)
