"""eiso on a Redis Cluster: a three-node cluster of the test's own (`redis-server
--cluster-enabled yes` on spare ports of 127.0.0.1, joined by `redis-cli --cluster create`, in
a temporary directory, stopped after) behind `EISO_REDIS_URL=redis+cluster://...`. Through the
app: sign-in with a one-time code, a dossier moved by its officer reaching the stream through
the relay, a live subscription and a leased hook reader; a module switch and a token
revocation heard by another worker's listeners; rate limits, the login lockout and leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisError

from eiso.core.auth import revocations
from eiso.core.auth.throttle import LoginThrottle
from eiso.core.dossiers.engine import TOPIC
from eiso.core.global_ids import encode_id
from eiso.core.plugins.activation import ActiveModules, changes_channel, set_module
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra.lease import Lease
from eiso.infra.rate_limit import retry_after
from eiso.infra.redis_client import Breaker, make_redis, subscription
from eiso.infra.relay import stream_key
from eiso.infra.stream_reader import StreamEvent, StreamReader
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import make_frontend, user_token
from tests.conftest import IN_CI
from tests.test_dossier_engine import PROC, REGISTRY
from tests.test_dossier_hooks import until
from tests.test_redis_outage import MOVE, MOVES, RECEIVE, Officer, _officer
from tests.ws_client import GraphQLWS, served

pytestmark = [pytest.mark.slow, pytest.mark.only_backend("postgresql+redis")]

NODES = 3
WAIT_STEPS = 300  # bounded waits: at most 300 x 0.1 s for a node, the cluster or a message
EVENTS = "subscription($a: ID!) { dossierEvents(agencyId: $a) { action toStatus } }"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spare_ports(count: int) -> list[int]:
    """`count` ports free on 127.0.0.1 with their cluster bus ports (port + 10000) free too."""
    ports: list[int] = []
    candidates = random.sample(range(20_000, 30_000), 500)
    for port in candidates:
        if port not in ports and _free(port) and _free(port + 10_000):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise AssertionError("no spare ports for a Redis Cluster")


class LocalCluster:
    """Three masters without replicas on 127.0.0.1, no persistence, in `directory`."""

    def __init__(self, server: str, cli: str, directory: Path) -> None:
        self.server, self.cli, self.directory = server, cli, directory
        self.ports = spare_ports(NODES)
        self.processes: list[subprocess.Popen] = []
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports) + "/"

    def _ask(self, port: int, *command: str) -> str:
        done = subprocess.run(
            [self.cli, "-h", "127.0.0.1", "-p", str(port), *command],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return done.stdout

    def _wait(self, ready, what: str) -> None:
        for _ in range(WAIT_STEPS):
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"Redis Cluster: {what} timed out; logs in {self.directory}")

    def start(self) -> None:
        for port in self.ports:
            log = (self.directory / f"{port}.log").open("w")
            self.processes.append(
                subprocess.Popen(
                    [
                        self.server,
                        *("--port", str(port), "--bind", "127.0.0.1"),
                        *("--cluster-enabled", "yes", "--cluster-node-timeout", "2000"),
                        *("--cluster-config-file", f"nodes-{port}.conf"),
                        *("--dir", str(self.directory), "--save", "", "--appendonly", "no"),
                        *("--daemonize", "no"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port in self.ports:
            self._wait(lambda port=port: "PONG" in self._ask(port, "ping"), f"node {port}")
        created = subprocess.run(
            [
                self.cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for port in self.ports:
            self._wait(
                lambda port=port: "cluster_state:ok" in self._ask(port, "cluster", "info"),
                f"cluster state on {port}",
            )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes = []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        message = "redis-server and redis-cli are needed: this test starts its own cluster"
        if IN_CI:
            pytest.fail(f"{message}: CI=true requires them", pytrace=False)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("redis-cluster")
    local = LocalCluster(server, cli, directory)
    try:
        local.start()
        yield local
    finally:
        local.stop()
        shutil.rmtree(directory, ignore_errors=True)


def cluster_settings(database, cluster: LocalCluster, prefix: str, **extra):
    return load_settings(
        env="test",
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        redis_url=extra.pop("redis_url", cluster.url),
        redis_prefix=prefix,
        issuer="http://testserver",
        log_json=False,
        plugins=[],
        **extra,
    )


@pytest.fixture
async def worker(database, cluster) -> AsyncIterator[tuple]:
    """The app with its default (JWT) authenticator and its relay on, on the test database
    and the cluster; and a second worker's resources on the same deployment."""
    from eiso.core.app import create_app

    prefix = f"eiso-cluster-{secrets.token_hex(4)}:"
    settings = cluster_settings(
        database, cluster, prefix, events_relay=True, events_relay_interval=0.1
    )
    resources, other = Resources.open(settings), Resources.open(settings)
    application = create_app(settings, resources, plugins=REGISTRY)
    try:
        async with application.router.lifespan_context(application):
            yield application, resources, other
    finally:
        await other.close()
        await resources.close()


