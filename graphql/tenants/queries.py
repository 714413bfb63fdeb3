"""Tenancy queries: provinces, agencies (cursor connections), modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.scalars import JSON

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import (
    may_switch_modules,
    require_principal,
    require_province_admin,
)
from eiso.core.errors import DomainError, NotFound
from eiso.core.global_ids import decode_id, not_found
from eiso.core.plugins.activation import installed_modules
from eiso.core.plugins.config_secrets import masked
from eiso.graphql.shared.connections import Connection, Page, paged
from eiso.graphql.shared.lookup import load_node
from eiso.graphql.shared.pagination import connection_of, keyset_page, wants_total
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.selections import selects
from eiso.graphql.shared.transactions import in_transaction
from eiso.graphql.tenants.dataloaders import loaders
from eiso.graphql.tenants.nodes import (
    AgencyNode,
    ModuleNode,
    ModuleProcedure,
    ModuleSwitch,
    ProvinceNode,
    app_plugins,
)
from eiso.infra.text import fold
from eiso.tenants.models import Agency, Province
from eiso.tenants.modules import ModuleActivation, ModuleActivationEvent
from eiso.tenants.scope import TenantScope

R = TypeVar("R")


def _search(column: SQLColumnExpression[str], search: str | None) -> ColumnElement[bool] | None:
    """Diacritic- and case-insensitive: "xa tien yen" finds "Xã Tiên Yên"."""
    folded = fold(search or "")
    if not folded:
        return None
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


async def _page_by_name(
    session: AsyncSession,
    statement: Select[R],
    model: type[Province] | type[Agency],
    search: str | None,
    page: Page,
    count: bool,
) -> tuple[list[R], bool, int]:
    """A page of provinces or agencies by name, those whose name has `search` (folded); the
    total counted only when `count`."""
    name = col(model.name_folded)
    condition = _search(name, search)
    if condition is not None:
        statement = statement.where(condition)
    return await keyset_page(session, statement, (name, col(model.id)), page, count=count)


def _by_name(row: Province | Agency) -> list[Any]:
    """The sort key of `_page_by_name`."""
    return [row.name_folded, row.id]


@guarded
class TenantsQuery:
    @strawberry.field(
        description="Every province (public reference data). `search` ignores diacritics."
    )
    @paged(default=50)
    async def provinces(
        self,
        info: strawberry.Info,
        search: str | None = None,
        *,
        page: Page,
    ) -> Connection[ProvinceNode]:
        async with info.context.resources.session(TenantScope.nation()) as session:
            rows, more, total = await _page_by_name(
                session, select(Province), Province, search, page, wants_total(info)
            )
        return connection_of(rows, more, total, ProvinceNode, _by_name, page)

    @strawberry.field(description="One province by its official code.")
    async def province(self, info: strawberry.Info, code: str) -> ProvinceNode | None:
        async with info.context.resources.session(TenantScope.nation()) as session:
            row = (
                await session.execute(select(Province).where(col(Province.code) == code))
            ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no province with code {code!r}", f"không tìm thấy tỉnh có mã {code!r}")
        return ProvinceNode(row=row)

    @strawberry.field(
        description="The agencies the caller may see, by name. `search` ignores diacritics."
    )
    @paged()
    async def agencies(
        self,
        info: strawberry.Info,
        province_code: str | None = None,
        search: str | None = None,
        *,
        page: Page,
    ) -> Connection[AgencyNode]:
        principal = require_principal(info.context.principal)
        statement = select(Agency)
        if province_code is not None:
            statement = statement.join(Province, col(Province.id) == col(Agency.province_id)).where(
                col(Province.code) == province_code
            )
        async with info.context.resources.session(principal.tenant) as session:
            rows, more, total = await _page_by_name(
                session, statement, Agency, search, page, wants_total(info)
            )
            await loaders(info).prime_relations(
                session,
                rows,
                parents=selects(info, "edges", "node", "parent"),
                provinces=selects(info, "edges", "node", "province"),
            )
        return connection_of(rows, more, total, AgencyNode, _by_name, page)

    @strawberry.field(
        description="One agency by its global id; NOT_FOUND outside the caller's scope."
    )
    async def agency(self, info: strawberry.Info, id: strawberry.ID) -> AgencyNode | None:
        return await agency_by_id(info, id)

    @strawberry.field(
        description="Installed modules and whether the caller's province enabled each. "
        "`provinceId` (a province's global id): that province's switches, for its "
        "administrators and the national administrators (FORBIDDEN otherwise)."
    )
    async def modules(
        self, info: strawberry.Info, province_id: strawberry.ID | None = None
    ) -> list[ModuleNode]:
        principal = require_principal(info.context.principal)
        if province_id is None:
            return await module_nodes(info, principal.province_id)
        target = province_row_id(province_id)
        require_province_admin(principal, target)
        return await module_nodes(info, target)


async def agency_by_id(info: strawberry.Info, id: str) -> AgencyNode:
    """The agency a global id names, in the caller's scope. A malformed id, another
    province's or agency's: the same NOT_FOUND."""
    return AgencyNode(row=await load_node(info, Agency, id, "Agency"))


async def province_by_id(info: strawberry.Info, id: str) -> ProvinceNode:
    """The province a global id names (provinces are public reference data)."""
    province_id, row_id = decode_id(id, "Province")
    async with info.context.resources.session(TenantScope.nation()) as session:
        # A province's global id repeats its id (Province:<id>:<id>); anything else is forged.
        row = await session.get(Province, row_id) if province_id == row_id else None
    if row is None:
        raise not_found("Province", id)
    return ProvinceNode(row=row)


def province_row_id(global_id: str) -> int:
    """The row id of a province's global id (`Province.id`); NOT_FOUND for any other id."""
    province_id, row_id = decode_id(global_id, "Province")
    if province_id != row_id:
        raise not_found("Province", global_id)
    return row_id


