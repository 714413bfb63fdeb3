"""Redis down is degraded service, never an outage: a real `redis-server` that the test starts
on a spare port is killed (or hung) while a signed-in officer reads and moves dossiers (every
request succeeds, a revoked token stays refused, `/readyz` stays 200), then brought back: the
relay, which kept the outbox rows waiting, delivers each event of the outage exactly once, to a
stream reader and to a subscription that stayed open throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func
from sqlmodel import col, select

from eiso.core.auth.principal import Role
from eiso.core.dossiers import catalogue
from eiso.core.dossiers.engine import TOPIC
from eiso.core.global_ids import encode_id
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra.live_feed import LiveFeed, Subscription
from eiso.infra.outbox import OutboxEvent
from eiso.infra.redis_client import STREAM_TIMEOUT, make_redis
from eiso.infra.relay import Relay
from eiso.infra.stream_reader import StreamEvent, StreamReader
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.auth_helpers import make_frontend, make_integration, make_user, user_token
from tests.conftest import IN_CI, unique_code
from tests.test_dossier_engine import PROC, REGISTRY, enable_test_module
from tests.test_outbox import Collector, topic, write
from tests.ws_client import GraphQLWS, free_port, served

pytestmark = [pytest.mark.slow, pytest.mark.only_backend("postgresql+redis")]

EVENTS = "subscription($a: ID!) { dossierEvents(agencyId: $a) { eventId } }"
DOSSIERS = 4  # each: receive and four moves, 20 writes in all while Redis is down
READS = 10
WAIT_STEPS = 300  # bounded waits: at most 300 x 0.1 s for a server or the relay


class RedisServer:
    """A `redis-server` of the test's own, on 127.0.0.1, no persistence: a restart is empty."""

    def __init__(self, binary: str) -> None:
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        arguments = [part for name, value in options.items() for part in (f"--{name}", value)]
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starts it, does not wait
            [self.binary, *arguments, "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = aioredis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            for _ in range(WAIT_STEPS):
                with contextlib.suppress(OSError, aioredis.ConnectionError):
                    if await probe.ping():
                        return
                await asyncio.sleep(0.1)
        finally:
            await probe.aclose()
        raise AssertionError(f"redis-server did not answer on port {self.port}")

    def pause(self) -> None:
        """SIGSTOP: a hung Redis, which still accepts connections but never answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # a stopped process dies of it too
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed; this test starts and kills its own"
        if IN_CI:
            pytest.fail(f"{message}: CI=true requires it", pytrace=False)
        pytest.skip(message)
    server = RedisServer(binary)
    await server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def outage_app(database, redis_server) -> AsyncIterator[tuple]:
    """The app with its default (JWT) authenticator and its relay on, on the test database and
    the test's own Redis."""
    from eiso.core.app import create_app

    settings = load_settings(
        env="test",
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        redis_url=redis_server.url,
        redis_prefix=f"eiso-outage-{secrets.token_hex(4)}:",
        # One issuer for the tokens signed over httpx and the websocket served by uvicorn
        # (unset, each would be the address it was reached at).
        issuer="http://testserver",
        log_json=False,
        plugins=[],
        events_relay=True,
        events_relay_interval=0.1,
    )
    resources = Resources.open(settings)
    application = create_app(settings, resources, plugins=REGISTRY)
    try:
        async with application.router.lifespan_context(application):
            yield application, resources
    finally:
        await resources.close()


async def _officer(resources: Resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Sự Cố")
        agency = await ensure_agency(
            session, province, unique_code("A"), "UBND xã Sự Cố", AgencyKind.commune
        )
        await enable_test_module(session, province.id)
    return agency, await make_user(resources, Role.officer, agency=agency)


RECEIVE = (
    'mutation { receiveDossier(input: {procedureCode: "%s", applicant: {fullName: "Lê Văn An",'
    ' phone: "0912345678"}, sectorData: {child_name: "Lê Minh", birth_date: "2026-11-01"}})'
    " { dossier { id version } } }"
)
MOVE = "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v%s) { version } }"
MOVES = [
    ("assignDossier", ', assignee: "officer-2"'),
    ("completeStep", ""),
    ("completeStep", ""),
    ("returnResult", ""),
]


class Officer:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.headers = http, {"authorization": f"Bearer {token}"}

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()


async def _work(officer: Officer) -> tuple[int, int]:
    """DOSSIERS receipts with their moves, then READS reads; how many of each succeeded."""
    writes = reads = 0
    for _ in range(DOSSIERS):
        body = await officer(RECEIVE % PROC)
        if body.get("errors"):
            continue
        dossier = body["data"]["receiveDossier"]["dossier"]
        writes += 1
        version = dossier["version"]
        for name, extra in MOVES:
            body = await officer(MOVE % (name, extra), {"id": dossier["id"], "v": version})
            if body.get("errors"):
                break
            version, writes = body["data"][name]["version"], writes + 1
    for _ in range(READS):
        body = await officer("{ dossiers(first: 5) { totalCount edges { node { status } } } }")
        reads += 0 if body.get("errors") else 1
    return writes, reads


async def _unsent(resources: Resources, agency_id: int, after: int) -> tuple[list[int], int]:
    """The outbox ids of this agency's events after `after`, and how many of them wait."""
    async with resources.session(TenantScope.nation()) as session:
        session.info["scope_exempt"] = True  # a global table
        rows = (
            await session.execute(
                select(OutboxEvent.id, OutboxEvent.sent_at).where(
                    col(OutboxEvent.agency_id) == agency_id, col(OutboxEvent.id) > after
                )
            )
        ).all()
    return sorted(r[0] for r in rows), sum(r[1] is None for r in rows)


async def _newest_outbox_id(resources: Resources) -> int:
    async with resources.session(TenantScope.nation()) as session:
        session.info["scope_exempt"] = True
        return (await session.execute(select(func.max(OutboxEvent.id)))).scalar() or 0


@pytest.mark.parametrize("fault", ["killed", "hung"])
async def test_reads_and_moves_survive_redis_down_and_every_event_arrives_once(
    backend, outage_app, redis_server, fault
):
    """`killed`: SIGKILL, then a fresh, empty server. `hung`: SIGSTOP (connections accepted,
    nothing answered, every call waits for its timeout), then SIGCONT with the data kept."""
    app, resources = outage_app
    agency, user = await _officer(resources)
    client_id, _ = await make_frontend(resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        token = (await user_token(http, client_id, user.username))["access_token"]
        revoked = (await user_token(http, client_id, user.username))["access_token"]
        answer = await http.post(
            "/oauth/revoke",
            data={"token": revoked, "token_type_hint": "access_token", "client_id": client_id},
        )
        assert answer.status_code == 200
        officer, refused = Officer(http, token), Officer(http, revoked)
        adopt = f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code }} }}'
        assert (await officer(adopt))["data"]["adoptProcedure"]["code"] == PROC
        assert (await http.get("/readyz")).json()["status"] == "ok"
        before = await _newest_outbox_id(resources)
        async with served(app) as url, GraphQLWS.open(url, authorization=f"Bearer {token}") as ws:
            assert (await ws.acknowledged())["type"] == "connection_ack"
            await ws.subscribe(EVENTS, {"a": encode_id("Agency", agency.province_id, agency.id)})
            await asyncio.sleep(0.3)  # the subscription is registered before the outage

            redis_server.kill() if fault == "killed" else redis_server.pause()
            assert (await _work(officer)) == (DOSSIERS * (1 + len(MOVES)), READS)  # 20, 10
            assert await _refused(refused)  # the revocation holds without Redis
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            ids, waiting = await _unsent(resources, agency.id, before)
            assert len(ids) >= DOSSIERS * (1 + len(MOVES)) and waiting == len(ids)  # all wait

            if fault == "killed":
                await redis_server.start()  # empty: no persistence
            else:
                redis_server.resume()
            for _ in range(WAIT_STEPS):
                if (await _unsent(resources, agency.id, before))[1] == 0:
                    break
                await asyncio.sleep(0.1)
            assert (await _unsent(resources, agency.id, before))[1] == 0
            # Each event of the outage once: to a new reader of the stream, and to the
            # subscription that was open throughout. The stream itself holds each once after a
            # kill; after a hang it may hold some twice (a relay pass that timed out had its
            # XADDs run when Redis resumed, and the rows went out again): readers drop those.
            assert await _read_once(resources, agency.id) == ids
            assert sorted(await _heard(ws, len(ids))) == ids and await ws.quiet(0.5) == []
            in_stream = await _stream_ids(resources, agency.id)
            assert set(in_stream) == set(ids)
            if fault == "killed":
                assert sorted(in_stream) == ids
        assert (await http.get("/readyz")).json()["status"] == "ok"
        assert await _refused(refused)
        assert (await _work(officer)) == (DOSSIERS * (1 + len(MOVES)), READS)


