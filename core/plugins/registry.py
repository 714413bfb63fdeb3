"""The plugin manager: discovers modules through the `eiso.plugins` entry points, loads those
the operator allows, and skips (never crashes on) a broken one, saying why.

Each module is checked at discovery: it imports, its hook names are known (`check_pending`),
`eiso_module()` returns a `ModuleInfo` named like its entry point, its core API range accepts
`CORE_API_VERSION`, its other hooks answer, and the modules it depends on are loaded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from eiso.core.plugins import hookspecs
from eiso.core.plugins.declarations import (
    CORE_API_VERSION,
    PROJECT,
    DossierEvent,
    ModuleInfo,
    Procedure,
)

log = logging.getLogger("eiso.plugins")

GROUP = "eiso.plugins"
LOADED, SKIPPED = "loaded", "skipped"


@dataclasses.dataclass(frozen=True)
class PluginSource:
    """Where a plugin comes from: its entry point name, a loader, the distribution version."""

    name: str
    load: Callable[[], object]
    dist_version: str | None = None
    dist_name: str | None = None

    @classmethod
    def of(cls, name: str, plugin: object, version: str | None = None) -> PluginSource:
        """An already imported plugin object (tests, embedding)."""
        return cls(name, lambda: plugin, version)


def installed_sources() -> list[PluginSource]:
    """Every entry point of the `eiso.plugins` group in the environment."""
    found = []
    for entry in entry_points(group=GROUP):
        dist = entry.dist
        found.append(
            PluginSource(
                entry.name,
                entry.load,
                dist.version if dist else None,
                dist.metadata["Name"] if dist else None,
            )
        )
    return sorted(found, key=lambda source: source.name)


@dataclasses.dataclass
class PluginRecord:
    name: str
    version: str | None  # the distribution's version (the module's own is `info.version`)
    state: str = SKIPPED
    reason: str = ""
    info: ModuleInfo | None = None
    procedures: tuple[Procedure, ...] = ()
    query_type: Any = None
    mutation_type: Any = None
    plugin: object | None = None

    @property
    def loaded(self) -> bool:
        return self.state == LOADED


class PluginError(Exception):
    """Why one plugin cannot load; the registry records it and skips the plugin."""


class PluginRegistry:
    """The loaded modules of this process. Build it with `PluginRegistry.load(...)`."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}

    # -- discovery ------------------------------------------------------------------------

    @classmethod
    def load(
        cls, allow: Iterable[str] | None = None, sources: Iterable[PluginSource] | None = None
    ) -> PluginRegistry:
        """Load the allowed plugins among `sources` (default: the installed entry points).
        `allow=None` loads every one; otherwise only the names listed (`EISO_PLUGINS`)."""
        registry = cls()
        allowed = None if allow is None else set(allow)
        for source in installed_sources() if sources is None else sources:
            record = PluginRecord(source.name, source.dist_version)
            registry.records[source.name] = record
            if allowed is not None and source.name not in allowed:
                record.reason = "not in EISO_PLUGINS"
                continue
            try:
                registry._register(source, record)
            except PluginError as error:
                registry._skip(record, str(error))
            except Exception as error:  # noqa: BLE001 - a vendor's code: anything can happen
                registry._skip(record, f"{type(error).__name__}: {error}")
        registry._check_dependencies()
        for name in sorted(allowed or ()):
            if name not in registry.records:
                registry.records[name] = PluginRecord(name, None, reason="not installed")
        for record in registry.records.values():
            if record.state == SKIPPED and record.reason != "not in EISO_PLUGINS":
                log.warning(
                    "plugin skipped", extra={"plugin": record.name, "reason": record.reason}
                )
        return registry

    def _register(self, source: PluginSource, record: PluginRecord) -> None:
        try:
            plugin = source.load()
        except Exception as error:
            raise PluginError(f"import failed: {type(error).__name__}: {error}") from error
        try:
            self.pm.register(plugin, name=source.name)
        except pluggy.PluginValidationError as error:
            raise PluginError(f"invalid hook implementation: {error}") from error
        record.plugin = plugin
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as error:
            raise PluginError(f"unknown hook in plugin {source.name!r}: {error}") from error

        info = self._call(plugin, "eiso_module")
        if not isinstance(info, ModuleInfo):
            raise PluginError("eiso_module() must return an eiso.core.sdk.ModuleInfo")
        if info.name != source.name:
            raise PluginError(
                f"entry point name {source.name!r} differs from the module name {info.name!r}"
            )
        try:
            supported = SpecifierSet(info.core_api)
        except InvalidSpecifier as error:
            raise PluginError(f"invalid core API range {info.core_api!r}") from error
        if Version(CORE_API_VERSION) not in supported:
            raise PluginError(
                f"supports core API {info.core_api}, this core provides {CORE_API_VERSION}"
            )
        procedures = []
        for item in self._call(plugin, "eiso_procedures", default=[]) or []:
            if not isinstance(item, Procedure):
                raise PluginError("eiso_procedures() must return eiso.core.sdk.Procedure items")
            procedures.append(item)
        record.info = info  # record.version stays the distribution's, loaded or not
        record.procedures = tuple(procedures)
        record.query_type = self._call(plugin, "eiso_graphql_query")
        record.mutation_type = self._call(plugin, "eiso_graphql_mutation")
        for label, value in (("query", record.query_type), ("mutation", record.mutation_type)):
            if value is not None and not hasattr(value, "__strawberry_definition__"):
                raise PluginError(f"eiso_graphql_{label}() must return a Strawberry type")
        record.state, record.reason = LOADED, ""

    def _call(self, plugin: object, hook: str, default: Any = None, **kwargs: Any) -> Any:
        """Call one plugin's implementation of `hook`; its exception names the hook."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is plugin:
                try:
                    return impl.function(**kwargs)
                except Exception as error:
                    raise PluginError(
                        f"hook {hook} raised {type(error).__name__}: {error}"
                    ) from error
        return default

    def _skip(self, record: PluginRecord, reason: str) -> None:
        record.state, record.reason = SKIPPED, reason
        record.info, record.procedures = None, ()
        record.query_type = record.mutation_type = None
        if record.plugin is not None and self.pm.is_registered(record.plugin):
            self.pm.unregister(record.plugin)
        record.plugin = None

    def _check_dependencies(self) -> None:
        changed = True
        while changed:  # a skipped dependency can skip its dependents in turn
            changed = False
            for record in self.records.values():
                if not record.loaded or record.info is None:  # loaded: its info is known
                    continue
                missing = [d for d in record.info.depends_on if not self._is_loaded(d)]
                if missing:
                    self._skip(record, "missing dependency module " + ", ".join(missing))
                    changed = True

    def _is_loaded(self, name: str) -> bool:
        record = self.records.get(name)
        return record is not None and record.loaded

    # -- what the core asks -------------------------------------------------------------------

    @property
    def loaded(self) -> dict[str, PluginRecord]:
        return {name: r for name, r in sorted(self.records.items()) if r.loaded}

    def names(self) -> frozenset[str]:
        return frozenset(self.loaded)

    def procedure_owners(self) -> dict[str, str]:
        """procedure code → the module that owns it: when two loaded modules offer one code,
        the first by name (the one the catalogue keeps, core/dossiers/catalogue.py)."""
        owners: dict[str, str] = {}
        for name, record in self.loaded.items():
            for procedure in record.procedures:
                owners.setdefault(procedure.code, name)
        return owners

    def procedures(self, modules: Iterable[str] | None = None) -> list[Procedure]:
        wanted = self.names() if modules is None else self.names() & set(modules)
        return [p for name in sorted(wanted) for p in self.records[name].procedures]

    def subset_hook(self, hook: str, active: Iterable[str]) -> pluggy.HookCaller:
        """A hook caller limited to the `active` modules (a province's enabled ones)."""
        active = set(active)
        inactive = [r.plugin for n, r in self.loaded.items() if n not in active]
        return self.pm.subset_hook_caller(hook, remove_plugins=inactive)

    async def dispatch_dossier_event(
        self,
        event: DossierEvent,
        active: Iterable[str],
        timeout: float = 10.0,  # noqa: ASYNC109 - each module's own limit, not the call's
    ) -> dict[str, str]:
        """Run `eiso_on_dossier_event` of each active module, each isolated: one failing or
        hanging module is logged with its name and affects neither the others nor the caller.
        Returns the failures by module name."""
        return await self.dispatch("eiso_on_dossier_event", event, active, timeout)

    async def dispatch(
        self,
        hook: str,
        event: DossierEvent,
        active: Iterable[str],
        timeout: float = 10.0,  # noqa: ASYNC109 - each module's own limit, not the call's
    ) -> dict[str, str]:
        """Run `hook` (`eiso_on_dossier_event`, `eiso_sweep`) of each active module, isolated
        the same way."""
        failures: dict[str, str] = {}
        caller = self.subset_hook(hook, active)
        for impl in caller.get_hookimpls():
            name = impl.plugin_name
            try:
                result = impl.function(event=event)
                if inspect.isawaitable(result):  # pluggy has no async hooks: await them here
                    await asyncio.wait_for(result, timeout)
            except Exception as error:
                failures[name] = f"{type(error).__name__}: {error}"
                log.exception(
                    "%s of module %s failed",
                    hook,
                    name,
                    extra={"plugin": name, "event": event.to_status},
                )
        return failures

    def schedule_dossier_event(
        self, event: DossierEvent, active: Iterable[str]
    ) -> asyncio.Task[dict[str, str]]:
        """Fire after commit without making the transition wait for the modules."""
        task = asyncio.get_running_loop().create_task(
            self.dispatch_dossier_event(event, frozenset(active))
        )
        _background.add(task)
        task.add_done_callback(_background.discard)
        return task


_background: set[asyncio.Task[dict[str, str]]] = set()
