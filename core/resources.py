"""What one process holds while it runs: settings, the database engine, Redis. Nothing else
lives in process memory that another worker needs."""

from __future__ import annotations

import dataclasses

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eiso.core.settings import Settings
from eiso.infra.db import make_engine, make_sessionmaker
from eiso.infra.redis_client import STREAM_TIMEOUT, Breaker, make_redis
from eiso.tenants.scope import TenantScope, open_session


@dataclasses.dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Request-path commands: short timeouts, fails fast while Redis is down.
    redis: aioredis.Redis
    # Blocking stream reads (XREAD BLOCK): the same server and breaker, a longer read timeout.
    stream_redis: aioredis.Redis

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        breaker = Breaker()  # one per process and server: both clients learn of an outage
        return cls(
            settings,
            engine,
            make_sessionmaker(engine),
            make_redis(settings.redis_url, breaker=breaker),
            make_redis(settings.redis_url, breaker=breaker, read_timeout=STREAM_TIMEOUT),
        )

    def key(self, *parts: object) -> str:
        """A Redis key under this deployment's prefix."""
        return self.settings.redis_prefix + ":".join(str(part) for part in parts)

    def session(self, scope: TenantScope) -> AsyncSession:
        return open_session(self.sessionmaker, scope)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.stream_redis.aclose()
        await self.engine.dispose()
