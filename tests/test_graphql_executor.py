"""The executor's plain path (graphql/server/executor.py) answers exactly as graphql-core does: the
same data, the same errors at the same paths, the same null propagation."""

from __future__ import annotations

import datetime as dt
import enum

import pytest
import strawberry

from eiso.graphql.server.execution import EisoSchema
from eiso.graphql.server.executor import EisoExecutionContext
from eiso.graphql.server.limits import Limits


@strawberry.enum
class Colour(enum.Enum):
    red = "red"
    green = "green"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):
    legs: int


@strawberry.type
class Tag:
    label: str
    colour: Colour
    weight: float | None = None


@strawberry.type
class Item:
    id: strawberry.ID
    title: str
    count: int
    colour: Colour
    at: dt.datetime
    note: str | None
    tags: list[Tag]
    maybe_tags: list[Tag | None] | None
    scores: list[int]
    child: Item | None = None
    pet: Named | None = None

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return self.title.upper() + suffix


AT = dt.datetime(2026, 12, 5, 8, 30, tzinfo=dt.UTC)


def item(n: int, **changes) -> Item:
    values = {
        "id": strawberry.ID(f"i{n}"),
        "title": f"Hồ sơ {n}",
        "count": n,
        "colour": Colour.red,
        "at": AT,
        "note": None if n % 2 else "ghi chú",
        "tags": [Tag(label="a", colour=Colour.green)],
        "maybe_tags": [None, Tag(label="b", colour=Colour.red, weight=1.5)],
        "scores": [n, n + 1],
        "child": Item(**_leaf_values(n + 100)),
        "pet": Pet(name="mèo", legs=4),
    }
    return Item(**{**values, **changes})


def _leaf_values(n):
    return {
        "id": strawberry.ID(f"c{n}"),
        "title": f"con {n}",
        "count": n,
        "colour": Colour.green,
        "at": AT,
        "note": None,
        "tags": [],
        "maybe_tags": None,
        "scores": [],
    }


ITEMS: list = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def first(self) -> Item | None:
        return ITEMS[0] if ITEMS else None

    @strawberry.field
    def pets(self) -> list[Pet | None]:
        """A Pet, and a Pet cast (to Pet): the type's own class, Strawberry's check all the same."""
        return [Pet(name="mèo", legs=4), strawberry.cast(Pet, Pet(name="rô", legs=2))]


def schemas():
    eiso = EisoSchema(query=Query, types=[Pet], limits=Limits(max_cost=100_000, max_aliases=100))
    plain = strawberry.Schema(query=Query, types=[Pet])  # graphql-core's own executor
    return eiso, plain


FULL = """{ items { id title count colour at note scores __typename
  tags { label colour weight } maybeTags { label weight }
  child { id title note child { id } tags { label } }
  ...on Item { alias: title } } }"""

QUERIES = [
    FULL,
    '{ items { id shout(suffix: "?") title } }',  # a resolver with arguments beside plain fields
    "{ items { id pet { name ... on Pet { legs } } } }",  # an interface
    "{ pets { name legs } }",  # Strawberry's type check of an interface's object, a cast value
    "{ first { id child { title } } items { t: title, t2: title } }",
    "{ items { id note @include(if: false) title @skip(if: true) count } }",
    "query Q { items { ...F } } fragment F on Item { id tags { ...T } } fragment T on Tag { label "
    "}",
]


async def both(query: str):
    eiso, plain = schemas()
    got, expected = await eiso.execute(query), await plain.execute(query)

    def as_dict(r):
        return r.data, [(e.message, e.path) for e in r.errors or []]

    return as_dict(got), as_dict(expected)


