"""Rate limit of the public dossier lookup and rating: a fixed one-minute window per client
address in Redis (shared by every worker), so lookup keys cannot be guessed by brute force."""

from __future__ import annotations

import time

from eiso.core.errors import DomainError
from eiso.core.resources import Resources

PER_MINUTE = 60


async def check(resources: Resources, address: str, limit: int = PER_MINUTE) -> None:
    window = int(time.time() // 60)
    key = resources.key("dossiers", "public-rate", address, window)
    async with resources.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 61)
        count, _ = await pipe.execute()
    if int(count) > limit:
        wait = 60 - int(time.time()) % 60
        raise DomainError(
            f"too many requests from this address; retry in {wait} s",
            f"quá nhiều yêu cầu từ địa chỉ này; thử lại sau {wait} giây",
            code="RATE_LIMITED",
            retry_after=wait,
        )
