"""Stream readers: each named reader (a hook, a worker's subscription feed) resumes from the
last stream id it delivered, kept in Redis under its name, and drops outbox ids it already
delivered (the relay may send an event twice after a crash). So a reader sees each event once,
across restarts; a handler that crashes mid-way sees that event again (make handlers
idempotent for that case).

The delivered ids are also kept in the reader's memory (`RecentIds`): a Redis that restarts
empty loses the stored ones along with the cursor, and a reader still running then drops the
events the relay sends again (infra/relay.py) instead of delivering them twice.

Several workers may run the same named reader only under a `Lease` (infra/lease.py): the
lease holder alone reads, and its cursor moves only while the lease is still its own (checked
in the same Lua script that moves it), so a worker that lost the lease cannot skip events for
the next holder.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, cast

import orjson
from redis.exceptions import RedisError
from redis.typing import KeyT, StreamIdT, XReadResponse

from eiso.infra.lease import Lease
from eiso.infra.redis_client import RedisClient
from eiso.infra.relay import stream_key

log = logging.getLogger("eiso.events")

# How many delivered outbox ids a reader remembers for deduplication; relay duplicates come
# right after the original, so a window this size is ample.
SEEN_WINDOW = 10_000

# Moves a leased reader's cursor only while the lease holds our token.
_FENCED_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[3]) - 1)
redis.call('SET', KEYS[3], ARGV[4])
return 1
"""


class RecentIds:
    """The last `size` outbox ids a reader delivered, in memory."""

    def __init__(self, size: int = SEEN_WINDOW) -> None:
        self._order: collections.deque[int] = collections.deque(maxlen=size)
        self._set: set[int] = set()

    def __contains__(self, outbox_id: int) -> bool:
        return outbox_id in self._set

    def add(self, outbox_id: int) -> bool:
        """Remember `outbox_id`; whether it is new."""
        if outbox_id in self._set:
            return False
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(outbox_id)
        self._set.add(outbox_id)
        return True


class LeaseLost(Exception):
    """The reader's lease went to another worker: stop reading, the new holder goes on."""


Fields = Mapping[bytes | str, bytes | str]


def as_text(value: bytes | str) -> str:
    """A stream name, id or field as text (the Redis client answers bytes)."""
    return value.decode() if isinstance(value, bytes) else value


async def newest_id(redis: RedisClient, stream: str) -> str:
    """The id of the newest entry of `stream`; "0-0" when it has none."""
    newest = await redis.xrevrange(stream, count=1)
    found = newest[0][0] if newest else None
    return "0-0" if found is None else as_text(found)


def stream_entries(reply: XReadResponse | None) -> Iterator[tuple[str, bytes | str, Fields]]:
    """The entries of an `XREAD` reply in order, each as (its stream, its id, its fields). The
    clients `make_redis` builds speak RESP2: the reply is a list of [stream, entries]."""
    for stream, entries in cast("list[list[Any]]", reply or []):
        name = as_text(stream)
        for stream_id, fields in entries:
            yield name, stream_id, fields


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    stream_id: str
    outbox_id: int
    topic: str
    agency_id: int | None
    payload: dict[str, Any]

    @classmethod
    def from_entry(cls, stream_id: bytes | str, fields: Fields) -> StreamEvent:
        """The event of one stream entry, as the relay (infra/relay.py) wrote it."""
        named = {as_text(k): v for k, v in fields.items()}
        agency = as_text(named.get("agency_id", b""))
        return cls(
            stream_id=as_text(stream_id),
            outbox_id=int(as_text(named["outbox_id"])),
            topic=as_text(named["topic"]),
            agency_id=int(agency) if agency else None,
            payload=orjson.loads(named["payload"]),
        )


Handler = Callable[[StreamEvent], Awaitable[None]]


