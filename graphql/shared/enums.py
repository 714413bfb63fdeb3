"""GraphQL enums that mirror a model's enum: the same values, in the same order.

One naming rule for every enum of the schema (tests/test_relay.py checks it): the type is
named without an `Enum` suffix (`DocumentKind`, `AgencyKind`), its values are UPPER_SNAKE
(`NEW`, `IN_PROGRESS`), as GraphQL clients and schema linters expect."""

from __future__ import annotations

import enum

import strawberry


def graphql_enum(source: type[enum.Enum], name: str | None = None) -> type[enum.Enum]:
    """The same values, with the upper-case names GraphQL clients expect (COMMUNE, ...); the
    GraphQL type is called `name`, or the model enum's name.

    To mypy, bind the model's enum itself under `if TYPE_CHECKING:` (the names differ in case
    only): `X = graphql_enum(Model)` would type X as a plain `type[Enum]`."""
    if (name or source.__name__).endswith("Enum"):
        raise ValueError(f"enum {name or source.__name__}: name it without the `Enum` suffix")
    members = {m.name.upper(): m.value for m in source}
    # mypy reads the functional API only with a literal name; this is the model's name.
    mirror = enum.Enum(source.__name__, members)  # type: ignore[misc]
    return strawberry.enum(mirror, name=name)
