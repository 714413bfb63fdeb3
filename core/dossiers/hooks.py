"""Delivery of committed dossier transitions to the modules' `eiso_on_dossier_event` hooks.

Each loaded module that implements the hook has its own named stream reader (`hook:<module>`),
with its cursor and deduplication in Redis (infra/stream_reader.py). The hook is called after
the transition committed (the event comes from the transactional outbox through the relay), in
a background task, so it never slows the transition down; and only for events of provinces
that have the module enabled when the event is delivered, and only events of dossiers of the
module's own procedures unless its `ModuleInfo.dossier_events` is "all". One exception: an
event of a dossier of the module's own procedure (the catalogue's owner), in a province that
has switched the module off, is kept (a Redis sorted set per reader and province) and handed
to the hook, in order and before any newer event of that province, once the province switches
it on again.
Receipts of its procedures are refused while it is off (MODULE_DISABLED), so these are the
moves of dossiers already in flight. Events of other modules' procedures while it is off are
not kept: a module hears the provinces that have it on.

Exactly once across several workers: a per-reader Redis lease (infra/lease.py). Any number of
workers start a runner for each module; the one holding `hook:<module>`'s lease reads and calls
the hook, the others wait to take over. We chose a lease over consumer groups (XREADGROUP +
XACK + XAUTOCLAIM) because
- a hook sees the events of a dossier in the order they happened (a consumer group spreads
  consecutive events over workers, which then run them concurrently and out of order);
- the relay can put one outbox row on the stream twice (a crash between XADD and marking it
  sent): with one reader a cursor plus a seen-set drops the copy, while two consumers could
  each get one copy at the same moment;
- the cursor moves in one Lua script that first checks the lease is still ours, so a worker
  that stalled past its lease cannot skip an event for the next holder.
The price: one module's hook runs on one worker at a time (ample for notification-style hooks;
a module needing more can queue work itself). A worker that dies holding a lease stalls that
module's delivery for at most the lease ttl (15 s by default), then another worker resumes from
the stored cursor.

Guarantees: an event whose hook was running when its worker died (or lost the lease) is
delivered again to the next holder (at-least-once to a crashing handler); otherwise each hook
gets each event once. A hook that raises or hangs is logged with its module's name and counts
as delivered; the other modules' hooks are not affected (each has its own reader).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from typing import TypedDict, Unpack, cast

import orjson
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlmodel import col

from eiso.core.dossiers.engine import TOPIC
from eiso.core.plugins.activation import ActiveModules
from eiso.core.plugins.declarations import DossierEvent
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.plugins.storage import delivering_with
from eiso.core.resources import Resources
from eiso.infra.cancellation import raise_if_cancelled, stop_tasks
from eiso.infra.clock import utcnow
from eiso.infra.lease import Lease
from eiso.infra.stream_reader import LeaseLost, StreamEvent, StreamReader
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope

log = logging.getLogger("eiso.events")

HOOK = "eiso_on_dossier_event"


def dossier_event(event: StreamEvent, registry: PluginRegistry) -> DossierEvent:
    """The SDK's event from a stream entry (the outbox payload of engine._record)."""
    payload = event.payload
    # The catalogue's owner: with two modules offering one code, the one it kept.
    owners = registry.procedure_owners()
    return DossierEvent(
        province_id=payload["province_id"],
        agency_id=payload["agency_id"],
        dossier_id=payload["dossier_id"],
        dossier_code=payload["dossier_code"],
        procedure_code=payload["procedure_code"],
        module=owners.get(payload["procedure_code"]),
        from_status=payload.get("from_status"),
        to_status=payload["to_status"],
        actor=payload["actor"],
        at=dt.datetime.fromisoformat(payload["at"]),
        data={"action": payload.get("action"), "outbox_id": event.outbox_id},
    )


def hook_modules(registry: PluginRegistry) -> list[str]:
    """The loaded modules that implement `eiso_on_dossier_event`."""
    impls = getattr(registry.pm.hook, HOOK).get_hookimpls()
    names = {registry.pm.get_name(impl.plugin) for impl in impls}
    return sorted(registry.names() & names)


