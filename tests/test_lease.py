"""The lease keeper stops when cancelled, even when the Redis call swallowed the cancellation
(redis-py may, during a read), so a worker's shutdown never waits for ever on it."""

from __future__ import annotations

import asyncio
import contextlib

from eiso.infra.lease import Lease


class SwallowingRedis:
    """Answers every renewal after a short wait, and swallows a cancellation that arrives
    during it, as redis-py may do during a blocking read."""

    def __init__(self) -> None:
        self.renewals = 0
        self.in_call = asyncio.Event()

    async def eval(self, *_args):
        self.renewals += 1
        self.in_call.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed
            await asyncio.sleep(0.05)
        return 1


async def test_a_keeper_cancelled_during_a_renewal_stops():
    redis = SwallowingRedis()
    lease = Lease(redis, "lease:test", ttl=0.03)
    keeper = asyncio.create_task(lease.keep())
    await asyncio.wait_for(redis.in_call.wait(), 5)
    keeper.cancel()  # arrives inside the renewal, which swallows it
    done, _ = await asyncio.wait({keeper}, timeout=5)
    assert done == {keeper} and keeper.cancelled()
    renewals = redis.renewals
    await asyncio.sleep(0.1)
    assert redis.renewals == renewals  # no renewal after the cancellation
