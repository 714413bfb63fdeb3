"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`).

A JSON POST of one operation (what every client sends) takes a lean path: Strawberry's
generic request handling (content-type parsing through `email`, request adapters, protocol
checks written for every framework) was a third of the time of `{ __typename }`. Anything
else (GET, batches, malformed bodies, WebSockets) goes through Strawberry unchanged, so the
answers and status codes stay Strawberry's.

Every path (the lean POST, Strawberry's GET and other POSTs, `subscribe` over the websocket)
asks graphql/server/trusted.py which text to run: a registered document named by its hash,
or a refusal under `EISO_GRAPHQL_TRUSTED_ONLY`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import orjson
import strawberry
from cross_web import HTTPException  # what Strawberry's views raise
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.async_base_view import AsyncHTTPRequestAdapter
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from eiso.core.errors import DomainError
from eiso.graphql.server.context import Context
from eiso.graphql.server.trusted import Refusal
from graphql import GraphQLError, GraphQLFormattedError

log = logging.getLogger("eiso.graphql")
_POST_OPERATIONS = frozenset(OperationType.from_http("POST"))


async def operation_text(
    connection: HTTPConnection, query: object, extensions: object, document: object
) -> object:
    """The text to run for a request's `query`, `extensions` and `documentId` (or a Refusal)."""
    trusted = getattr(connection.app.state, "trusted_documents", None)
    if trusted is None:  # an app without the registry (a bare view): texts only
        return query
    return await trusted.operation(connection.app.state.resources, query, extensions, document)


class _TrustedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws whose `subscribe` may name a trusted document too."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        if self.connection_acknowledged and message["id"] not in self.operations:
            text = await operation_text(
                self.context.request,
                payload.get("query"),
                payload.get("extensions"),
                payload.get("documentId"),  # not in the TypedDict: a plain dict at runtime
            )
            if isinstance(text, Refusal):
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": text.body["errors"]}
                )
                return
            if isinstance(text, str):
                message = {**message, "payload": {**payload, "query": text}}
        await super().handle_subscribe(message)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TrustedTransportWS

    def __init__(
        self, schema: strawberry.Schema, *, dev: bool, allowed_origins: Iterable[str] = ()
    ) -> None:
        self.dev = dev
        self._only: bool | None = None  # EISO_GRAPHQL_TRUSTED_ONLY, read at the first request
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

    def parse_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # orjson's error is a json.JSONDecodeError: same 400

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope["method"] == "POST" and _json_body(scope) and not self._stream_transport_map:
            try:
                response = await self._post(request)
            except _Unusual:  # Strawberry answers it, reading the body Request cached
                response = await self._strawberry(request)
        else:
            response = await self._strawberry(request)
        await response(scope, receive, send)

    async def _strawberry(self, request: Request) -> Response:
        try:
            return await self.run(request)
        except HTTPException as error:
            return PlainTextResponse(error.reason, status_code=error.status_code)
        except _Refused as refused:
            return _refusal(refused.refusal)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A GET naming a document by hash is an operation, not a visit to the IDE."""
        params = request.query_params
        return (
            "extensions" not in params
            and "documentId" not in params
            and super().should_render_graphql_ide(request)
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's path (GET, unusual POSTs): the text of a named trusted document."""
        document = (
            request.query_params.get("documentId")
            if request.method == "GET"
            else await _body_field(request, "documentId")
        )
        text = await operation_text(request, request_data.query, request_data.extensions, document)
        if isinstance(text, Refusal):
            raise _Refused(text)
        if isinstance(text, str) and text is not request_data.query:
            request_data = dataclasses.replace(request_data, query=text)
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def _post(self, request: Request) -> Response:
        """One operation in a JSON body: what `run` does for it, without the generic parts."""
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise _Unusual from None
        if not isinstance(data, dict):
            raise _Unusual  # a batch (refused) or a scalar
        variables = data.get("variables")
        extensions, operation_name = data.get("extensions"), data.get("operationName")
        query, document = data.get("query"), data.get("documentId")
        if document is not None or extensions or self._trusted_only(request):
            query = await operation_text(request, query, extensions, document)
            if isinstance(query, Refusal):
                return _refusal(query)
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

    def _trusted_only(self, request: Request) -> bool:
        """Whether the app runs only trusted documents (read once: a view serves one app)."""
        if self._only is None:
            trusted = getattr(request.app.state, "trusted_documents", None)
            self._only = trusted is not None and trusted.only
        return self._only

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


class _Refused(Exception):
    """Strawberry's path met a refusal of graphql/server/trusted.py."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


def _refusal(refusal: Refusal) -> Response:
    return Response(
        orjson.dumps(refusal.body), status_code=refusal.status, media_type="application/json"
    )


async def _body_field(request: Request, name: str) -> object:
    """A field of a JSON object body (Starlette caches the body Strawberry read), or None."""
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return data.get(name) if isinstance(data, dict) else None


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False
