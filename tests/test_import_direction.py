"""The import guard, next to the packaging guard (test_layout.py): every module of eiso imports
only what the design's direction allows (../shared/design.md, "Layout"; docs/architecture.md),
no package imports another in a circle, and no module imports another's private name.

The checker reads the source with `ast` (function-level and TYPE_CHECKING imports included: a
deferred import is still a dependency); its own tests feed it one forbidden line each, so a
checker that can no longer fail is caught too."""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDERS = {
    "core": "eiso.core",
    "tenants": "eiso.tenants",
    "graphql": "eiso.graphql",
    "infra": "eiso.infra",
    "plugins": "eiso.plugins",
    "web": "eiso.web",
}

# The rooms, bottom to top, and the eiso rooms each may import (besides itself).
KERNEL = {
    "eiso.core",
    "eiso.core.settings",
    "eiso.core.errors",
    "eiso.core.logs",
    "eiso.core.resources",
}
ROOT_MODULES = {"eiso.core.app", "eiso.core.testing", "eiso.core.plugins.testing"}
ALLOWED = {
    "infra": set(),
    "tenants": {"infra"},
    "kernel": {"infra", "tenants"},
    "domain": {"infra", "tenants", "kernel"},
    "sdk": {"infra", "tenants", "kernel", "domain"},
    "edge": {"infra", "tenants", "kernel", "domain"},
    "demo": {"infra", "tenants", "kernel", "domain"},
    "plugin": {"sdk"},
    "graphql": {"infra", "tenants", "kernel", "domain"},
    "web": {"infra", "tenants", "kernel", "domain", "graphql"},
    "root": {
        "infra",
        "tenants",
        "kernel",
        "domain",
        "sdk",
        "edge",
        "demo",
        "plugin",
        "graphql",
        "web",
    },
}
# Frameworks of the upper rooms: the domain knows no HTTP and no GraphQL.
HTTP = {"starlette", "uvicorn"}
GRAPHQL = {"strawberry", "graphql"}
FORBIDDEN_LIBRARIES = {
    "infra": HTTP | GRAPHQL,
    "tenants": HTTP | GRAPHQL,
    "kernel": HTTP | GRAPHQL,
    "domain": HTTP | GRAPHQL,
    "sdk": HTTP | GRAPHQL,
    "demo": HTTP | GRAPHQL,
    "edge": GRAPHQL,
    "plugin": HTTP,
    "graphql": set(),
    "web": set(),
    "root": set(),
}


def room(module: str) -> str:
    """The room of an eiso module (by its import name)."""
    parts = module.split(".")
    top = ".".join(parts[:2])
    if module in ROOT_MODULES or module.startswith("eiso.core.cli"):
        return "root"
    if top == "eiso.core":
        if module in KERNEL:
            return "kernel"
        if module == "eiso.core.sdk":
            return "sdk"
        if module == "eiso.core.hookspecs":  # the contract name of the plugin system's specs
            return "domain"
        if module.startswith("eiso.core.http"):
            return "edge"
        if module.startswith("eiso.core.demo"):
            return "demo"
        return "domain"
    return {
        "eiso.infra": "infra",
        "eiso.tenants": "tenants",
        "eiso.plugins": "plugin",
        "eiso.graphql": "graphql",
        "eiso.web": "web",
    }[top]


def package(module: str) -> str:
    """The node of the package graph: a room's direct subpackage or module (eiso.core.dossiers,
    eiso.core.settings, eiso.graphql.server, eiso.plugins.land_use_rights)."""
    return ".".join(module.split(".")[:3])


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (absolute)
    names: tuple[str, ...]  # the names of a `from` import
    line: int


def module_name(path: pathlib.Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [*FOLDERS[relative.parts[0]].split("."), *relative.parts[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, source: str, is_package: bool = False) -> Iterator[Import]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, target] if target else base)
            yield Import(module, target, tuple(a.name for a in node.names), node.lineno)


