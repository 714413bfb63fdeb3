"""Several app nodes behind a real reverse proxy: two eiso servers (uvicorn processes of their
own, tests/app_node.py) on spare ports of 127.0.0.1, sharing the test's PostgreSQL database and
Redis (under a key prefix of their own) and the secret key, behind Debian's HAProxy running the
deployment's configuration (infra/deploy/haproxy.cfg: round robin, no sticky sessions,
websockets). The issuer is the proxy's address, as in production. Shown:

- a module switch (node A's GraphQL, then the CLI) seen by both nodes at their next request,
  asked directly and through the proxy;
- a subscription opened through the proxy on one node hearing a move made through the other;
- one hook delivery per event while both nodes run hook workers (the lease);
- a web-room session signed in through node A valid on node B (the cookie is signed with the
  shared secret key).

Every wait is bounded; the proxy and the nodes are stopped after the module.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import pathlib
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from bench.dossier_bench import RECEIVE, SECTOR_DATA
from bench.haproxy import DEPLOYED, binary, haproxy, render
from eiso.core.global_ids import encode_id
from eiso.core.plugins.activation import set_module
from eiso.core.settings import Settings
from eiso.tenants.scope import TenantScope
from tests.app_node import MODULE as HOOK_MODULE
from tests.auth_helpers import user_token
from tests.conftest import IN_CI
from tests.live_server import LiveServer, server_env
from tests.test_module_switch_cli import GREETING, QUERY, cli
from tests.test_resilience import MOVE, MOVES, Owner, World, adopt, make_world, wait_until
from tests.web.test_desk import sign_in
from tests.ws_client import GraphQLWS, free_port

pytestmark = [pytest.mark.slow, pytest.mark.only_backend("postgresql+redis")]

PLUGINS = "birth_registration,vendor_demo"
EVENTS = "subscription($a: ID!) { dossierEvents(agencyId: $a) { eventId dossierCode } }"
DESK = "/ban-lam-viec"


@dataclass
class Nodes:
    a: LiveServer
    b: LiveServer
    proxy: str  # the proxy's base URL, also the issuer of every token
    world: World
    owner: Owner
    hook_log: pathlib.Path
    settings: Settings  # the nodes' database, Redis and key prefix, for the CLI

    def urls(self) -> dict[str, str]:
        """Where a request can go: each node directly, and the proxy."""
        return {"node A": self.a.url, "node B": self.b.url, "proxy": self.proxy}


@pytest_asyncio.fixture(scope="module")
async def nodes(backend, resources, database, tmp_path_factory) -> AsyncIterator[Nodes]:
    if binary() is None:
        message = "haproxy is not installed (apt-get install haproxy)"
        if IN_CI:
            pytest.fail(f"{message}: CI=true requires it", pytrace=False)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("app-nodes")
    world = await make_world(resources)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await set_module(session, world.province.id, HOOK_MODULE, True, by="test")
    hook_log = folder / "hook-deliveries.log"
    proxy_port = free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    env = {
        **server_env(resources.settings, plugins=PLUGINS),
        "EISO_REDIS_PREFIX": f"eiso-nodes-{secrets.token_hex(4)}:",
        # The same on every node, and this process's own: they share its database, whose
        # signing keys are encrypted with it (another key left the suite's tokens unreadable).
        "EISO_SECRET_KEY": resources.settings.secret_key.get_secret_value(),
        "EISO_ISSUER": proxy,
        "EISO_TEST_HOOK_LOG": str(hook_log),
    }
    a = LiveServer(folder / "node-a.log", {**env, "EISO_TEST_NODE": "A"}, "tests.app_node:app")
    b = LiveServer(folder / "node-b.log", {**env, "EISO_TEST_NODE": "B"}, "tests.app_node:app")
    try:
        await asyncio.gather(a.start(), b.start())
        with haproxy(folder, [a.url, b.url], port=proxy_port):
            # The officer's agency offers the procedure the tests receive.
            await adopt(a, await bearer(world, a.url, world.officer))
            settings = resources.settings.model_copy(
                update={"redis_prefix": env["EISO_REDIS_PREFIX"]}
            )
            yield Nodes(a, b, proxy, world, Owner(database.owner_url), hook_log, settings)
    finally:
        a.stop()
        b.stop()
        async for key in resources.redis.scan_iter(match=env["EISO_REDIS_PREFIX"] + "*"):
            await resources.redis.delete(key)


async def bearer(world: World, base_url: str, username: str) -> dict[str, str]:
    """A signed-in user's bearer token, got through `base_url`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        token = (await user_token(http, world.client_id, username))["access_token"]
    return {"authorization": f"Bearer {token}"}


