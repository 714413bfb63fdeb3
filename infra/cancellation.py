"""Cancellation checks for the loops that block on Redis (stream feeds, hook readers, the
module-changes listener)."""

from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """redis-py may swallow a cancellation that arrives during a blocking read (or turn it
    into a connection error); a loop that went on would never stop, and the app's shutdown
    would wait for ever. So the loops check the task's pending cancellation themselves."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
