"""Module storage (`eiso.core.sdk.module_store`): a module's keys and counters per province,
in the database, on SQLite and PostgreSQL; one province never sees another's keys (the store's
own filter, and row-level security on PostgreSQL); reachable from a resolver's caller and from
a hook's event."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import pathlib
import re
import sys
import types

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import Conflict, DomainError, Forbidden, Unauthenticated
from eiso.core.plugins.storage import delivering_with
from eiso.core.sdk import (
    DossierEvent,
    LocalizedText,
    ModuleInfo,
    ModuleStore,
    hookimpl,
    module_store,
)
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_tenant_scope import two_tenants  # noqa: F401 - the fixture


@dataclasses.dataclass
class Context:
    """What a resolver's `info.context` holds, as far as the SDK reads it."""

    resources: object
    principal: Principal | None


@dataclasses.dataclass
class Info:
    context: Context


def officer(province_id: int | None, agency_id: int | None = None) -> Principal:
    if province_id is None:
        return Principal("nation", TenantScope.nation(), frozenset({Role.national_admin}))
    scope = (
        TenantScope.agencies([agency_id], [province_id])
        if agency_id
        else TenantScope.province(province_id)
    )
    return Principal(
        "officer-1", scope, frozenset({Role.officer}), province_id=province_id, agency_id=agency_id
    )


def event_of(province_id: int, agency_id: int) -> DossierEvent:
    return DossierEvent(
        province_id=province_id,
        agency_id=agency_id,
        dossier_id=1,
        dossier_code="HS-1",
        procedure_code="1.001612",
        module="probe",
        to_status=1,
        actor="officer-1",
        at=dt.datetime.now(dt.UTC),
    )


@pytest.fixture
def module() -> str:
    """A module name of this test alone (the session's database is shared)."""
    return "probe_" + unique_code("").lower()


async def test_values_counters_and_keys(resources, two_tenants, module):  # noqa: F811
    (p1, _, _), _ = two_tenants
    store = ModuleStore(resources, p1, module)
    assert await store.get("missing") is None
    assert await store.get("missing", {"d": 1}) == {"d": 1}
    value = {"vi": "Hồ sơ đã có kết quả", "n": [1, 2.5, None, True]}
    await store.set("template:result", value)
    assert await store.get("template:result") == value
    await store.set("template:result", "thay thế")
    assert await store.get("template:result") == "thay thế"
    assert await store.incr("sent") == 1
    assert await store.incr("sent", by=4) == 5
    assert await store.incr("sent", by=-2) == 3
    assert await store.get("sent") == 3
    await store.set("limit", 10)  # an int set is a counter
    assert await store.incr("limit") == 11
    assert await store.add_once("sent:outbox-7") is True
    assert await store.add_once("sent:outbox-7", "again") is False
    assert await store.get("sent:outbox-7") is True
    await store.set("empty", None)
    assert await store.get("empty", "default") is None  # a kept None is not a missing key
    assert await store.keys("sent") == ["sent", "sent:outbox-7"]
    assert await store.keys("SENT") == []  # case-sensitive on both backends
    assert await store.keys() == ["empty", "limit", "sent", "sent:outbox-7", "template:result"]
    assert await store.get_many(["sent", "limit", "nope"]) == {"sent": 3, "limit": 11}
    assert await store.delete("sent") is True
    assert await store.delete("sent") is False
    assert await store.get("sent") is None
    assert await store.incr("sent") == 1  # counts from 0 again


async def test_incr_of_a_json_value_is_refused_and_leaves_it(resources, two_tenants, module):  # noqa: F811
    (p1, _, _), _ = two_tenants
    store = ModuleStore(resources, p1, module)
    await store.set("name", {"a": 1})
    with pytest.raises(Conflict):
        await store.incr("name")
    assert await store.get("name") == {"a": 1}


