"""Default factories for table models' fields, cheap for SQLModel to call (issue 18).

SQLModel builds a new table row (`Model(...)`) through pydantic's
`FieldInfo.get_default(call_default_factory=True)`, which inspects the factory's signature
at EVERY call, to learn whether it takes the validated data: ~15 µs for a plain function,
~0.3 ms for `list` (inspect fails over to its slowest paths). A move builds four to six rows
(its timeline row, audit entry, outbox event, steps; the receipt a dossier with three list
columns), so that inspection was a few per cent of a dossier's server CPU. A factory whose
`__signature__` is set answers at once (`inspect.signature` reads it first)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[[], Any])


def plain_factory(factory: F) -> F:
    """`factory` with its signature computed once (it takes no argument)."""
    factory.__signature__ = inspect.signature(factory)  # type: ignore[attr-defined]
    return factory


@plain_factory
def empty_list() -> list[Any]:
    """A new empty list: a JSON list column's default."""
    return []


@plain_factory
def empty_dict() -> dict[str, Any]:
    """A new empty dict: a JSON object column's default."""
    return {}
