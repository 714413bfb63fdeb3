"""Module activation: switching a module on or off for a province (the rows are
tenants/modules.py's) and which modules a province has on, as every worker sees it.

Two notices of a switch, both checked against what the worker cached:
- the database's: every switch adds a history row (`module_activation_events`), so the number
  of a province's rows is a generation that moves with each committed switch, whoever made
  it, in whichever process. Readable by every process of the deployment, always.
- Redis's, the fast path: switching bumps a per-province counter in Redis and publishes the
  province's id. While a worker's subscription is up (`ActiveModules.listen`, started with
  the app), a published change drops that province's entry and requests need no round trip;
  while it is down (not started yet, Redis restarting: pub/sub is at-most-once) every request
  reads the counter (one GET) and re-reads the set when it moved.
The Redis notice only reaches the processes that share the Redis server. With `memory://`
(the embedded default: fakeredis inside each process) a switch made by the CLI or another
process is invisible there, and when Redis cannot be read no counter is known: then every
request reads the database's generation (one indexed count: on SQLite with a plain sqlite3
connection, about 30 µs; elsewhere in a province-scoped session) and the set when it moved, so
the next request sees the switch. A short TTL covers a change written without a history row
(e.g. straight into the database) and a SQLite file replaced under a running worker.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, object_session
from sqlmodel import col

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import may_switch_modules
from eiso.core.errors import DomainError, Forbidden, NotFound
from eiso.core.plugins.config_secrets import kept
from eiso.core.plugins.declarations import MODULE_NAME, MODULE_NAME_RULE
from eiso.core.plugins.registry import GROUP, PluginRegistry
from eiso.core.resources import Resources
from eiso.core.validation_vi import first_error
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one, sqlite_reader
from eiso.infra.redis_client import keep_following
from eiso.tenants.models import Province
from eiso.tenants.modules import ModuleActivation, ModuleActivationEvent
from eiso.tenants.scope import TenantScope

FALLBACK_TTL = 30.0
# What a worker's cached set was read under: ("redis", the counter) or ("db", the generation).
Version = tuple[str, object]
log = logging.getLogger("eiso.modules")
_CHANGED = "eiso.modules_changed"


# -- the activation rows --------------------------------------------------------------------


async def enabled_modules(session: AsyncSession, province_id: int) -> frozenset[str]:
    """The names of the modules this province has switched on."""
    rows = await session.execute(
        select(col(ModuleActivation.module)).where(
            col(ModuleActivation.province_id) == province_id,
            col(ModuleActivation.enabled).is_(True),
        )
    )
    return frozenset(rows.scalars())


async def set_module(
    session: AsyncSession,
    province_id: int,
    module: str,
    enabled: bool,
    by: str,
    config: dict[str, Any] | None = None,
) -> ModuleActivation:
    """Switch `module` on or off for a province, recording who and when. Idempotent."""
    row = await find_one(session, ModuleActivation, province_id=province_id, module=module)
    if row is None:
        row = ModuleActivation(
            province_id=province_id, module=module, enabled=enabled, changed_by=by
        )
        session.add(row)
    elif row.enabled == enabled and config is None:
        return row
    row.enabled, row.changed_by, row.changed_at = enabled, by, utcnow()
    if config is not None:
        row.config = config
    session.add(
        ModuleActivationEvent(
            province_id=province_id, module=module, enabled=enabled, changed_by=by
        )
    )
    await session.flush()
    return row


_SQLITE_GENERATION = "SELECT count(*) FROM module_activation_events WHERE province_id = ?"


async def switch_generation(session: AsyncSession, province_id: int) -> int:
    """How many switches the province has committed (its history rows, never deleted): moves
    with every switch, in commit order, whichever process made it."""
    rows = await session.execute(
        select(func.count())
        .select_from(ModuleActivationEvent)
        .where(col(ModuleActivationEvent.province_id) == province_id)
    )
    return int(rows.scalar_one())


def installed_modules() -> frozenset[str]:
    """The modules installed in this environment: entry points of the `eiso.plugins` group."""
    return frozenset(entry.name for entry in entry_points(group=GROUP))


def check_module_name(module: str) -> str | None:
    """Why `module` is not a well-formed module name, or None (`switch_module` checks that it
    is installed)."""
    return None if MODULE_NAME.match(module) else MODULE_NAME_RULE


# -- every worker's view --------------------------------------------------------------------


_watched: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # sync engine -> Resources
_pending: set[asyncio.Task] = set()


def watch_module_changes(resources: Resources) -> None:
    """Bump the counter after any commit that changed a module activation of this database,
    whoever wrote it (a mutation, the CLI, the demo loader): no caller can forget it."""
    _watched[resources.engine.sync_engine] = resources


@event.listens_for(ModuleActivation, "after_insert")
@event.listens_for(ModuleActivation, "after_update")
def _mark_changed(
    mapper: Mapper[ModuleActivation], connection: Connection, target: ModuleActivation
) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_CHANGED, set()).add(target.province_id)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    resources = _watched.get(session.get_bind())
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not in an event loop: the TTL covers it
    if resources is not None:
        for province_id in changed:
            task = loop.create_task(bump_version(resources, province_id))
            _pending.add(task)
            task.add_done_callback(_pending.discard)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def version_key(resources: Resources, province_id: int) -> str:
    return resources.key("modules", "version", province_id)


def changes_channel(resources: Resources) -> str:
    return resources.key("modules", "changed")


# The listening ActiveModules of this process, by channel: a switch made here reaches them
# before bump_version returns, not whenever the event loop gets to the pub/sub socket.
_listeners: dict[str, weakref.WeakSet] = {}


async def bump_version(resources: Resources, province_id: int) -> None:
    """The counter first: a worker that hears the message re-reads it and gets the new one.
    Two round trips, not one pipeline: a cluster pipeline may send both at once to different
    nodes (and redis-py refuses PUBLISH in one)."""
    channel = changes_channel(resources)
    try:
        await resources.redis.incr(version_key(resources, province_id))
        await resources.redis.publish(channel, str(province_id))
    except (RedisError, OSError) as error:
        # The switch is committed. Other workers read the counter per request while Redis is
        # down and, finding it unreadable, read the database's generation instead.
        log.warning("module switch not announced, Redis unavailable: %s", error)
    for active in list(_listeners.get(channel, ())):
        active._invalidate(province_id)


class ActiveModules:
    """A worker's view of each province's enabled modules, refreshed through the counter."""

    def __init__(self, registry: PluginRegistry, ttl: float = FALLBACK_TTL) -> None:
        # Call watch_module_changes(resources) once per Resources (the app does at start-up).
        self.registry, self.ttl = registry, ttl
        # province id -> (the version read: Redis's counter or the database's generation,
        # when, the enabled modules)
        self._cache: dict[int, tuple[Version, float, frozenset[str]]] = {}
        self.listening = False  # a subscription delivers changes: cached sets need no GET
        # Bumped at every invalidation: a read that raced with one is not cached.
        self._epoch = 0
        self._warned_at = float("-inf")  # when Redis was last found unreadable
        self._readers: dict[str, sqlite3.Connection | None] = {}  # database URL -> its reader

    def _invalidate(self, province_id: int | None = None) -> None:
        self._epoch += 1
        if province_id is None:
            self._cache.clear()
        else:
            self._cache.pop(province_id, None)

    async def listen(self, resources: Resources, retry: float = 1.0) -> None:
        """Follow the changes channel until cancelled, resubscribing after a Redis failure.
        Polls with a timeout and checks for cancellation itself: redis-py may swallow a
        cancellation that arrives during a blocking read, and the app's shutdown waits for this."""
        channel = changes_channel(resources)
        local = _listeners.setdefault(channel, weakref.WeakSet())

        def heard(message: dict) -> None:
            if message["type"] == "subscribe":  # confirmed: no change is missed
                self._invalidate()  # whatever was cached may predate it
                self.listening = True
                local.add(self)
            elif message["type"] == "message":
                self._on_message(message)

        def lost() -> None:
            self.listening = False
            local.discard(self)

        warning = "module changes channel lost, reading the counter per request"
        await keep_following(resources.redis, channel, heard, lost, warning, retry)

    def _on_message(self, message: dict) -> None:
        try:
            province_id = int(message["data"])
        except (KeyError, TypeError, ValueError):
            self._invalidate()
            return
        self._invalidate(province_id)

    async def for_principal(
        self, resources: Resources, principal: Principal | None
    ) -> frozenset[str]:
        """Anonymous callers see the core only; callers above any province (the nation) see
        every loaded module; everyone else sees what their province enabled."""
        if principal is None:
            return frozenset()
        if principal.province_id is None:
            return self.registry.names()
        return await self.for_province(resources, principal.province_id)

    async def for_province(self, resources: Resources, province_id: int) -> frozenset[str]:
        cached = self._cache.get(province_id)
        now = time.monotonic()
        fresh = cached is not None and now - cached[1] < self.ttl
        # memory:// is this process's own: other processes' switches never reach it.
        shared = not resources.settings.is_memory_redis
        if shared and self.listening and cached and fresh:
            return cached[2]  # a change would have dropped the entry
        epoch = self._epoch
        version: Version | None = None
        if shared:
            version = await self._redis_version(resources, province_id, now)
        if version is not None and cached and fresh and cached[0] == version:
            return cached[2]
        if version is None:  # no shared counter: the database's generation, per request
            version = ("db", await self.generation(resources, province_id))
            if cached and fresh and cached[0] == version:
                return cached[2]
        async with resources.read_session(TenantScope.province(province_id)) as session:
            names = await enabled_modules(session, province_id)
        active = self.registry.names() & names
        if epoch != self._epoch:
            return active  # a change arrived meanwhile: this may predate it, don't keep it
        if len(self._cache) > 10_000:  # 34 provinces today; bound it anyway
            self._cache.clear()
        self._cache[province_id] = (version, now, active)
        return active

    async def generation(self, resources: Resources, province_id: int) -> int:
        """The province's switch generation. On SQLite straight from the file on this thread
        (microseconds: a session would open a connection and a thread per request)."""
        url = resources.settings.database_url
        if url not in self._readers:
            self._readers[url] = sqlite_reader(url)
        reader = self._readers[url]
        if reader is None:
            async with resources.read_session(TenantScope.province(province_id)) as session:
                return await switch_generation(session, province_id)
        return int(reader.execute(_SQLITE_GENERATION, (province_id,)).fetchone()[0])

    async def _redis_version(
        self, resources: Resources, province_id: int, now: float
    ) -> Version | None:
        """The shared counter, or None when Redis cannot be read (then the database tells)."""
        try:
            return ("redis", await resources.redis.get(version_key(resources, province_id)))
        except (RedisError, OSError):
            if now - self._warned_at > self.ttl:  # once per TTL, not once per request
                self._warned_at = now
                log.warning("module version unreadable, reading the database's", exc_info=True)
            return None


