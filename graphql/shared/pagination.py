"""Keyset pages read in a session and the connections built from them (the types and cursors
are in graphql/shared/connections.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar, cast, overload

import strawberry
from sqlalchemy import ColumnExpressionArgument, Integer, Select, desc, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.rules import require_principal
from eiso.graphql.shared.connections import (
    Connection,
    Edge,
    KeyedEdge,
    Page,
    PageInfo,
    decode_cursor,
    encode_cursor,
)
from eiso.graphql.shared.selections import selects
from eiso.tenants.scope import TenantScope

R = TypeVar("R")
N = TypeVar("N")
R_contra = TypeVar("R_contra", contravariant=True)
N_co = TypeVar("N_co", covariant=True)


class NodeOf(Protocol[R_contra, N_co]):
    """A node type built from its row: `ProvinceNode(row=row)`."""

    def __call__(self, *, row: R_contra) -> N_co: ...


class TenantKeyed(Protocol):
    """A tenant table's row: keyed by (province_id, id)."""

    province_id: int
    id: int


Keyed = TypeVar("Keyed", bound=TenantKeyed)


async def keyset_page(
    session: AsyncSession,
    statement: Select[R],
    columns: Sequence[ColumnExpressionArgument[Any]],
    page: Page,
    *,
    descending: bool = False,
    count: bool = True,
) -> tuple[list[R], bool, int]:
    """Keyset pagination on `columns` (the last one unique), ascending unless `descending`,
    read forwards or backwards: one query for the page, and one count when `count` (pass
    `wants_total(info)`: a query that does not read `totalCount` pays no COUNT). Answers (rows
    in the list's order, whether more rows lie in the direction read, total: 0 uncounted)."""
    total = (
        (await session.execute(select(func.count()).select_from(statement.subquery()))).scalar_one()
        if count
        else 0
    )
    # Backwards walks the list's order reversed from the cursor, then turns the page round.
    reverse = descending != page.backward
    if page.cursor is not None:
        kinds = [int if isinstance(_type(c), Integer) else str for c in columns]
        cursor = decode_cursor(page.cursor, kinds, page.cursor_field)
        key, value = tuple_(*columns), tuple_(*cursor)
        statement = statement.where(key < value if reverse else key > value)
    order = [desc(c) for c in columns] if reverse else columns
    limit = page.size + 1
    rows = list((await session.execute(statement.order_by(*order).limit(limit))).scalars())
    taken = rows[: page.size]
    return (taken[::-1] if page.backward else taken), len(rows) > page.size, total


def wants_total(info: strawberry.Info) -> bool:
    """Whether this connection field's query reads its `totalCount` (a COUNT over the list):
    uncounted, the total stays 0, which no query that did not ask for it can see."""
    return selects(info, "totalCount")


def _type(column: ColumnExpressionArgument[Any]) -> object:
    """A key column's SQL type (integer or text: the kinds of sort key a list has)."""
    return cast("Any", column).type


def connection_of(
    rows: Sequence[R],
    more: bool,
    total: int,
    node: NodeOf[R, N],
    key: Callable[[R], list[Any]],
    page: Page,
) -> Connection[N]:
    """A page's connection, a `node(row=row)` each. `key(row)` is the row's sort key, encoded
    into a cursor only when the query reads it."""
    return connection_of_nodes(rows, [node(row=row) for row in rows], more, total, key, page)


class RowField(NamedTuple):
    """How a node's attribute is read from its row, for the executor to write a page's
    results from the rows themselves (graphql/server/executor.py `_rows_or`): the row's
    `columns` (None: the row itself) passed to `make` (None: the one column as it is), and,
    when `page`, the list the rows come in (its `now`). The value must be the attribute's."""

    columns: tuple[str, ...] | None
    make: Callable[..., Any] | None = None
    page: bool = False


# Per attribute of a node type: its RowField, or the table of a nested object of the same row.
RowFields = Mapping[str, "RowField | RowFields"]