async def graphql(url: str, headers: dict, query: str, variables: dict | None = None) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        answer = await http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def sees_module(url: str, officer: dict) -> bool:
    body = await graphql(url, officer, QUERY["query"])
    if body == GREETING:
        return True
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", body
    return False


async def seen_everywhere(nodes: Nodes, officer: dict) -> dict[str, bool]:
    """Whether each node, asked directly, and the proxy (twice: both nodes in turn) see the
    vendor module."""
    seen = {name: await sees_module(url, officer) for name, url in nodes.urls().items()}
    seen["proxy again"] = await sees_module(nodes.proxy, officer)
    return seen


async def test_a_module_switch_is_seen_by_both_nodes_at_their_next_request(nodes):
    officer = await bearer(nodes.world, nodes.a.url, nodes.world.officer)
    admin = await bearer(nodes.world, nodes.a.url, nodes.world.admin)
    assert set((await seen_everywhere(nodes, officer)).values()) == {False}

    enabled = await graphql(
        nodes.a.url,
        admin,
        'mutation { enableModule(module: "vendor_demo") { name enabledForMyProvince } }',
    )
    assert enabled == {
        "data": {"enableModule": {"name": "vendor_demo", "enabledForMyProvince": True}}
    }
    assert set((await seen_everywhere(nodes, officer)).values()) == {True}

    await cli(
        nodes.settings, "modules", "disable", "vendor_demo", "--province", nodes.world.province.code
    )
    assert set((await seen_everywhere(nodes, officer)).values()) == {False}


async def receive(url: str, officer: dict) -> dict:
    body = await graphql(url, officer, RECEIVE, {"data": SECTOR_DATA})
    assert body.get("data") and not body.get("errors"), body
    return body["data"]["receiveDossier"]["dossier"]


async def move(url: str, officer: dict, dossier: dict, step: int) -> int:
    """The dossier's `step`-th move (assign, three steps, return); its new version."""
    name, extra = MOVES[step]
    body = await graphql(
        url, officer, MOVE % (name, extra), {"id": dossier["id"], "v": dossier["version"]}
    )
    assert body.get("data") and not body.get("errors"), body
    return body["data"][name]["version"]


async def websockets_on_both_nodes(stack, nodes: Nodes, officer: dict) -> dict[str, GraphQLWS]:
    """Websockets opened through the proxy until one landed on each node (round robin: the
    first two, unless a health check came between); keyed by the server HAProxy chose."""
    landed: dict[str, GraphQLWS] = {}
    for _ in range(6):
        ws = await stack.enter_async_context(
            GraphQLWS.open(
                nodes.proxy.replace("http://", "ws://") + "/graphql",
                authorization=officer["authorization"],
            )
        )
        served_by = ws.socket.response.headers["x-served-by"]
        if served_by not in landed:
            assert (await ws.acknowledged())["type"] == "connection_ack"
            landed[served_by] = ws
        if len(landed) == 2:
            return landed
    raise AssertionError(f"six websockets through the proxy all went to {sorted(landed)}")


async def test_a_subscription_on_one_node_hears_a_move_made_through_the_other(nodes):
    officer = await bearer(nodes.world, nodes.proxy, nodes.world.officer)
    agency = encode_id("Agency", nodes.world.agency.province_id, nodes.world.agency.id)
    async with contextlib.AsyncExitStack() as stack:
        sockets = await websockets_on_both_nodes(stack, nodes, officer)
        assert sorted(sockets) == ["node1", "node2"]
        for ws in sockets.values():
            await ws.subscribe(EVENTS, {"a": agency})
        heard: dict[str, list[str]] = {name: [] for name in sockets}
        listeners = [asyncio.create_task(listen(ws, heard[name])) for name, ws in sockets.items()]
        try:
            # Subscribed: both hear a receipt made through node A (asked again until they do,
            # since a subscription starts listening a moment after the request).
            dossier = await receive(nodes.a.url, officer)
            await wait_until(lambda: _all_heard(heard, listeners), 30, "the first event")
            # node1 is node A (the proxy's servers in order): a move through node B is heard
            # by the subscription held by node A, and one through node A by node B's.
            for step, url in enumerate([nodes.b.url, nodes.a.url]):
                before = {name: len(events) for name, events in heard.items()}
                dossier["version"] = await move(url, officer, dossier, step)
                await wait_until(
                    lambda before=before: _all_grew(heard, before, listeners),
                    30,
                    f"move {step} through {url}",
                )
        finally:
            for listener in listeners:
                listener.cancel()
    # Each subscription heard each event once, in the same order.
    assert heard["node1"] == heard["node2"]
    assert len(set(heard["node1"])) == len(heard["node1"]) == 3


