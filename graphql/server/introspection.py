"""Introspection costed by what it really costs, and its answers cached per schema.

The data budget (graphql/server/limits.py) guesses list sizes, as data is unknown before a query
runs; introspection reads only the schema, so its cost is known exactly: `introspection_cost`
walks the operation's `__schema`/`__type` selections over the schema itself with graphql-core's
own introspection resolvers and counts the fields the answer would hold. Each (selection set,
schema element) is walked once and counted per use, and the walk stops a little past the
budget, so computing the cost costs at most the budget.

The budget is relative to the schema being asked (each province has its own):
`introspection_copies` times the answer of the full standard query (graphql-js's
`getIntrospectionQuery` / graphql-core's `get_introspection_query` with every option) on that
schema. The standard query, GraphiQL's and codegen tools' pass; thirty aliased `__schema`s or a
circular `types { fields { type { fields ... } } }` do not.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_introspection_query,
    get_named_type,
    parse,
)

META_FIELDS = frozenset({"__schema", "__type"})

# Every option on: the largest of the standard queries (graphql-js and graphql-core write the
# same text for the same options).
STANDARD_QUERY = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    experimental_directive_deprecation=True,
    one_of=True,
)
_STANDARD = parse(STANDARD_QUERY)
_UNBOUNDED = 1 << 62
# Nesting beyond this is not walked (the depth rule refuses far less): no recursion here can
# exhaust Python's stack.
MAX_NESTING = 200


class _Stop(Exception):
    """The count passed the limit."""


def _items(value: Any, field_type: GraphQLOutputType) -> Iterable[Any]:
    while isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    if value is None:
        return ()
    return value if isinstance(field_type, GraphQLList) else (value,)


def _key(source: Any) -> int:
    """A stable identity for a source: `fields` and friends yield fresh (name, element) pairs,
    whose element is the schema's own object."""
    return id(source[1] if isinstance(source, tuple) else source)


def introspection_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    limit: int,
    variables: dict[str, Any] | None,
) -> int:
    """Fields the introspection part of `operation` would answer (each field of an answer's
    object counts one; a selection under `types` counts once per type, ...), stopping a little
    past `limit`. An argument given by a variable counts as its value, or as the largest answer
    when the value is unknown (validation knows none): `includeDeprecated` true, `__type(name:)`
    every type."""
    if operation.operation != OperationType.QUERY:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    info = SimpleNamespace(schema=schema)  # what graphql-core's resolvers read (possibleTypes)
    memo: dict[tuple[int, int], int] = {}
    spent = 0

    def argument(field: FieldNode, name: str) -> Any:
        for node in field.arguments or ():
            if node.name.value != name:
                continue
            value = node.value
            if isinstance(value, VariableNode):
                return (variables or {}).get(value.name.value)
            if isinstance(value, BooleanValueNode | StringValueNode):
                return value.value
        return None

    def resolve(definition: GraphQLField, field: FieldNode, source: Any) -> Any:
        args = {}
        if "includeDeprecated" in definition.args:
            given = argument(field, "includeDeprecated")
            args["includeDeprecated"] = True if given is None else bool(given)
        assert definition.resolve is not None  # every introspection field has its resolver
        return definition.resolve(source, info, **args)

    def cost(
        selection_set: SelectionSetNode, type_: GraphQLObjectType, source: Any, nesting: int
    ) -> int:
        nonlocal spent
        if nesting > MAX_NESTING:
            raise _Stop
        key = (id(selection_set), _key(source))
        if key in memo:
            return memo[key]
        memo[key] = 0  # a fragment cycle counts nothing (validation refuses it)
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1
                spent += 1
                definition = type_.fields.get(selection.name.value)
                if definition is None or selection.selection_set is None:
                    continue  # `__typename`, a leaf, or a field validation refuses
                child = get_named_type(definition.type)
                if not isinstance(child, GraphQLObjectType):
                    continue
                for item in _items(resolve(definition, selection, source), definition.type):
                    total += 1 + cost(selection.selection_set, child, item, nesting + 1)
                    if total > limit:
                        break
            elif isinstance(selection, InlineFragmentNode):
                total += cost(selection.selection_set, type_, source, nesting + 1)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    total += cost(fragment.selection_set, type_, source, nesting + 1)
            if total > limit or spent > limit:
                raise _Stop
        memo[key] = total
        return total

    def roots(selection_set: SelectionSetNode, seen: set[int], nesting: int) -> Iterable[FieldNode]:
        """The operation's `__schema` and `__type` fields, through fragments on the root."""
        if nesting > MAX_NESTING:
            raise _Stop
        if id(selection_set) in seen:
            return
        seen.add(id(selection_set))
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in META_FIELDS and selection.selection_set:
                    yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from roots(selection.selection_set, seen, nesting + 1)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    yield from roots(fragment.selection_set, seen, nesting + 1)

    total = 0
    try:
        for field in roots(operation.selection_set, set(), 0):
            assert field.selection_set is not None  # `roots` yields fields with a selection
            if field.name.value == "__schema":
                type_ = get_named_type(SchemaMetaFieldDef.type)
                sources: Iterable[Any] = (schema,)
            else:
                type_ = get_named_type(TypeMetaFieldDef.type)
                name = argument(field, "name")
                found = schema.get_type(name) if isinstance(name, str) else None
                sources = (found,) if found else () if name else schema.type_map.values()
            assert isinstance(type_, GraphQLObjectType)
            total += 1
            for source in sources:
                total += cost(field.selection_set, type_, source, 0)
                if total > limit:
                    raise _Stop
    except _Stop:
        return limit + 1
    return total


_standard_costs: weakref.WeakKeyDictionary[GraphQLSchema, int] = weakref.WeakKeyDictionary()


def standard_cost(schema: GraphQLSchema) -> int:
    """The standard introspection query's cost on `schema` (computed once per schema)."""
    known = _standard_costs.get(schema)
    if known is None:
        (operation,) = (d for d in _STANDARD.definitions if isinstance(d, OperationDefinitionNode))
        known = _standard_costs[schema] = introspection_cost(
            schema, _STANDARD, operation, _UNBOUNDED, {}
        )
    return known


def is_introspection_only(document: DocumentNode) -> bool:
    """Whether every operation of `document` is a query reading only `__schema`, `__type` and
    `__typename` at its root: its answer depends on the schema alone."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def only_meta(selection_set: SelectionSetNode, seen: set[int], nesting: int) -> bool:
        if nesting > MAX_NESTING:
            return False
        if id(selection_set) in seen:
            return True
        seen.add(id(selection_set))
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value not in (*META_FIELDS, "__typename"):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_meta(selection.selection_set, seen, nesting + 1):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None or not only_meta(fragment.selection_set, seen, nesting + 1):
                    return False
        return True

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(
        o.operation == OperationType.QUERY and only_meta(o.selection_set, set(), 0)
        for o in operations
    )
