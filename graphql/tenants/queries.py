"""Tenancy queries: provinces, agencies (cursor connections), modules."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select, tuple_

from eiso.core.auth.rules import require_principal
from eiso.core.errors import NotFound
from eiso.core.plugins.activation import installed_modules
from eiso.graphql.auth.permissions import guard
from eiso.graphql.connections import (
    Connection,
    KeyedEdge,
    PageInfo,
    check_first,
    decode_cursor,
)
from eiso.graphql.selections import selects
from eiso.graphql.tenants.dataloaders import loaders
from eiso.graphql.tenants.ids import decode_id, not_found
from eiso.graphql.tenants.nodes import AgencyNode, ModuleNode, ProvinceNode
from eiso.infra.text import fold
from eiso.tenants.models import Agency, Province
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope


async def _page(session, statement, columns, first: int, after: str | None):
    """Keyset pagination on `columns` (the last one unique): one query for the page, one count."""
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    if after is not None:
        statement = statement.where(tuple_(*columns) > tuple_(*decode_cursor(after, len(columns))))
    rows = list((await session.execute(statement.order_by(*columns).limit(first + 1))).scalars())
    return rows[:first], len(rows) > first, total


def _connection(
    rows, has_next: bool, total: int, node, key, nodes: list | None = None
) -> Connection:
    """A page's connection; `nodes` when built already (else `node(row=row)` each)."""
    nodes = [node(row=row) for row in rows] if nodes is None else nodes
    edges = [KeyedEdge(item, row, key) for item, row in zip(nodes, rows, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )


def _search(column, search: str | None):
    """Diacritic- and case-insensitive: "xa tien yen" finds "Xã Tiên Yên"."""
    folded = fold(search or "")
    if not folded:
        return None
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


@strawberry.type
class TenantsQuery:
    @strawberry.field(
        description="Every province (public reference data). `search` ignores diacritics.",
        extensions=guard("provinces"),
    )
    async def provinces(
        self,
        info: strawberry.Info,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ProvinceNode]:
        statement = select(Province)
        condition = _search(Province.name_folded, search)
        if condition is not None:
            statement = statement.where(condition)
        async with info.context.resources.session(TenantScope.nation()) as session:
            rows, has_next, total = await _page(
                session, statement, (Province.name_folded, Province.id), check_first(first), after
            )
        return _connection(
            rows, has_next, total, ProvinceNode, lambda row: [row.name_folded, row.id]
        )

    @strawberry.field(
        description="One province by its official code.", extensions=guard("province")
    )
    async def province(self, info: strawberry.Info, code: str) -> ProvinceNode | None:
        async with info.context.resources.session(TenantScope.nation()) as session:
            row = (
                await session.execute(select(Province).where(Province.code == code))
            ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no province with code {code!r}", f"không tìm thấy tỉnh có mã {code!r}")
        return ProvinceNode(row=row)

    @strawberry.field(
        description="The agencies the caller may see, by name. `search` ignores diacritics.",
        extensions=guard("agencies"),
    )
    async def agencies(
        self,
        info: strawberry.Info,
        province_code: str | None = None,
        search: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[AgencyNode]:
        principal = require_principal(info.context.principal)
        statement = select(Agency)
        if province_code is not None:
            statement = statement.join(Province, Province.id == Agency.province_id).where(
                Province.code == province_code
            )
        condition = _search(Agency.name_folded, search)
        if condition is not None:
            statement = statement.where(condition)
        async with info.context.resources.session(principal.tenant) as session:
            rows, has_next, total = await _page(
                session, statement, (Agency.name_folded, Agency.id), check_first(first), after
            )
            await loaders(info).prime_relations(
                session,
                rows,
                parents=selects(info, "edges", "node", "parent"),
                provinces=selects(info, "edges", "node", "province"),
            )
        return _connection(rows, has_next, total, AgencyNode, lambda row: [row.name_folded, row.id])

    @strawberry.field(
        description="One agency by its global id; NOT_FOUND outside the caller's scope.",
        extensions=guard("agency"),
    )
    async def agency(self, info: strawberry.Info, id: strawberry.ID) -> AgencyNode | None:
        principal = require_principal(info.context.principal)
        province_id, agency_id = decode_id(id, "Agency")
        async with info.context.resources.session(principal.tenant) as session:
            row = (
                await session.execute(
                    select(Agency).where(Agency.province_id == province_id, Agency.id == agency_id)
                )
            ).scalar_one_or_none()
        if row is None:
            raise not_found("Agency", id)  # the same answer as a malformed id
        return AgencyNode(row=row)

    @strawberry.field(
        description="Installed modules and whether the caller's province enabled each.",
        extensions=guard("modules"),
    )
    async def modules(self, info: strawberry.Info) -> list[ModuleNode]:
        principal = require_principal(info.context.principal)
        return await module_nodes(info, principal.province_id)


async def module_nodes(info: strawberry.Info, province_id: int | None) -> list[ModuleNode]:
    states = {}
    if province_id is not None:
        async with info.context.resources.session(info.context.principal.tenant) as session:
            rows = await session.execute(
                select(ModuleActivation).where(ModuleActivation.province_id == province_id)
            )
            states = {row.module: row for row in rows.scalars()}
    installed = installed_modules()
    return [
        ModuleNode(
            name=name,
            installed=name in installed,
            enabled_for_my_province=bool(states.get(name) and states[name].enabled),
            changed_by=states[name].changed_by if name in states else None,
            changed_at=states[name].changed_at if name in states else None,
        )
        for name in sorted(installed | set(states))
    ]