class HookRunner:
    """One module's hook reader, run by every worker, delivering on the lease holder only."""

    def __init__(
        self,
        resources: Resources,
        registry: PluginRegistry,
        active: ActiveModules,
        module: str,
        *,
        lease_ttl: float = 15.0,
        block_ms: int = 1000,
        retry_after: float = 1.0,
    ) -> None:
        self.resources, self.registry, self.active, self.module = (
            resources,
            registry,
            active,
            module,
        )
        self.name = f"hook:{module}"
        self.lease = Lease(resources.redis, resources.key("events", "lease", self.name), lease_ttl)
        self.reader = StreamReader(
            resources.stream_redis, resources.key, self.name, [TOPIC], lease=self.lease
        )
        # A blocking read must end well before the lease needs renewing by the reader itself.
        self.block_ms = min(block_ms, int(lease_ttl * 1000 / 3))
        self.retry_after = retry_after
        info = registry.records[module].info
        # "own" (the default): events of other modules' procedures are read and passed over.
        self.hears_all = info is not None and info.dossier_events == "all"
        self.called = 0  # events handed to the hook by this runner
        impls = registry.pm.hook.eiso_sweep.get_hookimpls()
        self.sweeps = module in {registry.pm.get_name(impl.plugin) for impl in impls}
        self.swept_at: float | None = None  # the loop's time of the last sweep

    async def deliver(self, event: StreamEvent) -> None:
        try:
            payload = dossier_event(event, self.registry)
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            # A malformed entry must not block the stream for ever; say so and move on.
            log.error(
                "malformed dossier event %s skipped: %s",
                event.outbox_id,
                error,
                extra={"plugin": self.module},
            )
            return
        if payload.module != self.module and not self.hears_all:
            return  # another module's dossier: not asked for
        # Enablement is read at delivery (one Redis GET, cached per province); a database
        # error here raises before the hook runs, and the event is retried.
        enabled = await self.active.for_province(self.resources, payload.province_id)
        if self.module in enabled:
            await self._deliver_deferred(payload.province_id)  # the older ones first
            await self._call(payload)
        elif payload.module == self.module:
            # A dossier of the module's own procedure moved while the province has the module
            # off (received before it was switched off): kept until it is on again.
            await self.resources.redis.zadd(
                self._deferred_key(payload.province_id),
                {orjson.dumps(dataclasses.asdict(event)): event.outbox_id},
            )
            await self.resources.redis.sadd(self._deferred_key(), payload.province_id)

    async def _call(self, payload: DossierEvent) -> None:
        self.called += 1
        with delivering_with(self.resources):  # the hook's module_store(event, ...)
            await self.registry.dispatch_dossier_event(payload, {self.module})

    def _deferred_key(self, province_id: int | None = None) -> str:
        """The provinces with events kept for the hook, or one province's (by outbox id)."""
        parts = ("events", "deferred", self.name)
        return self.resources.key(*parts, *(() if province_id is None else (province_id,)))

    async def _deliver_deferred(self, province_id: int) -> None:
        """Hand the hook the events kept while its module was off here, in order; each is
        dropped once delivered (a crash in between delivers it again: at least once)."""
        redis = self.resources.redis
        if not await redis.sismember(self._deferred_key(), str(province_id)):
            return
        key = self._deferred_key(province_id)
        for member in cast("list[bytes]", await redis.zrange(key, 0, -1)):
            if not self.lease.held:
                raise LeaseLost(self.name)
            await self._call(dossier_event(StreamEvent(**orjson.loads(member)), self.registry))
            await redis.zrem(key, member)
        await redis.srem(self._deferred_key(), province_id)

    async def deliver_deferred(self) -> None:
        """The kept events of every province that has the module on again (each pass)."""
        for province in await self.resources.redis.smembers(self._deferred_key()):
            province_id = int(province)
            if self.module in await self.active.for_province(self.resources, province_id):
                await self._deliver_deferred(province_id)

    async def sweep(self) -> None:
        """The module's `eiso_sweep` for each province that has it on (core/plugins/hookspecs.py):
        what it left unfinished goes on though no new event of the province arrives."""
        self.swept_at = asyncio.get_running_loop().time()
        if not self.sweeps:
            return
        for province_id in await _enabled_in(self.resources, self.module):
            if not self.lease.held:
                raise LeaseLost(self.name)
            with delivering_with(self.resources):
                await self.registry.dispatch(
                    "eiso_sweep", province_event(province_id), {self.module}
                )

    async def _sweep_if_due(self) -> None:
        every = self.resources.settings.events_sweep_seconds
        if self.swept_at is None or asyncio.get_running_loop().time() - self.swept_at >= every:
            await self.sweep()

    async def run_once(self, wait: float = 0.0) -> int:
        """Deliver what is waiting, under the lease (taken for this pass, waiting up to `wait`
        seconds for a running worker to let it go); how many events the hook got (those of
        other provinces are read and passed over)."""
        deadline = asyncio.get_running_loop().time() + wait
        while not await self.lease.acquire():
            if asyncio.get_running_loop().time() >= deadline:
                raise LeaseLost(f"{self.name}: another worker holds the lease")
            await asyncio.sleep(min(0.2, self.lease.ttl / 3))
        keeper = asyncio.create_task(self.lease.keep())
        before = self.called
        try:
            await self.reader.read_all(self.deliver)
            await self.deliver_deferred()
            await self.sweep()
            return self.called - before
        finally:
            keeper.cancel()
            await self.lease.release_quietly()

    async def run(self) -> None:
        """For ever: take the lease when it is free, deliver while holding it."""
        try:
            while True:
                raise_if_cancelled()
                try:
                    if await self.lease.acquire():
                        # Returns only once the lease is lost: pause before trying again.
                        await self._deliver_while_held()
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError) as error:
                    raise_if_cancelled()
                    log.warning("hook reader %s: Redis unavailable: %s", self.name, error)
                except Exception:  # e.g. the database down: the event is retried
                    raise_if_cancelled()
                    log.exception("hook reader %s failed, retrying", self.name)
                await asyncio.sleep(self._pause())
        finally:
            await self.lease.release_quietly()

    def _pause(self) -> float:
        return min(self.retry_after, self.lease.ttl / 3)

    async def _deliver_while_held(self) -> None:
        keeper = asyncio.create_task(self.lease.keep())
        try:
            while self.lease.held and not keeper.done():
                raise_if_cancelled()
                await self.reader.read(self.deliver, block_ms=self.block_ms)
                await self.deliver_deferred()
                await self._sweep_if_due()
        except LeaseLost:
            log.warning("hook reader %s: lease lost, another worker goes on", self.name)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper


