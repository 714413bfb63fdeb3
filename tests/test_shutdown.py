"""Shutdown never hangs: the app's lifespan stops its background loops (relay, hook readers,
live feed, pub/sub listeners) with `stop_tasks`, which waits a bounded time. Pitfall of an
earlier version: redis-py turned a relay's cancellation into a connection error, the relay
retried, and a test's lifespan exit waited for it until pytest's 600 s timeout."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from eiso.infra import cancellation
from eiso.infra.relay import Relay


class SwallowingRelay(Relay):
    """A relay whose pass turns its cancellation into a Redis error, as redis-py can."""

    def __init__(self) -> None:
        self.passes = 0

    async def relay_once(self) -> int:
        self.passes += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RedisConnectionError("connection lost while reading") from None
        return 0


async def test_the_relay_stops_though_its_cancellation_became_a_redis_error():
    relay = SwallowingRelay()
    task = asyncio.create_task(relay.run(interval=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task} and task.cancelled()
    assert relay.passes == 1  # it did not go round again


async def test_a_task_that_ignores_its_cancellation_is_logged_and_left(caplog):
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                assert task is not None
                task.uncancel()  # swallowed, with no trace left for raise_if_cancelled

    async def polite() -> None:
        await asyncio.sleep(10)

    tasks = [asyncio.create_task(stubborn(), name="stubborn"), asyncio.create_task(polite())]
    await asyncio.sleep(0.02)
    with caplog.at_level(logging.ERROR, logger="eiso.shutdown"):
        await cancellation.stop_tasks([*tasks, None], grace=0.2)
    assert tasks[1].cancelled()
    assert not tasks[0].done()
    [record] = caplog.records
    assert "stubborn did not stop" in record.getMessage() and "stubborn" in record.getMessage()
    release.set()
    await asyncio.wait([tasks[0]], timeout=5)
    assert tasks[0].done()


async def test_a_task_that_failed_before_the_shutdown_is_logged(caplog):
    async def broken() -> None:
        raise ValueError("bad entry")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="eiso.shutdown"):
        await cancellation.stop_tasks([task], grace=1)
    # A task already done is not waited for; its failure was its own to report.
    assert caplog.records == []


@pytest.mark.parametrize("count", [0, 3])
async def test_stopping_returns_once_every_task_has_stopped(count):
    tasks = [asyncio.create_task(asyncio.sleep(10)) for _ in range(count)]
    await cancellation.stop_tasks(tasks, grace=5)
    assert all(task.cancelled() for task in tasks)