@pytest.mark.parametrize("query", QUERIES)
async def test_plain_values_answer_as_graphql_core(query):
    ITEMS[:] = [item(n) for n in range(5)]
    got, expected = await both(query)
    assert got == expected
    assert got[1] == []


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ({"title": None}, "a null in a non-null leaf"),
        ({"count": "seven"}, "a value the scalar refuses"),
        ({"tags": [Tag(label="a", colour=Colour.green), None]}, "a null item in a non-null list"),
        ({"tags": [Tag(label=None, colour=Colour.red)]}, "a null deep inside a list"),
        ({"colour": "purple"}, "a value outside the enum"),
        ({"scores": 7}, "a list that is not a list"),
        (
            {"child": Item(**{**_leaf_values(1), "title": None})},
            "a nullable object whose field breaks",
        ),
    ],
)
async def test_unusual_values_give_graphql_cores_errors(broken, where):
    ITEMS[:] = [item(0), item(1, **broken), item(2)]
    got, expected = await both(FULL)
    assert got == expected, where
    assert got[1], where  # an error was reported


async def test_a_page_of_plain_objects_builds_no_info_per_field(monkeypatch):
    """The point of the plain path: 50 items × 10 fields without an `info` object each."""
    built = []
    original = EisoExecutionContext.build_resolve_info
    monkeypatch.setattr(
        EisoExecutionContext,
        "build_resolve_info",
        lambda self, *a: built.append(a) or original(self, *a),
    )
    ITEMS[:] = [item(n) for n in range(50)]
    eiso, _ = schemas()
    result = await eiso.execute(
        "{ items { id title count colour at note tags { label } child { id } } }"
    )
    assert result.errors is None and len(result.data["items"]) == 50
    assert len(built) == 1  # the root field `items` only


@strawberry.type
class Row:
    code: str
    count: int


@strawberry.type
class Rows:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [{"code": "BN00.001", "count": 1}, {"code": "Quảng Ninh", "count": 2}]


async def test_a_custom_default_resolver_is_kept(monkeypatch):
    """Sources read by Strawberry's configured `default_resolver` (here: dicts), not getattr,
    still on the plain path."""
    from strawberry.schema.config import StrawberryConfig

    built = []
    original = EisoExecutionContext.build_resolve_info
    monkeypatch.setattr(
        EisoExecutionContext,
        "build_resolve_info",
        lambda self, *a: built.append(a) or original(self, *a),
    )
    config = StrawberryConfig(default_resolver=lambda source, name: source[name])
    eiso = EisoSchema(query=Rows, limits=Limits(), config=config)
    result = await eiso.execute("{ rows { code count } }")
    assert result.errors is None
    assert result.data == {
        "rows": [{"code": "BN00.001", "count": 1}, {"code": "Quảng Ninh", "count": 2}]
    }
    assert len(built) == 1  # `rows` only


async def test_a_plan_is_made_once_for_the_requests_of_a_document(monkeypatch):
    """The plain path's plans are shared by the requests of one (cached) document: the second
    request plans nothing, and answers as graphql-core with other values."""
    planned = []
    original = EisoExecutionContext._fields
    monkeypatch.setattr(
        EisoExecutionContext, "_fields", lambda self, *a: planned.append(a) or original(self, *a)
    )
    eiso, plain = schemas()
    query = "{ items { id title colour at tags { label } child { id } } }"
    ITEMS[:] = [item(n) for n in range(3)]
    assert (await eiso.execute(query)).errors is None
    first = len(planned)
    assert first > 0
    ITEMS[:] = [item(n) for n in range(7, 12)]
    got, expected = await eiso.execute(query), await plain.execute(query)
    assert len(planned) == first  # nothing planned again
    assert got.errors is None and got.data == expected.data


async def test_a_selection_under_a_variable_directive_is_planned_per_request():
    """@include with a variable: the same document selects other fields at each request, as
    graphql-core does (no plan of another request's variables)."""
    eiso, plain = schemas()
    query = "query($with: Boolean!) { items { id note @include(if: $with) title } }"
    ITEMS[:] = [item(n) for n in range(3)]
    for value in (True, False, True):
        variables = {"with": value}
        got = await eiso.execute(query, variable_values=variables)
        expected = await plain.execute(query, variable_values=variables)
        assert got.errors is None and got.data == expected.data, value
        assert ("note" in got.data["items"][0]) is value
