"""docs/graphql.md's table of error codes lists every code the server can send, and nothing
else: the codes are collected from the code base (the endpoint's registry, the `DomainError`
classes, the `Refusal` table of core/errors.py, every `DomainError(..., code="...")` and every
module's declared `error_code`)."""

from __future__ import annotations

import ast
import pathlib
import re

from eiso.core import errors as core_errors
from eiso.core.errors import DomainError, Refusal
from eiso.graphql.server.errors import PROBLEMS

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROOMS = ("core", "graphql", "tenants", "infra", "plugins")  # the product, bundled modules too
# `code=` given by an expression, not a literal: where, and what supplies its values.
DYNAMIC = {
    "core/dossiers/engine.py": "unique.error_code",  # a module's declared `error_code`
    "core/qms/qms_scope.py": "error_code",  # its callers' `error_code=` literals
}
CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")


def error_classes() -> dict[str, type[DomainError]]:
    return {
        name: value
        for name, value in vars(core_errors).items()
        if isinstance(value, type) and issubclass(value, DomainError)
    }


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def collected() -> tuple[set[str], dict[str, str]]:
    """(the codes, the `code=` given by an expression: file -> expression)."""
    classes = error_classes()
    codes = set(PROBLEMS) | {cls.code for cls in classes.values()}
    codes |= {kind.code for kind in vars(core_errors).values() if isinstance(kind, Refusal)}
    dynamic: dict[str, str] = {}
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    value = keyword.value
                    literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
                    if keyword.arg == "error_code" and literal:
                        codes.add(value.value)
                    elif keyword.arg == "code" and _callee(node) in classes:
                        if literal:
                            codes.add(value.value)
                        else:
                            dynamic[str(path.relative_to(ROOT))] = ast.unparse(value)
    return codes, dynamic


def documented() -> set[str]:
    text = (ROOT / "docs" / "graphql.md").read_text()
    section = text[text.index("## Errors and their codes") :]
    section = section[: section.index("\n## ", 3)]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            codes |= {c for c in re.findall(r"`([^`]+)`", first_cell) if CODE.match(c)}
    return codes


def test_the_collector_finds_codes_of_every_kind():
    codes, dynamic = collected()
    assert {
        "NOT_FOUND",
        "GRAPHQL_PARSE_FAILED",
        "INVALID_TRANSITION",
        "BUSINESS_NAME_TAKEN",
        "SUPPLEMENT_ALREADY_USED",
    } <= codes
    assert dynamic == DYNAMIC, "a code given by an expression: say in DYNAMIC what supplies it"
    assert all(CODE.match(code) for code in codes), sorted(codes)


def test_the_docs_table_lists_every_code_the_server_sends():
    codes, _ = collected()
    table = documented()
    assert not codes - table, f"missing from docs/graphql.md: {sorted(codes - table)}"
    assert not table - codes, f"documented but never sent: {sorted(table - codes)}"
