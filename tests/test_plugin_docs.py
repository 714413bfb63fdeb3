"""Meta-tests (as datasette does): every hook in the hookspecs has a heading with its exact
signature in docs/plugins.md, a working example there, and a test that names it."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import types

import pytest

from eiso.core import hookspecs
from eiso.core.dossiers.hooks import province_event
from eiso.core.sdk import DossierEvent, ModuleInfo, Procedure

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("eiso_"))


def signature(name: str) -> str:
    return name + str(inspect.signature(getattr(hookspecs, name))).replace("'", "")


def section(name: str) -> str:
    heading = f"### `{signature(name)}`"
    start = DOCS.index(heading)
    following = DOCS.find("\n## ", start + 1), DOCS.find("\n### ", start + 1)
    end = min([i for i in following if i != -1], default=len(DOCS))
    return DOCS[start:end]


def test_the_hook_list_is_what_the_design_names():
    assert HOOKS == [
        "eiso_graphql_mutation",
        "eiso_graphql_query",
        "eiso_module",
        "eiso_on_dossier_event",
        "eiso_procedures",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    assert f"### `{signature(hook)}`" in DOCS, f"docs/plugins.md lacks a heading for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    tests = [p for p in (ROOT / "tests").glob("test_*.py") if p.name != pathlib.Path(__file__).name]
    assert any(re.search(rf"\b{hook}\b", p.read_text()) for p in tests), f"no test names {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_documented_example_works(hook):
    blocks = re.findall(r"```python\n(.*?)```", section(hook), re.DOTALL)
    assert blocks, f"no example for {hook}"
    # A real module object: Strawberry resolves annotations through sys.modules.
    module = types.ModuleType(f"docs_example_{hook}")
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    exec(compile("\n".join(blocks), f"docs/plugins.md:{hook}", "exec"), namespace)  # noqa: S102 - our own docs
    implementation = namespace[hook]
    assert hasattr(implementation, "eiso_impl"), "decorate the example with hookimpl"
    if hook in ("eiso_on_dossier_event", "eiso_sweep"):
        event = (
            province_event(1)
            if hook == "eiso_sweep"
            else DossierEvent(
                province_id=1,
                agency_id=1,
                dossier_id=1,
                dossier_code="HS-1",
                procedure_code="1.001612",
                to_status=10,
                actor="officer",
                at=dt.datetime.now(dt.UTC),
            )
        )
        result = implementation(event)
        if inspect.isawaitable(result):
            asyncio.run(result)
        return
    result = implementation()
    expected = {"eiso_module": ModuleInfo, "eiso_procedures": list}.get(hook)
    if expected:
        assert isinstance(result, expected)
    if hook == "eiso_procedures":
        assert all(isinstance(p, Procedure) for p in result)
    if hook.startswith("eiso_graphql_"):
        assert hasattr(result, "__strawberry_definition__")


def test_every_public_sdk_name_is_documented():
    from eiso.core import sdk

    missing = [name for name in sdk.__all__ if f"`{name}" not in DOCS]
    assert not missing, f"docs/plugins.md does not name {missing}"
    public = {n for n in vars(sdk) if not n.startswith("_") and n not in {"annotations"}}
    imported_helpers = {
        "Sequence",
        "Protocol",
        "runtime_checkable",
        "run_finished_dossiers",
        "DomainError",
        "Forbidden",
        "Unauthenticated",
        "hook_resources",
        "Resources",
        "MigrationOp",
        "enable_tenant_rls",
        "province_predicate",
    }
    assert public - imported_helpers == set(sdk.__all__), "list every public name in __all__"


def kit_example() -> str:
    """The complete kit test of docs/plugins.md (the python block after `<!-- kit-example -->`),
    without the list item's indentation."""
    start = DOCS.index("<!-- kit-example -->")
    block = re.search(r"```python\n(.*?)```", DOCS[start:], re.DOTALL)
    assert block, "no python block after <!-- kit-example -->"
    return textwrap.dedent(block.group(1))


def test_the_documented_kit_example_passes_as_a_vendor_runs_it(tmp_path):
    """In a folder of its own (no eiso conftest), with only `asyncio_mode = "auto"` set, as
    the docs tell a vendor: the kit comes from eiso's pytest11 entry point."""
    pytest.importorskip("eiso_vendor_demo")  # the sample module (make .venv/.test-plugin)
    (tmp_path / "test_vendor_demo.py").write_text(kit_example(), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EISO_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


def test_the_typed_caller_example_works_and_type_checks(tmp_path):
    """The FAQ's typed resolver (point 5) runs under Strawberry, and mypy, run as a vendor
    would on their module, accepts it: the SDK is typed end to end."""
    start = DOCS.index("5. **Resolvers and the caller.**")
    block = re.search(r"```python\n(.*?)```", DOCS[start : DOCS.index("\n6. ", start)], re.DOTALL)
    assert block, "no typed example in point 5"
    source = textwrap.dedent(block.group(1))
    import strawberry

    from eiso.core.auth.principal import Principal, Role
    from eiso.tenants.scope import TenantScope

    module = types.ModuleType("docs_typed_caller")
    sys.modules[module.__name__] = module
    exec(compile(source, "docs/plugins.md:caller", "exec"), module.__dict__)  # noqa: S102 - our own docs
    schema = strawberry.Schema(query=module.__dict__["HouseholdQuery"])
    for role, expected in ((Role.leader, True), (Role.officer, False)):
        caller = types.SimpleNamespace(
            principal=Principal("p", TenantScope.province(1), frozenset({role}), province_id=1),
            resources=None,
        )
        result = schema.execute_sync("{ maySign }", context_value=caller)
        assert result.errors is None and result.data == {"maySign": expected}
    # mypy reads eiso through links named by the import names, as `make typecheck` does.
    package = tmp_path / "path" / "eiso"
    package.mkdir(parents=True)
    for room in ("core", "tenants", "graphql", "infra", "plugins", "web"):
        (package / room).symlink_to(ROOT / room)
    checked = tmp_path / "household_query.py"
    checked.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")),
            *("--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache")),
            str(checked),
        ],
        env={**os.environ, "MYPYPATH": str(tmp_path / "path")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr


def marked_block(marker: str) -> str:
    """The python block after `<!-- marker -->` in docs/plugins.md, dedented."""
    start = DOCS.index(f"<!-- {marker} -->")
    block = re.search(r"```python\n(.*?)```", DOCS[start:], re.DOTALL)
    assert block, f"no python block after <!-- {marker} -->"
    return textwrap.dedent(block.group(1))


def test_the_walkthrough_module_and_its_kit_test_pass_as_written(tmp_path):
    """The walk-through's `household` module (step 2) and its kit test (step 4), as a vendor
    copies them: the package put on the path with its entry point (the `.dist-info` an
    install writes, without touching eiso's environment), the test run in a folder of its
    own with step 1's `asyncio_mode`."""
    site = tmp_path / "site"
    (site / "eiso_household").mkdir(parents=True)
    (site / "eiso_household" / "__init__.py").write_text("")
    (site / "eiso_household" / "plugin.py").write_text(marked_block("walkthrough-module"))
    info = site / "eiso_household-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: eiso-household\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[eiso.plugins]\nhousehold = eiso_household.plugin\n")
    project = tmp_path / "eiso-household"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_household.py").write_text(marked_block("walkthrough-test"))
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EISO_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=project,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
