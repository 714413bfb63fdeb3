"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`).

A JSON POST of one operation (what every client sends) takes a lean path: Strawberry's
generic request handling (content-type parsing through `email`, request adapters, protocol
checks written for every framework) was a third of the time of `{ __typename }`. Anything
else (GET, batches, malformed bodies, WebSockets) goes through Strawberry unchanged, so the
answers and status codes stay Strawberry's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import orjson
import strawberry
from cross_web import HTTPException  # what Strawberry's views raise
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from eiso.core.errors import DomainError
from eiso.graphql.server import ide
from eiso.graphql.server.context import Context
from graphql import GraphQLError, GraphQLFormattedError

log = logging.getLogger("eiso.graphql")
_POST_OPERATIONS = frozenset(OperationType.from_http("POST"))


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames: the protocol's clients (graphql-ws, gql)
    refuse binary ones, which Strawberry sends whenever `encode_json` returns bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        dev: bool,
        allowed_origins: Iterable[str] = (),
        graphiql: bool | None = None,
    ) -> None:
        self.dev = dev
        super().__init__(
            schema,
            graphql_ide="graphiql" if (dev if graphiql is None else graphiql) else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=10,
            allowed_origins=tuple(allowed_origins),
        )

    @property
    def graphql_ide_html(self) -> str:
        return ide.page()  # Strawberry's page loads GraphiQL from a CDN

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)  # HTTP bodies: bytes, no decoding (websockets: `TextFrames`)

    def parse_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # orjson's error is a json.JSONDecodeError: same 400

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and _json_body(scope)
            and not self._stream_transport_map
        ):
            request = Request(scope, receive)
            try:
                response = await self._post(request)
            except _Unusual:  # Strawberry answers it, reading the body Request cached
                response = await self._strawberry(request)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _strawberry(self, request: Request) -> Response:
        try:
            return await self.run(request)
        except HTTPException as error:
            return PlainTextResponse(error.reason, status_code=error.status_code)

    async def _post(self, request: Request) -> Response:
        """One operation in a JSON body: what `run` does for it, without the generic parts."""
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise _Unusual from None
        if not isinstance(data, dict):
            raise _Unusual  # a batch (refused) or a scalar
        query, variables = data.get("query"), data.get("variables")
        extensions, operation_name = data.get("extensions"), data.get("operationName")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(extensions, dict | None)
        ):
            raise _Unusual
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation_name,
                allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=extensions,
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError):
            raise _Unusual from None  # Strawberry words the 400
        response_data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data=response_data, sub_response=sub_response)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Errors keep their stable code; unexpected ones are masked outside development."""
        data = await super().process_result(request, result)
        if result.errors:
            data["errors"] = [self._format_error(error) for error in result.errors]
        return data

    def _format_error(self, error: GraphQLError) -> GraphQLFormattedError:
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        # The province dispatcher (graphql/server/dispatch.py) has authenticated the caller
        # already.
        routed = request.scope.get("eiso.graphql")
        if routed is None:
            routed = {
                "principal": await request.app.state.authenticator(request),
                "modules": frozenset(),
            }
        return Context(
            request=request,
            resources=request.app.state.resources,
            principal=routed["principal"],
            response=response,
            extras={"modules": routed["modules"]},
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
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


class _Unusual(Exception):
    """A request the lean path leaves to Strawberry."""


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False
