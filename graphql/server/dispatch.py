"""`/graphql` for many schemas: each request goes to the view of its province's module set.

Strawberry's view holds one schema, so there is one view per cached schema; this ASGI app
authenticates the caller once, looks up the province's active modules (cached while the
worker hears switches by pub/sub; else one Redis GET, or with `memory://` one read of the
database's switch generation: core/plugins/activation.py) and hands the request to that
view, with the principal and modules in the ASGI scope.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from eiso.core.auth.principal import Principal
from eiso.core.plugins.activation import ActiveModules
from eiso.graphql.server.assembly import SchemaAssembler, SchemaClash
from eiso.graphql.server.errors import MODULE_CONFLICT
from eiso.graphql.server.view import GraphQLView

SCOPE_KEY = "eiso.graphql"
log = logging.getLogger("eiso.graphql")


class ProvinceGraphQL:
    def __init__(
        self,
        assembler: SchemaAssembler,
        active: ActiveModules,
        *,
        dev: bool,
        allowed_origins: Iterable[str] = (),
        graphiql: bool | None = None,
    ) -> None:
        self.assembler, self.active = assembler, active
        self.dev, self.allowed_origins = dev, tuple(allowed_origins)
        self.graphiql = graphiql
        self.view_for = functools.lru_cache(maxsize=64)(self._view)

    def _view(self, modules: frozenset[str]) -> GraphQLView:
        return GraphQLView(
            self.assembler.schema_for(modules),
            dev=self.dev,
            allowed_origins=self.allowed_origins,
            graphiql=self.graphiql,
        )

    async def caller(self, connection: HTTPConnection) -> tuple[Principal | None, frozenset[str]]:
        """Who calls, and the modules of its province's schema (what `/graphql` and the pages of
        the web room run against)."""
        app = connection.app
        principal = await app.state.authenticator(connection)
        modules = await self.active.for_principal(app.state.resources, principal)
        if modules:  # anonymous callers see the core: nothing to intersect
            modules = self.assembler.modules(modules)
        return principal, modules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal, modules = await self.caller(HTTPConnection(scope))
        scope[SCOPE_KEY] = {"principal": principal, "modules": modules}
        try:
            view = self.view_for(modules)
        except SchemaClash as clash:  # the operator loaded two modules that cannot coexist
            log.error(
                "schema build failed", extra={"modules": sorted(modules), "error": str(clash)}
            )
            if scope["type"] != "http":
                await send({"type": "websocket.close", "code": 1011})
                return
            extensions = {"code": MODULE_CONFLICT.code, "message_vi": MODULE_CONFLICT.message_vi}
            body = {"errors": [{"message": str(clash), "extensions": extensions}]}
            await JSONResponse(body, status_code=MODULE_CONFLICT.status)(scope, receive, send)
            return
        await view(scope, receive, send)
