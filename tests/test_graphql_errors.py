"""Every client mistake answers its own code and a Vietnamese message; only bugs answer
INTERNAL_ERROR. GraphQL over HTTP: `application/graphql-response+json` with its status codes,
`application/json` as before."""

from __future__ import annotations

import pytest

FIGURES = (
    "query F($p: PeriodInput!, $g: FigureGroup!) "
    "{ figures(period: $p, groupBy: $g) { __typename } }"
)
GOOD_PERIOD = {"year": 2026}
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(client, body: dict, accept: str | None = None):
    headers = {"accept": accept} if accept else {}
    return await client.post("/graphql", json=body, headers=headers)


def only_error(body: dict) -> dict:
    (error,) = body["errors"]
    assert error["extensions"]["message_vi"], error
    return error


@pytest.mark.parametrize(
    ("variables", "code", "variable"),
    [
        ({"g": "NATION"}, "VARIABLE_MISSING", "p"),
        ({"p": None, "g": "NATION"}, "VARIABLE_MISSING", "p"),
        ({"p": {"from": "2026-13-45"}, "g": "NATION"}, "VARIABLE_INVALID", "p"),  # bad date
        ({"p": {"year": 2**40}, "g": "NATION"}, "VARIABLE_INVALID", "p"),  # Int too large
        ({"p": {"year": "2026"}, "g": "NATION"}, "VARIABLE_INVALID", "p"),  # mistyped
        ({"p": GOOD_PERIOD, "g": "GALAXY"}, "VARIABLE_INVALID", "g"),  # no such enum value
    ],
    ids=["missing", "null", "bad date", "int too large", "mistyped", "wrong enum"],
)
async def test_variable_mistakes_have_their_codes(client, variables, code, variable):
    response = await post(client, {"query": FIGURES, "variables": variables})
    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == code and error["extensions"]["variable"] == variable
    assert response.json()["data"] is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ version ", "GRAPHQL_PARSE_FAILED"),
        ("{ versio }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ agencies(first: 99999999999) { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
        ('{ figures(period: {from: "yesterday"}) { __typename } }', "GRAPHQL_VALIDATION_FAILED"),
        (
            'subscription { dossierEvents(agencyId: "x") { action } }',
            "SUBSCRIPTION_REQUIRES_WEBSOCKET",
        ),
        ("query A { version } query B { version }", "OPERATION_NOT_FOUND"),
    ],
)
async def test_request_errors_have_their_codes(client, query, code):
    response = await post(client, {"query": query})
    assert response.status_code == 200
    assert only_error(response.json())["extensions"]["code"] == code
    response = await client.get("/graphql", params={"query": query})
    assert only_error(response.json())["extensions"]["code"] == code


async def test_a_mutation_over_get_is_405_with_its_code(client):
    response = await client.get(
        "/graphql", params={"query": 'mutation { disableModule(module: "x") { name } }'}
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert only_error(response.json())["extensions"]["code"] == "MUTATION_REQUIRES_POST"


async def test_a_form_post_is_415(client):
    response = await client.post(
        "/graphql",
        content=b"query=%7B+version+%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert only_error(response.json())["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_internal_errors_carry_message_vi_and_the_request_id(resources):
    import strawberry

    from eiso.graphql.server.view import GraphQLView

    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> str:
            raise RuntimeError("secret connection string")

    result = await strawberry.Schema(Query).execute("{ boom }")
    formatted = GraphQLView(strawberry.Schema(Query), dev=False)._format_error(result.errors[0])
    assert formatted["extensions"]["code"] == "INTERNAL_ERROR"
    assert formatted["extensions"]["message_vi"].startswith("Lỗi nội bộ")
    assert "secret" not in str(formatted)


# GraphQL over HTTP: the media type and the status codes.


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        (f"text/html, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        ("text/html", "application/json"),
    ],
)
async def test_the_media_type_is_negotiated(client, accept, media):
    response = await post(client, {"query": "{ version }"}, accept)
    assert response.status_code == 200 and response.json()["data"]["version"]
    assert response.headers["content-type"].split(";")[0] == media


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ version "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ versio }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": FIGURES, "variables": {"g": "NATION"}}, "VARIABLE_MISSING"),
        ({"query": "{ __typename " + "@include(if: true) " * 30 + "}"}, "TOO_MANY_DIRECTIVES"),
        (
            {"query": 'subscription { dossierEvents(agencyId: "x") { action } }'},
            "SUBSCRIPTION_REQUIRES_WEBSOCKET",
        ),
        ({"variables": {}}, "MISSING_QUERY"),
    ],
)
async def test_request_errors_are_400_without_data_under_graphql_response_json(client, body, code):
    response = await post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    errors = response.json()["errors"]
    assert "data" not in response.json() and errors[0]["extensions"]["code"] == code
    assert all(e["extensions"]["message_vi"] for e in errors)
    legacy = await post(client, body, "application/json")  # today's answer: 200, data null
    if code != "MISSING_QUERY":
        assert legacy.status_code == 200 and legacy.json()["data"] is None


async def test_field_errors_are_200_with_partial_data_under_graphql_response_json(client):
    response = await post(client, {"query": "{ version me { subject } }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["version"] and body["data"]["me"] is None
    assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_body_that_is_not_json_is_400_under_both(client):
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql",
            content=b'{ "not a JSON',
            headers={"content-type": "application/json", "accept": accept},
        )
        assert response.status_code == 400 and "data" not in response.json()
        assert only_error(response.json())["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("subscription { nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "subscription S($a: ID!) { dossierEvents(agencyId: $a) { action } }",
            {},
            "VARIABLE_MISSING",
        ),
    ],
)
async def test_request_errors_have_their_codes_over_the_websocket(app, query, variables, code):
    """(A syntax error closes the socket with 4400 and the parser's message: the protocol's
    rule, no payload to carry a code.)"""
    from tests.ws_client import GraphQLWS, error_codes, served

    async with served(app) as url, GraphQLWS.open(url) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        answer = await ws.first_answer(query, variables)
        assert error_codes(answer) == [code], answer
        assert all(e["extensions"]["message_vi"] for e in answer["payload"]), answer


async def test_a_resolvers_sub_response_reaches_the_answer(resources):
    """The answer carries what a resolver set on `info.context.response` (a header, a status),
    under the negotiated media type, as Strawberry's `create_response` did."""
    import httpx
    import strawberry
    from starlette.applications import Starlette
    from starlette.routing import Route

    from eiso.graphql.server.view import GraphQLView

    @strawberry.type
    class Query:
        @strawberry.field
        def noted(self, info: strawberry.Info, status: int = 0) -> str:
            info.context.response.headers["x-note"] = "ghi-chu"
            if status:
                info.context.response.status_code = status
            return "ok"

    async def anonymous(_connection: object) -> None:
        return None

    app = Starlette(routes=[Route("/graphql", GraphQLView(strawberry.Schema(Query), dev=False))])
    app.state.resources, app.state.authenticator = resources, anonymous
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        plain = await http.post("/graphql", json={"query": "{ noted }"})
        assert plain.status_code == 200 and plain.json() == {"data": {"noted": "ok"}}
        assert plain.headers["content-type"] == "application/json"
        assert plain.headers["x-note"] == "ghi-chu"
        assert plain.headers["content-length"] == str(len(plain.content))
        accepted = await http.post(
            "/graphql",
            json={"query": "{ noted(status: 202) }"},
            headers={"accept": "application/graphql-response+json"},
        )
        assert accepted.status_code == 202 and accepted.headers["x-note"] == "ghi-chu"
        assert accepted.headers["content-type"] == "application/graphql-response+json"
