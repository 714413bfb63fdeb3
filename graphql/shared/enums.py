"""GraphQL enums that mirror a model's enum: the same values, in the same order."""

from __future__ import annotations

import enum

import strawberry


def graphql_enum(source: type[enum.Enum], name: str | None = None) -> type[enum.Enum]:
    """The same values, with the upper-case names GraphQL clients expect (COMMUNE, ...); the
    GraphQL type is called `name`, or the model enum's name.

    To mypy, bind the model's enum itself under `if TYPE_CHECKING:` (the names differ in case
    only): `X = graphql_enum(Model)` would type X as a plain `type[Enum]`."""
    members = {m.name.upper(): m.value for m in source}
    # mypy reads the functional API only with a literal name; this is the model's name.
    mirror = enum.Enum(source.__name__, members)  # type: ignore[misc]
    return strawberry.enum(mirror, name=name)