async def switch_module(
    resources: Resources,
    registry: PluginRegistry,
    principal: Principal | None,
    province_id: int,
    module: str,
    enabled: bool,
    config: dict[str, Any] | None = None,
) -> frozenset[str]:
    """Enable or disable `module` for a province (its data is never deleted); every worker
    serves the new schema from its next request. Returns the province's enabled modules."""
    if principal is None:
        raise Forbidden(
            "Sign in to change modules", "Hãy đăng nhập để thay đổi mô-đun", code="UNAUTHENTICATED"
        )
    if not may_switch_modules(principal, province_id):
        raise Forbidden(
            "Only the province's administrator (or its client with modules:admin) may switch"
            " its modules",
            "Chỉ quản trị viên của tỉnh (hoặc ứng dụng tích hợp của tỉnh có phạm vi"
            " modules:admin) mới được bật/tắt mô-đun",
        )
    if module not in registry.names():
        raise DomainError(
            f"Module {module!r} is not installed",
            f"Mô-đun {module!r} chưa được cài đặt",
            code="UNKNOWN_MODULE",
            field="module",
        )
    async with resources.session(TenantScope.province(province_id)) as session:
        if await session.get(Province, province_id) is None:
            raise NotFound(
                f"Province {province_id} does not exist",
                f"Không tồn tại tỉnh {province_id}",
                field="provinceId",
            )
        if config is not None:
            stored = await find_one(
                session, ModuleActivation, province_id=province_id, module=module
            )
            config = _kept_secrets(registry, module, config, stored.config if stored else {})
        config = _validated_config(registry, module, config)
        await set_module(session, province_id, module, enabled, by=principal.subject, config=config)
        await session.commit()
        names = await enabled_modules(session, province_id)
    await bump_version(resources, province_id)
    return registry.names() & names


