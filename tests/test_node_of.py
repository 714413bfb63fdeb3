"""`node_of` (graphql/shared/node.py): a node's fields copied from its row, a field of a GraphQL
enum (a model's enum, graphql/shared/enums.py) taking the member of the row's value (the member
itself, or the text a row read back holds)."""

from __future__ import annotations

import dataclasses
import enum

import pytest
import strawberry

from eiso.graphql.shared.enums import graphql_enum
from eiso.graphql.shared.node import node_of


class Colour(str, enum.Enum):
    light_red = "light_red"
    blue = "blue"


graphql_enum(Colour, "PaintColour")


@strawberry.type
class Paint:
    name: str
    colour: Colour
    second: Colour | None


@dataclasses.dataclass
class Row:
    name: str
    colour: object
    second: object


def test_a_model_enum_or_its_text_becomes_the_graphql_member() -> None:
    by_member = node_of(Paint, Row("a", Colour.light_red, Colour.blue))
    by_text = node_of(Paint, Row("a", "light_red", "blue"))
    for paint in (by_member, by_text):
        assert paint.colour is Colour.light_red
        assert paint.second is Colour.blue
        assert paint.name == "a"


def test_an_optional_field_is_null_for_no_value_and_a_given_field_wins() -> None:
    assert node_of(Paint, Row("a", "blue", None)).second is None
    assert node_of(Paint, Row("a", "blue", "")).second is None
    given = node_of(Paint, Row("a", "no such colour", None), colour=Colour.blue)
    assert given.colour is Colour.blue


def test_a_value_outside_the_enum_is_refused() -> None:
    with pytest.raises(ValueError):
        node_of(Paint, Row("a", "green", None))
