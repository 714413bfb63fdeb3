"""What one process holds while it runs: settings, the database engine, Redis. Nothing else
lives in process memory that another worker needs."""

from __future__ import annotations

import contextvars
import dataclasses

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eiso.core.settings import Settings
from eiso.infra.db import make_engine, make_read_engine, make_sessionmaker, read_only
from eiso.infra.redis_client import STREAM_TIMEOUT, Breaker, RedisClient, make_redis
from eiso.tenants.scope import TenantScope, open_session

# Key families whose keys meet in one command, transaction or script: the event streams with
# their readers' cursors, seen ids and leases, and the relay's epoch token (which must be lost
# together with the streams it vouches for). Every other key is used alone.
SAME_SLOT = frozenset({"events"})

# Set while a GraphQL query (not a mutation) runs (graphql/server/execution.py): its sessions
# are read-only ones (`Resources.session`).
reads_only: contextvars.ContextVar[bool] = contextvars.ContextVar("eiso_reads_only", default=False)


@dataclasses.dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Request-path commands: short timeouts, fails fast while Redis is down.
    redis: RedisClient
    # Blocking stream reads (XREAD BLOCK): the same server and breaker, a longer read timeout.
    stream_redis: RedisClient
    # Read-only sessions' own pool on PostgreSQL (infra/pg_read.py); None on SQLite.
    read_engine: AsyncEngine | None = None

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        read_engine = (
            make_read_engine(settings.database_url, pool_size=settings.db_read_pool_size)
            if settings.db_read_pool_size
            else None
        )
        breaker = Breaker()  # one per process and server: both clients learn of an outage
        return cls(
            settings,
            engine,
            make_sessionmaker(engine),
            make_redis(settings.redis_url, breaker=breaker),
            make_redis(settings.redis_url, breaker=breaker, read_timeout=STREAM_TIMEOUT),
            read_engine,
        )

    def key(self, *parts: object) -> str:
        """A Redis key under this deployment's prefix. On a Redis Cluster the keys of one
        family in `SAME_SLOT` share a hash tag, `{<prefix><family>}`, so that the commands
        and scripts spanning them (XREAD over several streams, a reader's fenced commit) find
        them on one node; single-node and memory:// keys keep their plain names."""
        name = ":".join(str(part) for part in parts)
        if self.settings.is_redis_cluster and parts and parts[0] in SAME_SLOT:
            family, _, rest = name.partition(":")
            return "{" + self.settings.redis_prefix + family + "}" + (":" + rest if rest else "")
        return self.settings.redis_prefix + name

    def session(self, scope: TenantScope) -> AsyncSession:
        """A session in `scope`; inside a GraphQL query, a read-only one (`read_session`)."""
        if reads_only.get():
            return self.read_session(scope)
        return open_session(self.sessionmaker, scope)

    def read_session(self, scope: TenantScope) -> AsyncSession:
        """A session that reads: on PostgreSQL one round trip per query (no transaction, the
        scope held by its connection, infra/pg_read.py). Once it begins a transaction itself
        (`session.begin()`, as code that writes does) it runs on the main pool."""
        return read_only(open_session(self.sessionmaker, scope), self.read_engine)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.stream_redis.aclose()
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()
