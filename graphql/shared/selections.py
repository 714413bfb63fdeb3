"""What a field's caller asked for below it, so a resolver can load it up front: a list that
knows its nodes' relations are wanted loads them in its own session and primes the request's
dataloaders, and the nested fields then complete without another query or task.

Read from graphql-core's field nodes along the path only: Strawberry's `info.selected_fields`
converts the field's whole selection (every sub-field, its arguments and directives) at each
call, ~7% of a dossier page's CPU for one `totalCount` look-up (issue 18). Same reading as
Strawberry's: by field name, through inline fragments and named fragments, aliases and
directives not looked at."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import strawberry

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
)


def _fields(
    selections: Iterable[SelectionNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set.selections, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            yield from _fields(fragment.selection_set.selections, fragments)


def _selects(
    field: FieldNode, path: tuple[str, ...], fragments: Mapping[str, FragmentDefinitionNode]
) -> bool:
    if not path:
        return True
    if field.selection_set is None:
        return False
    head, rest = path[0], path[1:]
    return any(
        child.name.value == head and _selects(child, rest, fragments)
        for child in _fields(field.selection_set.selections, fragments)
    )


def selects(info: strawberry.Info, *path: str) -> bool:
    """Whether the resolving field's selection reaches `path` (by GraphQL field names, through
    fragments and aliases): `selects(info, "edges", "node", "parent")`. A field asked for more
    than once under one response key merges its selections: any of them counts."""
    raw: Any = info._raw_info
    return any(_selects(field, path, raw.fragments) for field in raw.field_nodes)
