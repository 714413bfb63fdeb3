"""The Relay `Node` interface: every type with a global id (core/global_ids.py) implements it,
so `node(id:)` and `nodes(ids:)` (graphql/relay/queries.py) refetch any of them by id.

A plain interface rather than Strawberry's `relay.Node`: that one encodes its ids as standard
base64 of "TypeName:id", and eiso's ids (urlsafe base64 of "Type:province:id") must keep
their values. The concrete type is picked per value by Strawberry's `is_type_of`."""

from __future__ import annotations

import strawberry


@strawberry.interface(
    name="Node",
    description="An object with a global id; `node(id:)` fetches it again by that id.",
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's global id: opaque, typed, stable; pass it back as is."
    )
