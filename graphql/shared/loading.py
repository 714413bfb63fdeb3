"""Completing a field from a dataloader without a task when the value is already there."""

from __future__ import annotations

from asyncio import Future
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def then(future: Future, convert: Callable[[Any], T]) -> T | Awaitable[T]:
    """`convert(value)` at once when the loader holds the value (primed, or loaded earlier in
    the request); otherwise an awaitable of it. A synchronous resolver returning this lets
    graphql-core complete a primed relation in place, with no coroutine or task per object."""
    if future.done():
        return convert(future.result())

    async def later() -> T:
        return convert(await future)

    return later()
