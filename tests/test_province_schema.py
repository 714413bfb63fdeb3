"""Per-province schemas: a module enabled for province A and not for B."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from strawberry.types import ExecutionResult  # noqa: F401 - documents what execute returns

from eiso.core.auth.principal import Principal, Role
from eiso.core.global_ids import encode_id
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.resources import Resources
from eiso.graphql.server.assembly import ModuleGate
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code

MODULE = "vendor_demo"
QUERY = '{ vendorDemo { greeting nameAvailable(name: "Hộ kinh doanh Hoa Sen") } }'
MUTATION = 'mutation { vendorDemoReserveName(name: "Hộ kinh doanh Hoa Sen") }'
# The same query under the one naming rule: root fields `<moduleName><FieldName>`.
FLAT = '{ vendorDemoGreeting vendorDemoNameAvailable(name: "Hộ kinh doanh Hoa Sen") }'
FIELDS = (
    "{ __schema { queryType { fields(includeDeprecated: true) { name } }"
    " mutationType { fields(includeDeprecated: true) { name } } } }"
)


def province_gid(province_id: int) -> str:
    """The province's global id: what `enableModule(provinceId:)` takes."""
    return encode_id("Province", province_id, province_id)


def person(role: Role, province_id: int | None) -> Principal:
    scope = TenantScope.nation() if province_id is None else TenantScope.province(province_id)
    return Principal(
        subject=f"{role.value}-{province_id}",
        tenant=scope,
        roles=frozenset({role}),
        province_id=province_id,
    )


async def make_app(resources, callers):
    from eiso.core.app import create_app

    return create_app(
        resources.settings,
        resources,
        authenticator=callers.authenticate,
        plugins=PluginRegistry.load([MODULE]),
    )


@pytest_asyncio.fixture
async def two_provinces(resources, nation_session):
    ids = []
    for _ in range(2):
        code = unique_code("PV")
        province = await ensure_province(nation_session, code, f"Tỉnh Thử {code}")
        ids.append((province.id, code))
    await nation_session.commit()
    return ids


async def post(app, query: str, headers=None) -> dict:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": query}, headers=headers or {})
    return response.json()


def root_fields(body: dict) -> set[str]:
    schema = body["data"]["__schema"]
    names = {f["name"] for f in schema["queryType"]["fields"]}
    return names | {f["name"] for f in (schema["mutationType"] or {"fields": []})["fields"]}