async def test_events_sent_but_unread_when_redis_is_lost_are_sent_again_once(
    backend, resources, redis_server
):
    """Events the relay had sent (and marked sent) that no reader had read yet when Redis was
    killed: once Redis is back empty, the relay sends them again, and the readers that ran
    throughout (a worker's live feed, a named stream reader) get each of them once."""
    prefix = f"eiso-lost-{secrets.token_hex(4)}:"

    def key(*parts: object) -> str:
        return prefix + ":".join(str(part) for part in parts)

    redis = make_redis(redis_server.url)
    feed = LiveFeed(
        make_redis(redis_server.url, read_timeout=STREAM_TIMEOUT), key, [name := topic()]
    )
    relay, reader = Relay(resources.sessionmaker, redis, key), StreamReader(redis, key, "r", [name])
    delivered = Collector()
    try:
        subscription = await feed.subscribe(lambda event: True)
        read = await write(resources, name, [{"n": i} for i in range(3)])
        await relay.drain()
        assert await _next(subscription, 3) == read
        await reader.read_all(delivered)
        await feed.close()  # the feed stops reading (its cursor kept): a worker falling behind
        unread = await write(resources, name, [{"n": i} for i in range(3, 5)])
        await relay.drain()  # in the stream and marked sent, read by nobody
        redis_server.kill()
        await redis_server.start()  # empty: no persistence
        assert await relay.drain() == 0  # nothing was waiting in the outbox...
        assert await redis.xlen(key("events", name)) >= 5  # ...but it sent the 5 again
        await feed.subscribe(lambda event: False)  # the feed reads on, from its cursor
        last = await write(resources, name, [{"n": 5}])
        await relay.drain()
        # In stream order, so nothing repeated can come after `last`.
        assert await _next(subscription, 3) == unread + last
        await reader.read_all(delivered)
        assert [event.outbox_id for event in delivered.events] == read + unread + last
    finally:
        await feed.close()
        await redis.aclose()
        await feed.redis.aclose()


