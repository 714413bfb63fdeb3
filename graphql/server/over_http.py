"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): reading a request
and choosing the media type and status of its answer.

- The answer is `application/graphql-response+json` when the client's `Accept` prefers it,
  else `application/json` (no `Accept`, `*/*`, `application/json` or anything else).
- Under `application/json` a GraphQL request error (parse, validation, variables, the choice
  of the operation, the limits) answers 200 with `"data": null`, as it always did; under
  `application/graphql-response+json` it answers 400 without `data`. Field errors answer 200
  under both, with the partial data.
- A request that is not a GraphQL request at all (a body that is not JSON, no `query`, a
  parameter of the wrong type, a batch, another content type) answers 4xx under both, its
  error in the same JSON shape with a code; a mutation over GET answers 405.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request

from eiso.graphql.server.errors import (
    BAD_REQUEST,
    BATCH_NOT_SUPPORTED,
    MISSING_QUERY,
    UNSUPPORTED_MEDIA_TYPE,
    Problem,
)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestProblem(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request (or is refused as one)."""

    def __init__(
        self, problem: Problem, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.problem, self.message, self.headers = problem, message, dict(headers or {})


@dataclasses.dataclass(frozen=True)
class GraphQLRequest:
    method: str
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    # A trusted document's id instead of `query` (read here; what it names is looked up by
    # the trusted-documents registry, not here).
    document_id: str | None = None


def negotiate(accept: str | None) -> str:
    """The media type of the answer: the first of the client's preferred types (highest `q`
    first, then in the order given) that eiso speaks; `application/json` when none is."""
    if not accept:
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, media.lower()))
    for _, _, media in sorted(ranked):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return JSON


async def read_request(request: Request) -> GraphQLRequest:
    """The GraphQL request in a GET's query string or a POST's JSON body."""
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if isinstance(params.get(name), str):
                params[name] = _json(params[name], f"`{name}` is not valid JSON")
    else:
        media, _, parameters = (request.headers.get("content-type") or "").partition(";")
        if media.strip().lower() != JSON or not _utf8(parameters):
            raise RequestProblem(
                UNSUPPORTED_MEDIA_TYPE,
                "POST requires `content-type: application/json` (UTF-8)",
            )
        body = _json(await request.body(), "the body is not valid JSON")
        if isinstance(body, list):
            raise RequestProblem(
                BATCH_NOT_SUPPORTED, "batches are not supported: send one operation per request"
            )
        if not isinstance(body, dict):
            raise RequestProblem(BAD_REQUEST, "the body must be a JSON object")
        params = body
    return _checked(request.method, params)


def _utf8(parameters: str) -> bool:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


def _json(text: str | bytes, message: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RequestProblem(BAD_REQUEST, message) from None


def _checked(method: str, params: dict[str, Any]) -> GraphQLRequest:
    query = params.get("query")
    variables, extensions = params.get("variables"), params.get("extensions")
    operation_name, document_id = params.get("operationName"), params.get("documentId")
    for name, value, kind, allowed in (
        ("query", query, "a string", str),
        ("variables", variables, "an object", dict),
        ("extensions", extensions, "an object", dict),
        ("operationName", operation_name, "a string", str),
        ("documentId", document_id, "a string", str),
    ):
        if value is not None and not isinstance(value, allowed):
            raise RequestProblem(BAD_REQUEST, f"`{name}` must be {kind} or null, if provided")
    return GraphQLRequest(method, query, variables, operation_name, extensions, document_id)


def require_query(request: GraphQLRequest) -> str:
    if not request.query:
        raise RequestProblem(MISSING_QUERY, "no GraphQL query found in the request")
    return request.query
