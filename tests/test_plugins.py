"""Discovery and the faulty-plugin cases: each is reported with its reason and skipped;
loading never raises."""

from __future__ import annotations

import logging
import re

import strawberry
from typer.testing import CliRunner

from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import CORE_API_VERSION, DossierEvent, LocalizedText, ModuleInfo, hookimpl


def info(name: str, **extra) -> ModuleInfo:
    return ModuleInfo(
        name=name,
        title=LocalizedText(vi="Mô-đun thử", en="Test module"),
        version="1.2.3",
        sector="test",
        **extra,
    )


class Good:
    def __init__(self, name: str = "good", **extra) -> None:
        self.name, self.extra = name, extra

    @hookimpl
    def eiso_module(self):
        return info(self.name, **self.extra)


def load(*plugins, allow=None) -> PluginRegistry:
    return PluginRegistry.load(allow, [PluginSource.of(p.name, p) for p in plugins])


def test_a_good_plugin_loads():
    registry = load(Good())
    record = registry.records["good"]
    # `version` is the distribution's (none here: an object handed over directly)
    assert (record.state, record.version, record.reason) == ("loaded", None, "")
    assert record.info is not None and record.info.version == "1.2.3"


def test_import_failure_is_reported_and_skipped():
    def broken():
        raise ImportError("No module named 'missing_lib'")

    registry = PluginRegistry.load(
        None, [PluginSource("broken", broken), PluginSource.of("good", Good())]
    )
    assert registry.records["broken"].state == "skipped"
    assert "import failed" in registry.records["broken"].reason
    assert "missing_lib" in registry.records["broken"].reason
    assert registry.names() == {"good"}


def test_unknown_hook_name_is_an_error_naming_the_plugin():
    class Typo(Good):
        @hookimpl
        def eiso_on_dosier_event(self, event):  # misspelt
            pass

    registry = load(Typo("typo"))
    record = registry.records["typo"]
    assert record.state == "skipped"
    assert "unknown hook" in record.reason and "'typo'" in record.reason
    assert "eiso_on_dosier_event" in record.reason
    assert not registry.pm.get_plugins()


def test_wrong_hook_arguments_are_rejected():
    class BadArgs(Good):
        @hookimpl
        def eiso_on_dossier_event(self, event, extra):
            pass

    record = load(BadArgs("badargs")).records["badargs"]
    assert record.state == "skipped" and "invalid hook implementation" in record.reason


def test_unsupported_core_api_range():
    record = load(Good("future", core_api=">=2.0")).records["future"]
    assert record.state == "skipped"
    assert "supports core API >=2.0" in record.reason and CORE_API_VERSION in record.reason


def test_missing_dependency_module_skips_it_and_its_dependents():
    registry = load(
        Good("child", depends_on=("parent",)),
        Good("grandchild", depends_on=("child",)),
        Good("other"),
    )
    assert "missing dependency module parent" in registry.records["child"].reason
    assert "missing dependency module child" in registry.records["grandchild"].reason
    assert registry.names() == {"other"}


def test_a_present_dependency_is_fine():
    registry = load(Good("parent"), Good("child", depends_on=("parent",)))
    assert registry.names() == {"parent", "child"}


def test_hook_raising_at_discovery():
    class Raises(Good):
        @hookimpl
        def eiso_procedures(self):
            raise RuntimeError("database of procedures unreachable")

    record = load(Raises("raises")).records["raises"]
    assert record.state == "skipped"
    assert "eiso_procedures raised RuntimeError" in record.reason


def test_module_info_of_the_wrong_kind_or_name():
    class NotInfo(Good):
        @hookimpl
        def eiso_module(self):
            return {"name": "notinfo"}

    assert "ModuleInfo" in load(NotInfo("notinfo")).records["notinfo"].reason
    mismatch = PluginRegistry.load(None, [PluginSource.of("alias", Good("real"))])
    assert "differs from the module name" in mismatch.records["alias"].reason


