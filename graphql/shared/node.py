"""The Relay `Node` interface: every type with a global id (core/global_ids.py) implements it,
so `node(id:)` and `nodes(ids:)` (graphql/relay/queries.py) refetch any of them by id.

A plain interface rather than Strawberry's `relay.Node`: that one encodes its ids as standard
base64 of "TypeName:id", and eiso's ids (urlsafe base64 of "Type:province:id") must keep
their values. The concrete type is picked per value by Strawberry's `is_type_of`."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import strawberry

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
    of the same name (a node mostly repeats its row's columns). With `type_name`, `id` is the
    row's global id as a `type_name` (core/global_ids.py)."""
    if type_name is not None:
        given["id"] = strawberry.ID(encode_id(type_name, row.province_id, row.id))
    names = _FIELDS.get(cls)
    if names is None:  # a Strawberry type is a dataclass: the fields `cls(...)` takes
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)  # type: ignore[arg-type]
    copied = {name: getattr(row, name) for name in names if name not in given}
    return cls(**copied, **given)


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


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