async def test_enabled_in_a_not_in_b_then_b_without_restart(resources, callers, two_provinces):
    (a_id, _), (b_id, _) = two_provinces
    app = await make_app(resources, callers)
    # A second worker: its own app, engine, Redis connection and caches, the same data.
    other = Resources.open(resources.settings)
    app2 = await make_app(other, callers)
    a_officer, b_officer = (
        callers.issue(person(Role.officer, a_id)),
        callers.issue(person(Role.officer, b_id)),
    )
    a_admin, b_admin = (
        callers.issue(person(Role.province_admin, a_id)),
        callers.issue(person(Role.province_admin, b_id)),
    )
    try:
        async with app.router.lifespan_context(app), app2.router.lifespan_context(app2):
            enabled = await post(
                app,
                f'mutation {{ enableModule(module: "{MODULE}") {{ name enabledForMyProvince }} }}',
                a_admin,
            )
            assert enabled == {
                "data": {"enableModule": {"name": MODULE, "enabledForMyProvince": True}}
            }

            answer = await post(app, QUERY, a_officer)
            assert answer == {
                "data": {
                    "vendorDemo": {"greeting": "Xin chào từ mô-đun mẫu", "nameAvailable": True}
                }
            }
            assert (await post(app, MUTATION, a_officer))["data"] == {
                "vendorDemoReserveName": "Đã giữ tên: Hộ kinh doanh Hoa Sen"
            }
            assert await post(app, FLAT, a_officer) == {
                "data": {
                    "vendorDemoGreeting": "Xin chào từ mô-đun mẫu",
                    "vendorDemoNameAvailable": True,
                }
            }
            assert {
                "vendorDemo",
                "vendorDemoGreeting",
                "vendorDemoNameAvailable",
                "vendorDemoReserveName",
            } <= root_fields(await post(app, FIELDS, a_officer))

            for worker in (app, app2):  # B: a validation error, not data; introspection without it
                refused = await post(worker, QUERY, b_officer)
                assert refused.get("data") is None
                assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
                assert "vendorDemo" in refused["errors"][0]["message"]
                assert "Did you mean" not in refused["errors"][0]["message"]
                for refused_query in (MUTATION, FLAT):
                    refused = await post(worker, refused_query, b_officer)
                    code = refused["errors"][0]["extensions"]["code"]
                    assert code == "GRAPHQL_VALIDATION_FAILED"
                fields = root_fields(await post(worker, FIELDS, b_officer))
                assert not {f for f in fields if f.startswith("vendorDemo")}

            # A province admin cannot switch another province's modules.
            denied = await post(
                app,
                f'mutation {{ enableModule(module: "{MODULE}", '
                f'provinceId: "{province_gid(a_id)}") {{ name enabledForMyProvince }} }}',
                b_admin,
            )
            assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

            assert (
                await post(
                    app,
                    f'mutation {{ enableModule(module: "{MODULE}") {{ name enabledForMyProvince '
                    "} }",
                    b_admin,
                )
            )["data"]
            for worker in (app, app2):  # the next request, on both workers
                assert (await post(worker, QUERY, b_officer))["data"]["vendorDemo"]["greeting"]
                assert "vendorDemo" in root_fields(await post(worker, FIELDS, b_officer))

            await post(
                app2,
                f'mutation {{ disableModule(module: "{MODULE}") {{ name enabledForMyProvince }} }}',
                b_admin,
            )
            assert (await post(app, QUERY, b_officer))["errors"][0]["extensions"]["code"] == (
                "GRAPHQL_VALIDATION_FAILED"
            )
            assert (await post(app, QUERY, a_officer))["data"]  # A unaffected
    finally:
        await other.close()


async def test_anonymous_and_nation_callers(resources, callers):
    app = await make_app(resources, callers)
    nation = callers.issue(person(Role.national_admin, None))
    async with app.router.lifespan_context(app):
        assert "vendorDemo" not in root_fields(await post(app, FIELDS))
        assert "vendorDemo" in root_fields(await post(app, FIELDS, nation))
        assert (await post(app, QUERY, nation))["data"]["vendorDemo"]


async def test_unknown_module_and_province_are_clear_errors(resources, callers, two_provinces):
    (a_id, _), _ = two_provinces
    app = await make_app(resources, callers)
    nation = callers.issue(person(Role.national_admin, None))
    async with app.router.lifespan_context(app):
        unknown = await post(
            app,
            f'mutation {{ enableModule(module: "nope", provinceId: "{province_gid(a_id)}") '
            "{ name enabledForMyProvince } }",
            nation,
        )
        assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_MODULE"
        missing = await post(
            app,
            f'mutation {{ enableModule(module: "{MODULE}", '
            f'provinceId: "{province_gid(999999999)}") {{ name enabledForMyProvince }} }}',
            nation,
        )
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_every_module_owned_field_carries_the_gate_and_it_refuses(resources):
    from eiso.graphql.schema import make_assembler
    from eiso.graphql.server.context import Context

    assembler = make_assembler(PluginRegistry.load([MODULE]))
    core, full = assembler.get(()), assembler.get()
    for root in ("query", "mutation"):
        core_names = {f.name for f in getattr(core, root).__strawberry_definition__.fields}
        for field in getattr(full, root).__strawberry_definition__.fields:
            if field.name in core_names:
                continue
            assert any(
                isinstance(e, ModuleGate) and e.module == MODULE for e in field.extensions
            ), field.name
    # Defence in depth: the module's schema, run for a context whose province lacks it.
    context = Context(
        request=None, resources=resources, principal=None, extras={"modules": frozenset()}
    )
    result = await full.execute(QUERY, context_value=context)
    assert result.errors[0].extensions["code"] == "MODULE_NOT_ACTIVE"
    assert result.data is None or result.data.get("vendorDemo") is None
    result = await full.execute(MUTATION, context_value=context)
    assert result.errors[0].extensions["code"] == "MODULE_NOT_ACTIVE"
    result = await full.execute(FLAT, context_value=context)
    assert {e.extensions["code"] for e in result.errors} == {"MODULE_NOT_ACTIVE"}


