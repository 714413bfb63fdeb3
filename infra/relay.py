"""The outbox relay: committed, unsent outbox rows → `XADD` to the topic's Redis stream →
marked sent. With Redis down the rows stay unsent and go out on a later pass.

A crash between `XADD` and marking the row sent sends that row again on the next pass, so
every stream entry carries its outbox id and readers drop ids they have already delivered
(at-least-once relay, exactly-once delivery per reader). On PostgreSQL concurrent relays (one
per worker) skip each other's locked rows instead of sending them twice.

A Redis that restarts empty (no persistence) or is flushed loses the entries it held, among
them events already marked sent that a reader had not read yet. Each relay notices: Redis
holds a random token, `<prefix>events:epoch`, written once (`SET NX`) and lost with the
streams; a relay that finds another token than the one it saw on its previous pass sends again
the rows sent from `REPLAY_SECONDS` before that pass on (at most `REPLAY_LIMIT`, the newest),
and readers drop the ids they already delivered. A reader further behind than that when Redis
lost its data loses the older events; run Redis with persistence in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence

import orjson
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from eiso.infra.cancellation import raise_if_cancelled
from eiso.infra.clock import utcnow
from eiso.infra.outbox import OutboxEvent
from eiso.infra.redis_client import RedisClient
from eiso.infra.rls import every_tenant

log = logging.getLogger("eiso.relay")

# How far before its last look at an intact Redis a relay sends events again once Redis has
# lost its data: readers are normally milliseconds behind the relay.
REPLAY_SECONDS = 60.0
# At most this many (the newest): the readers' windows of delivered ids
# (stream_reader.SEEN_WINDOW, live_feed.DEDUP_WINDOW), beyond which a repeat would get through.
REPLAY_LIMIT = 10_000


def stream_key(key: Callable[..., str], topic: str) -> str:
    return key("events", topic)


class Relay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: RedisClient,
        key: Callable[..., str],
        *,
        batch: int = 200,
        maxlen: int | None = 1_000_000,
    ) -> None:
        self.sessionmaker, self.redis, self.key = sessionmaker, redis, key
        self.batch, self.maxlen = batch, maxlen
        # The epoch token Redis held at this relay's last pass, and when it was read.
        self._epoch: bytes | str | None = None
        self._epoch_at = utcnow()

    def _session(self) -> AsyncSession:
        session = self.sessionmaker()
        # Every tenant's events: no tenant scope for the ORM, the nation's for row-level
        # security (the outbox has it, as every tenant table).
        session.info["scope_exempt"] = True
        return session

    async def relay_once(self) -> int:
        """Send one batch (after sending again what a Redis that lost its data lost); how many
        rows went out. Raises RedisError when Redis is down (the rows stay unsent)."""
        await self._replay_if_lost()
        async with (session := self._session()), session.begin():
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
            await self._xadd(events)
            await session.execute(
                update(OutboxEvent)
                .where(col(OutboxEvent.id).in_([e.id for e in events]))
                .values(sent_at=utcnow())
            )
            return len(events)

    async def _xadd(self, events: Sequence[OutboxEvent]) -> None:
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

    async def _replay_if_lost(self) -> int:
        """Send again the recent events when Redis lost its data since this relay's previous
        pass (its epoch token changed); how many. Raises RedisError when Redis is down."""
        key = self.key("events", "epoch")
        looked_at = utcnow()
        token = await self.redis.get(key)
        if token is None:  # a new (or emptied) Redis: the first relay to see it marks it
            await self.redis.set(key, secrets.token_hex(16), nx=True)
            token = await self.redis.get(key)
        replayed = 0
        if self._epoch is not None and token != self._epoch:
            since = self._epoch_at - dt.timedelta(seconds=REPLAY_SECONDS)
            replayed = await self._replay(since)
            log.warning("Redis lost its data: %d recent event(s) sent again", replayed)
        # Only after a complete replay: one cut short by Redis going again is started over.
        self._epoch, self._epoch_at = token, looked_at
        return replayed

    async def _replay(self, since: dt.datetime) -> int:
        """Send again the rows sent since `since` (the newest `REPLAY_LIMIT`), in id order;
        they keep their `sent_at`."""
        async with (session := self._session()), session.begin():
            await every_tenant(session)
            statement = (
                select(OutboxEvent)
                .where(col(OutboxEvent.sent_at) >= since)
                .order_by(col(OutboxEvent.id).desc())
                .limit(REPLAY_LIMIT)
            )
            events = list(reversed((await session.execute(statement)).scalars().all()))
        for start in range(0, len(events), self.batch):
            await self._xadd(events[start : start + self.batch])
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
        down = False  # Redis unavailable at the previous pass: say so once per outage
        while True:
            raise_if_cancelled()
            try:
                sent = await self.relay_once()
                down = False
                if sent:
                    continue  # more may be waiting
            except asyncio.CancelledError:
                raise
            except RedisError as error:
                raise_if_cancelled()  # redis-py may turn a cancellation into its error
                if not down:
                    log.warning("outbox relay: Redis unavailable, events wait: %s", error)
                down = True
            except Exception:
                raise_if_cancelled()
                log.exception("outbox relay pass failed")
            await asyncio.sleep(interval)
