"""pytest fixtures for module authors (a design contract name, `eiso.core.testing`: the
`pytest11` entry point of eiso's distribution names this module, so every test run has them).

The fixtures live in `eiso.core.plugins.testing` (see its docstring for an example); pytest
collects them here, where they are imported. Like the app factory they build an app, so this
module belongs to the composition root: nothing in eiso imports it.
"""

from eiso.core.plugins.testing import (
    KitDossier,
    KitError,
    TestAgency,
    TestProvince,
    TokenIssuer,
    data_of,
    eiso_app,
    eiso_client,
    eiso_events,
    eiso_plugins,
    eiso_province,
    eiso_registry,
    eiso_resources,
    eiso_tokens,
    principal_for,
)

__all__ = [
    "KitDossier",
    "KitError",
    "TestAgency",
    "TestProvince",
    "TokenIssuer",
    "data_of",
    "eiso_app",
    "eiso_client",
    "eiso_events",
    "eiso_plugins",
    "eiso_province",
    "eiso_registry",
    "eiso_resources",
    "eiso_tokens",
    "principal_for",
]
