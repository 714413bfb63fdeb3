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