def test_schemas_are_cached_per_module_set():
    from eiso.graphql.schema import make_assembler

    assembler = make_assembler(PluginRegistry.load([MODULE]))
    assert assembler.get([MODULE]) is assembler.get([MODULE, "not-loaded"])
    assert assembler.get(()) is not assembler.get([MODULE])
    assert assembler.schema_for.cache_info().maxsize == 64


@pytest.mark.only_backend("sqlite+memory")
def test_cli_prints_what_a_province_sees(database, monkeypatch):
    import asyncio

    from typer.testing import CliRunner

    from eiso.core.cli import app
    from eiso.core.plugins.activation import set_module
    from eiso.core.settings import get_settings

    code_on, code_off = unique_code("CL"), unique_code("CL")

    async def arrange():
        from eiso.core.settings import load_settings

        res = Resources.open(load_settings(database_url=database.app_url, redis_url="memory://cli"))
        try:
            async with res.session(TenantScope.nation()) as session:
                on = await ensure_province(session, code_on, "Tỉnh Bật")
                await ensure_province(session, code_off, "Tỉnh Tắt")
                await set_module(session, on.id, MODULE, True, by="test")
                await session.commit()
        finally:
            await res.close()

    asyncio.run(arrange())
    monkeypatch.setenv("EISO_DATABASE_URL", database.app_url)
    monkeypatch.setenv("EISO_PLUGINS", MODULE)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        on = runner.invoke(app, ["graphql", "schema", "--province", code_on])
        off = runner.invoke(app, ["graphql", "schema", "--province", code_off])
        every = runner.invoke(app, ["graphql", "schema"])
        bad = runner.invoke(app, ["graphql", "schema", "--province", "NOPE"])
    finally:
        get_settings.cache_clear()
    assert on.exit_code == 0 and "vendorDemo: VendorDemoQuery!" in on.output
    assert (
        off.exit_code == 0 and "vendorDemo" not in off.output and "version: String!" in off.output
    )
    assert "vendorDemoReserveName" in every.output
    assert bad.exit_code == 1 and "NOPE" in bad.output


async def test_module_configuration_is_validated_before_it_is_stored(resources, two_provinces):
    from pydantic import BaseModel, SecretStr
    from sqlalchemy import select

    from eiso.core.errors import DomainError
    from eiso.core.plugins.activation import switch_module
    from eiso.core.plugins.config_secrets import MASK
    from eiso.core.plugins.registry import PluginSource
    from eiso.core.sdk import LocalizedText, ModuleInfo, hookimpl
    from eiso.tenants.modules import ModuleActivation

    class SmsConfig(BaseModel):
        gateway_url: str
        api_key: SecretStr
        sender: str = "UBND"

    class Sms:
        @hookimpl
        def eiso_module(self):
            return ModuleInfo(
                name="sms_notify",
                title=LocalizedText(vi="Gửi tin nhắn", en="SMS"),
                version="1.0",
                sector="notification",
                config_model=SmsConfig,
            )

    registry = PluginRegistry.load(None, [PluginSource.of("sms_notify", Sms())])
    (a_id, _), _ = two_provinces
    nation = person(Role.national_admin, None)
    with pytest.raises(DomainError) as refused:
        await switch_module(
            resources,
            registry,
            nation,
            a_id,
            "sms_notify",
            True,
            {"gateway_url": "https://sms.example.vn"},
        )
    assert refused.value.code == "INVALID_CONFIG" and "config.api_key" in str(refused.value)

    async def stored() -> list[dict]:
        async with resources.session(TenantScope.province(a_id)) as session:
            rows = await session.execute(
                select(ModuleActivation).where(
                    ModuleActivation.province_id == a_id, ModuleActivation.module == "sms_notify"
                )
            )
            return [row.config for row in rows.scalars()]

    assert await stored() == []  # nothing changed
    for config in (
        {"gateway_url": "https://sms.example.vn", "api_key": "k-123"},
        # The mask the API shows in a secret's place keeps the stored secret.
        {"gateway_url": "https://sms2.example.vn", "api_key": MASK},
    ):
        names = await switch_module(resources, registry, nation, a_id, "sms_notify", True, config)
        assert names == {"sms_notify"}
    assert await stored() == [{"gateway_url": "https://sms2.example.vn", "api_key": "k-123"}]


