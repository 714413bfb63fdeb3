"""graphql-core's executor with a short way through plain data.

A page of 50 dossiers is ~450 fields, nearly all an attribute read and a scalar (`code`,
`status`, `receivedAt`) inside objects read by attribute too (`edges`, `node`, `pageInfo`).
graphql-core gives each field a `Path`, an `info` object, an argument check, an awaitable
check and four completion calls: most of a page's time. Here a selection set whose fields
are all plain is read in one loop:

- plain: Strawberry's default resolver (no resolver function, no field extension, no
  permission: the `_is_default` mark of its basic-field resolver), no arguments, and a type
  that is a scalar, an enum, an object type whose selection is plain in turn (no
  `is_type_of`, no `@defer`), or a list of those; `__typename` too.
- anything unusual about a value (None where the type says non-null, a value a scalar
  refuses, a list that is not a list, any exception) gives the whole object back to
  graphql-core's own path, so errors, their paths and null propagation stay graphql-core's.
  The plain resolvers only read attributes, so reading them again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.incremental.incremental_executor import DeliveryGroupMap
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from eiso.graphql.server.errors import request_failed
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)


class _Unusual(Exception):
    pass


class _Field(NamedTuple):
    response_name: str
    resolve: Callable[[Any, Any], Any]  # (source, info) -> value; plain ones ignore info
    complete: Callable[[Any], Any]  # a value that is not None -> its result
    non_null: bool


Plan = tuple[_Field, ...]


class EisoExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, its plan or None). graphql-core memoizes a
        # field's sub-selection per request, so every item of a list shares one set; the set
        # is kept beside its plan so that its id cannot be reused within the request.
        self._plans: dict[int, tuple[GroupedFieldSet, Plan | None]] = {}

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        """graphql-core's, with the request errors it reports (variables, the operation's
        choice) given their codes (graphql/server/errors.py)."""
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            variables = kwargs.get("raw_variable_values", args[4] if len(args) > 4 else None)
            request_failed(built, variables)
        return built

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: DeliveryGroupMap | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is not None:
            try:
                return _read(plan, source_value)
            except Exception:  # noqa: BLE001, S110 - graphql-core's path reports it, located
                pass
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Plan | None:
        known = self._plans.get(id(grouped_field_set))
        if known is None:
            plan = (
                None
                if self.middleware_manager is not None
                else self._fields(parent_type, grouped_field_set)
            )
            known = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return known[1]

    def _fields(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Plan | None:
        """The plan when every field of the set is plain, else None."""
        fields = []
        for response_name, field_details_list in grouped_field_set.items():
            if any(details.node.arguments for details in field_details_list):
                return None
            name = field_details_list[0].node.name.value
            if name == "__typename":
                type_name = parent_type.name
                fields.append(_Field(response_name, _constant(type_name), _same, True))
                continue
            field_def = self.schema.get_field(parent_type, name)
            if (
                field_def is None
                or field_def.args
                or not getattr(field_def.resolve, "_is_default", False)
            ):
                return None
            complete = self._completion(field_def.type, field_details_list)
            if complete is None:
                return None
            non_null = isinstance(field_def.type, GraphQLNonNull)
            fields.append(_Field(response_name, _reader(field_def), complete, non_null))
        return tuple(fields)

    def _completion(
        self, field_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Callable[[Any], Any] | None:
        """How a value of `field_type` completes on the plain path (None: it cannot)."""
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if is_leaf_type(field_type):
            return _leaf(field_type.coerce_output_value)
        if isinstance(field_type, GraphQLList):
            item = self._completion(field_type.of_type, field_details_list)
            return (
                None
                if item is None
                else _list(item, isinstance(field_type.of_type, GraphQLNonNull))
            )
        if not isinstance(field_type, GraphQLObjectType) or _own_type_check(field_type):
            return None  # interfaces and unions pick their type per value
        grouped_field_set, new_defer_usages, *_ = self.collect_subfields(
            field_type, field_details_list
        )
        if new_defer_usages:
            return None
        plan = self._plan(field_type, grouped_field_set)
        if plan is None:
            return None
        is_type_of = field_type.is_type_of
        if is_type_of is None:
            return lambda value: _read(plan, value)
        return lambda value: _read(plan, value) if is_type_of(value, _NO_INFO) else _unusual()


def _own_type_check(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is its author's (it may read `info`). Strawberry gives
    a type implementing an interface (`Node`) its own isinstance check, which ignores `info`:
    the plain path calls that one itself, and hands a value it refuses to graphql-core."""
    if object_type.is_type_of is None:
        return False
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition is None or definition.is_type_of is not None


# What the plain path passes as `info` to Strawberry's isinstance check, which ignores it.
_NO_INFO: Any = None


def _unusual() -> Any:
    raise _Unusual


def _reader(field_def: GraphQLField) -> Callable[[Any, Any], Any]:
    """Strawberry's basic resolver calls `config.default_resolver(source, python_name)`;
    with the default `getattr` that is one attribute read, done here without the two calls
    around it."""
    resolve = field_def.resolve
    assert resolve is not None  # a plain field has Strawberry's default resolver (`_fields`)
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if field is None or field.default_resolver is not getattr:
        return resolve
    read = attrgetter(field.python_name)
    return lambda source, _info: read(source)


def _read(plan: Plan, source: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for response_name, resolve, complete, non_null in plan:
        value = resolve(source, None)
        if value is None:
            if non_null:
                raise _Unusual
            results[response_name] = None
        else:
            results[response_name] = complete(value)
    return results


def _constant(value: str) -> Callable[[Any, Any], str]:
    """A resolver answering `value` (`__typename`: the parent type's name)."""
    return lambda _source, _info: value


def _same(value: Any) -> Any:
    return value


def _leaf(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Unusual
        return coerced

    return complete


def _list(item: Callable[[Any], Any], item_non_null: bool) -> Callable[[Any], Any]:
    def complete(value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise _Unusual  # graphql-core iterates other iterables and words the error
        results: list[Any] = []
        for element in value:
            if element is None:
                if item_non_null:
                    raise _Unusual
                results.append(None)
            else:
                results.append(item(element))
        return results

    return complete
