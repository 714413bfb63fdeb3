"""One client factory serves real Redis and in-process fakeredis through the same API."""

import pytest


async def test_keys_and_streams(resources):
    redis = resources.redis
    key = resources.key("probe", "stream")
    await redis.set(resources.key("probe", "k"), b"v")
    assert await redis.get(resources.key("probe", "k")) == b"v"
    first = await redis.xadd(key, {"n": 1})
    await redis.xadd(key, {"n": 2})
    rest = await redis.xread({key: first}, count=10)
    assert [fields[b"n"] for _, fields in rest[0][1]] == [b"2"]


def test_memory_clients_of_one_url_share_data():
    import asyncio

    from eiso.infra.redis_client import make_redis

    async def scenario():
        a, b = make_redis("memory://shared-probe"), make_redis("memory://shared-probe")
        await a.set("x", b"1")
        return await b.get("x")

    assert asyncio.run(scenario()) == b"1"


async def test_while_redis_is_down_a_command_pays_no_connect(monkeypatch):
    """The breaker: after one failed connect, commands fail at once without touching the
    network until its delay passes; then one connect probes."""
    from redis.asyncio.connection import Connection
    from redis.exceptions import ConnectionError as RedisConnectionError

    from eiso.infra.redis_client import Breaker, RedisUnavailable, make_redis

    attempts = []
    original = Connection._connect

    async def counted(self):
        # Only this client's (port 1): the patch is process-wide, and the suite's app may
        # reconnect its own listeners meanwhile.
        if self.port == 1:
            attempts.append(1)
        return await original(self)

    monkeypatch.setattr(Connection, "_connect", counted)
    breaker = Breaker(first_delay=3600)  # no probe during the test unless it asks for one
    client = make_redis("redis://127.0.0.1:1/0", breaker=breaker)  # nothing listens there
    try:
        errors = []
        for _ in range(20):
            with pytest.raises(RedisConnectionError) as caught:
                await client.get("k")
            errors.append(caught.value)
        assert len(attempts) == 1 and all(isinstance(e, RedisUnavailable) for e in errors[1:])
        breaker.retry_at = 0.0  # the delay has passed: the next command probes, once
        for _ in range(5):
            with pytest.raises(RedisConnectionError):
                await client.get("k")
        assert len(attempts) == 2
    finally:
        await client.aclose()


@pytest.mark.only_backend("postgresql+redis")  # fakeredis has no connections to guard
async def test_the_breaker_closes_when_redis_answers_again(resources):
    from eiso.infra.redis_client import Breaker, make_redis

    breaker = Breaker(first_delay=3600)
    breaker.failed(OSError("an earlier outage"))
    client = make_redis(resources.settings.redis_url, breaker=breaker)
    try:
        breaker.retry_at = 0.0
        assert await client.ping() and breaker.failures == 0
        assert await client.ping()
    finally:
        await client.aclose()
