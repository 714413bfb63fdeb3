"""Which modules the caller's schema holds (switching them: `enableModule` in
graphql/tenants/mutations.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from eiso.graphql.auth.permissions import guard


@strawberry.type
class ModuleQuery:
    @strawberry.field(
        description="The modules whose fields this caller's schema holds.",
        extensions=guard("activeModules"),
    )
    def active_modules(self, info: Info) -> list[str]:
        return sorted(info.context.extras.get("modules", ()))