def test_graphql_hook_must_return_a_strawberry_type():
    class NotAType(Good):
        @hookimpl
        def eiso_graphql_query(self):
            return dict

    assert "Strawberry type" in load(NotAType("nat")).records["nat"].reason


def test_allowlist_keeps_installed_code_out():
    registry = load(Good("alpha"), Good("beta"), allow=["alpha", "ghost"])
    assert registry.names() == {"alpha"}
    assert registry.records["beta"].reason == "not in EISO_PLUGINS"
    assert registry.records["ghost"].reason == "not installed"


def test_entry_points_are_discovered():
    """The vendor distribution under tests/vendor_plugin is found through its entry point."""
    registry = PluginRegistry.load(["vendor_demo"])
    record = registry.records["vendor_demo"]
    assert record.loaded, record.reason
    assert record.info.title.vi == "Đăng ký hộ kinh doanh (mẫu)"
    assert [p.code for p in registry.procedures()] == ["1.001612"]
    assert registry.procedures()[0].data_model.__name__ == "HouseholdBusinessData"


def test_plugins_list_command(monkeypatch):
    from eiso.core.cli import app
    from eiso.core.settings import get_settings

    monkeypatch.setenv("EISO_PLUGINS", "vendor_demo,ghost")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"vendor_demo"' in result.output and '"loaded"' in result.output
    assert '"not installed"' in result.output


def _event(province_id: int = 1) -> DossierEvent:
    import datetime as dt

    return DossierEvent(
        province_id=province_id,
        agency_id=1,
        dossier_id=1,
        dossier_code="H01",
        procedure_code="1.001612",
        to_status=2,
        actor="officer-1",
        at=dt.datetime.now(dt.UTC),
    )


class Listener(Good):
    def __init__(self, name: str, fail: bool = False) -> None:
        super().__init__(name)
        self.fail, self.heard = fail, []

    @hookimpl
    async def eiso_on_dossier_event(self, event):
        if self.fail:
            raise ValueError("SMS gateway down")
        self.heard.append(event)


async def test_a_failing_dossier_event_hook_is_logged_and_isolated(caplog):
    ok, bad, inactive = Listener("ok"), Listener("bad", fail=True), Listener("inactive")
    registry = load(ok, bad, inactive)
    with caplog.at_level(logging.ERROR, logger="eiso.plugins"):
        failures = await registry.dispatch_dossier_event(_event(), active={"ok", "bad"})
    assert failures == {"bad": "ValueError: SMS gateway down"}
    assert len(ok.heard) == 1 and inactive.heard == []  # the subset caller left it out
    assert any(getattr(r, "plugin", None) == "bad" for r in caplog.records)


async def test_schedule_does_not_make_the_caller_wait():
    ok = Listener("ok")
    registry = load(ok)
    task = registry.schedule_dossier_event(_event(), active={"ok"})
    assert ok.heard == []  # not run yet: the transition returned first
    await task
    assert len(ok.heard) == 1


def test_a_schema_clash_names_both_owners():
    import pytest

    from eiso.graphql.schema import make_assembler
    from eiso.graphql.server.assembly import SchemaClash

    @strawberry.type
    class Shared:
        x: int = 1

    class Owns(Good):
        @hookimpl
        def eiso_graphql_mutation(self):
            return Shared

    class Version(Good):  # its namespace `version` collides with the core field
        @hookimpl
        def eiso_graphql_query(self):
            return Shared

    @strawberry.type
    class Clash1:
        @strawberry.mutation
        def c_go(self) -> int:
            return 1

    @strawberry.type
    class Clash2:
        @strawberry.mutation
        def go(self) -> int:
            return 2

    class A(Good):
        @hookimpl
        def eiso_graphql_mutation(self):
            return Clash1

    class AB(Good):
        @hookimpl
        def eiso_graphql_mutation(self):
            return Clash2

    registry = load(Version("version"))
    with pytest.raises(
        SchemaClash, match=re.escape("Query.version is defined by both core and module version")
    ):
        make_assembler(registry).get()
    registry = load(A("ab"), AB("ab_c"))  # abCGo twice
    with pytest.raises(
        SchemaClash, match=re.escape("Mutation.abCGo is defined by both module ab and module ab_c")
    ):
        make_assembler(registry).get()