def config_schema(registry: PluginRegistry, module: str) -> dict[str, Any] | None:
    """The JSON schema of the module's configuration model (None: not loaded, or no model)."""
    record = registry.records.get(module)
    model = record.info.config_model if record and record.info else None
    return model.model_json_schema() if model is not None else None


def _kept_secrets(
    registry: PluginRegistry, module: str, config: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """A secret sent back as the mask the API shows keeps the stored one."""
    schema = config_schema(registry, module)
    if schema is None or not isinstance(config, dict):
        return config
    return kept(config, stored, schema)


def _validated_config(
    registry: PluginRegistry, module: str, config: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The module's own pydantic model checks a province's configuration before it is stored."""
    if config is None:
        return None
    info = registry.records[module].info
    assert info is not None  # the caller checked the module is loaded
    model = info.config_model
    if model is None:
        if config:
            raise DomainError(
                f"Module {module!r} takes no configuration",
                f"Mô-đun {module!r} không có cấu hình",
                code="INVALID_CONFIG",
                field="config",
            )
        return {}
    try:
        model.model_validate(config)
    except ValidationError as error:
        field, message, message_vi = first_error(error, "config")
        raise DomainError(
            f"{field}: {message}",
            f"Cấu hình không hợp lệ tại {field}: {message_vi}",
            code="INVALID_CONFIG",
            field=field,
        ) from None
    return dict(config)
