"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`)."""

from __future__ import annotations

import logging

import orjson
import strawberry
from starlette.requests import HTTPConnection
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from eiso.core.errors import DomainError
from eiso.graphql.context import Context

log = logging.getLogger("eiso.graphql")


class GraphQLView(GraphQL):
    def __init__(self, schema: strawberry.Schema, *, dev: bool, allowed_origins=()) -> None:
        self.dev = dev
        super().__init__(
            schema,
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=10,
            allowed_origins=tuple(allowed_origins),
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(self, request, result):
        """Errors keep their stable code; unexpected ones are masked outside development."""
        data = await super().process_result(request, result)
        if result.errors:
            data["errors"] = [self._format_error(error) for error in result.errors]
        return data

    def _format_error(self, error) -> dict:
        formatted = error.formatted
        original = error.original_error
        extensions = dict(formatted.get("extensions") or {})
        if original is None:
            extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        elif isinstance(original, DomainError):
            extensions.update(original.extensions)
        else:
            log.error("unexpected error in a resolver", exc_info=original)
            extensions["code"] = "INTERNAL_ERROR"
            if not self.dev:
                formatted["message"] = "Internal error"
        formatted["extensions"] = extensions
        return formatted

    async def get_context(self, request, response) -> Context:
        # The province dispatcher (graphql/dispatch.py) has authenticated the caller already.
        routed = request.scope.get("eiso.graphql")
        if routed is None:
            routed = {"principal": await request.app.state.authenticator(request),
                      "modules": frozenset()}
        return Context(
            request=request,
            resources=request.app.state.resources,
            principal=routed["principal"],
            response=response,
            extras={"modules": routed["modules"]},
        )

    async def on_ws_connect(self, context: Context):
        """A websocket client may authenticate in `connection_init`'s payload,
        `{"authorization": "Bearer <token>"}` (browsers cannot set headers on a websocket); it
        takes the place of the handshake's header. A credential that does not authenticate
        closes the connection with 4403; no credential leaves the caller anonymous."""
        params = context.connection_params or {}
        credential = params.get("authorization", params.get("Authorization"))
        if credential is None:
            return UNSET
        if not isinstance(credential, str):
            raise ConnectionRejectionError()
        scope = dict(context.request.scope)
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
        scope["headers"] = [*headers, (b"authorization", credential.encode())]
        principal = await context.request.app.state.authenticator(HTTPConnection(scope))
        if principal is None:
            raise ConnectionRejectionError()
        context.principal = principal
        return UNSET