async def _next(subscription: Subscription, count: int) -> list[int]:
    """The outbox ids of the subscription's next `count` events (half a minute at most)."""
    async with asyncio.timeout(30):
        return [(await subscription.get()).outbox_id for _ in range(count)]


async def _refused(caller: Officer) -> bool:
    body = await caller("{ dossiers(first: 1) { totalCount } }")
    return [e["extensions"]["code"] for e in body.get("errors", [])] == ["UNAUTHENTICATED"]


async def _heard(ws: GraphQLWS, count: int) -> list[int]:
    """The event ids of the next `count` subscription messages (a minute at most)."""
    got: list[int] = []
    async with asyncio.timeout(60):
        while len(got) < count:
            message = await ws.next_message()
            got.append(int(message["payload"]["data"]["dossierEvents"]["eventId"]))
    return got


async def _read_once(resources: Resources, agency_id: int) -> list[int]:
    """The outbox ids of this agency's events as a new reader of the stream delivers them."""
    got: list[int] = []

    async def collect(event: StreamEvent) -> None:
        if event.agency_id == agency_id:
            got.append(event.outbox_id)

    await StreamReader(resources.redis, resources.key, unique_code("check"), [TOPIC]).read_all(
        collect
    )
    return sorted(got)


async def _stream_ids(resources: Resources, agency_id: int) -> list[int]:
    """The outbox ids of this agency's entries in the dossier stream, duplicates kept."""
    entries = await resources.redis.xrange(resources.key("events", TOPIC))
    return [
        int(fields[b"outbox_id"])
        for _id, fields in entries
        if fields[b"agency_id"] == str(agency_id).encode()
    ]


async def test_rate_limits_hold_per_worker_with_redis_unreachable(database, monkeypatch):
    """Without Redis the public lookup's limit is counted in the worker's memory: still 60 a
    minute per address, not unlimited and not refused."""
    from types import SimpleNamespace

    from eiso.core.app import create_app
    from eiso.infra import rate_limit

    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    settings = load_settings(
        env="test", database_url=database.app_url, redis_url="redis://127.0.0.1:1/0"
    )
    resources = Resources.open(settings)
    app = create_app(settings, resources, plugins=REGISTRY)
    query = {"query": '{ publicDossier(code: "none", lookupKey: "x") { code } }'}

    async def ask(address: str) -> list[str]:
        transport = httpx.ASGITransport(app=app, client=(address, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            body = (await http.post("/graphql", json=query)).json()
        return [e["extensions"]["code"] for e in body["errors"]]

    try:
        async with app.router.lifespan_context(app):
            address = unique_code("10.9.9.")
            answers = [await ask(address) for _ in range(61)]
            assert answers[0] == ["NOT_FOUND"] == answers[59] and answers[60] == ["RATE_LIMITED"]
            assert await ask(unique_code("10.8.8.")) == ["NOT_FOUND"]
    finally:
        await resources.close()


async def test_sign_in_with_redis_unreachable_is_temporarily_unavailable(database):
    """The one-time codes need Redis: the sign-in answers 503 with RFC 6749's
    `temporarily_unavailable`, not a server error. The client-credentials grant, whose state is
    in the database, still issues tokens, and they work."""
    from eiso.core.app import create_app
    from tests.auth_helpers import authorize_query, login_form, pkce

    settings = load_settings(
        env="test", database_url=database.app_url, redis_url="redis://127.0.0.1:1/0"
    )
    resources = Resources.open(settings)
    app = create_app(settings, resources)
    try:
        async with app.router.lifespan_context(app):
            agency, user = await _officer(resources)
            client_id, _ = await make_frontend(resources)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
                assert page.status_code == 200
                answer = await http.post(
                    "/oauth/authorize", data=login_form(page.text, user.username)
                )
                integration, secret = await make_integration(
                    resources, ["dossiers:read"], agency=agency
                )
                granted = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials", "scope": "dossiers:read"},
                    auth=(integration, secret),
                )
                assert granted.status_code == 200, granted.text
                read = Officer(http, granted.json()["access_token"])
                assert (await read("{ dossiers(first: 1) { totalCount } }"))["data"]["dossiers"]
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "temporarily_unavailable"
    finally:
        await resources.close()
