"""Relay-style cursor connections (`edges { cursor node }`, full `pageInfo`, `totalCount`),
shared by every domain. Cursors are opaque: base64 of a JSON sort key.

A connection is read forwards (`first`, `after`) or backwards (`last`, `before`; `first` and
its default then do not count), never both at once. As the Relay cursor connections spec
allows, `hasPreviousPage` is false when reading forwards and `hasNextPage` false when reading
backwards (knowing them would cost a query per page): the direction read says whether there
is more."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from eiso.core.errors import DomainError
from eiso.core.global_ids import MAX_ROW_ID
from eiso.graphql.shared.arguments import F, spread

T = TypeVar("T")
R = TypeVar("R")
MAX_PAGE = 100
# No text the database refuses (NUL) or a list sorts by (other C0 controls) in a cursor.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


@strawberry.type(description="Where a page of a connection sits in the whole list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Reading forwards (`first`): more rows follow `endCursor`."
    )
    has_previous_page: bool = strawberry.field(
        description="Reading backwards (`last`): more rows precede `startCursor`."
    )
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor (pass it as `before` for the page before)."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor (pass it as `after` for the page after)."
    )


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


class EdgesPageInfo:
    """A `PageInfo` whose cursors are the first and last edges', encoded when read."""

    __slots__ = ("_edges", "has_next_page", "has_previous_page")

    def __init__(self, edges: Sequence[Any], has_next: bool, has_previous: bool) -> None:
        self._edges, self.has_next_page, self.has_previous_page = edges, has_next, has_previous

    @property
    def start_cursor(self) -> str | None:
        return self._edges[0].cursor if self._edges else None

    @property
    def end_cursor(self) -> str | None:
        return self._edges[-1].cursor if self._edges else None


@dataclasses.dataclass(frozen=True)
class Page:
    """The page a connection field was asked for: `size` rows after the cursor (forwards), or
    the `size` rows before it (`backward`)."""

    size: int
    cursor: str | None = None
    backward: bool = False

    @property
    def cursor_field(self) -> str:
        return "before" if self.backward else "after"

    def page_info(self, edges: Sequence[Any], more: bool) -> EdgesPageInfo:
        """The page's `pageInfo`: `more` rows in the direction it was read."""
        return EdgesPageInfo(edges, more and not self.backward, more and self.backward)


def page_of(
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    *,
    default: int = 20,
) -> Page:
    """The page that `first`/`after` or `last`/`before` ask for. Backwards when `last` or
    `before` is given: `first` (which has a default) then does not count, `after` is refused.
    `default` rows when the size is null; BAD_INPUT, naming the argument, for a size outside
    0..100 or an `after` with `before`/`last`."""
    if last is None and before is None:
        return Page(_checked(default if first is None else first, "first"), after)
    if after is not None:
        raise DomainError(
            "give `after` (forwards) or `last`/`before` (backwards), not both",
            "chỉ dùng `after` (đọc tiếp) hoặc `last`/`before` (đọc lùi), không dùng cả hai",
            field="after",
        )
    return Page(_checked(default if last is None else last, "last"), before, backward=True)


def paged(default: int = 20) -> Callable[[F], F]:
    """Declares a connection resolver's four Relay arguments once: the resolver takes
    `page: Page` where `first` (= `default`), `after`, `last` and `before` stand in the
    field's arguments (so the SDL lists them there), and receives what `page_of` makes of them.
    Put it under `@strawberry.field`, which reads the arguments from the signature."""

    def page(
        first: int | None = default,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Page:
        return page_of(first, after, last, before, default=default)

    arguments = inspect.signature(page, eval_str=True).parameters.values()
    return spread("page", list(arguments), page)


def _checked(size: int, name: str) -> int:
    if not 0 <= size <= MAX_PAGE:
        raise DomainError(
            f"`{name}` must be between 0 and {MAX_PAGE}",
            f"`{name}` phải từ 0 đến {MAX_PAGE}",
            field=name,
        )
    return size


def check_first(first: int) -> int:
    """A forward page size, 0..100 (BAD_INPUT otherwise)."""
    return _checked(first, "first")


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode()


def decode_cursor(cursor: str, kinds: Sequence[type], field: str = "after") -> list[Any]:
    """The sort key in `cursor`, one part of each kind in `kinds` (`int`: a 64-bit integer,
    `str`: text without control characters, as the key's columns hold them); a cursor not
    made here is BAD_INPUT (on `field`), never a value the database would refuse."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(kinds)
        or not all(_fits(part, kind) for part, kind in zip(key, kinds, strict=True))
    ):
        raise bad_cursor(field)
    return key


def _fits(part: object, kind: type) -> bool:
    if kind is int:
        return type(part) is int and abs(part) <= MAX_ROW_ID
    return isinstance(part, str) and not _CONTROL.search(part)


def bad_cursor(field: str) -> DomainError:
    return DomainError(
        f"`{field}` is not a cursor from this list",
        f"`{field}` không phải con trỏ của danh sách này",
        field=field,
    )
