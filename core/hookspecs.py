"""The hooks a module may implement (a design contract name, `eiso.core.hookspecs`): the specs
live in `eiso.core.plugins.hookspecs`, which the plugin registry loads; this module names them
for module authors and their tools."""

from eiso.core.plugins.hookspecs import (
    eiso_graphql_mutation,
    eiso_graphql_query,
    eiso_module,
    eiso_on_dossier_event,
    eiso_procedures,
    hookspec,
)

__all__ = [
    "eiso_graphql_mutation",
    "eiso_graphql_query",
    "eiso_module",
    "eiso_on_dossier_event",
    "eiso_procedures",
    "hookspec",
]
