"""The Relay `Node` interface: every type with a global id (core/global_ids.py) implements it,
so `node(id:)` and `nodes(ids:)` (graphql/relay/queries.py) refetch any of them by id.

A plain interface rather than Strawberry's `relay.Node`: that one encodes its ids as standard
base64 of "TypeName:id", and eiso's ids (urlsafe base64 of "Type:province:id") must keep
their values. The concrete type is picked per value by Strawberry's `is_type_of`."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from eiso.core.global_ids import encode_id


@strawberry.interface(
    name="Node",
    description="An object with a global id; `node(id:)` fetches it again by that id.",
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's global id: opaque, typed, stable; pass it back as is."
    )


N = TypeVar("N")


def node_of(cls: type[N], row: Any, type_name: str | None = None, **given: Any) -> N:
    """A `cls` with the fields in `given` and every other field copied from `row`'s attribute
    of the same name (a node mostly repeats its row's columns); a field of a GraphQL enum
    (a model's enum, graphql/shared/enums.py) takes the member of the row's value, the member
    or its text, and an optional one null for no value. With `type_name`, `id` is the row's
    global id as a `type_name` (core/global_ids.py)."""
    if type_name is not None:
        given["id"] = strawberry.ID(encode_id(type_name, row.province_id, row.id))
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = _fields(cls)
    copied = {
        name: made(getattr(row, name)) if made else getattr(row, name)
        for name, made in fields
        if name not in given
    }
    return cls(**copied, **given)


def _member(kind: Callable[[Any], enum.Enum], optional: bool) -> Callable[[Any], Any]:
    def made(raw: Any) -> Any:
        if optional and not raw:
            return None
        return kind(raw.value if isinstance(raw, enum.Enum) else raw)

    return made


def _fields(cls: type[Any]) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """The fields `cls(...)` takes (a Strawberry type is a dataclass), each with how a row's
    value becomes the field's (None: as it is)."""
    kinds = {f.python_name: f.type for f in cls.__strawberry_definition__.fields}
    fields = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        kind = kinds.get(field.name)
        optional = isinstance(kind, StrawberryOptional)
        if optional:
            kind = kind.of_type  # type: ignore[union-attr]
        made = None
        if isinstance(kind, StrawberryEnumDefinition):
            made = _member(kind.wrapped_cls, optional)
        fields.append((field.name, made))
    return tuple(fields)


_FIELDS: dict[type[Any], tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


@strawberry.type(name="AgencyLine")
class AgencyLine:
    """The head of a type about one agency (a line of a province's board, its public
    conformity): the agency's global id, code and name, as its first fields. A base only: it is
    no type of the schema, and the fields keep their place in each type that starts with it."""

    agency_id: strawberry.ID
    agency_code: str
    agency_name: str


def agency_line(province_id: int, agency_id: int, code: str, name: str) -> dict[str, Any]:
    """An `AgencyLine`'s fields, to spread into the constructor of a type that starts with it."""
    return {
        "agency_id": strawberry.ID(encode_id("Agency", province_id, agency_id)),
        "agency_code": code,
        "agency_name": name,
    }
