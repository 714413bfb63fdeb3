"""Input hygiene at the edge: every string and structure an operation carries, checked once
before any resolver runs, so no control character, huge string or deep JSON reaches the
domain or the database (PostgreSQL refuses NUL in text and JSON; a megabyte name is stored).

Checked: the request's variable values (as sent) and the literal arguments of the document.
Refused, as `BAD_INPUT` with `field` naming the argument path (`input.applicant.fullName`):

- a string with a C0 control character other than tab, line feed and carriage return (or DEL);
- a string longer than `MAX_STRING` characters (`LONG_STRINGS` for whole texts and files);
- a value nested deeper than `MAX_DEPTH` levels (input objects and JSON alike), or an object
  with more than `MAX_KEYS` keys.

docs/graphql.md ("Limits") documents the figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graphql.language import Visitor

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    VariableNode,
    value_from_ast_untyped,
    visit,
)

MAX_STRING = 10_000  # characters; the longest free text (a note, a description) fits
# Arguments (or object keys) that carry whole texts and files: a document's content, a CSV
# to import, a base64 file (the mutation caps its decoded size at 20 MB).
LONG_STRINGS = {"content": 2_000_000, "contentBase64": 28_000_000}
MAX_DEPTH = 12  # levels below the argument: `input.sectorData` leaves 10 to the JSON
MAX_KEYS = 1_000  # keys of one object

# C0 controls but tab, LF, CR; and DEL. PostgreSQL refuses NUL; the others break exports.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Bad(Exception):
    def __init__(self, field: str, message: str, message_vi: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message_vi = field, f"{field}: {message_vi}"


def _check(value: Any, field: str, depth: int, name: str) -> None:
    """`name`: the argument or object key the value is given as (lists keep their owner's)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise _Bad(
                field, "control characters are not allowed", "không được chứa ký tự điều khiển"
            )
        most = LONG_STRINGS.get(name, MAX_STRING)
        if len(value) > most:
            raise _Bad(field, f"at most {most} characters", f"tối đa {most} ký tự")
        return
    if not isinstance(value, dict | list):
        return
    if depth >= MAX_DEPTH:
        raise _Bad(field, f"nested deeper than {MAX_DEPTH} levels", f"lồng sâu quá {MAX_DEPTH} cấp")
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            raise _Bad(field, f"more than {MAX_KEYS} keys", f"có quá {MAX_KEYS} khóa")
        for key, item in value.items():
            _check(key, field, depth + 1, "")  # a key is a string too
            _check(item, f"{field}.{key}", depth + 1, key)
    else:
        for index, item in enumerate(value):
            _check(item, f"{field}.{index}", depth + 1, name)


def literal_error(document: DocumentNode) -> GraphQLError | None:
    """`BAD_INPUT` for the first bad literal argument of the document (cached with it)."""
    found: list[tuple[str, Any, str]] = []

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            name = node.name.value
            found.append((name, value_from_ast_untyped(node.value, {}), name))

    try:
        visit(document, Arguments())
    except RecursionError:
        return _error(_Bad("", "nested too deeply", "lồng quá sâu"))
    return _first_error(found)


def variable_arguments(document: DocumentNode) -> dict[str, str]:
    """Each variable given directly as an argument -> that argument's name (its limits)."""
    found: dict[str, str] = {}

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if isinstance(node.value, VariableNode):
                found[node.value.name.value] = node.name.value

    visit(document, Arguments())
    return found


def variables_error(
    variables: dict[str, Any] | None, arguments: dict[str, str]
) -> GraphQLError | None:
    """`BAD_INPUT` for the first bad value among the request's variables, else None.
    `arguments`: `variable_arguments` of the document."""
    if not variables:
        return None
    return _first_error((k, v, arguments.get(k, k)) for k, v in variables.items())


def _first_error(values: Iterable[tuple[str, Any, str]]) -> GraphQLError | None:
    try:
        for field, value, name in values:
            _check(value, field, 0, name)
    except _Bad as bad:
        return _error(bad)
    return None


def _error(bad: _Bad) -> GraphQLError:
    return GraphQLError(
        str(bad), extensions={"code": "BAD_INPUT", "message_vi": bad.message_vi, "field": bad.field}
    )
