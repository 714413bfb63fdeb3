"""Tenancy mutations: bulk onboarding and module activation (province administrators)."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from eiso.core.auth.rules import require_own_province, require_principal, require_province_admin
from eiso.core.errors import DomainError, NotFound
from eiso.graphql.auth.permissions import guard
from eiso.graphql.tenants.nodes import ImportFormat, ModuleNode, OnboardingReport
from eiso.graphql.tenants.queries import module_nodes
from eiso.tenants import onboarding
from eiso.tenants.models import Province
from eiso.tenants.modules import check_module_name, set_module
from eiso.tenants.scope import TenantScope

MAX_CONTENT = 5_000_000  # characters: about 20,000 agencies, far more than a province has


async def _switch(info: strawberry.Info, module: str, enabled: bool) -> ModuleNode:
    principal, province_id = require_own_province(info.context.principal)
    problem = check_module_name(module)
    if problem:
        raise DomainError(f"module {module!r}: {problem}", f"mô-đun {module!r}: tên không hợp lệ")
    async with info.context.resources.session(principal.tenant) as session, session.begin():
        await set_module(session, province_id, module, enabled, by=principal.subject)
    return next(node for node in await module_nodes(info, province_id) if node.name == module)


@strawberry.type
class TenantsMutation:
    @strawberry.mutation(description="Validate every row, then create or update the province's agencies "
                                     "(all or nothing). Bad rows come back in `errors` with their line.", extensions=guard("onboardAgencies"))
    async def onboard_agencies(
        self, info: strawberry.Info, province_code: str, format: ImportFormat, content: str,
        dry_run: bool = False,
    ) -> OnboardingReport:
        require_principal(info.context.principal)
        if len(content) > MAX_CONTENT:
            raise DomainError(f"content longer than {MAX_CONTENT} characters", "nội dung quá dài")
        resources = info.context.resources
        async with resources.session(TenantScope.nation()) as session:
            province = (await session.execute(
                select(Province).where(Province.code == province_code))).scalar_one_or_none()
        if province is None:
            raise NotFound(f"no province with code {province_code!r}", f"không tìm thấy tỉnh có mã {province_code!r}")
        require_province_admin(info.context.principal, province.id)
        report = await onboarding.onboard(
            resources.session, province, content.encode(), onboarding.FileFormat(format.value), dry_run=dry_run)
        return OnboardingReport.of(report)

    @strawberry.mutation(description="Switch a module on for the caller's province (province administrators).", extensions=guard("enableModule"))
    async def enable_module(self, info: strawberry.Info, module: str) -> ModuleNode:
        return await _switch(info, module, True)

    @strawberry.mutation(description="Switch a module off for the caller's province; its data is kept.", extensions=guard("disableModule"))
    async def disable_module(self, info: strawberry.Info, module: str) -> ModuleNode:
        return await _switch(info, module, False)
