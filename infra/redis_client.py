"""One Redis client factory: `redis://` for a real server, `memory://` for in-process fakeredis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis

if TYPE_CHECKING:
    import fakeredis

_memory_servers: dict[str, fakeredis.FakeServer] = {}


def make_redis(url: str) -> aioredis.Redis:
    """The same redis.asyncio API either way, so one code path serves both."""
    if url.startswith("memory://"):
        import fakeredis

        # Every client of one process that names the same memory:// URL sees the same data.
        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=False)
    return aioredis.from_url(url, decode_responses=False, health_check_interval=30)


async def ping(client: aioredis.Redis) -> None:
    await client.ping()
