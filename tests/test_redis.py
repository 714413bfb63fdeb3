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


async def test_a_slot_no_cluster_node_serves_is_a_redis_outage_like_any_other(monkeypatch):
    """redis-py raises SlotNotCoveredError (no RedisError) from a command, a pipeline or a
    subscription whose slot no node serves: eiso's cluster client makes it a connection error,
    so the callers degrade (here the rate limit counts in the process) instead of failing."""
    from redis.asyncio.cluster import ClusterPipeline, NodesManager, RedisCluster
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import SlotNotCoveredError

    from eiso.infra.rate_limit import retry_after
    from eiso.infra.redis_client import make_redis, subscription

    async def not_covered(*args, **kwargs):
        raise SlotNotCoveredError('Slot "866" is not covered by the cluster.')

    async def initialized(self, *args, **kwargs):
        return self

    class Subscription:
        subscribe = staticmethod(not_covered)

        async def aclose(self) -> None:
            return None

    async def slot(self, *args, **kwargs):
        return 866

    def no_node(self, *args, **kwargs):
        raise SlotNotCoveredError('Slot "866" is not covered by the cluster.')

    # A fake cluster: its layout is known, but no node serves the slot of any key.
    monkeypatch.setattr(RedisCluster, "initialize", initialized)
    monkeypatch.setattr(ClusterPipeline, "initialize", initialized)
    monkeypatch.setattr(RedisCluster, "_determine_slot", slot)
    monkeypatch.setattr(NodesManager, "get_node_from_slot", no_node)
    client = make_redis("redis+cluster://127.0.0.1:7000,127.0.0.1:7001/")
    monkeypatch.setattr(client, "pubsub", Subscription)
    with pytest.raises(RedisConnectionError):
        await client.get("anything")
    key = "probe:slot-not-covered"
    assert [await retry_after(client, key, 2) for _ in range(3)][:2] == [0, 0]
    assert await retry_after(client, key, 2) > 0  # counted in the process: still limited
    with pytest.raises(RedisConnectionError):
        async with subscription(client, "probe:channel"):
            pass
