"""The pages' data: named GraphQL operations kept as files (web/operations/*.graphql), run
in-process as `/graphql` runs them, so a page can do nothing the API would not let its
caller do:

- the caller is authenticated and its province's schema chosen by the dispatcher of
  `/graphql` (graphql/server/dispatch.py, `ProvinceGraphQL.caller`);
- the text goes through the trusted documents' check (`EISO_GRAPHQL_TRUSTED_ONLY` refuses an
  unregistered one; the web room's documents are registered at start-up, web/documents.py);
- the schema executes it with its limits, validation, input hygiene, permission rules and
  tenant scope (graphql/server/execution.py), in a `Context` like the view's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any, cast

from starlette.datastructures import Headers
from starlette.requests import Request
from strawberry.schema.base import BaseSchema
from strawberry.types.graphql import OperationType

from eiso.core.auth.principal import Principal
from eiso.graphql.server.context import Context
from eiso.graphql.server.dispatch import ProvinceGraphQL
from eiso.graphql.server.errors import format_error
from eiso.graphql.server.trusted import Refusal
from eiso.graphql.server.view import operation_text
from eiso.web.documents import document
from graphql import GraphQLError

_READ = frozenset({OperationType.QUERY})
_WRITE = frozenset({OperationType.QUERY, OperationType.MUTATION})
# A page's HTTP status for the GraphQL error codes a page may meet (500 otherwise).
STATUS = {
    "NOT_FOUND": 404,
    "BAD_INPUT": 422,
    "RATE_LIMITED": 429,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_ADOPTED": 404,
    "CONFLICT": 409,
    "ATTACHMENT_REFUSED": 422,
    "UNKNOWN_MODULE": 404,
    "EFFECTIVENESS_CHECK_REQUIRED": 409,  # closing a nonconformity before its check
    "NO_PUBLISH_CONSENT": 409,  # publishing an answer the citizen did not agree to
    # The ISO workspace's conformity and yearly report (core/qms/conformity.py, yearly_reports.py).
    "PREREQUISITES_UNMET": 409,
    "REVIEW_PENDING": 409,
    "EMPTY_SCOPE": 422,
    "UNKNOWN_PROCEDURE": 422,
    "PROCEDURE_NOT_ADOPTED": 422,
    "REPORT_INCOMPLETE": 422,
    "OWN_ACCOUNT": 409,  # an administrator disabling or resetting their own account
    # The province console's inspections (core/qms/inspections.py).
    "NO_INSPECTION_PLAN": 409,
    "INSPECTION_EXISTS": 409,
    "UNKNOWN_CHECKLIST_ITEM": 422,
    "NONCONFORMITY_OPEN": 409,
    "FINDINGS_NOT_VERIFIED": 409,
}


@dataclasses.dataclass
class OperationFailed(Exception):
    """The operation answered errors: the first one's code, messages and field."""

    code: str
    message: str
    message_vi: str
    field: str | None = None
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 422 if self.code.startswith(("BAD_", "INVALID_")) else 500)


def not_allowed(message: str, message_vi: str) -> OperationFailed:
    """The refusal (403, FORBIDDEN) of a page that is not for its caller."""
    return OperationFailed("FORBIDDEN", message, message_vi)


@dataclasses.dataclass(frozen=True)
class _Bearer:
    """The desk's caller as the authenticator sees `/graphql`'s: the app, and the signed-in
    officer's access token (kept server-side, web/desk_auth.py) as a bearer header."""

    app: Any
    headers: Headers


@dataclasses.dataclass(frozen=True)
class Caller:
    """A page's caller captured while its request is alive, for work that outlives the
    response (the console's background import): the app (its state lives as long as the
    process) and who the access token was, with their province's modules, as `/graphql`'s
    dispatcher found them. It keeps nothing of the request (no scope, headers or channel);
    a resolver that looks for the request's client finds none."""

    app: Any
    principal: Principal | None
    modules: frozenset[str]
    client: None = None


async def caller_of(request: Request, token: str) -> Caller:
    """The caller that `token` is, captured now (run(caller, ...) later needs no request)."""
    graphql: ProvinceGraphQL = request.app.state.graphql
    principal, modules = await graphql.caller(_bearer(request.app, token))
    return Caller(request.app, principal, modules)


def _bearer(app: Any, token: str) -> Any:
    return _Bearer(app, Headers({"authorization": f"Bearer {token}"}))


async def _prepared(
    request: Request | Caller,
    name: str,
    token: str | None,
    extras: dict[str, Any] | None = None,
) -> tuple[BaseSchema, Context, str]:
    """The caller's schema, the context it runs in and the operation's text (or the refusal
    of the trusted documents' check as OperationFailed)."""
    graphql: ProvinceGraphQL = request.app.state.graphql
    if isinstance(request, Caller):
        principal, modules = request.principal, request.modules
    else:
        principal, modules = await graphql.caller(
            request if token is None else _bearer(request.app, token)
        )
    # A Caller stands in for the request: the trusted documents' check reads only its `.app`,
    # the resolvers its `.app` (the app's state) and `client` (None: no request).
    text = await operation_text(cast(Any, request), document(name), None, None)
    if isinstance(text, Refusal):
        raise OperationFailed(text.code, text.message, text.message_vi)
    schema = graphql.view_for(modules).schema
    context = Context(
        request=cast(Any, request),
        resources=request.app.state.resources,
        principal=principal,
        extras={**(extras or {}), "modules": modules},
    )
    return schema, context, str(text)


def _failed(request: Request | Caller, errors: list[GraphQLError]) -> OperationFailed:
    graphql: ProvinceGraphQL = request.app.state.graphql
    formatted: list[dict[str, Any]] = [
        dict(format_error(error, dev=graphql.dev)) for error in errors
    ]
    extensions: dict[str, Any] = formatted[0].get("extensions") or {}
    field = extensions.get("field")
    return OperationFailed(
        code=str(extensions.get("code", "INTERNAL")),
        message=str(formatted[0].get("message", "")),
        message_vi=str(extensions.get("message_vi", "")),
        field=field if isinstance(field, str) else None,
        errors=formatted,
    )


async def run(
    request: Request | Caller,
    name: str,
    variables: dict[str, Any] | None = None,
    *,
    write: bool = False,
    token: str | None = None,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The data of operation `name` (web/operations/<name>.graphql) for the caller of
    `request`, or OperationFailed. `write`: the page posts a form (a mutation may run).
    `token`: the desk's officer (their access token); without it, the request's own caller.
    A `Caller` (caller_of) in place of the request: that caller, with no request at all.
    `extras`: in-process values for the resolvers (the console import's `progress` callback)."""
    schema, context, text = await _prepared(request, name, token, extras)
    result = await schema.execute(
        text,
        variable_values=variables,
        context_value=context,
        allowed_operation_types=_WRITE if write else _READ,
    )
    if result.errors:
        raise _failed(request, result.errors)
    return result.data or {}


async def subscribe(
    request: Request, name: str, variables: dict[str, Any] | None = None, *, token: str
) -> AsyncGenerator[dict[str, Any], None]:
    """The results of subscription `name` for the desk's officer, as the websocket of
    `/graphql` would stream them (same schema, permissions and tenant scope); an error (at the
    start or later) ends it as OperationFailed. Closing the generator ends the subscription."""
    schema, context, text = await _prepared(request, name, token)
    stream = await schema.subscribe(text, variable_values=variables, context_value=context)
    try:
        async for result in stream:
            if result.errors:
                raise _failed(request, result.errors)
            yield result.data or {}
    finally:
        await stream.aclose()