class StreamReader:
    def __init__(
        self,
        redis: RedisClient,
        key: Callable[..., str],
        name: str,
        topics: Iterable[str],
        *,
        from_end: bool = False,
        lease: Lease | None = None,
    ) -> None:
        """A reader seen for the first time starts at the oldest retained event, or with
        `from_end` (a live feed such as a subscription) after the newest one. With `lease`,
        the reader delivers only while it holds that lease (raises `LeaseLost` otherwise)."""
        self.redis, self.key, self.name, self.from_end = redis, key, name, from_end
        self.lease = lease
        self.topics = list(topics)
        self._streams = {stream_key(key, t): t for t in self.topics}
        self._delivered = RecentIds()

    def _cursor_key(self, stream: str) -> str:
        return self.key("events", "cursor", self.name, self._streams[stream])

    def _seen_key(self) -> str:
        return self.key("events", "seen", self.name)

    async def _cursors(self) -> dict[KeyT, StreamIdT]:
        """Where each stream is read from next (`XREAD`'s streams)."""
        values = await self.redis.mget([self._cursor_key(s) for s in self._streams])
        cursors: dict[KeyT, StreamIdT] = {}
        for stream, value in zip(self._streams, values, strict=True):
            if value is None:
                value = await newest_id(self.redis, stream) if self.from_end else "0-0"
                # Remember where a new reader starts, so no event slips by between calls.
                await self.redis.set(self._cursor_key(stream), value, nx=True)
            cursors[stream] = as_text(value)
        return cursors

    async def read(
        self,
        handler: Handler,
        *,
        count: int = 100,
        block_ms: int | None = None,
    ) -> int:
        """Deliver what is new to `handler`; how many events it got (duplicates not counted)."""
        return (await self._read(handler, count, block_ms))[0]

    async def _read(self, handler: Handler, count: int, block_ms: int | None) -> tuple[int, int]:
        reply = await self.redis.xread(await self._cursors(), count=count, block=block_ms)
        delivered = consumed = 0
        for stream, stream_id, fields in stream_entries(reply):
            event = StreamEvent.from_entry(stream_id, fields)
            fresh = (
                event.outbox_id not in self._delivered
                and await self.redis.zscore(self._seen_key(), event.outbox_id) is None
            )
            if fresh:
                if self.lease is not None and not self.lease.held:
                    raise LeaseLost(self.name)
                await handler(event)
                delivered += 1
            await self._commit(stream, event)
            consumed += 1
        return delivered, consumed

    async def _commit(self, stream: str, event: StreamEvent) -> None:
        """Remember the id and move the cursor together, after the handler ran."""
        if self.lease is not None:
            moved = await self.redis.eval(
                _FENCED_COMMIT,
                3,
                self.lease.key,
                self._seen_key(),
                self._cursor_key(stream),
                self.lease.token,
                event.outbox_id,
                SEEN_WINDOW,
                event.stream_id,
            )
            if not moved:
                raise LeaseLost(self.name)
        else:
            pipe = self.redis.pipeline(transaction=True)
            # The member is the id as text: what the client would encode the number to.
            pipe.zadd(self._seen_key(), {str(event.outbox_id): event.outbox_id})
            pipe.zremrangebyrank(self._seen_key(), 0, -SEEN_WINDOW - 1)
            pipe.set(self._cursor_key(stream), event.stream_id)
            await pipe.execute()
        self._delivered.add(event.outbox_id)

    async def read_all(self, handler: Handler) -> int:
        """Deliver everything waiting, without blocking; how many events the handler got."""
        total = 0
        while True:
            delivered, consumed = await self._read(handler, 500, None)
            total += delivered
            if not consumed:
                return total

    async def run(
        self,
        handler: Handler,
        *,
        block_ms: int = 5000,
        retry_after: float = 1.0,
    ) -> None:
        """Deliver events as they come, for ever (a worker's background task); waits out a
        Redis outage and resumes from the stored cursor."""
        while True:
            try:
                await self._read(handler, 100, block_ms)
            except asyncio.CancelledError:
                raise
            except RedisError as error:
                log.warning("stream reader %s: Redis unavailable: %s", self.name, error)
                await asyncio.sleep(retry_after)
