"""A test module with a table of its own (`ModuleInfo.migrations`): its notes, per province
and agency, created by its own Alembic migrations (tests/test_module_tables.py)."""

from __future__ import annotations

from eiso.core.sdk import LocalizedText, ModuleInfo, hookimpl

NAME = "table_probe"
TABLE = "table_probe_notes"


class TableProbe:
    """The module object (registered with `PluginSource.of`)."""

    @hookimpl
    def eiso_module(self) -> ModuleInfo:
        return ModuleInfo(
            name=NAME,
            title=LocalizedText(vi="Mô-đun có bảng riêng", en="Module with a table"),
            version="1.0",
            sector="test",
            core_api=">=1.4,<2",
            migrations="tests.module_tables:migrations",
        )
