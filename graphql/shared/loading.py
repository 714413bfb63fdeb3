"""Completing a field from a dataloader without a task when the value is already there."""

from __future__ import annotations

from asyncio import Future
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")


def then(future: Awaitable[V], convert: Callable[[V], T]) -> T | Awaitable[T]:
    """`convert(value)` at once when the loader holds the value (primed, or loaded earlier in
    the request); otherwise an awaitable of it. A synchronous resolver returning this lets
    graphql-core complete a primed relation in place, with no coroutine or task per object.
    `future` is what `DataLoader.load` answers: a Future (typed as an awaitable)."""
    if isinstance(future, Future) and future.done():
        return convert(future.result())

    async def later() -> T:
        return convert(await future)

    return later()
