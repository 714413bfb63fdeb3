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
