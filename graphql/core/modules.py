"""Module activation over GraphQL: which modules the caller's schema holds, and switching a
module for a province (the schema changes at the next request, on every worker)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from eiso.core.activation import switch_module


@strawberry.type
class ModuleQuery:
    @strawberry.field(description="The modules whose fields this caller's schema holds.")
    def active_modules(self, info: Info) -> list[str]:
        return sorted(info.context.extras.get("modules", ()))


@strawberry.type
class ModuleMutation:
    @strawberry.mutation(description="Switch a module on for a province (province admin).")
    async def enable_module(
        self, info: Info, module: str, province_id: int | None = None,
        config: JSON | None = None,
    ) -> list[str]:
        return await _switch(info, module, province_id, True, config)

    @strawberry.mutation(description="Switch a module off for a province; its data stays.")
    async def disable_module(self, info: Info, module: str, province_id: int | None = None) -> list[str]:
        return await _switch(info, module, province_id, False)


async def _switch(info: Info, module: str, province_id: int | None, enabled: bool,
                  config: dict | None = None) -> list[str]:
    context = info.context
    principal = context.principal
    target = province_id if province_id is not None else getattr(principal, "province_id", None)
    if target is None:
        from eiso.core.errors import DomainError

        raise DomainError("provinceId is required", "Cần chỉ rõ provinceId", field="provinceId")
    names = await switch_module(context.resources, context.request.app.state.plugins,
                                principal, target, module, enabled, config)
    return sorted(names)
