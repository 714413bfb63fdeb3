"""One Redis client factory: `redis://` for a real server, `redis+cluster://` for a Redis
Cluster, `memory://` for in-process fakeredis.

A real server's clients fail fast when it is down: short socket timeouts, no retry inside
redis-py (the callers decide what to do without Redis), and a circuit breaker shared by the
clients of one process, so that while Redis is unreachable a request does not pay a connect
attempt: after a failed connect, connects are refused at once for a delay that doubles from
0.25 s to 5 s, then one connect probes again (docs/operating.md, "What eiso survives").

A cluster URL names its seed nodes, `redis+cluster://[user:password@]host:port,host:port/`
(`rediss+cluster://` for TLS); the client learns the other nodes from them. Its connections
go through the same breaker, and it retries nothing either: a command to a node that is down
fails, and the next one finds the new topology (docs/operating.md, "Redis Cluster").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterUnreachableError, RedisError, SlotNotCoveredError
from redis.exceptions import TimeoutError as RedisTimeoutError

from eiso.infra.cancellation import raise_if_cancelled

if TYPE_CHECKING:
    import fakeredis

log = logging.getLogger("eiso.redis")

_memory_servers: dict[str, fakeredis.FakeServer] = {}

# What `make_redis` gives: one server's client or a cluster's; the commands eiso uses are the
# same on both (single-key, or keys sharing a hash tag: `Resources.key`).
RedisClient: TypeAlias = aioredis.Redis | RedisCluster

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")

# A connect to a live Redis on the local network takes about a millisecond.
CONNECT_TIMEOUT = 0.5
# Request-path commands are single keys and small pipelines; a reply slower than this means
# Redis is stuck, and the request goes on without it.
COMMAND_TIMEOUT = 1.0
# Blocking stream reads (XREAD BLOCK, at most 5 s in eiso) need a longer read timeout.
STREAM_TIMEOUT = 10.0


class RedisUnavailable(RedisConnectionError):
    """Raised without touching the network while the breaker is open."""


class Backoff:
    """A delay that doubles from `first_delay` to `max_delay` with each failure in a row."""

    def __init__(self, first_delay: float = 0.25, max_delay: float = 5.0) -> None:
        self.first_delay, self.max_delay = first_delay, max_delay
        self.failures = 0

    def _delay(self) -> float:
        return min(self.max_delay, self.first_delay * 2 ** min(max(self.failures - 1, 0), 16))

    def next(self) -> float:
        """Count one more failure; the delay to wait before the next attempt."""
        self.failures += 1
        return self._delay()

    def reset(self) -> None:
        self.failures = 0


class Breaker(Backoff):
    """Consecutive connect failures open it; it lets one connect through per delay."""

    def __init__(self, first_delay: float = 0.25, max_delay: float = 5.0) -> None:
        super().__init__(first_delay, max_delay)
        self.retry_at = 0.0

    def before_connect(self) -> None:
        if not self.failures:
            return
        now = time.monotonic()
        if now < self.retry_at:
            raise RedisUnavailable(f"Redis unavailable, next try in {self.retry_at - now:.2f} s")
        self.retry_at = now + self._delay()  # this connect probes; the others still fail fast

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        self.retry_at = time.monotonic() + self._delay()
        if self.failures == 1:
            log.warning("Redis unreachable, running degraded: %s", error)

    def succeeded(self) -> None:
        if self.failures:
            log.warning("Redis reachable again after %d failed connects", self.failures)
        self.failures = 0


def _guarded(base: type[AbstractConnection], breaker: Breaker) -> type[AbstractConnection]:
    """`base` (redis-py's TCP, TLS or Unix connection) with its connects going through the
    breaker. `connect_check_health` is where every connect passes: `connect` (a pool handing
    out a connection) calls it, and a cluster node's first command calls it directly."""

    async def connect_check_health(
        self: AbstractConnection, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self.is_connected:
            return
        breaker.before_connect()
        try:
            await base.connect_check_health(self, check_health, retry_socket_connect)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if not isinstance(error, RedisUnavailable):
                breaker.failed(error)
            raise
        breaker.succeeded()

    return type(f"Guarded{base.__name__}", (base,), {"connect_check_health": connect_check_health})


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


def cluster_seeds(url: str) -> tuple[list[tuple[str, int]], str]:
    """The seed nodes of a cluster URL, and the same URL as a `redis(s)://` one naming the first
    seed (what redis-py parses the credentials and options from). Raises ValueError."""
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    seeds = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"bad cluster node {host.strip()!r}: use host:port")
        seeds.append((name.strip("[]"), int(port)))
    if parts.path not in ("", "/", "/0"):
        raise ValueError("a Redis Cluster has database 0 only")
    scheme = parts.scheme.removesuffix("+cluster")
    netloc = f"{credentials}@{hosts.split(',')[0]}" if credentials else hosts.split(",")[0]
    return seeds, urlunsplit((scheme, netloc, "", parts.query, ""))


class ClusterUnreachable(RedisConnectionError):
    """No node of the cluster answered its topology, or none serves the slot a command needs:
    a Redis outage like any other to the callers, which catch RedisError (redis-py's own
    errors for these are no RedisError)."""


# redis-py's cluster errors that mean "Redis is (partly) down", raised outside RedisError.
_CLUSTER_OUTAGES = (RedisClusterUnreachableError, SlotNotCoveredError)


@contextlib.contextmanager
def _as_outage() -> Iterator[None]:
    """Turn redis-py's cluster outage errors into `ClusterUnreachable` (a RedisError)."""
    try:
        yield
    except _CLUSTER_OUTAGES as error:
        raise ClusterUnreachable(str(error)) from error


class _Pipeline(ClusterPipeline):
    async def execute(
        self, raise_on_error: bool = True, allow_redirections: bool = True
    ) -> list[Any]:
        with _as_outage():
            return await super().execute(raise_on_error, allow_redirections)


class _Cluster(RedisCluster):
    async def initialize(
        self,
        additional_startup_nodes_info: list[tuple[str, int]] | None = None,
        last_failed_node_name: str | None = None,
    ) -> RedisCluster:
        # Every command, pipeline and subscription learns the topology through here.
        with _as_outage():
            return await super().initialize(additional_startup_nodes_info, last_failed_node_name)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        # A command whose slot no node serves (a master lost without a replica to take over,
        # a slot being moved) fails with SlotNotCoveredError after redis-py's own refresh.
        with _as_outage():
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if shard_hint:  # refused by redis-py's own pipeline()
            return super().pipeline(transaction, shard_hint)
        return _Pipeline(self, transaction)  # type: ignore[abstract]  # as redis-py builds its own


def _make_cluster(url: str, breaker: Breaker, read_timeout: float) -> RedisCluster:
    seeds, first = cluster_seeds(url)
    options: dict[str, Any] = dict(parse_url(first))
    options.pop("host", None), options.pop("port", None)
    base = options.pop("connection_class", Connection)  # SSLConnection for rediss+cluster://
    guarded = cast("type[Connection]", _guarded(base, breaker))
    client = _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in seeds],
        **options,
        ssl=base is SSLConnection,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=read_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    # redis-py builds every node (the seeds and those it discovers) from these arguments and
    # takes no connection class of ours: put the guarded one where it looks.
    client.nodes_manager.connection_kwargs["connection_class"] = guarded
    for node in client.startup_nodes:
        node.connection_class = guarded
    return client


