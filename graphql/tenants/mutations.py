"""Tenancy mutations: bulk onboarding and module activation (province administrators)."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from sqlalchemy import select
from sqlmodel import col
from strawberry.scalars import JSON

from eiso.core.auth.invitations import create_agency_admins
from eiso.core.auth.rules import require_principal, require_province_admin
from eiso.core.errors import DomainError, NotFound
from eiso.core.plugins.activation import check_module_name, switch_module
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.tenants.nodes import ImportFormat, ModuleNode, OnboardingReport
from eiso.graphql.tenants.queries import module_nodes, province_row_id
from eiso.tenants import onboarding
from eiso.tenants.models import Province
from eiso.tenants.scope import TenantScope

MAX_CONTENT = 5_000_000  # characters: about 20,000 agencies, far more than a province has


async def _switch(
    info: strawberry.Info,
    module: str,
    enabled: bool,
    province_id: strawberry.ID | None,
    config: JSON | None = None,
) -> ModuleNode:
    """One path for every caller: the activation service checks the administrator, the module
    and its configuration, records who and when, and tells every worker's schema cache."""
    principal = require_principal(info.context.principal)
    problem = check_module_name(module)
    if problem:
        raise DomainError(
            f"module {module!r}: {problem}", f"mô-đun {module!r}: tên không hợp lệ", field="module"
        )
    target = province_row_id(province_id) if province_id is not None else principal.province_id
    if target is None:
        raise DomainError("provinceId is required", "Cần chỉ rõ provinceId", field="provinceId")
    await switch_module(
        info.context.resources,
        info.context.request.app.state.plugins,
        principal,
        target,
        module,
        enabled,
        # Any JSON: the module's model check answers INVALID_CONFIG for what is not an object.
        cast("dict[str, Any] | None", config),
    )
    return next(node for node in await module_nodes(info, target) if node.name == module)


@guarded
class TenantsMutation:
    @strawberry.mutation(
        description="Validate every row, then create or update the province's agencies "
        "(all or nothing). Bad rows come back in `errors` with their line."
    )
    async def onboard_agencies(
        self,
        info: strawberry.Info,
        province_code: str,
        format: ImportFormat,
        content: str,
        dry_run: bool = False,
    ) -> OnboardingReport:
        require_principal(info.context.principal)
        if len(content) > MAX_CONTENT:
            raise DomainError(f"content longer than {MAX_CONTENT} characters", "nội dung quá dài")
        resources = info.context.resources
        async with resources.session(TenantScope.nation()) as session:
            province = (
                await session.execute(select(Province).where(col(Province.code) == province_code))
            ).scalar_one_or_none()
        if province is None:
            raise NotFound(
                f"no province with code {province_code!r}",
                f"không tìm thấy tỉnh có mã {province_code!r}",
            )
        require_province_admin(info.context.principal, province.id)
        report = await onboarding.onboard(
            resources.session,
            province,
            content.encode(),
            onboarding.FileFormat(format.value),
            dry_run=dry_run,
            # In-process only: the console's background import counts its rows (web/run.py's
            # `extras`); nothing a `/graphql` request sends can set it.
            progress=info.context.extras.get("progress"),
            accounts=create_agency_admins,
        )
        return OnboardingReport.of(report)

    @strawberry.mutation(
        description="Switch a module on for a province (its administrator; the caller's own "
        "province by default, `provinceId` the province's global id), with its configuration "
        "validated by the module's model."
    )
    async def enable_module(
        self,
        info: strawberry.Info,
        module: str,
        province_id: strawberry.ID | None = None,
        config: JSON | None = None,
    ) -> ModuleNode:
        return await _switch(info, module, True, province_id, config)

    @strawberry.mutation(description="Switch a module off for a province; its data is kept.")
    async def disable_module(
        self, info: strawberry.Info, module: str, province_id: strawberry.ID | None = None
    ) -> ModuleNode:
        return await _switch(info, module, False, province_id)
