"""What the instance tells every caller: the server's version, and which modules the caller's
schema holds (switching them: `enableModule` in graphql/tenants/mutations.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from eiso.core import __version__
from eiso.graphql.shared.permissions import guarded


@strawberry.type
class VersionQuery:
    @strawberry.field(description="The eiso server version.")
    def version(self) -> str:
        return __version__


# A part of its own: graphql/schema.py places it after the tenants' queries (the SDL's order).
@guarded
class ModuleQuery:
    @strawberry.field(description="The modules whose fields this caller's schema holds.")
    def active_modules(self, info: Info) -> list[str]:
        return sorted(info.context.extras.get("modules", ()))
