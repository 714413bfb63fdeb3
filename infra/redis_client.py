"""One Redis client factory: `redis://` for a real server, `memory://` for in-process fakeredis.

A real server's clients fail fast when it is down: short socket timeouts, no retry inside
redis-py (the callers decide what to do without Redis), and a circuit breaker shared by the
clients of one process, so that while Redis is unreachable a request does not pay a connect
attempt: after a failed connect, connects are refused at once for a delay that doubles from
0.25 s to 5 s, then one connect probes again (docs/operating.md, "What eiso survives").
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    import fakeredis

log = logging.getLogger("eiso.redis")

_memory_servers: dict[str, fakeredis.FakeServer] = {}

# A connect to a live Redis on the local network takes about a millisecond.
CONNECT_TIMEOUT = 0.5
# Request-path commands are single keys and small pipelines; a reply slower than this means
# Redis is stuck, and the request goes on without it.
COMMAND_TIMEOUT = 1.0
# Blocking stream reads (XREAD BLOCK, at most 5 s in eiso) need a longer read timeout.
STREAM_TIMEOUT = 10.0


class RedisUnavailable(RedisConnectionError):
    """Raised without touching the network while the breaker is open."""


class Backoff:
    """A delay that doubles from `first_delay` to `max_delay` with each failure in a row."""

    def __init__(self, first_delay: float = 0.25, max_delay: float = 5.0) -> None:
        self.first_delay, self.max_delay = first_delay, max_delay
        self.failures = 0

    def _delay(self) -> float:
        return min(self.max_delay, self.first_delay * 2 ** min(max(self.failures - 1, 0), 16))

    def next(self) -> float:
        """Count one more failure; the delay to wait before the next attempt."""
        self.failures += 1
        return self._delay()

    def reset(self) -> None:
        self.failures = 0


class Breaker(Backoff):
    """Consecutive connect failures open it; it lets one connect through per delay."""

    def __init__(self, first_delay: float = 0.25, max_delay: float = 5.0) -> None:
        super().__init__(first_delay, max_delay)
        self.retry_at = 0.0

    def before_connect(self) -> None:
        if not self.failures:
            return
        now = time.monotonic()
        if now < self.retry_at:
            raise RedisUnavailable(f"Redis unavailable, next try in {self.retry_at - now:.2f} s")
        self.retry_at = now + self._delay()  # this connect probes; the others still fail fast

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        self.retry_at = time.monotonic() + self._delay()
        if self.failures == 1:
            log.warning("Redis unreachable, running degraded: %s", error)

    def succeeded(self) -> None:
        if self.failures:
            log.warning("Redis reachable again after %d failed connects", self.failures)
        self.failures = 0


def _guarded(base: type[AbstractConnection], breaker: Breaker) -> type[AbstractConnection]:
    """`base` (redis-py's TCP, TLS or Unix connection) with its connects going through the
    breaker."""

    async def connect(self: AbstractConnection) -> None:
        if self.is_connected:
            return
        breaker.before_connect()
        try:
            await base.connect(self)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if not isinstance(error, RedisUnavailable):
                breaker.failed(error)
            raise
        breaker.succeeded()

    return type(f"Guarded{base.__name__}", (base,), {"connect": connect})


def make_redis(
    url: str, *, breaker: Breaker | None = None, read_timeout: float = COMMAND_TIMEOUT
) -> aioredis.Redis:
    """The same redis.asyncio API either way, so one code path serves both."""
    if url.startswith("memory://"):
        import fakeredis

        # Every client of one process that names the same memory:// URL sees the same data.
        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=False)
    pool = ConnectionPool.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=read_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    pool.connection_class = _guarded(pool.connection_class, breaker or Breaker())
    return aioredis.Redis(connection_pool=pool)


async def ping(client: aioredis.Redis) -> None:
    await client.ping()


@contextlib.asynccontextmanager
async def subscription(client: aioredis.Redis, channel: str) -> AsyncIterator[PubSub]:
    """A pub/sub connection subscribed to `channel` (the confirmation comes as its first
    message), closed after the block whatever state Redis is in."""
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        yield pubsub
    finally:
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()
