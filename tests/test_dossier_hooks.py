"""`eiso_on_dossier_event`: after commit, once per event and hook, only for provinces that
enabled the module, with several workers competing, a raising hook isolated, and Redis down
then up losing and duplicating nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlmodel import select

from eiso.core.dossiers import catalogue, engine, service
from eiso.core.dossiers.hooks import HookWorkers
from eiso.core.dossiers.statuses import Status
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.resources import Resources
from eiso.core.sdk import LocalizedText, ModuleInfo, hookimpl
from eiso.infra.clock import utcnow
from eiso.infra.outbox import OutboxEvent
from eiso.infra.relay import Relay
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import REGISTRY, enable_test_module, receive


class HookModule:
    """A module recording the events its hook gets; `fail` makes the hook raise. It has no
    procedure of its own, so it asks for every dossier (`dossier_events="all"`) unless
    `events="own"`."""

    def __init__(self, name: str, fail: bool = False, events: str = "all") -> None:
        self.name, self.fail, self.events = name, fail, events
        self.calls: list = []
        self.stuck: asyncio.Event | None = None  # set: the hook hangs until the worker dies
        self.entered = asyncio.Event()

    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name=self.name,
            title=LocalizedText(vi="Mô-đun nghe sự kiện", en="Listener"),
            version="1.0",
            sector="test",
            dossier_events=self.events,
        )

    @hookimpl
    async def eiso_on_dossier_event(self, event):
        if self.fail:
            raise RuntimeError("mô-đun hỏng")
        if self.stuck is not None:
            self.entered.set()
            await self.stuck.wait()
        self.calls.append(event)


def modules(*plugins: HookModule) -> PluginRegistry:
    return PluginRegistry.load(None, [PluginSource.of(p.name, p) for p in plugins])


def listener(fail: bool = False) -> HookModule:
    return HookModule("hooks_" + unique_code().lower(), fail)


async def agency_with(
    resources, enabled: list[str], registry: PluginRegistry = REGISTRY, code: str | None = None
):
    """A fresh agency (in a fresh province enabling `enabled`, and the test procedure's module)
    that adopted `code` of `registry` (default: the test procedure)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Nghe Sự Kiện")
        agency = await ensure_agency(
            session, province, unique_code("A"), "UBND xã Hòa Bình", AgencyKind.commune
        )
        for module in enabled:
            await set_module(session, province.id, module, True, by="test")
        await enable_test_module(session, province.id)
    async with (
        resources.session(TenantScope.agencies([agency.id], [agency.province_id])) as session,
        session.begin(),
    ):
        await catalogue.adopt(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            procedure_code=code or next(iter(REGISTRY.procedures())).code,
            actor="leader-1",
        )
    return agency


async def transitions(resources, agency, count: int = 1) -> list[str]:
    """`count` receipts plus an assignment each; the dossier codes. Received now: the
    assignment runs on the real clock, which a fixed receipt date would leave overdue."""
    made = []
    for _ in range(count):
        received = await receive(resources, agency, now=utcnow())
        await service.act(
            resources,
            TenantScope.agencies([agency.id], [agency.province_id]),
            received.dossier.id,
            received.dossier.version,
            engine.assign,
            actor="officer-1",
            assignee="officer-2",
        )
        made.append(received.dossier.code)
    return made


# How long `until` waits for its condition before the test fails.
UNTIL_SECONDS = 15.0


async def until(condition) -> None:
    deadline = asyncio.get_running_loop().time() + UNTIL_SECONDS
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def relay(resources) -> Relay:
    return Relay(resources.sessionmaker, resources.redis, resources.key)


async def test_hook_runs_once_and_only_for_provinces_that_enabled_it(resources):
    module = listener()
    registry = modules(module)
    mine = await agency_with(resources, [module.name])
    other = await agency_with(resources, [])
    [code] = await transitions(resources, mine)
    await transitions(resources, other)
    await relay(resources).drain()

    delivered = await HookWorkers(resources, registry).run_once()
    assert delivered == {module.name: 2}
    assert [(e.dossier_code, e.to_status, e.data["action"]) for e in module.calls] == [
        (code, Status.received, "received"),
        (code, Status.in_progress, "assigned"),
    ]
    first = module.calls[0]
    assert (first.province_id, first.agency_id, first.from_status) == (
        mine.province_id,
        mine.id,
        None,
    )
    assert first.actor == "officer-1" and first.at.tzinfo is not None
    # A second pass (a restarted worker) delivers nothing again.
    assert await HookWorkers(resources, registry).run_once() == {module.name: 0}
    assert len(module.calls) == 2


async def test_a_hook_hears_its_own_procedures_unless_it_asks_for_all(resources):
    """The test procedure belongs to `test_proc`: a module left at "own" (the default) hears
    none of its dossiers, one asking for "all" hears them; both are on in the province."""
    own = HookModule("hooks_" + unique_code().lower(), events="own")
    everything = listener()
    registry = modules(own, everything)
    agency = await agency_with(resources, [own.name, everything.name])
    [code] = await transitions(resources, agency)
    await relay(resources).drain()

    assert await HookWorkers(resources, registry).run_once() == {own.name: 0, everything.name: 2}
    assert own.calls == []
    assert {(e.dossier_code, e.module) for e in everything.calls} == {(code, None)}


async def test_a_raising_hook_is_logged_with_its_name_and_others_still_run(resources, caplog):
    broken, sound = listener(fail=True), listener()
    registry = modules(broken, sound)
    agency = await agency_with(resources, [broken.name, sound.name])
    await transitions(resources, agency)
    await relay(resources).drain()
    with caplog.at_level(logging.ERROR, logger="eiso.plugins"):
        await HookWorkers(resources, registry).run_once()
    assert len(sound.calls) == 2
    failures = [r for r in caplog.records if getattr(r, "plugin", None) == broken.name]
    assert len(failures) == 2 and broken.name in failures[0].getMessage()
    assert "mô-đun hỏng" in failures[0].exc_text


async def test_workers_competing_deliver_each_event_once(resources):
    module = listener()
    registry = modules(module)
    agency = await agency_with(resources, [module.name])
    second = Resources.open(resources.settings)  # another worker's connections, same Redis
    workers = [
        HookWorkers(res, registry, lease_ttl=0.6, block_ms=100) for res in (resources, second)
    ]
    try:
        for worker in workers:
            worker.start()
        await transitions(resources, agency, 3)
        await relay(resources).drain()
        await until(lambda: len(module.calls) >= 6)
        # The first holder "crashes": it stops without releasing its lease.
        holder = next(w for w in workers if w.runners[0].lease.held)
        for runner in holder.runners:
            runner.lease.release_quietly = _never_released
        await holder.stop()
        await transitions(resources, agency, 2)
        await relay(resources).drain()
        await until(lambda: len(module.calls) >= 10)  # the other took over after the ttl
        await asyncio.sleep(1.0)  # time enough for a duplicate to show up
    finally:
        for worker in workers:
            await worker.stop()
        await second.close()
    ids = [e.data["outbox_id"] for e in module.calls]
    assert len(ids) == 10 and len(set(ids)) == 10


async def _never_released(*args, **kwargs) -> None:
    return None


class SweptModule(HookModule):
    """A listener that also records the provinces the worker's periodic sweep hands it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.swept: list[int] = []

    @hookimpl
    async def eiso_sweep(self, event):
        assert event.dossier_id == 0 and event.action == "sweep"
        self.swept.append(event.province_id)


async def test_the_hook_worker_sweeps_each_province_with_the_module_on_now_and_then(
    resources, monkeypatch
):
    """No event needed: the lease holder's loop calls `eiso_sweep` again and again (every
    `events_sweep_seconds`), for the provinces that have the module on only."""
    module = SweptModule("hooks_" + unique_code().lower())
    registry = modules(module)
    on = await agency_with(resources, [module.name])
    off = await agency_with(resources, [])
    monkeypatch.setattr(resources.settings, "events_sweep_seconds", 0.05)
    worker = HookWorkers(resources, registry, lease_ttl=0.6, block_ms=100)
    worker.start()
    try:
        await until(lambda: module.swept.count(on.province_id) >= 3)
    finally:
        await worker.stop()
    assert off.province_id not in module.swept and not module.calls


async def test_a_handler_killed_mid_event_gets_it_again(resources):
    """At-least-once to a crashing handler: the worker dies inside the hook, the next holder
    delivers that event again."""
    module = listener()
    registry = modules(module)
    agency = await agency_with(resources, [module.name])
    await transitions(resources, agency)
    await relay(resources).drain()
    dying = HookWorkers(resources, registry, lease_ttl=0.6, block_ms=100)
    dying.runners[0].lease.release_quietly = _never_released
    module.stuck = asyncio.Event()
    dying.start()
    await asyncio.wait_for(module.entered.wait(), 10)
    await dying.stop()  # killed inside the hook
    module.stuck = None
    assert await HookWorkers(resources, registry).run_once(wait=5) == {module.name: 2}
    assert [e.data["action"] for e in module.calls] == ["received", "assigned"]


class SwitchableRedis:
    """The real client, or (switched down) one whose every call fails like a dead server."""

    def __init__(self, client) -> None:
        self.client, self.down = client, False

    def __getattr__(self, name):
        if self.down:

            def refuse(*args, **kwargs):
                raise RedisConnectionError("Redis unreachable (test)")

            return refuse
        return getattr(self.client, name)


async def test_redis_down_then_up_each_hook_gets_every_event_once(resources):
    from eiso.core.app import create_app

    first, second = listener(), listener()
    registry = modules(first, second)
    agency = await agency_with(resources, [first.name, second.name])
    switch, streams = SwitchableRedis(resources.redis), SwitchableRedis(resources.stream_redis)
    switch.down = streams.down = True
    flaky = dataclasses.replace(resources, redis=switch, stream_redis=streams)
    settings = resources.settings.model_copy(
        update={"events_relay": True, "events_hooks": True, "events_relay_interval": 0.05}
    )
    app = create_app(settings, flaky, plugins=registry)
    async with app.router.lifespan_context(app):
        codes = await transitions(resources, agency, 3)  # they commit with Redis down
        await asyncio.sleep(0.5)
        async with resources.session(TenantScope.nation()) as session:
            waiting = (
                (
                    await session.execute(
                        select(OutboxEvent).where(
                            OutboxEvent.agency_id == agency.id, OutboxEvent.sent_at.is_(None)
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert len(waiting) == 6 and first.calls == [] == second.calls
        switch.down = streams.down = False
        await until(lambda: len(first.calls) >= 6 and len(second.calls) >= 6)
        await asyncio.sleep(0.5)
    for module in (first, second):
        assert sorted(e.dossier_code for e in module.calls) == sorted(codes * 2)
        assert len({e.data["outbox_id"] for e in module.calls}) == 6


@pytest.mark.slow
@pytest.mark.only_backend("postgresql+redis")
async def test_eiso_events_hooks_once_delivers_what_waits(resources):
    """The command line, as an operator runs it with the hooks outside the web workers."""
    import os
    import sys
    from pathlib import Path

    settings = resources.settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EISO_")},
        "EISO_DATABASE_URL": settings.database_url,
        "EISO_REDIS_URL": settings.redis_url,
        "EISO_REDIS_PREFIX": settings.redis_prefix,
        "EISO_PLUGINS": "vendor_demo",
        "EISO_LOG_JSON": "false",
    }
    command = [str(Path(sys.executable).parent / "eiso"), "events", "hooks", "--once"]

    async def run() -> str:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 180)
        assert process.returncode == 0, err.decode()
        return err.decode()

    agency = await agency_with(resources, ["vendor_demo"])
    await run()  # whatever earlier tests left for vendor_demo
    await transitions(resources, agency)
    await relay(resources).drain()
    assert "eiso: vendor_demo: 2 event(s) delivered" in await run()
