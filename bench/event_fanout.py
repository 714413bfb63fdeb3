"""Subscription fan-out: one worker's live feed (infra/live_feed.py) serving N subscribers.

Puts 2,000 events on a stream of a real Redis (EISO_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/0; memory:// for in-process fakeredis) and times how long until every
subscriber has all of them, for 1 (the baseline), 100 and 1,000 subscribers, counting the
XREAD calls the feed made: they should not grow with N.

    python -m bench.event_fanout
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import orjson

from eiso.infra.live_feed import LiveFeed
from eiso.infra.redis_client import make_redis
from eiso.infra.relay import stream_key
from eiso.infra.stream_reader import StreamEvent

EVENTS = int(os.environ.get("EISO_BENCH_EVENTS", "2000"))
SUBSCRIBERS = (1, 100, 1000)


async def _one(redis, prefix: str, subscribers: int) -> tuple[float, int]:
    def key(*parts) -> str:
        return prefix + ":".join(str(p) for p in parts)

    topic = "bench" + secrets.token_hex(3)
    feed = LiveFeed(redis, key, [topic], block_ms=200, queue_size=EVENTS + 10)
    calls = 0
    real_xread = redis.xread

    async def counted(*args, **kwargs):
        nonlocal calls
        calls += 1
        return await real_xread(*args, **kwargs)

    feed.redis = type(
        "Counted", (), {"xread": staticmethod(counted), "xrevrange": staticmethod(redis.xrevrange)}
    )()
    done = asyncio.Event()

    def watch(event: StreamEvent) -> bool:
        """The feed hands an event to all its subscribers in one pass, without awaiting: once
        this one hears the last event, `done.wait()` resumes after every subscriber has it."""
        if event.outbox_id == EVENTS:
            done.set()
        return True

    subs = [await feed.subscribe(watch)]
    subs += [await feed.subscribe(lambda event: True) for _ in range(subscribers - 1)]
    started = time.perf_counter()
    pipe = redis.pipeline(transaction=False)
    for n in range(EVENTS):
        pipe.xadd(
            stream_key(key, topic),
            {
                "outbox_id": str(n + 1),
                "topic": topic,
                "agency_id": "1",
                "payload": orjson.dumps({"n": n}),
            },
        )
    await pipe.execute()
    await done.wait()
    elapsed = time.perf_counter() - started
    assert all(s.queue.qsize() == EVENTS for s in subs)
    await feed.close()
    await redis.delete(stream_key(key, topic))
    return elapsed, calls


async def _main() -> None:
    url = os.environ.get("EISO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = make_redis(url)
    prefix = f"eiso_bench_{secrets.token_hex(3)}:"
    try:
        results = {n: await _one(redis, prefix, n) for n in SUBSCRIBERS}
    finally:
        await redis.aclose()
    base = results[SUBSCRIBERS[0]][0]
    print(f"event fan-out, {EVENTS} events, Redis {url.split('://')[0]}")
    print("subscribers | seconds | events delivered/s | XREAD calls | time vs 1 subscriber")
    for n, (seconds, calls) in results.items():
        print(
            f"{n:>11} | {seconds:7.3f} | {EVENTS * n / seconds:>18,.0f} | {calls:>11} | "
            f"{seconds / base:.2f}x"
        )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
