"""The one rate limiter: a fixed window per key in Redis, so every worker shares the count
(the token endpoint per client, the public dossier lookup per address).

With Redis unreachable the count falls back to this process's memory (same key, limit and
window): limits still hold per worker, so N workers admit at most N times the limit until
Redis is back. Failing open would hand brute force the outage; failing closed would turn an
outage of a cache into one of sign-in and public lookup.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from eiso.infra.redis_client import RedisClient

log = logging.getLogger("eiso.rate_limit")

# key:window -> count, for the windows counted while Redis was down.
_local: dict[str, int] = {}
_LOCAL_MAX_KEYS = 100_000
_warned_at = float("-inf")


def _wait(count: int, limit: int, now: float, window: int) -> int:
    return window - int(now) % window if count > limit else 0


async def retry_after(redis: RedisClient, key: str, limit: int, window: int = 60) -> int:
    """Count one request under `key` in the current window of `window` seconds: 0 when it is
    within `limit`, else the seconds until the window ends (the Retry-After)."""
    now = time.time()
    counter = f"{key}:{int(now // window)}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window + 1)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as error:
        global _warned_at
        if now - _warned_at > window:  # once a window, not once a request
            _warned_at = now
            log.warning("rate limits counted per process, Redis unavailable: %s", error)
        return _wait(count_locally(counter, now, window), limit, now, window)
    return _wait(int(count), limit, now, window)


def count_locally(counter: str, now: float, window: int) -> int:
    """One more request in this process's count for `counter` (a key of one window)."""
    if len(_local) >= _LOCAL_MAX_KEYS:
        current = f":{int(now // window)}"
        for stale in [k for k in _local if not k.endswith(current)]:
            del _local[stale]
        if len(_local) >= _LOCAL_MAX_KEYS:  # a flood within one window: start over
            _local.clear()
    _local[counter] = _local.get(counter, 0) + 1
    return _local[counter]
