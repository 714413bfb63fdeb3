"""GraphQL types of the authenticated caller."""

from __future__ import annotations

import enum

import strawberry
from sqlalchemy import select
from sqlmodel import col

from eiso.core.auth.principal import Principal
from eiso.graphql.shared.enums import Role
from eiso.graphql.tenants.nodes import AgencyNode, ProvinceNode
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope

_RAW_IDS = (
    "Raw database ids, which no `ID` argument takes: use `me.provinces { id }` and "
    "`me.agencies { id }` (global ids)."
)


@strawberry.enum(name="TenantKind", description="How far a caller's tenant scope reaches.")
class TenantKind(enum.Enum):
    NATION = "nation"
    PROVINCE = "province"
    AGENCIES = "agencies"


@strawberry.type(description="The tenant scope a caller's queries are limited to.")
class Tenant:
    kind: TenantKind
    province_ids: list[strawberry.ID] = strawberry.field(deprecation_reason=_RAW_IDS)
    agency_ids: list[strawberry.ID] = strawberry.field(deprecation_reason=_RAW_IDS)

    @classmethod
    def of(cls, tenant: TenantScope) -> Tenant:
        return cls(
            kind=TenantKind(tenant.kind),
            province_ids=[strawberry.ID(str(i)) for i in sorted(tenant.province_ids)],
            agency_ids=[strawberry.ID(str(i)) for i in sorted(tenant.agency_ids)],
        )


@strawberry.type(description="The authenticated caller.")
class Me:
    principal: strawberry.Private[Principal]
    subject: str
    roles: list[Role]
    scopes: list[str]
    client_id: str | None
    tenant: Tenant

    @strawberry.field(
        description="The agencies the caller acts for (an officer's own; an integration "
        "client's bound agency): their `id` is what `agencyId`/`ID` arguments take. Empty "
        "for a province's or the nation's scope (see `agencies`)."
    )
    async def agencies(self, info: strawberry.Info) -> list[AgencyNode]:
        ids = self.principal.tenant.agency_ids
        if not ids:
            return []
        async with info.context.resources.session(self.principal.tenant) as session:
            rows = await session.execute(
                select(Agency).where(col(Agency.id).in_(ids)).order_by(col(Agency.id))
            )
            return [AgencyNode(row=row) for row in rows.scalars()]

    @strawberry.field(
        description="The provinces of the caller's scope, with their global `id`. Empty for "
        "the nation's scope (see `provinces`)."
    )
    async def provinces(self, info: strawberry.Info) -> list[ProvinceNode]:
        ids = self.principal.tenant.province_ids
        if not ids:
            return []
        async with info.context.resources.session(TenantScope.nation()) as session:
            rows = await session.execute(
                select(Province).where(col(Province.id).in_(ids)).order_by(col(Province.id))
            )
            return [ProvinceNode(row=row) for row in rows.scalars()]