def make_redis(
    url: str, *, breaker: Breaker | None = None, read_timeout: float = COMMAND_TIMEOUT
) -> RedisClient:
    """The same redis.asyncio API either way, so one code path serves both."""
    if is_cluster_url(url):
        return _make_cluster(url, breaker or Breaker(), read_timeout)
    if url.startswith("memory://"):
        import fakeredis

        # Every client of one process that names the same memory:// URL sees the same data.
        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=False)
    pool = ConnectionPool.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=read_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    pool.connection_class = _guarded(pool.connection_class, breaker or Breaker())
    return aioredis.Redis(connection_pool=pool)


async def ping(client: RedisClient) -> None:
    await client.ping()


async def keep_following(
    client: RedisClient,
    channel: str,
    heard: Callable[[dict], object],
    lost: Callable[[], object],
    warning: str,
    retry: float = 1.0,
) -> None:
    """`follow` the channel until cancelled, subscribing again `retry` seconds after a Redis
    failure: `lost` is called whenever a subscription ends (what it stood for no longer
    holds), and `warning` logged once per outage (again after a confirmed subscription)."""
    warned = False

    def each(message: dict) -> None:
        nonlocal warned
        if message["type"] == "subscribe":
            warned = False
        heard(message)

    while True:
        raise_if_cancelled()
        try:
            await follow(client, channel, each)
        except (RedisError, OSError):
            raise_if_cancelled()
            if not warned:
                log.warning(warning, exc_info=True)
            warned = True
        finally:
            lost()
        await asyncio.sleep(retry)


async def follow(client: RedisClient, channel: str, heard: Callable[[dict], object]) -> None:
    """Subscribe to `channel` and hand every message to `heard` (the confirmation of the
    subscription first: type "subscribe", then the published ones: "message") until the
    connection fails (RedisError, OSError) or the task is cancelled. Polls with a timeout and
    checks for cancellation itself: redis-py may swallow a cancellation that arrives during a
    blocking read."""
    async with subscription(client, channel) as pubsub:
        while True:
            raise_if_cancelled()
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                heard(message)


@contextlib.asynccontextmanager
async def subscription(client: RedisClient, channel: str) -> AsyncIterator[PubSub]:
    """A pub/sub connection subscribed to `channel` (the confirmation comes as its first
    message), closed after the block whatever state Redis is in."""
    pubsub = client.pubsub()
    try:
        with _as_outage():  # a cluster's subscription finds the channel's slot's node
            await pubsub.subscribe(channel)
        yield pubsub
    finally:
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()
