from __future__ import annotations

import strawberry

from eiso.core import __version__


@strawberry.type
class CoreQuery:
    @strawberry.field(description="The eiso server version.")
    def version(self) -> str:
        return __version__
