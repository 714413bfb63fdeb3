"""The shared GraphQL building blocks that declare things once: `@guarded` root types and the
arguments spread from one parameter (`@paged`, `@arguments_of`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing

import pytest
import strawberry
from strawberry.permission import PermissionExtension
from strawberry.utils.str_converters import to_camel_case

from eiso.graphql.schema import MUTATION_PARTS, QUERY_PARTS, SUBSCRIPTION_PARTS
from eiso.graphql.shared.arguments import arguments_of, flat_input
from eiso.graphql.shared.connections import Page, paged
from eiso.graphql.shared.permissions import guarded


def _rules(field: object) -> list[str]:
    return [
        permission.operation
        for extension in getattr(field, "extensions", [])
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    ]


def test_every_core_root_field_runs_the_rule_of_its_own_name():
    unguarded = {"version"}  # the public build version (graphql/instance/queries.py)
    for part in (*QUERY_PARTS, *MUTATION_PARTS, *SUBSCRIPTION_PARTS):
        for field in part.__strawberry_definition__.fields:
            name = field.graphql_name or to_camel_case(field.python_name)
            assert _rules(field) == ([] if name in unguarded else [name]), (part, name)


def test_a_guarded_field_without_a_rule_fails_at_import():
    with pytest.raises(KeyError, match="noSuchOperation"):

        @guarded
        class Broken:
            @strawberry.field
            def no_such_operation(self) -> int:
                return 1


@dataclasses.dataclass(frozen=True)
class _Named:
    name: str
    note: str | None = None


@strawberry.type
class _Query:
    @strawberry.field
    @paged(default=5)
    async def rows(self, search: str | None = None, *, page: Page) -> str:
        return f"{search}:{page.size}:{page.cursor}:{page.backward}"

    @strawberry.field
    @arguments_of("named", _Named)
    async def greet(self, named: _Named, loud: bool = False) -> str:
        text = f"{named.name}/{named.note}"
        return text.upper() if loud else text


async def test_spread_arguments_stand_where_the_parameter_stood_and_arrive_built():
    schema = strawberry.Schema(query=_Query)
    sdl = str(schema)
    assert (
        "rows(search: String = null, first: Int = 5, after: String = null, last: Int = null, "
        "before: String = null): String!" in sdl
    )
    assert "greet(name: String!, note: String = null, loud: Boolean! = false): String!" in sdl
    result = await schema.execute(
        '{ a: rows(search: "x") b: rows(last: 2, before: "c") greet(name: "an", loud: true) }'
    )
    assert result.errors is None
    assert result.data == {"a": "x:5:None:False", "b": "None:2:c:True", "greet": "AN/NONE"}


@strawberry.enum
class _Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@flat_input
@strawberry.input
class _Flat:
    colour: _Colour | None = None
    since: dt.datetime | None = None
    label_text: str | None = strawberry.field(default=None, name="tag")
    count: int = 3


@strawberry.input
class _Inner:
    x: int = 0


@flat_input
@strawberry.input
class _Nested:
    inner: _Inner | None = None


@strawberry.type
class _FlatQuery:
    @strawberry.field
    def flat(self, where: _Flat | None = None) -> str:
        return repr(where and dataclasses.replace(where, since=str(where.since)))

    @strawberry.field
    def nested(self, where: _Nested) -> str:
        return repr(where)


async def test_a_flat_input_is_built_as_strawberry_builds_it_and_refuses_a_nested_field():
    schema = strawberry.Schema(query=_FlatQuery)
    result = await schema.execute(
        '{ a: flat b: flat(where: {}) c: flat(where: {colour: BLUE, tag: "t", count: 7, '
        'since: "2026-12-06T10:00:00+00:00"}) d: flat(where: {colour: null}) }'
    )
    assert result.errors is None
    since = str(dt.datetime(2026, 12, 6, 10, tzinfo=dt.UTC))
    assert result.data == {
        "a": "None",
        "b": repr(_Flat(since="None")),
        "c": repr(_Flat(colour=_Colour.BLUE, since=since, label_text="t", count=7)),
        "d": repr(_Flat(colour=None, since="None")),
    }
    result = await schema.execute("{ nested(where: {inner: {x: 1}}) }")
    assert result.errors and "Nested.inner is not a scalar or enum" in result.errors[0].message


@strawberry.type
class _ArgumentsQuery:
    @strawberry.field
    def every(
        self,
        info: strawberry.Info,
        page_size: int = 50,
        after: str | None = None,
        colour: _Colour | None = None,
        key: strawberry.ID | None = None,
        node: strawberry.relay.GlobalID | None = None,
        numbers: list[int] | None = None,
        inner: _Inner | None = None,
        where: _Flat | None = None,
        maybe: strawberry.Maybe[int | None] = None,
        renamed: typing.Annotated[str | None, strawberry.argument(name="alias")] = None,
    ) -> str:
        del info
        where = where and dataclasses.replace(where, since=str(where.since))
        given = (page_size, after, colour, key, node, numbers, inner, where, maybe, renamed)
        return repr(given)


async def test_the_argument_converter_gives_what_strawberrys_conversion_gives(monkeypatch):
    from strawberry.schema import schema_converter
    from strawberry.types import arguments as strawberry_arguments

    from eiso.graphql.server import arguments

    queries = [
        "{ every }",
        '{ every(pageSize: 3, after: "x", colour: BLUE, key: "k", alias: "a") }',
        '{ every(node: "RG9zc2llcjox", numbers: [1, 2], inner: {x: 4}, maybe: null) }',
        '{ every(where: {colour: null, tag: "t"}, maybe: 5, after: null) }',
        '{ every(node: "not a global id") }',
    ]

    async def answers() -> list[object]:
        schema = strawberry.Schema(query=_ArgumentsQuery)
        found = []
        for query in queries:
            result = await schema.execute(query)
            found.append((result.data, [e.message for e in result.errors or []]))
        return found

    monkeypatch.setattr(
        schema_converter, "convert_arguments", strawberry_arguments.convert_arguments
    )
    strawberrys = await answers()
    arguments.install()
    assert schema_converter.convert_arguments is arguments.convert_arguments
    arguments.install()  # idempotent
    assert await answers() == strawberrys
    assert strawberrys[-1][1]  # the bad global id is refused, in the same words


@strawberry.type
class _Leaf:
    c: int = 1


@strawberry.type
class _Branch:
    b: _Leaf = strawberry.field(default_factory=_Leaf)
    d: int = 2


@strawberry.type
class _SelectsQuery:
    @strawberry.field
    def top(self, info: strawberry.Info) -> _Branch:
        from eiso.graphql.shared.selections import selects

        self_asked = (selects(info, "b", "c"), selects(info, "b"), selects(info, "d", "c"))
        info.context["asked"].append(self_asked)
        return _Branch()


async def test_selects_reads_the_path_through_fragments_and_aliases():
    schema = strawberry.Schema(query=_SelectsQuery)
    queries = {
        "{ top { d } }": (False, False, False),
        "{ top { x: b { c } } }": (True, True, False),
        "{ top { ... on Branch { b { __typename } } } }": (False, True, False),
        "{ top { ...F } } fragment F on Branch { b { ... { c } } }": (True, True, False),
        "{ top { d } top { b { c } } }": (True, True, False),  # merged under one key
    }
    for query, expected in queries.items():
        context: dict[str, list[object]] = {"asked": []}
        result = await schema.execute(query, context_value=context)
        assert result.errors is None, (query, result.errors)
        assert context["asked"] == [expected], query
