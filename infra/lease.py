"""A Redis lease: at most one worker of a deployment holds a named lease at a time.

The holder's random token is the key's value, with a time to live. The holder renews it
(`renew`) well within that time; a worker that crashes stops renewing and the lease falls free
after `ttl`, when another worker takes it. Renewal and release touch the key only while it still
holds our token (one Lua script each), so a worker that lost its lease can never extend or drop
the new holder's. Work done under a lease is fenced too: see `StreamReader(lease=...)`, whose
cursor moves only while the lease is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from redis.exceptions import RedisError

from eiso.infra.cancellation import raise_if_cancelled
from eiso.infra.redis_client import RedisClient

log = logging.getLogger("eiso.events")

# How long a quiet release may take before it is given up (the lease then runs out by itself).
RELEASE_WAIT = 1.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: RedisClient, key: str, ttl: float = 15.0) -> None:
        self.redis, self.key, self.ttl = redis, key, ttl
        self.token = secrets.token_hex(16)
        # Until when we may assume the lease is ours (monotonic clock), with a margin.
        self._valid_until = 0.0

    @property
    def ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    @property
    def held(self) -> bool:
        """Ours as far as this worker knows: taken or renewed less than ~ttl ago."""
        return time.monotonic() < self._valid_until

    def _mark(self, started: float) -> None:
        # Counted from before the command went out, minus a tenth for clock drift between us
        # and Redis: we stop believing in the lease before Redis lets it go.
        self._valid_until = started + self.ttl * 0.9

    async def acquire(self) -> bool:
        """Take the lease if it is free (or already ours); raises RedisError when Redis is down."""
        started = time.monotonic()
        if await self.redis.set(self.key, self.token, nx=True, px=self.ms):
            self._mark(started)
            return True
        return await self.renew()

    async def renew(self) -> bool:
        started = time.monotonic()
        if await self.redis.eval(_RENEW, 1, self.key, self.token, self.ms):
            self._mark(started)
            return True
        self._valid_until = 0.0
        return False

    async def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so another worker need not wait."""
        self._valid_until = 0.0
        await self.redis.eval(_RELEASE, 1, self.key, self.token)

    async def keep(self) -> None:
        """Renew every third of the ttl while it stays ours (run as a task beside the work);
        returns when the lease is lost. Checks for its own cancellation after each renewal:
        redis-py may swallow one that arrives during the call, and a keeper that went on
        renewing would hold up whoever awaits it (a worker's shutdown) for ever."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                renewed = await self.renew()
            except RedisError as error:  # keep trying: `held` runs out on its own
                raise_if_cancelled()
                log.warning("lease renewal failed: %s", error, extra={"lease": self.key})
                continue
            raise_if_cancelled()
            if not renewed:
                log.warning("lease lost", extra={"lease": self.key})
                return

    async def release_quietly(self) -> None:
        """`release`, given up after `RELEASE_WAIT` seconds or on any Redis or network error."""
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(RELEASE_WAIT):
                await self.release()
