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

Each plan is read by a function written for it (`_compile`, once per selection and request):
the attribute reads, the null checks and the usual case of each leaf inline (a `str` for a
String or an ID, a `bool` for a Boolean, a `datetime`'s isoformat, an enum member's name from
a table), any other value through the leaf's whole coercion, as graphql-core's.

A list that carries its rows (graphql/shared/pagination.py's `RowNodes` and `RowEdges`: a
page's nodes and edges, built only when read) is written from the rows themselves when its
items' selection is plain and their type's table (`row_fields`) says how to read each field
from a row (`_rows_or`): one loop over the rows, no node or edge object, the same leaf
completions; anything else builds the items and goes the ways above.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple, cast

from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.incremental.incremental_executor import DeliveryGroupMap
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_string
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.schema.types.base_scalars import isoformat
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

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


class _Completion(NamedTuple):
    complete: Callable[[Any], Any]  # a value that is not None -> its result
    # Its usual case as an expression of `{v}` (the value), `{c}` (`complete`) and `{x}`
    # (`extra`), written into the plan's reader; None: `complete` itself.
    inline: str | None = None
    extra: Any = None


class _Field(NamedTuple):
    response_name: str
    resolve: Callable[[Any, Any], Any]  # (source, info) -> value; plain ones ignore info
    completion: _Completion
    non_null: bool
    attribute: str | None = None  # the attribute `resolve` reads, when it is one


# A selection's reader: its source -> its results (raises on anything unusual).
Plan = Callable[[Any], dict[str, Any]]


class _Shown(NamedTuple):
    """A field of a list's items as `_rows_or` writes it: `attribute` None for `__typename`;
    `shown` the leaf's completion, or the shape of a nested object read from the same row."""

    response_name: str
    attribute: str | None
    shown: _Completion | tuple[_Shown, ...]
    non_null: bool = True


_Shape = tuple[_Shown, ...]
# A list's writer: (its rows, the list) -> its items' results (raises on anything unusual).
_Writer = Callable[[Any, Any], list[dict[str, Any]]]

# Plans shared by the requests of one cached document (graphql/server/execution.py keeps its
# parsed documents, so a query's field nodes are the same objects at each request): (the
# parent type, the response names and ids of the set's field nodes) -> (the set, its plan);
# the set is kept beside its plan so that the nodes' ids cannot be reused meanwhile. Only for
# an operation without directives: a selection collected under @skip/@include (or @defer)
# depends on the request's variables. Bounded: emptied when full.
_SHARED: dict[tuple[Any, ...], tuple[GroupedFieldSet, Plan | None]] = {}
_SHARED_SIZE = 4096
# id(operation) -> (the operation, whether it and the document's fragments have no directive)
_STATIC: dict[int, tuple[Any, bool]] = {}


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
                return plan(source_value)
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
            key = self._shared_key(parent_type, grouped_field_set)
            known = _SHARED.get(key) if key is not None else None
            if known is None:
                plan = (
                    None
                    if self.middleware_manager is not None
                    else self._fields(parent_type, grouped_field_set)
                )
                known = (grouped_field_set, plan)
                if key is not None:
                    if len(_SHARED) >= _SHARED_SIZE:
                        _SHARED.clear()
                    _SHARED[key] = known
            self._plans[id(grouped_field_set)] = (grouped_field_set, known[1])
        return known[1]

    def _shared_key(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[Any, ...] | None:
        """The set's key in `_SHARED`, None when its plan may not be shared."""
        if self.middleware_manager is not None or not self._static():
            return None
        return (
            parent_type,
            *(
                (name, *(id(details.node) for details in details_list))
                for name, details_list in grouped_field_set.items()
            ),
        )

    def _static(self) -> bool:
        """Whether the operation and the document's fragments hold no directive (and the
        fragments no variables of their own)."""
        known = _STATIC.get(id(self.operation))
        if known is None or known[0] is not self.operation:
            if len(_STATIC) >= _SHARED_SIZE:
                _STATIC.clear()
            fragments = self.fragments.values()
            static = not any(f.variable_signatures for f in fragments) and not any(
                _has_directives(node.selection_set)
                for node in (self.operation, *(f.definition for f in fragments))
            )
            known = _STATIC[id(self.operation)] = (self.operation, static)
        return known[1]

    def _fields(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Plan | None:
        """The plan when every field of the set is plain, else None."""
        plain = self._plain_fields(parent_type, grouped_field_set)
        if plain is None:
            return None
        fields = []
        for response_name, field_details_list, field_def in plain:
            if field_def is None:
                type_name = parent_type.name
                typename = _Completion(_same, repr(type_name))
                fields.append(_Field(response_name, _constant(type_name), typename, True))
                continue
            completion = self._completion(field_def.type, field_details_list)
            if completion is None:
                return None
            non_null = isinstance(field_def.type, GraphQLNonNull)
            resolve, attribute = _reader(field_def)
            fields.append(_Field(response_name, resolve, completion, non_null, attribute))
        return _compile(fields)

    def _plain_fields(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[tuple[str, FieldDetailsList, GraphQLField | None]] | None:
        """The set's fields (response name, field nodes, definition: None for `__typename`)
        when none takes arguments and each has Strawberry's default resolver, else None."""
        fields: list[tuple[str, FieldDetailsList, GraphQLField | None]] = []
        for response_name, field_details_list in grouped_field_set.items():
            if any(details.node.arguments for details in field_details_list):
                return None
            name = field_details_list[0].node.name.value
            if name == "__typename":
                fields.append((response_name, field_details_list, None))
                continue
            field_def = self.schema.get_field(parent_type, name)
            if (
                field_def is None
                or field_def.args
                or not getattr(field_def.resolve, "_is_default", False)
            ):
                return None
            fields.append((response_name, field_details_list, field_def))
        return fields

    def _completion(
        self, field_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> _Completion | None:
        """How a value of `field_type` completes on the plain path (None: it cannot)."""
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if is_leaf_type(field_type):
            return _leaf_completion(field_type)
        if isinstance(field_type, GraphQLList):
            item = self._completion(field_type.of_type, field_details_list)
            if item is None:
                return None
            item_type = field_type.of_type
            items = _list(item.complete, isinstance(item_type, GraphQLNonNull))
            if isinstance(item_type, GraphQLNonNull):
                item_type = item_type.of_type
            shape = (
                self._row_shape(item_type, field_details_list)
                if isinstance(item_type, GraphQLObjectType)
                else None
            )
            return _Completion(items if shape is None else _rows_or(items, shape))
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
            return _Completion(plan)
        own = _own_class(field_type)
        if own is None:
            return _Completion(
                lambda value: plan(value) if is_type_of(value, _NO_INFO) else _unusual()
            )

        def complete(value: Any) -> Any:
            # The type's own class, not cast: Strawberry's check would answer True (its
            # `getattr` of the cast's attribute raises and catches inside, ~0.5 µs a node).
            if value.__class__ is own and TYPE_CAST_ATTRIBUTE not in value.__dict__:
                return plan(value)
            return plan(value) if is_type_of(value, _NO_INFO) else _unusual()

        return _Completion(complete)

    def _row_shape(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Shape | None:
        """What a list of `object_type` shows, for writing it from rows (`_rows_or`): per
        field its response name, the attribute it reads and how it completes (a leaf's
        completion, or a nested object's shape); None when a field is not plain."""
        grouped_field_set, new_defer_usages, *_ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages or _own_type_check(object_type):
            return None
        plain = self._plain_fields(object_type, grouped_field_set)
        if plain is None:
            return None
        shape: list[_Shown] = []
        for response_name, details_list, field_def in plain:
            if field_def is None:
                typename = _Completion(_same, repr(object_type.name))
                shape.append(_Shown(response_name, None, typename))
                continue
            field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if field is None or field.default_resolver is not getattr:
                return None
            field_type = field_def.type
            non_null = isinstance(field_type, GraphQLNonNull)
            if isinstance(field_type, GraphQLNonNull):
                field_type = field_type.of_type
            shown: _Completion | _Shape | None
            if is_leaf_type(field_type):
                shown = _leaf_completion(field_type)
            elif isinstance(field_type, GraphQLObjectType):
                shown = self._row_shape(field_type, details_list)
            else:
                shown = None
            if shown is None:
                return None
            shape.append(_Shown(response_name, field.python_name, shown, non_null))
        return tuple(shape)


def _has_directives(selection_set: Any) -> bool:
    """Whether a selection of the set or below it carries a directive."""
    if selection_set is None:
        return False
    return any(
        selection.directives or _has_directives(getattr(selection, "selection_set", None))
        for selection in selection_set.selections
    )


def _own_type_check(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is its author's (it may read `info`). Strawberry gives
    a type implementing an interface (`Node`) its own isinstance check, which ignores `info`:
    the plain path calls that one itself, and hands a value it refuses to graphql-core."""
    if object_type.is_type_of is None:
        return False
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition is None or definition.is_type_of is not None


def _own_class(object_type: GraphQLObjectType) -> type | None:
    """The Python class of a Strawberry type whose instances Strawberry's isinstance check
    accepts unless cast (`strawberry.cast` sets an instance attribute): a class with instance
    dictionaries and plain attribute reads, not cast as a whole. None: no such class."""
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if (
        not isinstance(origin, type)
        or not origin.__dictoffset__
        or origin.__getattribute__ is not object.__getattribute__
        or hasattr(origin, "__getattr__")
        or hasattr(origin, TYPE_CAST_ATTRIBUTE)
    ):
        return None
    return origin


# What the plain path passes as `info` to Strawberry's isinstance check, which ignores it.
_NO_INFO: Any = None


def _unusual() -> Any:
    raise _Unusual


def _reader(field_def: GraphQLField) -> tuple[Callable[[Any, Any], Any], str | None]:
    """Strawberry's basic resolver calls `config.default_resolver(source, python_name)`;
    with the default `getattr` that is one attribute read, done here without the two calls
    around it; the attribute's name beside, when `_compile` may write it."""
    resolve = field_def.resolve
    assert resolve is not None  # a plain field has Strawberry's default resolver (`_fields`)
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if field is None or field.default_resolver is not getattr:
        return resolve, None
    name = field.python_name
    read = attrgetter(name)
    return (lambda source, _info: read(source)), (name if _identifier(name) else None)


def _rows_or(complete: Callable[[Any], Any], shape: _Shape) -> Callable[[Any], Any]:
    """A list's completion that writes a list carrying its rows from the rows themselves, in
    one loop (`_compile_rows`): graphql/shared/pagination.py's `RowNodes` and `RowEdges`, a
    page's nodes and edges not built unless read. Such a list has `rows`, and `row_fields`:
    for each attribute of its items, how it is read from a row (a `RowField`: its columns,
    the function making the attribute's value of them, whether that takes the list too) or,
    for a nested object read from the same row, a table of its own. The results are those
    of the items' attributes completed as `complete` would (the same leaf completions);
    anything else (an attribute the table lacks, a null in a non-null field) goes through
    `complete` or graphql-core, the items built."""
    writers: dict[int, tuple[Any, _Writer | None]] = {}

    def complete_rows(value: Any) -> Any:
        if value.__class__ is list:
            return complete(value)
        table = getattr(value, "row_fields", None)
        if table is None:
            return complete(value)
        known = writers.get(id(table))
        if known is None or known[0] is not table:
            if len(writers) >= _OTHERS_SIZE:
                writers.clear()
            known = writers[id(table)] = (table, _compile_rows(shape, table))
        if known[1] is None:
            return complete(list(value))
        return known[1](value.rows, value)

    return complete_rows


def _compile_rows(shape: _Shape, table: Any) -> _Writer | None:
    """The writer of `shape` over rows read as `table` says (see `_rows_or`), one function
    whose loop makes each item's results, nested objects as nested dictionaries; None when
    the table does not say how to read a field (or names a column that is no identifier)."""
    objects: list[Any] = []
    lines: list[str] = []

    def written(shape: _Shape, table: Any) -> str | None:
        parts = []
        for response_name, attribute, shown, non_null in shape:
            if attribute is None:  # __typename: its completion is the literal name
                assert isinstance(shown, _Completion) and shown.inline is not None
                parts.append(f"{response_name!r}: {shown.inline}")
                continue
            read = table.get(attribute)
            if read is None or isinstance(shown, _Completion) == isinstance(read, Mapping):
                return None
            if not isinstance(shown, _Completion):
                nested = written(shown, read)
                if nested is None:
                    return None
                parts.append(f"{response_name!r}: {nested}")
                continue
            columns = read.columns
            if columns is None:
                arguments = ["r"]
            elif all(_identifier(c) for c in columns):
                arguments = [f"r.{c}" for c in columns]
            else:
                return None
            if read.page:
                arguments.append("page")
            if read.make is None and len(arguments) != 1:
                return None
            i = len(objects) // 3
            objects.extend((read.make, shown.complete, shown.extra))
            made = arguments[0] if read.make is None else f"m{i}({', '.join(arguments)})"
            lines.append(f"v{i} = {made}")
            parts.append(_completed(response_name, shown, non_null, i, lines))
        return f"{{{', '.join(parts)}}}"

    item = written(shape, table)
    if item is None:
        return None
    body = "\n".join(["results = []", "for r in rows:", *(f"    {line}" for line in lines)])
    body += f"\n    results.append({item})\nreturn results"
    count = len(objects) // 3
    parameters = ", ".join(f"m{i}, c{i}, x{i}" for i in range(count))
    make = _factory(parameters, "rows, page", body)
    return cast("_Writer", make(*objects))


def _completed(
    response_name: str, completion: _Completion, non_null: bool, i: int, lines: list[str]
) -> str:
    """The result of field `i` (its value in `v{i}`, its completion in `c{i}`, `x{i}`) as a
    dictionary's item, its null check added to `lines` when non-null."""
    v = f"v{i}"
    value = (completion.inline or "{c}({v})").format(v=v, c=f"c{i}", x=f"x{i}")
    if non_null:
        lines.append(f"if {v} is None: raise _Unusual")
    else:
        value = f"None if {v} is None else {value}"
    return f"{response_name!r}: ({value})"


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _compile(fields: list[_Field]) -> Plan:
    """The reader of a plain selection, written as one function: per field the attribute
    read (or its resolver's call), the null check, and its completion's usual case; the
    results in the selection's order. The names written are the fields' (Python identifiers,
    checked) and the response names as string literals (`repr`). The text is compiled once
    per process (`_factory`); a request only binds its objects to it."""
    objects: list[Any] = []
    lines, results = [], []
    for i, (response_name, resolve, completion, non_null, attribute) in enumerate(fields):
        objects += [completion.complete, completion.extra, resolve]
        lines.append(f"v{i} = source.{attribute}" if attribute else f"v{i} = r{i}(source, None)")
        results.append(_completed(response_name, completion, non_null, i, lines))
    lines.append(f"return {{{', '.join(results)}}}")
    parameters = ", ".join(f"c{i}, x{i}, r{i}" for i in range(len(fields)))
    return cast("Plan", _factory(parameters, "source", "\n".join(lines))(*objects))


@functools.lru_cache(maxsize=1024)
def _factory(parameters: str, signature: str, body: str) -> Callable[..., Callable[..., Any]]:
    """`make(<parameters>)` -> the function of `signature` whose body is `body`."""
    indented = "".join(f"\n        {line}" for line in body.splitlines())
    text = f"def make({parameters}):\n    def read({signature}):{indented}\n    return read"
    names: dict[str, Any] = {"_Unusual": _Unusual, "datetime": dt.datetime}
    exec(text, names)  # noqa: S102 - the text is made here, of checked names
    make: Callable[..., Callable[..., Any]] = names["make"]
    return make


def _constant(value: str) -> Callable[[Any, Any], str]:
    """A resolver answering `value` (`__typename`: the parent type's name)."""
    return lambda _source, _info: value


def _same(value: Any) -> Any:
    return value


# Leaves whose usual Python value is their result as it is: (its coercion, that value's type).
_AS_IS = {serialize_string: "str", serialize_id: "str", serialize_boolean: "bool"}


@functools.lru_cache(maxsize=1024)  # per leaf type of the schemas (held by them as long)
def _leaf_completion(leaf: Any) -> _Completion:
    """A scalar's or an enum's completion, with its usual case written out when it has one:
    the value as it is (`_AS_IS`), a datetime's isoformat (Strawberry's DateTime), an enum
    member's name from a table of the members (each named by the enum's own coercion)."""
    coerce = leaf.coerce_output_value
    complete = _leaf(coerce)
    if coerce in _AS_IS:
        return _Completion(
            complete, f"{{v}} if {{v}}.__class__ is {_AS_IS[coerce]} else {{c}}({{v}})"
        )
    if coerce is isoformat:
        return _Completion(complete, "{v}.isoformat() if {v}.__class__ is datetime else {c}({v})")
    if isinstance(leaf, CustomGraphQLEnumType):
        try:
            named = {member: coerce(member) for member in cast("Iterable[Any]", leaf.wrapped_cls)}
        except Exception:  # noqa: BLE001 - an enum of unusual members: its coercion alone
            return _Completion(complete)
        members = (leaf.wrapped_cls, named, _members_of_others(complete))
        return _Completion(
            complete, "{x}[1][{v}] if {v}.__class__ is {x}[0] else {x}[2]({v})", members
        )
    return _Completion(complete)


_OTHERS_SIZE = 256  # members of other enums remembered per GraphQL enum


def _members_of_others(complete: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`complete`, remembering its result for a member of another Python enum of the same
    values (a model's enum where the GraphQL enum is one of the graphql room's own), which the
    table above does not hold; Strawberry's coercion then looks the name up by value, ~2 µs a
    field. Members are immutable, so the name is the same each time; keyed by class and member
    (an IntEnum member equals its int)."""
    seen: dict[tuple[type, Any], Any] = {}

    def read(value: Any) -> Any:
        key = (value.__class__, value)
        found = seen.get(key)
        if found is None:
            found = complete(value)
            if isinstance(value, enum.Enum) and len(seen) < _OTHERS_SIZE:
                seen[key] = found
        return found

    return read


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
            if getattr(value, "row_fields", None) is None:
                raise _Unusual  # graphql-core iterates other iterables and words the error
            value = list(value)  # a list carrying its rows (`_rows_or`), its items built
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
