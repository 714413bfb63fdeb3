"""Keyset pages read in a session and the connections built from them (the types and cursors
are in graphql/shared/connections.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry
from sqlalchemy import func, select, tuple_

from eiso.core.auth.rules import require_principal
from eiso.graphql.shared.connections import (
    Connection,
    Edge,
    KeyedEdge,
    PageInfo,
    check_first,
    decode_cursor,
    encode_cursor,
)
from eiso.tenants.scope import TenantScope


async def keyset_page(session, statement, columns, first: int, after: str | None):
    """Keyset pagination on `columns` (the last one unique), ascending: one query for the page,
    one count. Answers (rows, has_next, total)."""
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    if after is not None:
        statement = statement.where(tuple_(*columns) > tuple_(*decode_cursor(after, len(columns))))
    rows = list((await session.execute(statement.order_by(*columns).limit(first + 1))).scalars())
    return rows[:first], len(rows) > first, total


def connection_of(
    rows, has_next: bool, total: int, node, key, nodes: list | None = None
) -> Connection:
    """A page's connection; `nodes` when built already (else `node(row=row)` each). `key(row)`
    is the row's sort key, encoded into a cursor only when the query reads it."""
    nodes = [node(row=row) for row in rows] if nodes is None else nodes
    edges = [KeyedEdge(item, row, key) for item, row in zip(nodes, rows, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )


async def newest_first(
    info: strawberry.Info,
    model,
    first: int,
    after: str | None,
    make: Callable[[Any, list], Awaitable[list]],
    where: Sequence = (),
    scope: TenantScope | None = None,
) -> Connection:
    """Keyset pagination on (province_id, id) in the caller's scope, newest first: one query
    for the page, one count; `make(session, rows)` builds the nodes (and batches any nested
    loads)."""
    principal = require_principal(info.context.principal)
    first = check_first(first)
    columns = (model.province_id, model.id)
    statement = select(model).where(*where)
    async with info.context.resources.session(scope or principal.tenant) as session:
        total = (
            await session.execute(select(func.count()).select_from(statement.subquery()))
        ).scalar_one()
        if after is not None:
            statement = statement.where(tuple_(*columns) < tuple_(*decode_cursor(after, 2)))
        rows = list(
            (
                await session.execute(
                    statement.order_by(*(c.desc() for c in columns)).limit(first + 1)
                )
            ).scalars()
        )
        nodes = await make(session, rows[:first])
    edges = [
        Edge(cursor=encode_cursor([row.province_id, row.id]), node=node)
        for row, node in zip(rows, nodes)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=total,
    )