def violations(found: Iterable[Import]) -> list[str]:
    """Every import against the direction, every private name taken from another module."""
    bad = []
    for imp in found:
        here = room(imp.module)
        library = imp.target.split(".")[0]
        if library != "eiso":
            if library in FORBIDDEN_LIBRARIES[here]:
                bad.append(f"{imp.module}:{imp.line} ({here}) imports {imp.target}")
            continue
        there = room(imp.target)
        own_plugin = here == "plugin" and package(imp.target) == package(imp.module)
        if there != here and there not in ALLOWED[here] and not own_plugin:
            bad.append(f"{imp.module}:{imp.line} ({here}) imports {imp.target} ({there})")
        elif here == "plugin" and not own_plugin and imp.target != "eiso.core.sdk":
            bad.append(f"{imp.module}:{imp.line} (plugin) imports {imp.target}, not eiso.core.sdk")
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private and imp.target != imp.module:
            bad.append(f"{imp.module}:{imp.line} takes private {private} from {imp.target}")
    return bad


def package_cycles(found: Iterable[Import]) -> list[list[str]]:
    """The circles of the package graph (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        # The composition root sits above every package and nothing imports it (checked by
        # `violations`): its imports close no circle, even from inside a package (the test kit).
        if imp.target.startswith("eiso.") and room(imp.module) != "root":
            a, b = package(imp.module), package(imp.target)
            graph.setdefault(a, set())
            if a != b:
                graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def tree_imports() -> list[Import]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts or "versions" in path.parts:
                continue  # frozen migrations import only alembic and sqlalchemy
            name = module_name(path)
            found += imports_of(name, path.read_text(), path.name == "__init__.py")
    return found


def test_every_import_follows_the_direction():
    assert violations(tree_imports()) == []


def test_no_circle_between_packages():
    assert package_cycles(tree_imports()) == []


# The checker itself: each forbidden line is caught.
@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("eiso.core.dossiers.engine", "from starlette.requests import Request"),
        ("eiso.core.auth.service", "import strawberry"),
        ("eiso.core.qms.audits", "def f():\n    import graphql"),
        ("eiso.core.dossiers.engine", "from eiso.graphql.shared import ids"),
        ("eiso.core.auth.tokens", "from eiso.core.http import edge"),
        ("eiso.core.dossiers.engine", "from eiso.core.app import create_app"),
        ("eiso.tenants.scope", "from eiso.core.errors import NotFound"),
        ("eiso.infra.db", "from eiso.tenants.models import Agency"),
        ("eiso.core.http.health", "from eiso.graphql.server import view"),
        ("eiso.graphql.schema", "from eiso.core.cli import main"),
        ("eiso.graphql.schema", "from eiso.plugins.land_use_rights import hooks"),
        ("eiso.plugins.land_use_rights", "from eiso.core.dossiers import engine"),
        ("eiso.plugins.land_use_rights", "from eiso.core.plugins.declarations import Step"),
        ("eiso.core.qms.figures", "from eiso.core.dossiers.engine import _aware"),
        ("eiso.core.qms.figures", "from ..dossiers.engine import _aware"),
    ],
)
def test_the_checker_catches(module, source):
    assert violations(imports_of(module, source)) != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("eiso.core.dossiers.engine", "from eiso.tenants.scope import TenantScope"),
        ("eiso.core.http.edge", "from starlette.requests import Request"),
        ("eiso.core.app", "from eiso.graphql.schema import make_assembler"),
        ("eiso.plugins.land_use_rights", "from eiso.core.sdk import Procedure"),
        ("eiso.plugins.land_use_rights.forms", "from eiso.plugins.land_use_rights import x"),
        ("eiso.graphql.dossiers.types", "from eiso.core.dossiers.engine import accept"),
    ],
)
def test_the_checker_allows(module, source):
    assert violations(imports_of(module, source)) == []


def test_the_checker_finds_a_circle():
    found = [
        *imports_of("eiso.core.dossiers.engine", "from eiso.core.qms import dossier_ncs"),
        *imports_of("eiso.core.qms.figures", "from eiso.core.dossiers import models"),
    ]
    assert package_cycles(found) == [["eiso.core.dossiers", "eiso.core.qms"]]


def test_the_checker_reads_relative_imports():
    (imp,) = imports_of("eiso.core.qms.figures", "from ..dossiers import models")
    assert imp.target == "eiso.core.dossiers"
    (imp,) = imports_of("eiso.core.qms", "from . import figures", is_package=True)
    assert imp.target == "eiso.core.qms"