async def test_the_url_names_the_cluster_and_the_defaults_keep_their_keys(database, cluster):
    settings = cluster_settings(database, cluster, "eiso:")
    assert settings.is_redis_cluster
    resources = Resources.open(settings)
    assert isinstance(resources.redis, RedisCluster)
    # Keys that meet in one command share a slot; the others spread over the nodes.
    events = [
        resources.key("events", TOPIC),
        resources.key("events", "other-topic"),
        resources.key("events", "cursor", "hooks", TOPIC),
        resources.key("events", "seen", "hooks"),
        resources.key("events", "lease", "hooks"),
        resources.key("events", "epoch"),
    ]
    assert events[0] == "{eiso:events}:" + TOPIC
    assert len({key_slot(key.encode()) for key in events}) == 1
    assert resources.key("auth", "code", "abc") == "eiso:auth:code:abc"
    await resources.close()
    for url in ("redis://127.0.0.1:6379/0", "memory://"):
        plain = Resources.open(cluster_settings(database, cluster, "eiso:", redis_url=url))
        assert plain.key("events", TOPIC) == "eiso:events:" + TOPIC
        assert not plain.settings.is_redis_cluster
        await plain.close()
    with pytest.raises(ValueError, match="database 0"):
        cluster_settings(database, cluster, "eiso:", redis_url=cluster.url + "2")
    with pytest.raises(ValueError, match="host:port"):
        cluster_settings(database, cluster, "eiso:", redis_url="redis+cluster://a:1,b/")


async def test_a_signed_in_officers_moves_reach_subscription_and_hook_reader(worker):
    app, resources, other = worker
    agency, user = await _officer(resources)
    # A hook reader of another worker, under its lease (the fenced commit script spans the
    # lease, the delivered ids and the cursor).
    lease = Lease(other.redis, other.key("events", "lease", "cluster-hook"))
    hook = StreamReader(other.stream_redis, other.key, "cluster-hook", [TOPIC], lease=lease)
    assert await lease.acquire()
    heard: list[StreamEvent] = []

    async def collect(event: StreamEvent) -> None:
        heard.append(event)

    await hook.read_all(collect)  # fixes its cursor: from the start of the stream
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        assert (await http.get("/readyz")).json()["checks"]["redis"] == "ok"
        client_id, _secret = await make_frontend(resources)
        token = (await user_token(http, client_id, user.username))["access_token"]  # one-time code
        officer = Officer(http, token)
        adopt = f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code }} }}'
        assert (await officer(adopt))["data"]["adoptProcedure"]["code"] == PROC
        async with served(app) as url, GraphQLWS.open(url, authorization=f"Bearer {token}") as ws:
            assert (await ws.acknowledged())["type"] == "connection_ack"
            gid = encode_id("Agency", agency.province_id, agency.id)
            await ws.subscribe(EVENTS, {"a": gid})
            await asyncio.sleep(0.3)  # the subscription is registered before anything happens
            body = await officer(RECEIVE % PROC)
            assert "errors" not in body, body
            dossier = body["data"]["receiveDossier"]["dossier"]
            moved = await officer(MOVE % MOVES[0], {"id": dossier["id"], "v": dossier["version"]})
            assert "errors" not in moved, moved
            got = [(await ws.receive())["payload"]["data"]["dossierEvents"] for _ in range(2)]
            assert [e["action"] for e in got] == ["RECEIVED", "ASSIGNED"]
    stream = stream_key(resources.key, TOPIC)
    assert await resources.redis.xlen(stream) >= 2
    for _ in range(WAIT_STEPS):
        await hook.read_all(collect)
        if len([e for e in heard if e.agency_id == agency.id]) >= 2:
            break
        await asyncio.sleep(0.1)
    mine = [str(e.payload["action"]).upper() for e in heard if e.agency_id == agency.id]
    assert mine == ["RECEIVED", "ASSIGNED"]
    assert await hook.read_all(collect) == 0  # each once


