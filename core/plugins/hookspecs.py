"""The hooks a module may implement. Never remove or rename an argument: deprecate it
(`warn_on_impl_args`), so modules built against an older core keep loading."""

from __future__ import annotations

import pluggy

from eiso.core.plugins.declarations import PROJECT, DossierEvent, ModuleInfo, Procedure

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def eiso_module() -> ModuleInfo:
    """Describe the module: name, titles, version, sector, supported core API, dependencies."""
    raise NotImplementedError  # a specification: pluggy calls the modules' implementations


@hookspec
def eiso_procedures() -> list[Procedure]:
    """The procedures the module defines, with steps and the sector data model."""
    raise NotImplementedError


@hookspec(firstresult=True)
def eiso_graphql_query() -> type | None:
    """A Strawberry type (the class); each of its fields joins `Query` as a root field prefixed
    with the module's camel-case name (`<moduleName><FieldName>`), for provinces that enabled
    the module (and, deprecated, the namespaced `Query.<moduleName>`)."""


@hookspec(firstresult=True)
def eiso_graphql_mutation() -> type | None:
    """A Strawberry type (the class); each of its fields joins `Mutation` the same way
    (`<moduleName><FieldName>`)."""


@hookspec
def eiso_on_dossier_event(event: DossierEvent) -> None:
    """Called after each committed dossier transition, for the modules active in its province.
    May be `async def`. A failure is logged with the module's name and never reaches the caller."""


@hookspec
def eiso_sweep(event: DossierEvent) -> None:
    """Called now and then for each province that has the module on, by the worker that runs
    the module's `eiso_on_dossier_event` (so only a module implementing that hook is swept):
    every `EISO_EVENTS_SWEEP_SECONDS` (60) and on each `eiso events hooks --once`. For work the
    module left unfinished that no new event would pick up (a message a dead worker claimed).
    `event` names the province only (`dossier_id` 0, `data["action"]` "sweep"): pass it to
    `module_store` and `module_config` as in the event hook. May be `async def`; a failure is
    logged with the module's name. Since core API 1.6."""
