"""Cancellation for the background loops that block on Redis or the database (stream feeds,
hook readers, the relay, the pub/sub listeners): checked by the loops, bounded at shutdown."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable

log = logging.getLogger("eiso.shutdown")

# How long a shutdown waits for a cancelled loop: longer than any single Redis or database
# call's own timeout, so a loop that honours its cancellation is always waited for.
STOP_TIMEOUT = 15.0


def raise_if_cancelled() -> None:
    """redis-py may swallow a cancellation that arrives during a blocking read (or turn it
    into a connection error); a loop that went on would never stop, and the app's shutdown
    would wait for ever. So the loops check the task's pending cancellation themselves."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task | None], grace: float = STOP_TIMEOUT) -> None:
    """Cancel the tasks and wait for them, `grace` seconds at most: a shutdown never hangs
    on a loop that lost its cancellation. One that outlives it is logged with its stack (it
    is left running; the process is ending) and cancelled once more."""
    pending = [task for task in tasks if task is not None and not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    done, stubborn = await asyncio.wait(pending, timeout=grace)
    for task in stubborn:
        stack = io.StringIO()
        task.print_stack(file=stack)
        log.error(
            "background task %s did not stop within %.0f s of its cancellation:\n%s",
            task.get_name(),
            grace,
            stack.getvalue(),
        )
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task failed", exc_info=task.exception())
