"""Rate limit of the public dossier lookup and rating: a fixed one-minute window per client
address in Redis (shared by every worker), so lookup keys cannot be guessed by brute force."""

from __future__ import annotations

from eiso.core.errors import DomainError
from eiso.core.resources import Resources
from eiso.infra.rate_limit import retry_after

PER_MINUTE = 60


async def check(resources: Resources, address: str, limit: int = PER_MINUTE) -> None:
    key = resources.key("dossiers", "public-rate", address)
    wait = await retry_after(resources.redis, key, limit)
    if wait:
        raise DomainError(
            f"too many requests from this address; retry in {wait} s",
            f"quá nhiều yêu cầu từ địa chỉ này; thử lại sau {wait} giây",
            code="RATE_LIMITED",
            retry_after=wait,
        )