async def _enabled_in(resources: Resources, module: str) -> list[int]:
    """The provinces that have the module on."""
    async with resources.session(TenantScope.nation()) as session:
        found = await session.execute(
            select(col(ModuleActivation.province_id))
            .where(col(ModuleActivation.module) == module, col(ModuleActivation.enabled))
            .order_by(col(ModuleActivation.province_id))
        )
        return list(found.scalars())


def province_event(province_id: int) -> DossierEvent:
    """What `eiso_sweep` gets: the province, no dossier (module_store and module_config read
    the province only)."""
    return DossierEvent(
        province_id=province_id,
        agency_id=0,
        dossier_id=0,
        dossier_code="",
        procedure_code="",
        to_status=0,
        actor="sweep",
        at=utcnow(),
        data={"action": "sweep"},
    )


class RunnerOptions(TypedDict, total=False):
    """`HookRunner`'s tuning, passed on by `HookWorkers` (the tests shorten the lease)."""

    lease_ttl: float
    block_ms: int
    retry_after: float


class HookWorkers:
    """Every hook runner of one process (the app lifespan, `eiso events hooks`)."""

    def __init__(
        self,
        resources: Resources,
        registry: PluginRegistry,
        active: ActiveModules | None = None,
        **options: Unpack[RunnerOptions],
    ) -> None:
        active = active or ActiveModules(registry)
        self.runners = [
            HookRunner(resources, registry, active, module, **options)
            for module in hook_modules(registry)
        ]
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(r.run(), name=r.name) for r in self.runners]

    async def run_once(self, wait: float = 0.0) -> dict[str, int]:
        return {r.module: await r.run_once(wait) for r in self.runners}

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []
