"""The authorization server (core/auth/server.py) over HTTP: a Starlette request read into an
`HttpInput` before authlib runs in its worker thread, its `OAuthAnswer` made a response."""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eiso.core.auth.server import EisoAuthorizationServer, HttpInput, OAuthAnswer


def server_of(request: Request) -> EisoAuthorizationServer:
    return request.app.state.auth.server


async def read_request(request: Request) -> HttpInput:
    query: dict[str, list[str]] = defaultdict(list)
    for key, value in request.query_params.multi_items():
        query[key].append(value)
    body: dict[str, list[str]] = defaultdict(list)
    payload = None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            payload = await request.json()
        else:
            async with request.form() as parsed:
                for key, field in parsed.multi_items():
                    if isinstance(field, str):  # files are no OAuth parameters
                        body[key].append(field)
    return HttpInput(
        request.method, str(request.url), request.headers, dict(query), dict(body), payload
    )


def authorize_input(url: str, headers: Mapping[str, str], query: str) -> HttpInput:
    """The GET authorization request of `query`, as the login form or the federation login
    carried it (`url`: the authorize URL with that query)."""
    parsed: dict[str, list[str]] = defaultdict(list)
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parsed[key].append(value)
    return HttpInput("GET", url, headers, dict(parsed), {})


def to_response(answer: OAuthAnswer) -> Response:
    headers = dict(answer.headers)
    if isinstance(answer.payload, dict):
        headers.pop("Content-Type", None)
        return JSONResponse(answer.payload, status_code=answer.status, headers=headers)
    return Response(answer.payload, status_code=answer.status, headers=headers)


async def respond(
    server: EisoAuthorizationServer, method: Callable[..., OAuthAnswer], *args: Any
) -> Response:
    """Run one of authlib's `create_*_response` methods and answer what it answers."""
    return to_response(await server.run(method, *args))