class RowNodes(Sequence[N]):
    """A page's nodes, each built from its row only when read (`build(rows, now)` builds
    them): a plain selection of them is written by the executor from the rows themselves
    (`row_fields`, the node type's table), without a node per row."""

    def __init__(
        self,
        rows: Sequence[Any],
        build: Callable[[Sequence[Any], Any], list[N]],
        row_fields: RowFields,
        now: Any,
    ) -> None:
        self.rows, self.row_fields, self.now = rows, row_fields, now
        self._build = build
        self._nodes: list[N | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> N: ...
    @overload
    def __getitem__(self, index: slice) -> list[N]: ...
    def __getitem__(self, index: int | slice) -> N | list[N]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        node = self._nodes[index]
        if node is None:
            if index < 0:
                index += len(self)
            [node] = self._build(self.rows[index : index + 1], self.now)
            self._nodes[index] = node
        return node

    def __iter__(self) -> Iterator[N]:
        if any(node is None for node in self._nodes):  # built at once (one call of `build`)
            built = self._build(self.rows, self.now)
            nodes = zip(self._nodes, built, strict=True)
            self._nodes = [node if node is not None else new for node, new in nodes]
        return iter(cast("list[N]", self._nodes))


class RowEdges(Sequence[KeyedEdge[N, Any]]):
    """The edges of a `RowNodes`, each built when read (the page's `endCursor` reads the last
    one alone): a plain selection of them is written by the executor from the rows (the
    edge's `node` from the nodes' table, its `cursor` from `key(row)`)."""

    def __init__(self, nodes: RowNodes[N], key: Callable[[Any], list[Any]]) -> None:
        self.rows, self.now, self.key = nodes.rows, nodes.now, key
        self.row_fields = _edge_fields(nodes.row_fields)
        self._nodes = nodes

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> KeyedEdge[N, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[KeyedEdge[N, Any]]: ...
    def __getitem__(self, index: int | slice) -> KeyedEdge[N, Any] | list[KeyedEdge[N, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return KeyedEdge(self._nodes[index], self.rows[index], self.key)

    def __iter__(self) -> Iterator[KeyedEdge[N, Any]]:
        key = self.key
        return iter([KeyedEdge(n, r, key) for n, r in zip(self._nodes, self.rows, strict=True)])


def _cursor(row: Any, edges: RowEdges[Any]) -> str:
    return encode_cursor(edges.key(row))


_EDGE_FIELDS: dict[int, tuple[RowFields, RowFields]] = {}


def _edge_fields(node_fields: RowFields) -> RowFields:
    """An edge's table for nodes of `node_fields`, one per node type (the executor compiles
    one writer per table)."""
    known = _EDGE_FIELDS.get(id(node_fields))
    if known is None or known[0] is not node_fields:
        edge: RowFields = {"node": node_fields, "cursor": RowField(None, _cursor, page=True)}
        known = _EDGE_FIELDS[id(node_fields)] = (node_fields, edge)
    return known[1]


def connection_of_nodes(
    rows: Sequence[R],
    nodes: Sequence[N],
    more: bool,
    total: int,
    key: Callable[[R], list[Any]],
    page: Page,
) -> Connection[N]:
    """A page's connection of nodes, one for each row (in order); `more`: rows lie beyond the
    page in the direction it was read. `RowNodes` give edges built when read (`RowEdges`)."""
    edges: Sequence[KeyedEdge[N, R]] = (
        RowEdges(nodes, key)
        if isinstance(nodes, RowNodes)
        else [KeyedEdge(item, row, key) for item, row in zip(nodes, rows, strict=True)]
    )
    return Connection(
        # A KeyedEdge stands for an Edge, an EdgesPageInfo for a PageInfo: Strawberry reads
        # their fields by attribute.
        edges=cast("list[Edge[N]]", edges),
        page_info=cast("PageInfo", page.page_info(edges, more)),
        total_count=total,
    )


def tenant_key(row: TenantKeyed) -> list[Any]:
    """The sort key of a tenant row in a page of `newest_first`."""
    return [row.province_id, row.id]


def each_of(of: Callable[[R], N]) -> Callable[[AsyncSession, Sequence[R]], Awaitable[list[N]]]:
    """`newest_first`'s `make` for a node built from its row alone (no nested loads)."""

    async def make(session: AsyncSession, rows: Sequence[R]) -> list[N]:
        return [of(row) for row in rows]

    return make


async def newest_first(
    info: strawberry.Info,
    model: type[Keyed],
    page: Page,
    make: Callable[[AsyncSession, list[Keyed]], Awaitable[list[N]]],
    where: Sequence[ColumnExpressionArgument[bool]] = (),
    scope: TenantScope | None = None,
) -> Connection[N]:
    """Keyset pagination on (province_id, id) in the caller's scope, newest first: one query
    for the page, one count if the query reads `totalCount`; `make(session, rows)` builds the
    nodes (and batches any nested loads)."""
    principal = require_principal(info.context.principal)
    columns = (col(model.province_id), col(model.id))
    async with info.context.resources.session(scope or principal.tenant) as session:
        rows, more, total = await keyset_page(
            session,
            select(model).where(*where),
            columns,
            page,
            descending=True,
            count=wants_total(info),
        )
        nodes = await make(session, rows)
    return connection_of_nodes(rows, nodes, more, total, tenant_key, page)