async def next_message(pubsub) -> dict:
    """The next published message on `pubsub` (confirmations skipped), waited for boundedly."""
    for _ in range(WAIT_STEPS):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message on the channel")


async def test_another_workers_listeners_hear_a_module_switch_and_a_revocation(worker):
    """The listeners of another worker subscribe through the cluster; the notices a switch
    and a revocation publish reach a subscription opened on the other worker's client (this
    process's own listeners are also told directly, so they alone would prove nothing)."""
    _app, resources, other = worker
    agency, _user = await _officer(resources)
    module = next(iter(REGISTRY.names()))
    watch, active = revocations.RevocationWatch(), ActiveModules(REGISTRY)
    tasks = [asyncio.create_task(watch.listen(other)), asyncio.create_task(active.listen(other))]
    try:
        await until(lambda: watch.current() and active.listening)  # subscribed, pings answered
        assert module in await active.for_province(other, agency.province_id)
        async with (
            subscription(other.redis, changes_channel(other)) as switches,
            subscription(other.redis, revocations.revocations_channel(other)) as revoked,
        ):
            assert (await switches.get_message(timeout=5))["type"] == "subscribe"
            assert (await revoked.get_message(timeout=5))["type"] == "subscribe"
            async with resources.session(TenantScope.nation()) as session, session.begin():
                await set_module(session, agency.province_id, module, False, by="test")
            assert (await next_message(switches))["data"] == str(agency.province_id).encode()
            assert module not in await active.for_province(other, agency.province_id)

            await revocations.revoke(resources, "revoked-on-the-cluster", 60)
            heard = (await next_message(revoked))["data"].decode()
            assert heard.startswith("revoked-on-the-cluster ")
            assert watch.denied("revoked-on-the-cluster")
        assert await revocations.is_revoked(other, "revoked-on-the-cluster")
        assert not await revocations.is_revoked(other, "never-revoked")
        assert watch.current() and active.listening  # still following
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_rate_limits_the_login_lockout_and_leases(database, cluster):
    settings = cluster_settings(
        database, cluster, f"eiso-cluster-{secrets.token_hex(4)}:", login_max_failures=2
    )
    one, two = Resources.open(settings), Resources.open(settings)
    try:
        key = one.key("dossiers", "public-rate", "203.0.113.7")
        waits = [await retry_after(r.redis, key, 2) for r in (one, two, one)]
        assert waits[:2] == [0, 0] and waits[2] > 0  # counted once for both workers

        throttle, elsewhere = LoginThrottle(one), LoginThrottle(two)
        assert await throttle.failed("officer-7") == 0
        assert await elsewhere.failed("officer-7") == settings.login_lockout_seconds
        assert await throttle.locked_for("officer-7") > 0

        lease_key = one.key("events", "lease", "cluster-test")
        first, second = Lease(one.redis, lease_key, ttl=5), Lease(two.redis, lease_key, ttl=5)
        assert await first.acquire()
        assert not await second.acquire()
        assert await first.renew()
        await first.release()
        assert await second.acquire()
        await second.release()
    finally:
        await one.close()
        await two.close()


async def test_a_cluster_that_does_not_answer_is_a_redis_outage_like_any_other():
    """The callers degrade on RedisError; redis-py's own error for an unreachable cluster is
    none, so the client turns it into one, and its connects go through the breaker."""
    ports = spare_ports(2)
    breaker = Breaker()
    client = make_redis(
        "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports) + "/", breaker=breaker
    )
    try:
        with pytest.raises(RedisError):
            await client.get("anything")
        assert breaker.failures >= 1  # open: the next connects are refused without a try
        with pytest.raises(RedisError):
            await client.get("anything")
    finally:
        await client.aclose()
