"""One client factory serves real Redis and in-process fakeredis through the same API."""


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
