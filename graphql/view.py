"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`)."""

from __future__ import annotations

import logging

import orjson
import strawberry
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

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