async def listen(ws: GraphQLWS, heard: list[str]) -> None:
    while True:
        message = await ws.next_message()
        heard.append(message["payload"]["data"]["dossierEvents"]["eventId"])


async def _all_heard(heard: dict[str, list[str]], listeners) -> bool:
    _raise_from(listeners)
    return all(events for events in heard.values())


async def _all_grew(heard: dict[str, list[str]], before: dict[str, int], listeners) -> bool:
    _raise_from(listeners)
    return all(len(heard[name]) > before[name] for name in heard)


def _raise_from(listeners) -> None:
    for listener in listeners:
        if listener.done():
            listener.result()


async def test_each_event_reaches_a_hook_once_with_two_nodes_running_hook_workers(nodes):
    officer = await bearer(nodes.world, nodes.proxy, nodes.world.officer)
    before = await nodes.owner.newest_outbox_id()
    # Three dossier paths through the proxy: the receipts and moves alternate between nodes.
    for _ in range(3):
        dossier = await receive(nodes.proxy, officer)
        for step in range(len(MOVES)):
            dossier["version"] = await move(nodes.proxy, officer, dossier, step)
    made, _ = await nodes.owner.outbox(nodes.world.agency.id, before)
    assert len(made) == 3 * (1 + len(MOVES))

    # A marker after the burst: the hook reads the stream in order, so once it has the
    # marker it has had its chance at everything before.
    marker = await receive(nodes.a.url, officer)
    ids, _ = await nodes.owner.outbox(nodes.world.agency.id, made[-1])
    assert len(ids) == 1, (marker, ids)

    def delivered() -> collections.Counter[int]:
        lines = nodes.hook_log.read_text().split() if nodes.hook_log.exists() else []
        return collections.Counter(int(outbox_id) for outbox_id in lines[1::2])

    async def marker_delivered() -> bool:
        return delivered()[ids[0]] >= 1

    await wait_until(marker_delivered, 60, "the hook gets the marker")
    counts = delivered()
    assert {outbox_id: counts[outbox_id] for outbox_id in made} == dict.fromkeys(made, 1)
    # Nothing ever delivered twice, in any test of the module.
    assert [outbox_id for outbox_id, count in counts.items() if count > 1] == []


class PinnedTo(httpx.AsyncBaseTransport):
    """A browser whose requests for the public (proxy's) address all reach one node."""

    def __init__(self, node: LiveServer) -> None:
        self.node, self.inner = node, httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.node.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_web_session_signed_in_through_node_a_is_valid_on_node_b(nodes):
    browser_at = {
        name: httpx.AsyncClient(base_url=nodes.proxy, transport=PinnedTo(node), timeout=30)
        for name, node in (("A", nodes.a), ("B", nodes.b))
    }
    async with browser_at["A"] as at_a, browser_at["B"] as at_b:
        await sign_in(at_a, nodes.world.officer)  # every step on node A
        signed_out = await at_b.get(DESK)
        assert signed_out.status_code == 303  # node B without the cookie: sign in first
        at_b.cookies = at_a.cookies
        page = await at_b.get(DESK)
        assert page.status_code == 200, page.text[:500]
    async with httpx.AsyncClient(base_url=nodes.proxy, cookies=at_a.cookies, timeout=30) as http:
        answers = [await http.get(DESK) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert sorted(answer.headers["x-served-by"] for answer in answers) == ["node1", "node2"]


def test_the_deployed_configuration_is_valid_and_keeps_its_options_when_rendered(tmp_path):
    """`haproxy -c` accepts infra/deploy/haproxy.cfg as shipped (Docker's resolver and all), and
    the tests' rendering changes only the address and the servers."""
    program = binary()
    if program is None:
        if IN_CI:
            pytest.fail("haproxy is not installed: CI=true requires it", pytrace=False)
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    checked = subprocess.run(
        [program, "-c", "-f", str(DEPLOYED)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rendered = render(8999, ["http://127.0.0.1:8001", "http://127.0.0.1:8002"])
    for kept in ("balance roundrobin", "option httpchk GET /readyz", "timeout tunnel 1h"):
        assert kept in rendered
    assert "server node2 127.0.0.1:8002" in rendered and "resolvers docker" not in rendered