@pytest.mark.only_backend("sqlite+memory")
def test_websocket_reaches_the_province_view(database, callers):
    """`graphql-transport-ws` goes through the same per-province dispatch (the legacy
    `graphql-ws` protocol is refused)."""
    import orjson
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from eiso.core.app import create_app
    from eiso.core.settings import load_settings

    settings = load_settings(
        env="test", database_url=database.app_url, redis_url="memory://ws", plugins=[MODULE]
    )
    app = create_app(settings, authenticator=callers.authenticate)
    with TestClient(app) as http:
        with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert orjson.loads(ws.receive_text()) == {"type": "connection_ack"}  # a text frame
        with (
            pytest.raises(WebSocketDisconnect),
            http.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
        ):
            ws.send_json({"type": "connection_init"})
            ws.receive_text()


async def test_redis_down_serves_the_cached_module_set(resources, two_provinces, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from eiso.core.plugins.activation import ActiveModules, switch_module

    (a_id, _), _ = two_provinces
    registry = PluginRegistry.load([MODULE])
    await switch_module(resources, registry, person(Role.national_admin, None), a_id, MODULE, True)
    active = ActiveModules(registry)
    assert await active.for_province(resources, a_id) == {MODULE}

    async def down(*args, **kwargs):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(resources.redis, "get", down)
    assert await active.for_province(resources, a_id) == {MODULE}
    assert await ActiveModules(registry).for_province(resources, a_id) == {MODULE}  # from the DB


async def test_clashing_modules_start_and_answer_module_conflict(resources, callers):
    import strawberry

    from eiso.core.app import create_app
    from eiso.core.plugins.registry import PluginSource
    from eiso.core.sdk import LocalizedText, ModuleInfo, hookimpl

    @strawberry.type
    class One:
        @strawberry.mutation
        def c_go(self) -> int:
            return 1

    @strawberry.type
    class Two:
        @strawberry.mutation
        def go(self) -> int:
            return 2

    def plugin(name, mutation):
        class Plugin:
            @hookimpl
            def eiso_module(self):
                return ModuleInfo(
                    name=name,
                    title=LocalizedText(vi="Thử", en="Test"),
                    version="1.0",
                    sector="test",
                )

            @hookimpl
            def eiso_graphql_mutation(self):
                return mutation

        return PluginSource.of(name, Plugin())

    registry = PluginRegistry.load(None, [plugin("ab", One), plugin("ab_c", Two)])
    app = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=registry
    )  # starts despite the clash
    nation = callers.issue(person(Role.national_admin, None))
    async with app.router.lifespan_context(app):
        body = await post(app, "{ version }", nation)
        assert body["errors"][0]["extensions"]["code"] == "MODULE_CONFLICT"
        assert "module ab and module ab_c" in body["errors"][0]["message"]
        assert (await post(app, "{ version }"))["data"]["version"]  # the core still answers