def test_a_broken_entry_point_is_listed_as_skipped(monkeypatch):
    """Through importlib.metadata, as an installed wheel with a bad import would be."""
    from importlib.metadata import EntryPoint

    import eiso.core.plugins.registry as plugins_module
    from eiso.core.cli import app
    from eiso.core.settings import get_settings

    real = plugins_module.entry_points

    def fake(group):
        broken = EntryPoint("ghost_vendor", "eiso_no_such_package.plugin", group)
        return [*real(group=group), broken]

    monkeypatch.setattr(plugins_module, "entry_points", fake)
    monkeypatch.delenv("EISO_PLUGINS", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"ghost_vendor"' in result.output
    assert "import failed: ModuleNotFoundError" in result.output
    assert '"vendor_demo"' in result.output  # the good one still loads


async def test_a_hanging_dossier_event_hook_times_out_alone():
    import asyncio

    class Hangs(Good):
        @hookimpl
        async def eiso_on_dossier_event(self, event):
            await asyncio.sleep(60)

    ok = Listener("ok")
    registry = load(Hangs("hangs"), ok)
    failures = await registry.dispatch_dossier_event(_event(), {"hangs", "ok"}, timeout=0.05)
    assert list(failures) == ["hangs"] and "TimeoutError" in failures["hangs"]
    assert len(ok.heard) == 1


def test_plugins_list_and_modules_list_agree_on_skipped_modules(monkeypatch, tmp_path):
    """One row per module in both commands: `version` always the distribution's (not the
    version the module declares once loaded), `state` loaded or skipped with the reason."""
    import json

    import eiso.core.plugins.registry as plugins_module
    from eiso.core.cli import app
    from eiso.core.settings import get_settings

    def broken() -> object:
        raise ImportError("no such package")

    sources = [
        PluginSource("good", lambda: Good("good"), "9.9.9"),  # declares 1.2.3
        PluginSource("broken", broken, "4.5.6"),
        PluginSource("other", lambda: Good("other"), "7.0.0"),
    ]
    monkeypatch.setattr(plugins_module, "installed_sources", lambda: sources)
    monkeypatch.setenv("EISO_PLUGINS", "good,broken,ghost")
    monkeypatch.setenv("EISO_DATABASE_URL", f"sqlite:///{tmp_path / 'eiso.db'}")
    monkeypatch.setenv("EISO_REDIS_URL", "memory://")
    get_settings.cache_clear()
    try:
        plugins = CliRunner().invoke(app, ["plugins", "list", "--json"])
        modules = CliRunner().invoke(app, ["modules", "list", "--json"])
        table = CliRunner().invoke(app, ["modules", "list"], env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
    assert plugins.exit_code == 0, plugins.output
    assert modules.exit_code == 0, modules.output
    rows = {row["name"]: row for row in json.loads(plugins.stdout)}
    assert json.loads(modules.stdout) == json.loads(plugins.stdout)
    assert rows["good"] == {"name": "good", "version": "9.9.9", "state": "loaded", "reason": ""}
    assert (rows["broken"]["version"], rows["broken"]["state"]) == ("4.5.6", "skipped")
    assert rows["broken"]["reason"].startswith("import failed: ImportError")
    assert rows["other"] == {
        "name": "other",
        "version": "7.0.0",
        "state": "skipped",
        "reason": "not in EISO_PLUGINS",
    }
    assert rows["ghost"] == {
        "name": "ghost",
        "version": "?",
        "state": "skipped",
        "reason": "not installed",
    }
    cells = {
        cells[0]: cells[1:]
        for line in table.stdout.splitlines()
        if (cells := [cell.strip() for cell in line.split("│")[1:-1]])
    }
    assert cells["other"] == ["7.0.0", "skipped", "not in EISO_PLUGINS"]
