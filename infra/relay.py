"""The outbox relay: committed, unsent outbox rows → `XADD` to the topic's Redis stream →
marked sent. With Redis down the rows stay unsent and go out on a later pass.

A crash between `XADD` and marking the row sent sends that row again on the next pass, so
every stream entry carries its outbox id and readers drop ids they have already delivered
(at-least-once relay, exactly-once delivery per reader). On PostgreSQL concurrent relays (one
per worker) skip each other's locked rows instead of sending them twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from eiso.infra.clock import utcnow
from eiso.infra.outbox import OutboxEvent
from eiso.infra.rls import every_tenant

log = logging.getLogger("eiso.relay")


def stream_key(key: Callable[..., str], topic: str) -> str:
    return key("events", topic)


class Relay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        key: Callable[..., str],
        *,
        batch: int = 200,
        maxlen: int | None = 1_000_000,
    ) -> None:
        self.sessionmaker, self.redis, self.key = sessionmaker, redis, key
        self.batch, self.maxlen = batch, maxlen

    async def relay_once(self) -> int:
        """Send one batch; how many rows went out. Raises RedisError when Redis is down
        (the rows stay unsent)."""
        session = self.sessionmaker()
        # Every tenant's events: no tenant scope for the ORM, the nation's for row-level
        # security (the outbox has it, as every tenant table).
        session.info["scope_exempt"] = True
        async with session, session.begin():
            await every_tenant(session)
            statement = (
                select(OutboxEvent)
                .where(col(OutboxEvent.sent_at).is_(None))
                .order_by(col(OutboxEvent.id))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            events = (await session.execute(statement)).scalars().all()
            if not events:
                return 0
            pipe = self.redis.pipeline(transaction=False)
            for event in events:
                pipe.xadd(
                    stream_key(self.key, event.topic),
                    {
                        "outbox_id": str(event.id),
                        "topic": event.topic,
                        "agency_id": "" if event.agency_id is None else str(event.agency_id),
                        "payload": orjson.dumps(event.payload),
                    },
                    maxlen=self.maxlen,
                    approximate=True,
                )
            await pipe.execute()
            await session.execute(
                update(OutboxEvent)
                .where(col(OutboxEvent.id).in_([e.id for e in events]))
                .values(sent_at=utcnow())
            )
            return len(events)

    async def drain(self) -> int:
        """Send until nothing is left; the total sent."""
        total = 0
        while sent := await self.relay_once():
            total += sent
        return total

    async def run(self, interval: float = 1.0) -> None:
        """The background loop (app lifespan, `eiso events relay`): never dies on Redis or
        database errors, retries after `interval`."""
        while True:
            try:
                if await self.relay_once():
                    continue  # more may be waiting
            except asyncio.CancelledError:
                raise
            except RedisError as error:
                log.warning("outbox relay: Redis unavailable, events wait: %s", error)
            except Exception:
                log.exception("outbox relay pass failed")
            await asyncio.sleep(interval)