async def test_any_committed_activation_change_reaches_the_workers(resources, two_provinces):
    """tenants.modules.set_module written by anyone (CLI, another mutation) bumps the counter."""
    import asyncio

    from eiso.core.plugins.activation import ActiveModules, set_module, watch_module_changes

    (a_id, _), _ = two_provinces
    watch_module_changes(resources)
    active = ActiveModules(PluginRegistry.load([MODULE]))
    assert await active.for_province(resources, a_id) == frozenset()
    async with resources.session(TenantScope.province(a_id)) as session:
        await set_module(session, a_id, MODULE, True, by="someone-else")
        await session.commit()
    for _ in range(5):
        await asyncio.sleep(0)  # the bump runs right after the commit
    assert await active.for_province(resources, a_id) == {MODULE}
    async with resources.session(TenantScope.province(a_id)) as session:
        await set_module(session, a_id, MODULE, False, by="someone-else")
        await session.rollback()  # nothing committed: nothing bumped
    assert await active.for_province(resources, a_id) == {MODULE}


@pytest.mark.only_backend("postgresql+redis")
async def test_a_listening_worker_skips_the_counter_and_hears_switches(
    resources, two_provinces, monkeypatch
):
    """With its pub/sub subscription up a worker answers from its cache (no Redis GET per
    request); a switch published by another worker drops the entry; without the subscription
    it reads the counter again on every request. (A shared Redis only: with memory:// every
    request reads the database's generation, tests/test_module_switch_cli.py.)"""
    import asyncio

    from eiso.core.plugins.activation import ActiveModules, changes_channel, set_module

    (a_id, _), _ = two_provinces
    active = ActiveModules(PluginRegistry.load([MODULE]))
    gets = []
    real_get = resources.redis.get

    async def counted_get(*args, **kwargs):
        gets.append(args)
        return await real_get(*args, **kwargs)

    monkeypatch.setattr(resources.redis, "get", counted_get)
    listener = asyncio.create_task(active.listen(resources))
    other = Resources.open(resources.settings)  # another worker's engine and connection
    try:
        for _ in range(300):
            if active.listening:
                break
            await asyncio.sleep(0.01)
        assert active.listening
        assert await active.for_province(resources, a_id) == frozenset()
        before = len(gets)
        assert await active.for_province(resources, a_id) == frozenset()
        assert len(gets) == before  # served from the cache

        async with other.session(TenantScope.province(a_id)) as session:
            await set_module(session, a_id, MODULE, True, by="another-worker")
            await session.commit()
        await other.redis.publish(changes_channel(other), str(a_id))
        for _ in range(300):
            if await active.for_province(resources, a_id) == {MODULE}:
                break
            await asyncio.sleep(0.01)
        assert await active.for_province(resources, a_id) == {MODULE}
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await other.close()
    assert not active.listening
    before = len(gets)
    assert await active.for_province(resources, a_id) == {MODULE}
    assert len(gets) == before + 1  # no subscription: the counter again


def test_one_naming_rule_for_module_fields_in_the_committed_sdl():
    """Every field of a bundled module's query and mutation types is a root field
    `<moduleName><FieldName>`; the namespaced query field of before is still there, deprecated
    (graphql/schema.graphql shows both)."""
    import pathlib
    import re

    from strawberry.utils.str_converters import to_camel_case

    from eiso.graphql.schema import bundled_sources
    from eiso.graphql.server.assembly import module_field, namespace_field

    sdl = (pathlib.Path(__file__).resolve().parents[1] / "graphql" / "schema.graphql").read_text()
    registry = PluginRegistry.load(sources=bundled_sources())
    assert registry.loaded
    for name, record in registry.loaded.items():
        for kind in ("query_type", "mutation_type"):
            part = getattr(record, kind)
            if part is None:
                continue
            for field in part.__strawberry_definition__.fields:
                root = module_field(name, field.graphql_name or to_camel_case(field.python_name))
                assert f"\n  {root}" in sdl, root
        if record.query_type is not None:
            namespace = namespace_field(name)
            assert re.search(rf"\n  {namespace}: \w+! @deprecated\(reason: ", sdl), namespace
