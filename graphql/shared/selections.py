"""What a field's caller asked for below it, so a resolver can load it up front: a list that
knows its nodes' relations are wanted loads them in its own session and primes the request's
dataloaders, and the nested fields then complete without another query or task."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, (InlineFragment, FragmentSpread)):
            yield from _fields(selection.selections)
        else:
            yield selection


def _selects(selections: Iterable[Selection], path: tuple[str, ...]) -> bool:
    head, rest = path[0], path[1:]
    for field in _fields(selections):
        if field.name == head and (not rest or _selects(field.selections, rest)):
            return True
    return False


def selects(info: strawberry.Info, *path: str) -> bool:
    """Whether the resolving field's selection reaches `path` (by GraphQL field names, through
    fragments and aliases): `selects(info, "edges", "node", "parent")`. A field asked for more
    than once under one response key merges its selections: any of them counts."""
    return any(_selects(field.selections, path) for field in info.selected_fields)
