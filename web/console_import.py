"""The console's confirmed import as a background job of the app (its progress in Redis).

The confirmed onboarding starts the import in a task kept by the app (`app.state.jobs`,
stopped at shutdown) and redirects to its status page, which any worker can serve: the job's
state is a Redis key (an hour's expiry) bound to the province and the administrator who
started it. The import itself is the `onboardAgencies` mutation as the single-request
import runs it (one transaction, all or nothing); its rows are counted through the
in-process `progress` callback of tenants/onboarding.py. Redis down: None, and the caller
imports in the request as before (degraded, never an outage).

The job does not hold the request: everything it needs is captured before the response
(`Job`: the administrator as the access token authenticated them, with their province's
modules, web/run.py's `Caller`; the province; the CSV; the app's resources and settings), and
it runs the mutation through the same in-process path as the pages (web/run.py) with that
caller in place of the request, whose scope is gone once the redirect is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from starlette.requests import Request

from eiso.web.run import Caller, OperationFailed, caller_of, run

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


@dataclasses.dataclass(frozen=True)
class Job:
    """What the background import needs, captured while the request is alive: it holds no
    Request, so the job runs the same after the response has been sent."""

    caller: Caller  # the administrator, as their access token authenticated them
    province: str  # the province's code
    content: str  # the CSV, as checked by the dry run
    resources: Resources  # the app's Redis, database and settings
    key: str  # the job's Redis key
    state: dict[str, Any]  # its state as the status page reads it


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
    caller = await caller_of(request, admin.token)
    work = Job(caller, admin.province["code"], content, resources, key, state)
    task = asyncio.create_task(run_job(work), name=key)
    jobs: set[asyncio.Task[None]] = request.app.state.jobs
    jobs.add(task)
    task.add_done_callback(jobs.discard)
    return job


def _failure() -> OperationFailed:
    return OperationFailed("INTERNAL", "The import failed", "Nhập dữ liệu thất bại")


async def run_job(job: Job) -> None:
    """The import of `job` to its end, its progress and result saved for the status page."""
    resources, key, state = job.resources, job.key, job.state
    last = -EVERY

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if done - last >= EVERY or done == total:
            last = done
            await _save(resources, key, {**state, "done": done, "total": total})

    variables = {"provinceCode": job.province, "content": job.content, "dryRun": False}
    try:
        data = await run(
            job.caller, "ConsoleOnboard", variables, write=True, extras={"progress": progress}
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
        final = {**state, "state": "failed", "error": _error(_failure())}
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
