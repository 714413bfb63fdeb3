"""`subscription dossierEvents(agencyId)` over graphql-transport-ws through the real app on a
socket: an agency hears its own transitions and not another agency's; callers outside the
agency are refused; a second worker process hears transitions made through this one."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue
from eiso.core.global_ids import encode_id
from eiso.tenants.scope import TenantScope
from tests.test_dossier_engine import REGISTRY
from tests.test_dossier_hooks import agency_with, relay, transitions
from tests.worker_process import worker_process
from tests.ws_client import GraphQLWS, error_codes, served

EVENTS = (
    "subscription($a: ID!) { dossierEvents(agencyId: $a) { eventId dossierId dossierCode agencyId"
    " action fromStatus toStatus at } }"
)


def officer(agency) -> Principal:
    return Principal(
        f"officer-{agency.code}",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


def gid(agency) -> str:
    return encode_id("Agency", agency.province_id, agency.id)


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


async def test_an_agency_hears_its_transitions_and_not_anothers(app, resources, callers):
    mine, theirs = await agency_with(resources, []), await agency_with(resources, [])
    token = callers.issue(officer(mine))["authorization"]
    async with served(app) as url, GraphQLWS.open(url, authorization=token) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        op = await ws.subscribe(EVENTS, {"a": gid(mine)})
        await asyncio.sleep(0.3)  # the subscription is registered before anything happens
        await transitions(resources, theirs)
        [code] = await transitions(resources, mine)
        await relay(resources).drain()
        got = [await ws.receive(), await ws.receive()]
        assert [m["id"] for m in got] == [op, op]
        events = [m["payload"]["data"]["dossierEvents"] for m in got]
        assert [
            (e["dossierCode"], e["action"], e["fromStatus"], e["toStatus"]) for e in events
        ] == [(code, "RECEIVED", None, "RECEIVED"), (code, "ASSIGNED", "RECEIVED", "IN_PROGRESS")]
        assert {e["agencyId"] for e in events} == {gid(mine)}
        assert int(events[0]["eventId"]) < int(events[1]["eventId"])
        assert await ws.quiet(0.5) == []  # nothing of the other agency
        await ws.send({"id": op, "type": "complete"})


async def test_every_message_is_a_text_frame(app, resources, callers):
    """connection_ack, pong, next, complete and error arrive as text frames (`GraphQLWS`
    asserts each frame is text), and the server takes the client's ping and pong as text."""
    mine = await agency_with(resources, [])
    token = callers.issue(officer(mine))["authorization"]
    async with served(app) as url, GraphQLWS.open(url, authorization=token) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
        await ws.send({"type": "pong"})  # an unsolicited pong is allowed and unanswered
        op = await ws.subscribe("{ __typename }")
        assert await ws.receive() == {
            "id": op,
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await ws.receive() == {"id": op, "type": "complete"}
        refused = await ws.first_answer("subscription { noSuchField }")
        assert refused["type"] == "error"
        assert "noSuchField" in refused["payload"][0]["message"]
        op = await ws.subscribe(EVENTS, {"a": gid(mine)})
        await asyncio.sleep(0.3)
        [code] = await transitions(resources, mine)
        await relay(resources).drain()
        events = [await ws.receive(), await ws.receive()]  # received, then assigned
        assert [(e["id"], e["type"]) for e in events] == [(op, "next"), (op, "next")]
        assert {e["payload"]["data"]["dossierEvents"]["dossierCode"] for e in events} == {code}
        await ws.send({"id": op, "type": "complete"})
        assert await ws.quiet(0.3) == []


async def test_the_handshake_header_authenticates_too(app, resources, callers):
    mine = await agency_with(resources, [])
    async with served(app) as url, GraphQLWS.open(url, headers=callers.issue(officer(mine))) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        await ws.subscribe(EVENTS, {"a": gid(mine)})
        await asyncio.sleep(0.3)
        [code] = await transitions(resources, mine)
        await relay(resources).drain()
        assert (await ws.receive())["payload"]["data"]["dossierEvents"]["dossierCode"] == code


async def test_callers_outside_the_agency_are_refused(app, resources, callers):
    mine, theirs = await agency_with(resources, []), await agency_with(resources, [])
    province_admin = Principal(
        f"admin-{theirs.province_id}",
        TenantScope.province(theirs.province_id),
        frozenset({Role.province_admin}),
        province_id=theirs.province_id,
    )
    secretary = Principal(
        f"iso-{mine.code}",
        TenantScope.agencies([mine.id], [mine.province_id]),
        frozenset({Role.iso_secretary}),
        province_id=mine.province_id,
        agency_id=mine.id,
    )
    async with served(app) as url:
        for caller, expected in (
            (officer(theirs), "FORBIDDEN"),
            (province_admin, "FORBIDDEN"),
            (secretary, "FORBIDDEN"),
            (None, "UNAUTHENTICATED"),
        ):
            token = callers.issue(caller)["authorization"] if caller else None
            async with GraphQLWS.open(url, authorization=token) as ws:
                assert (await ws.acknowledged())["type"] == "connection_ack"
                answer = await ws.first_answer(EVENTS, {"a": gid(mine)})
                assert error_codes(answer) == [expected], (caller, answer)
                assert gid(mine) not in str(answer)
        # Their own province's administrator may watch the agency; an unknown agency is NOT_FOUND.
        mine_admin = Principal(
            f"admin-{mine.province_id}",
            TenantScope.province(mine.province_id),
            frozenset({Role.province_admin}),
            province_id=mine.province_id,
        )
        async with GraphQLWS.open(
            url, authorization=callers.issue(mine_admin)["authorization"]
        ) as ws:
            await ws.acknowledged()
            missing = encode_id("Agency", mine.province_id, 10**12)
            assert error_codes(await ws.first_answer(EVENTS, {"a": missing})) == ["NOT_FOUND"]
        async with GraphQLWS.open(url, authorization="Bearer not-a-token") as ws:
            assert await ws.acknowledged() == {"type": "closed", "code": 4403}


WORKER = textwrap.dedent('''
    from eiso.core.app import create_app
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.settings import get_settings
    from eiso.tenants.scope import TenantScope

    async def bearer_agency(connection):
        """`Bearer agency:<province>:<agency>`: an officer of that agency (a test double)."""
        credentials = connection.headers.get("authorization", "").removeprefix("Bearer ")
        kind, _, rest = credentials.partition(":")
        if kind != "agency":
            return None
        province, agency = (int(part) for part in rest.split(":"))
        return Principal(subject="officer", tenant=TenantScope.agencies([agency], [province]),
                         roles=frozenset({Role.officer}), province_id=province, agency_id=agency)

    def app():
        return create_app(get_settings(), authenticator=bearer_agency)
''')


@pytest.mark.slow
@pytest.mark.only_backend("postgresql+redis")
async def test_a_subscriber_on_another_worker_process_hears_the_transition(resources, tmp_path):
    mine, theirs = await agency_with(resources, []), await agency_with(resources, [])
    async with worker_process(
        tmp_path, "events_worker", WORKER, resources.settings, plugins=""
    ) as url:
        # That worker synced the catalogue to its own (no) modules: the test procedure back.
        async with resources.session(TenantScope.nation()) as session, session.begin():
            await catalogue.sync_catalogue(session, REGISTRY)
        token = f"Bearer agency:{mine.province_id}:{mine.id}"
        ws_url = url.replace("http://", "ws://") + "/graphql"
        async with GraphQLWS.open(ws_url, authorization=token) as ws:
            assert (await ws.acknowledged())["type"] == "connection_ack"
            await ws.subscribe(EVENTS, {"a": gid(mine)})
            await asyncio.sleep(0.5)
            await transitions(resources, theirs)  # made here, in this process
            [code] = await transitions(resources, mine)
            await relay(resources).drain()
            async with asyncio.timeout(15):  # from another process: more than the default wait
                first = await ws.next_message()
            assert first["payload"]["data"]["dossierEvents"]["dossierCode"] == code
            async with asyncio.timeout(15):
                second = await ws.next_message()
            assert second["payload"]["data"]["dossierEvents"]["action"] == "ASSIGNED"
            assert await ws.quiet(0.5) == []
