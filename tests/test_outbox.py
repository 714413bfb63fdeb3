"""The transactional outbox and its Redis stream relay: events exist only if their
transaction committed, survive Redis being down, and reach each reader exactly once."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlmodel import select

from eiso.core.resources import Resources
from eiso.infra.outbox import OutboxEvent, add_event
from eiso.infra.relay import Relay, stream_key
from eiso.infra.stream_reader import StreamReader
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code


def topic() -> str:
    return unique_code("t.").lower()


async def write(resources, topic_name, payloads, *, rollback=False):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        ids = [(await add_event(session, topic_name, p, agency_id=7)).id for p in payloads]
        if rollback:
            await session.rollback()
    return ids


class Collector:
    def __init__(self) -> None:
        self.events = []

    async def __call__(self, event) -> None:
        self.events.append(event)


@pytest.fixture
async def down_redis():
    # Nothing listens on port 1: every command fails as when Redis is down.
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    yield client
    await client.aclose()


async def test_rolled_back_events_never_appear(resources):
    name = topic()
    await write(resources, name, [{"n": 1}], rollback=True)
    kept = await write(resources, name, [{"n": 2, "ghi_chú": "Đã tiếp nhận"}])
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    got = Collector()
    await StreamReader(resources.redis, resources.key, unique_code("r"), [name]).read_all(got)
    assert [(e.outbox_id, e.payload) for e in got.events] == [
        (kept[0], {"n": 2, "ghi_chú": "Đã tiếp nhận"})
    ]
    assert got.events[0].agency_id == 7 and got.events[0].topic == name


async def test_bad_topic_is_refused(resources):
    with pytest.raises(ValueError, match="topic"):
        await write(resources, "has space", [{}])


async def test_redis_down_then_up_loses_nothing_and_duplicates_nothing(resources, down_redis):
    name = topic()
    ids = await write(resources, name, [{"n": i} for i in range(5)])
    with pytest.raises(RedisError):
        await Relay(resources.sessionmaker, down_redis, resources.key).relay_once()
    async with resources.session(TenantScope.nation()) as session:
        rows = (
            (await session.execute(select(OutboxEvent).where(OutboxEvent.id.in_(ids))))
            .scalars()
            .all()
        )
    assert all(row.sent_at is None for row in rows)  # still waiting

    # The background loop survives the outage and sends once Redis is back.
    task = asyncio.create_task(Relay(resources.sessionmaker, down_redis, resources.key).run(0.05))
    await asyncio.sleep(0.3)
    assert not task.done()
    task.cancel()
    # Wait for it to end: a pass it was in holds its rows locked, and the drain would skip them.
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()

    reader_name = unique_code("hook")
    got = Collector()
    await StreamReader(resources.redis, resources.key, reader_name, [name]).read_all(got)
    assert [e.outbox_id for e in got.events] == ids
    # A restarted reader (same name) resumes after what it delivered.
    again = Collector()
    await StreamReader(resources.redis, resources.key, reader_name, [name]).read_all(again)
    assert again.events == []


async def test_a_relay_crash_after_xadd_duplicates_nothing_for_readers(resources):
    name = topic()
    ids = await write(resources, name, [{"n": 1}, {"n": 2}])
    relay = Relay(resources.sessionmaker, resources.redis, resources.key)
    # Simulate the crash: the entries reach the stream but the rows are not marked sent.
    async with resources.session(TenantScope.nation()) as session:
        for event in (
            await session.execute(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))
        ).scalars():
            await resources.redis.xadd(
                stream_key(resources.key, name),
                {"outbox_id": str(event.id), "topic": name, "agency_id": "", "payload": b"{}"},
            )
    await relay.drain()
    assert await resources.redis.xlen(stream_key(resources.key, name)) == 4
    got = Collector()
    await StreamReader(resources.redis, resources.key, unique_code("hook"), [name]).read_all(got)
    assert sorted(e.outbox_id for e in got.events) == ids


async def test_two_workers_both_receive(resources):
    """Two processes' Resources sharing one Redis: each worker's reader gets every event once."""
    other = Resources.open(resources.settings)
    try:
        name = topic()
        ids = await write(resources, name, [{"n": 1}])
        ids += await write(other, name, [{"n": 2}])
        # Both workers relay at the same time: no event twice for a reader.
        await asyncio.gather(
            Relay(resources.sessionmaker, resources.redis, resources.key).drain(),
            Relay(other.sessionmaker, other.redis, other.key).drain(),
        )
        first, second = Collector(), Collector()
        await StreamReader(resources.redis, resources.key, unique_code("w1"), [name]).read_all(
            first
        )
        await StreamReader(other.redis, other.key, unique_code("w2"), [name]).read_all(second)
        assert sorted(e.outbox_id for e in first.events) == ids
        assert sorted(e.outbox_id for e in second.events) == ids
    finally:
        await other.close()


async def test_blocking_reader_hears_a_later_event(resources):
    name = topic()
    reader = StreamReader(resources.redis, resources.key, unique_code("sub"), [name])
    got = Collector()
    listening = asyncio.create_task(reader.read(got, block_ms=5000))
    await asyncio.sleep(0.1)
    ids = await write(resources, name, [{"n": 1}])
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    assert await asyncio.wait_for(listening, 5) == 1
    assert [e.outbox_id for e in got.events] == ids


async def test_lifespan_relay_sends_in_the_background(resources):
    from eiso.core.app import create_app

    settings = resources.settings.model_copy(
        update={"events_relay": True, "events_relay_interval": 0.05}
    )
    app = create_app(settings, resources)
    name = topic()
    async with app.router.lifespan_context(app):
        ids = await write(resources, name, [{"n": 1}])
        got = Collector()
        reader = StreamReader(resources.redis, resources.key, unique_code("hook"), [name])
        for _ in range(100):
            await reader.read_all(got)
            if got.events:
                break
            await asyncio.sleep(0.05)
    assert [e.outbox_id for e in got.events] == ids


async def test_a_live_reader_starts_after_the_newest_event(resources):
    name = topic()
    await write(resources, name, [{"n": "old"}])
    relay = Relay(resources.sessionmaker, resources.redis, resources.key)
    await relay.drain()
    reader = StreamReader(
        resources.redis, resources.key, unique_code("live"), [name], from_end=True
    )
    got = Collector()
    assert await reader.read_all(got) == 0
    ids = await write(resources, name, [{"n": "new"}])
    await relay.drain()
    await reader.read_all(got)
    assert [e.outbox_id for e in got.events] == ids


async def test_a_payload_that_is_not_json_is_refused_at_once(resources):
    with pytest.raises(ValueError, match="payload"):
        await write(resources, topic(), [{"x": object()}])


async def test_a_running_reader_waits_out_an_outage(resources, down_redis):
    name = topic()
    got = Collector()
    down = StreamReader(down_redis, resources.key, unique_code("run"), [name])
    task = asyncio.create_task(down.run(got, block_ms=50, retry_after=0.05))
    await asyncio.sleep(0.3)
    assert not task.done()  # survives Redis being down
    task.cancel()
    up = StreamReader(resources.redis, resources.key, down.name, [name])
    task = asyncio.create_task(up.run(got, block_ms=50))
    ids = await write(resources, name, [{"n": 1}])
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    for _ in range(100):
        if got.events:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    assert [e.outbox_id for e in got.events] == ids


@pytest.mark.only_backend("postgresql+redis")
async def test_cli_relay_once(resources, database):
    import os
    import pathlib
    import subprocess
    import sys

    name = topic()
    ids = await write(resources, name, [{"n": 1}])
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update(
        {
            "EISO_DATABASE_URL": database.app_url,
            "EISO_REDIS_URL": resources.settings.redis_url,
            "EISO_REDIS_PREFIX": resources.settings.redis_prefix,
            "EISO_LOG_JSON": "false",
        }
    )
    eiso = str(pathlib.Path(sys.executable).parent / "eiso")
    result = await asyncio.to_thread(
        subprocess.run, [eiso, "events", "relay", "--once"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and "relayed" in result.stderr, result.stderr
    got = Collector()
    await StreamReader(resources.redis, resources.key, unique_code("cli"), [name]).read_all(got)
    assert [e.outbox_id for e in got.events] == ids
