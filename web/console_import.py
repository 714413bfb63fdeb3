"""The console's confirmed import as a background job of the app (its progress in Redis).

The confirmed onboarding starts the import in a task kept by the app (`app.state.jobs`,
stopped at shutdown) and redirects to its status page, which any worker can serve: the job's
state is a Redis key (an hour's expiry) bound to the province and the administrator who
started it. The import itself is the `onboardAgencies` mutation as the single-request
import runs it (one transaction, all or nothing); its rows are counted through the
in-process `progress` callback of tenants/onboarding.py. Redis down: None, and the caller
imports in the request as before (degraded, never an outage).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from starlette.requests import Request

from eiso.web.run import OperationFailed, run

if TYPE_CHECKING:
    from eiso.core.resources import Resources
    from eiso.web.console import Admin

log = logging.getLogger("eiso.web.console_import")

LIFETIME = 3600  # seconds a job's state is kept in Redis
EVERY = 100  # rows between two progress writes (and at the end of each bulk statement)
FAMILY = "console-import"


def _key(resources: Resources, job: str) -> str:
    return resources.key(FAMILY, job)


async def _save(resources: Resources, key: str, state: dict[str, Any]) -> None:
    """Best effort: a progress or result lost to Redis leaves the import as it is."""
    try:
        await resources.redis.set(key, json.dumps(state), ex=LIFETIME)
    except RedisError:
        log.warning("could not save the state of import job %s", key, exc_info=True)


async def start(request: Request, admin: Admin, content: str) -> str | None:
    """Start the import of `content` in the background: the new job's id, or None when
    Redis cannot keep its state (the caller then imports in the request)."""
    resources: Resources = request.app.state.resources
    job = secrets.token_urlsafe(16)
    key = _key(resources, job)
    state: dict[str, Any] = {
        "province": admin.province["code"],
        "subject": admin.subject,
        "state": "running",
        "done": 0,
        "total": 0,
    }
    try:
        await resources.redis.set(key, json.dumps(state), ex=LIFETIME)
    except RedisError:
        log.warning("Redis unavailable: the console imports in the request", exc_info=True)
        return None
    task = asyncio.create_task(_import(request, admin, content, key, state), name=key)
    jobs: set[asyncio.Task[None]] = request.app.state.jobs
    jobs.add(task)
    task.add_done_callback(jobs.discard)
    return job


async def _import(
    request: Request, admin: Admin, content: str, key: str, state: dict[str, Any]
) -> None:
    resources: Resources = request.app.state.resources
    last = -EVERY

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if done - last >= EVERY or done == total:
            last = done
            await _save(resources, key, {**state, "done": done, "total": total})

    variables = {"provinceCode": admin.province["code"], "content": content, "dryRun": False}
    try:
        data = await run(
            request,
            "ConsoleOnboard",
            variables,
            write=True,
            token=admin.token,
            extras={"progress": progress},
        )
        report = data["onboardAgencies"]
        final = {**state, "state": "done", "report": report, "done": report["total"]}
        final["total"] = report["total"]
    except OperationFailed as error:
        final = {**state, "state": "failed", "error": _error(error)}
    except asyncio.CancelledError:
        # The app stops: the transaction is rolled back, the page says so and ends.
        stopped = OperationFailed(
            "STOPPED",
            "The import was stopped (the server restarted): nothing was imported, run it again",
            "Lượt nhập đã dừng (máy chủ khởi động lại): chưa nhập gì, hãy nhập lại",
        )
        await _save(resources, key, {**state, "state": "failed", "error": _error(stopped)})
        raise
    except Exception:  # the page must end, whatever went wrong
        log.exception("import job %s failed", key)
        failure = OperationFailed("INTERNAL", "The import failed", "Nhập dữ liệu thất bại")
        final = {**state, "state": "failed", "error": _error(failure)}
    await _save(resources, key, final)


def _error(error: OperationFailed) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "message_vi": error.message_vi}


async def job_of(request: Request, admin: Admin, job: str) -> dict[str, Any] | None:
    """The state of `job` if `admin` started it at this province's console, else None (an
    unknown or expired id, another province's or another administrator's: the same 404).
    A RedisError goes up (the page's 503)."""
    resources: Resources = request.app.state.resources
    if len(job) > 64:
        return None
    raw = await resources.redis.get(_key(resources, job))
    state = json.loads(raw) if raw else None
    if (
        not isinstance(state, dict)
        or state.get("province") != admin.province["code"]
        or state.get("subject") != admin.subject
    ):
        return None
    return state
