"""Relay-style cursor connections (`edges { cursor node }`, `pageInfo`, `totalCount`), shared by
every domain. Cursors are opaque: base64 of a JSON sort key."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from eiso.core.errors import DomainError

T = TypeVar("T")
R = TypeVar("R")
MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


class KeyedEdge(Generic[T, R]):
    """An `Edge` whose cursor is encoded only if the query asks for it (a page usually reads
    `pageInfo.endCursor` alone): Strawberry reads an edge's fields by attribute."""

    __slots__ = ("_key", "_row", "node")

    def __init__(self, node: T, row: R, key: Callable[[R], list[Any]]) -> None:
        self.node, self._row, self._key = node, row, key

    @property
    def cursor(self) -> str:
        return encode_cursor(self._key(self._row))


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The sort key in `cursor`; a cursor not made here is BAD_INPUT."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        key = None
    if not isinstance(key, list) or len(key) != size:
        raise DomainError(
            "`after` is not a cursor from this list",
            "`after` không phải con trỏ của danh sách này",
            field="after",
        )
    return key


def check_first(first: int, field: str = "first") -> int:
    """A page size within bounds (`field` names the argument: `first`, or `last`)."""
    if not 0 <= first <= MAX_PAGE:
        raise DomainError(
            f"`{field}` must be between 0 and {MAX_PAGE}",
            f"`{field}` phải từ 0 đến {MAX_PAGE}",
            field=field,
        )
    return first
