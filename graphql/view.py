"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`)."""

from __future__ import annotations

import orjson
import strawberry
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from eiso.graphql.context import Context


class GraphQLView(GraphQL):
    def __init__(self, schema: strawberry.Schema, *, dev: bool, allowed_origins=()) -> None:
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

    async def get_context(self, request, response) -> Context:
        principal = await request.app.state.authenticator(request)
        return Context(
            request=request,
            resources=request.app.state.resources,
            principal=principal,
            response=response,
        )
