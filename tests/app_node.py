"""One eiso app node for tests/test_app_nodes.py (`uvicorn --factory tests.app_node:app`): the
production app (its own JWT authentication, the modules EISO_PLUGINS allows) plus a test module
whose dossier-event hook writes one line per delivery, `<node> <outbox id>`, to the file
EISO_TEST_HOOK_LOG names (the nodes are separate processes: a file is what they share)."""

from __future__ import annotations

import os
import pathlib

from starlette.applications import Starlette

from eiso.core.app import create_app
from eiso.core.plugins.registry import PluginRegistry, PluginSource, installed_sources
from eiso.core.sdk import DossierEvent, LocalizedText, ModuleInfo, hookimpl
from eiso.core.settings import get_settings

MODULE = "nodes_hook_log"


class DeliveryLog:
    """Hears every dossier of the provinces that enabled it (`dossier_events="all"`)."""

    def __init__(self, node: str, path: pathlib.Path) -> None:
        self.node, self.path = node, path

    @hookimpl
    def eiso_module(self) -> ModuleInfo:
        return ModuleInfo(
            name=MODULE,
            title=LocalizedText(vi="Sổ giao sự kiện (thử)", en="Delivery log (test)"),
            version="1.0",
            sector="test",
            dossier_events="all",
        )

    @hookimpl
    async def eiso_on_dossier_event(self, event: DossierEvent) -> None:
        # One short append per line: the nodes' lines do not interleave.
        with self.path.open("a") as log:
            log.write(f"{self.node} {event.data['outbox_id']}\n")


def app() -> Starlette:
    settings = get_settings()
    log = DeliveryLog(os.environ["EISO_TEST_NODE"], pathlib.Path(os.environ["EISO_TEST_HOOK_LOG"]))
    allowed = None if settings.plugins is None else [*settings.plugins, MODULE]
    sources = [*installed_sources(), PluginSource.of(MODULE, log)]
    return create_app(settings, plugins=PluginRegistry.load(allowed, sources))
