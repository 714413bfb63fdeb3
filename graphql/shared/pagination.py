"""Keyset pages read in a session and the connections built from them (the types and cursors
are in graphql/shared/connections.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

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


def connection_of_nodes(
    rows: Sequence[R],
    nodes: Sequence[N],
    more: bool,
    total: int,
    key: Callable[[R], list[Any]],
    page: Page,
) -> Connection[N]:
    """A page's connection of nodes built already, one for each row (in order); `more`: rows
    lie beyond the page in the direction it was read."""
    edges = [KeyedEdge(item, row, key) for item, row in zip(nodes, rows, strict=True)]
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