def administered_province(info: strawberry.Info, province_id: str | None) -> int:
    """The province a province-wide setting is for (`province_id`, else the caller's own),
    once the caller is checked to administer it."""
    principal = require_principal(info.context.principal)
    target = province_row_id(province_id) if province_id is not None else principal.province_id
    if target is None:
        raise DomainError("provinceId: is required", "provinceId: cần chỉ rõ", field="provinceId")
    require_province_admin(principal, target)
    return target


DaysSetter = Callable[[AsyncSession, Principal, int, int], Awaitable[int]]


def province_days(description: str, setter: DaysSetter) -> int:
    """A mutation: a province-wide number of days (`days`, for `provinceId` or the caller's
    own province, by its administrator) set by `setter(session, principal, province_id, days)`
    in one transaction, answering the days set. Assigned to a class attribute, whose name is
    the field's (and, through `@guarded`, names its rule)."""

    async def set_days(
        info: strawberry.Info, days: int, province_id: strawberry.ID | None = None
    ) -> int:
        target = administered_province(info, province_id)
        return await in_transaction(info, lambda session, who: setter(session, who, target, days))

    return strawberry.mutation(resolver=set_days, description=description)


HISTORY = 20  # switches shown per module


async def module_nodes(info: strawberry.Info, province_id: int | None) -> list[ModuleNode]:
    """Every installed module (and any the province switched that is no longer installed),
    with the province's switch of each, its last switches, and (when loaded) its title,
    version and procedures."""
    states: dict[str, ModuleActivation] = {}
    history: dict[str, list[ModuleSwitch]] = {}
    if province_id is not None:
        async with info.context.resources.session(info.context.principal.tenant) as session:
            rows = await session.execute(
                select(ModuleActivation).where(col(ModuleActivation.province_id) == province_id)
            )
            states = {row.module: row for row in rows.scalars()}
            events = await session.execute(
                select(ModuleActivationEvent)
                .where(col(ModuleActivationEvent.province_id) == province_id)
                .order_by(col(ModuleActivationEvent.id).desc())
            )
            for event in events.scalars():
                switches = history.setdefault(event.module, [])
                if len(switches) < HISTORY:
                    switches.append(
                        ModuleSwitch(
                            enabled=event.enabled,
                            changed_by=event.changed_by,
                            changed_at=event.changed_at,
                        )
                    )
    # The stored configuration (secrets masked) only for who may change it.
    principal = info.context.principal
    shown = (
        province_id is not None
        and principal is not None
        and may_switch_modules(principal, province_id)
    )
    plugins = app_plugins(info)
    loaded = plugins.loaded if plugins is not None else {}
    # What the app loaded is installed too (the switch takes exactly those).
    installed = installed_modules() | set(loaded)
    nodes = []
    for name in sorted(installed | set(states)):
        state = states.get(name)
        record = loaded.get(name)
        model = record.info.config_model if record and record.info else None
        schema = model.model_json_schema() if model is not None else None
        nodes.append(
            ModuleNode(
                name=name,
                installed=name in installed,
                enabled_for_my_province=bool(state and state.enabled),
                changed_by=state.changed_by if state else None,
                changed_at=state.changed_at if state else None,
                title=record.info.title.vi if record and record.info else None,
                title_en=record.info.title.en if record and record.info else None,
                version=record.info.version if record and record.info else None,
                procedures=[
                    ModuleProcedure(code=p.code, name=p.name.vi, name_en=p.name.en)
                    for p in (record.procedures if record else ())
                ],
                history=history.get(name, []),
                config_schema=JSON(schema) if schema is not None else None,
                config=JSON(masked(state.config or {}, schema or {})) if state and shown else None,
            )
        )
    return nodes
