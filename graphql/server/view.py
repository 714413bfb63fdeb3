"""The Strawberry ASGI view behind `/graphql` (HTTP and `graphql-transport-ws`).

Every HTTP request (GET and POST) is read and answered here (`_http`, the rules of GraphQL over
HTTP in graphql/server/over_http.py); Strawberry serves the websockets and GraphiQL. Every
error is formatted by graphql/server/errors.py: a stable code and a Vietnamese message each.
Every path (GET, POST, `subscribe` over the websocket) asks graphql/server/trusted.py which
text to run: a registered document named by its hash, or a refusal under
`EISO_GRAPHQL_TRUSTED_ONLY`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import orjson
import strawberry
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from eiso.graphql.server import ide
from eiso.graphql.server.context import Context
from eiso.graphql.server.errors import (
    MUTATION_REQUIRES_POST,
    OPERATION_NOT_FOUND,
    PROBLEMS,
    SUBSCRIPTION_REQUIRES_WEBSOCKET,
    Problem,
    code_of,
    error,
    format_error,
    is_request_error,
)
from eiso.graphql.server.over_http import (
    GRAPHQL_RESPONSE,
    GraphQLRequest,
    RequestProblem,
    negotiate,
    read_request,
    require_query,
)
from eiso.graphql.server.trusted import Refusal
from graphql import GraphQLError, GraphQLFormattedError

# Subscriptions run over the websocket only.
_GET_OPERATIONS = frozenset({OperationType.QUERY})
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


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


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames: the protocol's clients (graphql-ws, gql)
    refuse binary ones, which Strawberry sends whenever `encode_json` returns bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TrustedTransportWS
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
        self._only: bool | None = None  # EISO_GRAPHQL_TRUSTED_ONLY, read at the first request
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
        if scope["type"] == "http" and not self._renders_ide(scope):
            request = Request(scope, receive)
            response = await self._http(request, negotiate(request.headers.get("accept")))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)  # websockets, GraphiQL

    def _renders_ide(self, scope: Scope) -> bool:
        return bool(self.graphql_ide) and self.should_render_graphql_ide(
            self.request_adapter_class(Request(scope))
        )

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A GET naming a document by hash is an operation, not a visit to the IDE."""
        params = request.query_params
        return (
            "extensions" not in params
            and "documentId" not in params
            and super().should_render_graphql_ide(request)
        )

    async def _http(self, request: Request, media: str) -> Response:
        """One GraphQL request over HTTP (graphql/server/over_http.py), every answer JSON with
        codes: Strawberry's generic request handling (content-type parsing through `email`,
        request adapters, protocol checks written for every framework) was a third of the time
        of `{ __typename }`, and answered its refusals in plain text."""
        try:
            graphql_request = await read_request(request)
            named = graphql_request.document_id is not None or graphql_request.extensions
            if named or self._trusted_only(request):
                text = await operation_text(
                    request,
                    graphql_request.query,
                    graphql_request.extensions,
                    graphql_request.document_id,
                )
                if isinstance(text, Refusal):
                    return _refusal(text, media)
                if isinstance(text, str):
                    graphql_request = dataclasses.replace(graphql_request, query=text)
            query = require_query(graphql_request)
            sub_response = await self.get_sub_response(request)
            context = await self.get_context(request, response=sub_response)
            result = await self._execute(graphql_request, query, context)
        except RequestProblem as problem:
            return self._refusal(media, problem)
        data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, data)
        status = 200
        if media == GRAPHQL_RESPONSE and result.errors and is_request_error(result.errors):
            data.pop("data", None)  # nothing ran: a request error has no `data`
            status = max(PROBLEMS[code_of(e) or ""].status for e in result.errors)
        return _answer(self.encode_json(data), media, status, sub_response)

    async def _execute(
        self, request: GraphQLRequest, query: str, context: Context
    ) -> ExecutionResult:
        allowed = _GET_OPERATIONS if request.method == "GET" else _POST_OPERATIONS
        try:
            return await self.schema.execute(
                query,
                variable_values=request.variables,
                context_value=context,
                operation_name=request.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request.extensions,
            )
        except CannotGetOperationTypeError as error:
            return _refused(OPERATION_NOT_FOUND, error.as_http_error_reason())
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.MUTATION:
                raise RequestProblem(
                    MUTATION_REQUIRES_POST,
                    "mutations are not allowed when using GET: send them by POST",
                    {"allow": "POST"},
                ) from None
            return _refused(
                SUBSCRIPTION_REQUIRES_WEBSOCKET,
                f"{error.operation_type.value}s are not served over HTTP: use a websocket "
                "(graphql-transport-ws) on the same path",
            )

    def _refusal(self, media: str, refused: RequestProblem) -> Response:
        """Not a GraphQL request: its status under either media type, no `data`."""
        problem = refused.problem
        extensions = {"code": problem.code, "message_vi": problem.message_vi}
        body = {"errors": [{"message": refused.message, "extensions": extensions}]}
        return Response(self.encode_json(body), problem.status, refused.headers, media_type=media)

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
        return format_error(error, dev=self.dev)

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


def _answer(body: bytes, media: str, status: int, sub_response: Response) -> Response:
    """Strawberry's `create_response` with the media type and status given at once (no
    header rewritten after): the sub-response's headers follow ours, its status wins unless
    it is 200, its background task runs after the answer."""
    code = sub_response.status_code or 200
    response = Response(body, status if code == 200 else code, media_type=media)
    response.raw_headers.extend(sub_response.raw_headers)
    if sub_response.background:
        response.background = sub_response.background
    return response


def _refused(problem: Problem, message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[error(problem, message)])


def _refusal(refusal: Refusal, media: str) -> Response:
    return Response(orjson.dumps(refusal.body), status_code=refusal.status, media_type=media)
