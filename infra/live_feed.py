"""A worker's live feed of the event streams, fanned out to its local subscribers.

One blocking `XREAD` loop per worker process, whatever the number of subscribers: each
subscriber is an asyncio queue with a filter, fed from that loop. The loop starts with the
first subscriber, after the newest event of that moment (a live feed replays no history), and
keeps its cursor in memory: nothing is written to Redis per worker, so a crashed worker leaves
nothing behind. Events reach every worker because each reads the shared stream itself, so a
client connected to one worker hears what was done on another. Relay duplicates (the same
outbox id twice) are dropped. After a Redis error the feed resumes from the last entry it
delivered, unless the stream now ends before that entry (Redis came back empty, or on another
clock): the stream is then a new one, read from its start, into which the relay sends again
the recent events Redis lost (infra/relay.py); the feed drops those it already delivered. A
subscriber too slow to keep `queue_size` events is ended (`FeedOverflow`), never silently
skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError
from redis.typing import KeyT, StreamIdT

from eiso.infra.cancellation import raise_if_cancelled, stop_tasks
from eiso.infra.redis_client import RedisClient
from eiso.infra.relay import stream_key
from eiso.infra.stream_reader import RecentIds, StreamEvent, as_text, newest_id, stream_entries

log = logging.getLogger("eiso.events")

DEDUP_WINDOW = 10_000


def _id_key(stream_id: str) -> tuple[int, int]:
    """A stream id ("<milliseconds>-<sequence>") as numbers, for comparing."""
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class FeedOverflow(Exception):
    """The subscriber fell `queue_size` events behind and was dropped."""


class Subscription:
    def __init__(self, feed: LiveFeed, accept: Callable[[StreamEvent], bool], size: int) -> None:
        self.feed, self.accept = feed, accept
        # None: the end marker, after which the subscriber hears nothing (it overflowed).
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def offer(self, event: StreamEvent) -> None:
        if self.overflowed or not self.accept(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.feed.unsubscribe(self)
            self.queue.get_nowait()  # make room for the end marker
            self.queue.put_nowait(None)

    async def get(self) -> StreamEvent:
        event = await self.queue.get()
        if event is None:
            raise FeedOverflow("subscriber too slow: events were coming faster than it read")
        return event

    def close(self) -> None:
        self.feed.unsubscribe(self)


class LiveFeed:
    def __init__(
        self,
        redis: RedisClient,
        key: Callable[..., str],
        topics: Iterable[str],
        *,
        block_ms: int = 5000,
        queue_size: int = 1000,
        retry_after: float = 1.0,
    ) -> None:
        self.redis, self.block_ms = redis, block_ms
        self.queue_size, self.retry_after = queue_size, retry_after
        self.streams = [stream_key(key, t) for t in topics]
        self.subscribers: set[Subscription] = set()
        self._cursors: dict[KeyT, StreamIdT] | None = None
        self._seen = RecentIds(DEDUP_WINDOW)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._resuming = False  # a read failed: check the streams before reading on

    async def subscribe(self, accept: Callable[[StreamEvent], bool]) -> Subscription:
        """A new subscriber hearing every event committed and relayed from now on that
        `accept` lets through. Raises RedisError when Redis is down at the first subscription."""
        await self._start()
        subscription = Subscription(self, accept, self.queue_size)
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)

    async def _start(self) -> None:
        async with self._lock:
            if self._task is not None:
                return
            if self._cursors is None:
                # Fixed before the first subscriber returns: nothing after it slips by.
                cursors: dict[KeyT, StreamIdT] = {}
                for stream in self.streams:
                    cursors[stream] = await newest_id(self.redis, stream)
                self._cursors = cursors
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                raise_if_cancelled()
                if not self._resuming:
                    log.warning("live feed: Redis unavailable, resuming later: %s", error)
                self._resuming = True
                await asyncio.sleep(self.retry_after)
            except Exception:  # the feed must outlive a bad entry
                raise_if_cancelled()
                log.exception("live feed pass failed")
                await asyncio.sleep(self.retry_after)

    async def _read_once(self) -> None:
        cursors = self._cursors
        assert cursors is not None, "`_start` fixes the cursors before the loop runs"
        if self._resuming:
            for stream, cursor in cursors.items():
                if _id_key(await newest_id(self.redis, str(stream))) < _id_key(str(cursor)):
                    log.warning("live feed: %s restarted empty, reading it from its start", stream)
                    cursors[stream] = "0-0"
            self._resuming = False
        reply = await self.redis.xread(cursors, count=500, block=self.block_ms)
        for stream, stream_id, fields in stream_entries(reply):
            cursors[stream] = as_text(stream_id)  # past a bad entry too: it is read once
            event = StreamEvent.from_entry(stream_id, fields)
            if not self._seen.add(event.outbox_id):
                continue
            for subscription in list(self.subscribers):
                subscription.offer(event)

    async def close(self) -> None:
        task, self._task = self._task, None
        await stop_tasks([task])
