"""Input hygiene at the edge: every string and structure an operation carries, checked once
before any resolver runs, so no control character, huge string or deep JSON reaches the
domain or the database (PostgreSQL refuses NUL in text and JSON; a megabyte name is stored).

Checked: the request's variable values (as sent) and the literal arguments of the document,
with the limits of infra/input_limits.py (the bulk imports check theirs with the same code).
Refused, as `BAD_INPUT` with `field` naming the argument path (`input.applicant.fullName`):

- a string with a C0 control character other than tab, line feed and carriage return (or DEL);
- a string longer than `MAX_STRING` characters (`LONG_STRINGS` for whole texts and files);
- a value nested deeper than `MAX_DEPTH` levels (input objects and JSON alike), an object
  with more than `MAX_KEYS` keys, a list with more than `MAX_ITEMS` items (`LIST_LIMITS` for
  the list arguments of the schema, by `field.argument`).

docs/graphql.md ("Limits") documents the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql.language import Node, Visitor

from eiso.infra.input_limits import MAX_ITEMS, BadValue, check_value
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    VariableNode,
    value_from_ast_untyped,
    visit,
)

# Arguments (or object keys) that carry whole texts and files: a document's content, a CSV
# to import, a base64 file (the mutation caps its decoded size at 20 MB), a trusted document
# (the mutation caps each at 100,000).
LONG_STRINGS = {"content": 2_000_000, "contentBase64": 28_000_000, "documents": 100_000}
# The list arguments of the schema, by `field.argument`: each has its own figure, no larger
# than what its resolver takes (`nodes` answers a page of at most 100). Any other list,
# JSON included, has `MAX_ITEMS`. tests/test_input_hygiene.py checks every list argument of
# the schema is here.
LIST_LIMITS = {
    "nodes.ids": 100,
    "registerTrustedDocuments.documents": 500,
    "removeTrustedDocuments.ids": 500,
    "createAuditPlan.auditors": 50,
    "createAuditPlan.checklist": 500,
    "setConformityScope.procedures": 1000,  # core/qms/qms_scope.py MAX_PROCEDURES
    "setConformityScope.activities": 50,  # MAX_ACTIVITIES
    "submitOnlineDossier.attachments": 50,  # settings.attachment_max_count is at most 50
    "adoptModelQms.agencyIds": 1000,  # a province's agencies (Quảng Ninh: 227)
    "adoptModelQms.codes": 50,  # the model set has 7 documents
    "installModelQms.codes": 50,
    "setInspectionChecklist.items": 200,
    "recordSteeringMeeting.decisions": 100,
    "createIntegrationClient.scopes": 50,
}


def _owner(name: str, ancestors: Any) -> str:
    """`field.argument` (or `@directive.argument`) of an argument node."""
    for node in reversed(ancestors):
        if isinstance(node, FieldNode):
            return f"{node.name.value}.{name}"
        if isinstance(node, DirectiveNode):
            return f"@{node.name.value}.{name}"
    return name


def _visit_arguments(document: DocumentNode, seen: Any) -> None:
    """Call `seen(argument node, its owner)` for every argument of the document."""

    class Arguments(Visitor):
        def enter_argument(
            self, node: ArgumentNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Node]
        ) -> None:
            seen(node, _owner(node.name.value, ancestors))

    visit(document, Arguments())


def literal_error(document: DocumentNode) -> GraphQLError | None:
    """`BAD_INPUT` for the first bad literal argument of the document (cached with it)."""
    found: list[tuple[str, Any, str]] = []

    def seen(node: ArgumentNode, owner: str) -> None:
        found.append((node.name.value, value_from_ast_untyped(node.value, {}), owner))

    try:
        _visit_arguments(document, seen)
    except RecursionError:
        return _error(BadValue("", "nested too deeply", "lồng quá sâu"))
    return _first_error(found)


def variable_arguments(document: DocumentNode) -> dict[str, str]:
    """Each variable given directly as an argument -> that argument's `field.argument` (its
    limits)."""
    found: dict[str, str] = {}

    def seen(node: ArgumentNode, owner: str) -> None:
        if isinstance(node.value, VariableNode):
            found[node.value.name.value] = owner

    _visit_arguments(document, seen)
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
    """`values`: (field, value, owner), the owner `field.argument` or a bare name."""
    try:
        for field, value, owner in values:
            check_value(
                value,
                field,
                name=owner.rpartition(".")[2],
                long_strings=LONG_STRINGS,
                most_items=LIST_LIMITS.get(owner, MAX_ITEMS),
            )
    except BadValue as bad:
        return _error(bad)
    return None


def _error(bad: BadValue) -> GraphQLError:
    where = f"{bad.field}: " if bad.field else ""
    return GraphQLError(
        str(bad),
        extensions={
            "code": "BAD_INPUT",
            "message_vi": f"{where}{bad.reason_vi}",
            "field": bad.field,
        },
    )
