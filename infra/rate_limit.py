"""The one rate limiter: a fixed window per key in Redis, so every worker shares the count
(the token endpoint per client, the public dossier lookup per address)."""

from __future__ import annotations

import time

import redis.asyncio as aioredis


async def retry_after(redis: aioredis.Redis, key: str, limit: int, window: int = 60) -> int:
    """Count one request under `key` in the current window of `window` seconds: 0 when it is
    within `limit`, else the seconds until the window ends (the Retry-After)."""
    now = time.time()
    counter = f"{key}:{int(now // window)}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(counter)
        pipe.expire(counter, window + 1)
        count, _ = await pipe.execute()
    if int(count) > limit:
        return window - int(now) % window
    return 0