@pytest.mark.parametrize(
    ("key", "value"),
    [("", 1), ("k" * 201, 1), ("ok", {1, 2}), ("ok", "x" * 70_000), ("ok", object())],
)
async def test_bad_keys_and_values_are_refused(resources, two_tenants, module, key, value):  # noqa: F811
    (p1, _, _), _ = two_tenants
    with pytest.raises(DomainError) as refused:
        await ModuleStore(resources, p1, module).set(key, value)
    assert refused.value.code == "BAD_INPUT"


async def test_concurrent_increments_and_add_once(resources, two_tenants, module):  # noqa: F811
    (p1, _, _), _ = two_tenants
    store = ModuleStore(resources, p1, module)
    numbers = await asyncio.gather(*(store.incr("n") for _ in range(12)))
    assert sorted(numbers) == list(range(1, 13))
    won = await asyncio.gather(*(store.add_once("once", i) for i in range(8)))
    assert won.count(True) == 1
    assert await store.get("once") == won.index(True)


async def test_a_province_never_sees_another_provinces_keys(resources, two_tenants, module):  # noqa: F811
    (p1, _, _), (p2, _, _) = two_tenants
    one, two = ModuleStore(resources, p1, module), ModuleStore(resources, p2, module)
    await one.set("secret", "của tỉnh một")
    assert await one.incr("count") == 1
    assert await two.get("secret") is None
    assert await two.keys() == []
    assert await two.incr("count") == 1  # its own counter
    assert await two.delete("secret") is False
    assert await one.get("secret") == "của tỉnh một"
    # Another module of the same province has its own keys too.
    assert await ModuleStore(resources, p1, module + "_other").get("secret") is None


@pytest.mark.only_backend("postgresql+redis")
async def test_row_level_security_keeps_the_rows_with_their_province(
    resources,
    two_tenants,  # noqa: F811
    module,
):
    """Below the store's own filter: raw SQL in a province's session sees its rows only, and
    cannot write another province's (PostgreSQL)."""
    (p1, a1, _), (p2, _, _) = two_tenants
    await ModuleStore(resources, p1, module).set("k", 1)
    await ModuleStore(resources, p2, module).set("k", 2)
    query = text("SELECT province_id FROM module_store WHERE module = :m")
    for scope in (TenantScope.province(p1), TenantScope.agencies([a1], [p1])):
        async with resources.session(scope) as session:
            assert set((await session.execute(query, {"m": module})).scalars()) == {p1}
    with pytest.raises(DBAPIError, match="row-level security"):
        async with resources.session(TenantScope.province(p1)) as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO module_store (province_id, module, key, counter, updated_at)"
                    " VALUES (:p, :m, 'x', 1, now())"
                ),
                {"p": p2, "m": module},
            )


async def test_a_resolver_reaches_its_provinces_store(resources, two_tenants, module):  # noqa: F811
    (p1, a1, _), (p2, _, _) = two_tenants
    context = Context(resources, officer(p1, a1))
    store = module_store(context, module)
    assert store.province_id == p1 and store.module == module
    await store.set("k", "v")
    assert await module_store(Info(context), module).get("k") == "v"  # a Strawberry info too
    assert module_store(context, module, province_id=p1).province_id == p1
    with pytest.raises(Forbidden):
        module_store(context, module, province_id=p2)
    with pytest.raises(Unauthenticated):
        module_store(Context(resources, None), module)
    national = Context(resources, officer(None))
    with pytest.raises(DomainError):
        module_store(national, module)  # must name the province
    assert await module_store(national, module, province_id=p1).get("k") == "v"
    assert await module_store(national, module, province_id=p2).get("k") is None
    with pytest.raises(DomainError):
        module_store(context, "Not A Module")


