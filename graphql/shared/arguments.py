"""Field arguments declared once and shared by several resolvers: a resolver takes one Python
parameter where the GraphQL field lists several arguments (so the SDL is as if each resolver
listed them). `@paged` (connections.py) is one; `@arguments_of` spreads a dataclass."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
T = TypeVar("T", bound=type)


def spread(
    name: str, arguments: Sequence[inspect.Parameter], build: Callable[..., Any]
) -> Callable[[F], F]:
    """The resolver's parameter `name` becomes `arguments` (in its place, of its kind) in the
    signature Strawberry reads; the resolver receives `build(**those arguments)` as `name`."""
    names = [argument.name for argument in arguments]

    def decorate(resolver: F) -> F:
        signature = inspect.signature(resolver)
        params = list(signature.parameters.values())
        at = next(i for i, param in enumerate(params) if param.name == name)
        spread_out = [argument.replace(kind=params[at].kind) for argument in arguments]

        @functools.wraps(resolver)
        async def resolve(*args: Any, **kwargs: Any) -> Any:
            given = {key: kwargs.pop(key) for key in names if key in kwargs}
            return await resolver(*args, **{name: build(**given)}, **kwargs)

        # Strawberry (through inspect) reads `__signature__` before following `__wrapped__`.
        resolve.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*params[:at], *spread_out, *params[at + 1 :]]
        )
        return cast(F, resolve)

    return decorate


def arguments_of(name: str, cls: type[Any]) -> Callable[[F], F]:
    """The resolver's parameter `name` (a `cls`) is given as one argument per field of the
    dataclass `cls`, with the fields' types and defaults."""
    hints = typing.get_type_hints(cls)
    arguments = [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty
            if field.default is dataclasses.MISSING
            else field.default,
            annotation=hints[field.name],
        )
        for field in dataclasses.fields(cls)
    ]
    return spread(name, arguments, cls)


def flat_input(cls: T) -> T:
    """A Strawberry input whose fields are all scalars or enums (optional or not), built from
    graphql-core's coerced value directly: for such fields Strawberry's generic conversion
    (`convert_argument`) hands each value over unchanged, but finds each field's GraphQL name
    and type again at every call (~46 µs for `DossierFilter`, issue 18). Strawberry's own
    hook (`from_input`); the fields are read once, at the first value, and a field that is
    not a leaf (an input, a list, a `Maybe`) is refused there."""
    names: list[tuple[str, str]] | None = None

    def from_input(type_: type, value: Any, context: Any) -> Any:
        nonlocal names
        if names is None:
            names = _leaf_fields(type_, context)
        return type_(**{python: value[graphql] for graphql, python in names if graphql in value})

    cls.__strawberry_definition__.from_input = from_input  # type: ignore[attr-defined]
    return cls


def _leaf_fields(type_: type, context: Any) -> list[tuple[str, str]]:
    definition = type_.__strawberry_definition__  # type: ignore[attr-defined]
    names = []
    for field in definition.fields:
        if not is_leaf(field.resolve_type(type_definition=definition), context.scalar_registry):
            raise TypeError(f"{definition.name}.{field.python_name} is not a scalar or enum")
        names.append((context.config.name_converter.from_field(field), field.python_name))
    return names


def is_leaf(kind: Any, scalar_registry: Any) -> bool:
    """Whether Strawberry's conversion hands a value of `kind` over unchanged: a scalar or an
    enum, optional or not; not a `Maybe` (wrapped in `Some`) nor a `GlobalID` (parsed)."""
    from strawberry.relay.types import GlobalID
    from strawberry.types.arguments import _is_leaf_type
    from strawberry.types.base import StrawberryMaybe, StrawberryOptional
    from strawberry.types.enum import has_enum_definition

    if isinstance(kind, StrawberryOptional) and not isinstance(kind, StrawberryMaybe):
        kind = kind.of_type
    if has_enum_definition(kind):
        kind = kind.__strawberry_definition__
    return bool(_is_leaf_type(kind, scalar_registry, skip_classes=(GlobalID,)))