async def test_a_hook_reaches_the_events_provinces_store(resources, two_tenants, module):  # noqa: F811
    (p1, a1, _), (p2, _, _) = two_tenants
    event = event_of(p1, a1)
    with pytest.raises(DomainError):
        module_store(event, module)  # outside a delivery: no resources to use
    with delivering_with(resources):
        store = module_store(event, module)
        with pytest.raises(Forbidden):
            module_store(event, module, province_id=p2)

        async def later() -> bool:  # a task the hook starts keeps the delivery's resources
            return await module_store(event, module).add_once("task")

        assert await asyncio.create_task(later()) is True
    assert store.province_id == p1
    assert await store.add_once("outbox:1") is True
    assert await ModuleStore(resources, p2, module).keys() == []


class CountingModule:
    """A module whose hook counts, per province, the events it got, once each (`add_once` on
    the event's outbox id), through the SDK's store, as a notifier would."""

    def __init__(self) -> None:
        self.name = "store_" + unique_code("").lower()
        self.repeats = 0

    @hookimpl
    def eiso_module(self) -> ModuleInfo:
        return ModuleInfo(
            name=self.name,
            title=LocalizedText(vi="Mô-đun đếm", en="Counter"),
            version="1.0",
            sector="test",
            dossier_events="all",
        )

    @hookimpl
    async def eiso_on_dossier_event(self, event: DossierEvent) -> None:
        store = module_store(event, self.name)
        if not await store.add_once(f"seen:{event.data['outbox_id']}"):
            self.repeats += 1
            return
        await store.incr(f"status:{event.to_status}")


async def test_a_hook_counts_per_province_through_the_store(resources):
    from eiso.core.dossiers.hooks import HookWorkers
    from eiso.core.dossiers.statuses import Status
    from eiso.infra.relay import Relay
    from tests.test_dossier_hooks import agency_with, modules, transitions

    counting = CountingModule()
    registry = modules(counting)  # type: ignore[arg-type]
    one = await agency_with(resources, [counting.name])
    two = await agency_with(resources, [counting.name])
    await transitions(resources, one, 2)
    await transitions(resources, two, 1)
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    assert await HookWorkers(resources, registry).run_once() == {counting.name: 6}
    first = ModuleStore(resources, one.province_id, counting.name)
    second = ModuleStore(resources, two.province_id, counting.name)
    keys = [f"status:{int(Status.received)}", f"status:{int(Status.in_progress)}"]
    assert await first.get_many(keys) == dict.fromkeys(keys, 2)
    assert await second.get_many(keys) == dict.fromkeys(keys, 1)
    assert len(await first.keys("seen:")) == 4 and len(await second.keys("seen:")) == 2
    assert counting.repeats == 0


def storage_examples() -> str:
    """The python blocks of docs/plugins.md's "Module storage" section."""
    docs = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    start = docs.index("\n## Module storage\n")
    section = docs[start : docs.index("\n## ", start + 1)]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, re.DOTALL))


async def test_the_documented_storage_examples_work(resources, two_tenants):  # noqa: F811
    (p1, a1, _), (p2, _, _) = two_tenants
    module = types.ModuleType("docs_storage_example")
    sys.modules[module.__name__] = module  # Strawberry resolves annotations through it
    exec(compile(storage_examples(), "docs/plugins.md:storage", "exec"), module.__dict__)  # noqa: S102 - our own docs
    hook = module.__dict__["eiso_on_dossier_event"]
    event = event_of(p1, a1).model_copy(update={"data": {"action": "received", "outbox_id": 41}})
    assert (event.action, event.outbox_id) == ("received", 41)
    with delivering_with(resources):
        await hook(event)
        await hook(event)  # a redelivery: counted once
    store = ModuleStore(resources, p1, "household")
    assert await store.get(f"status:{event.to_status}") == 1
    await store.set("issued", 7)
    resolver = module.__dict__["HouseholdQuery"].certificates_issued
    assert await resolver(None, Info(Context(resources, officer(p1, a1)))) == 7
    assert await resolver(None, Info(Context(resources, officer(p2)))) == 0
