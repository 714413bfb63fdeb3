"""The standard introspection query works for every caller, shows each caller its province's
schema, and the limits still refuse introspection that costs more than the standard one."""

from __future__ import annotations

import pathlib

import pytest

from eiso.core.auth.principal import Role
from eiso.graphql.server.introspection import STANDARD_QUERY
from eiso.graphql.server.limits import Limits
from graphql import build_client_schema, get_introspection_query
from tests.test_province_schema import MODULE, make_app, person, post, two_provinces  # noqa: F401

# graphql-js 16's getIntrospectionQuery({descriptions, specifiedByUrl, directiveIsRepeatable,
# schemaDescription, inputValueDeprecation, oneOf}): what GraphiQL and codegen tools send.
GRAPHQL_JS = (
    pathlib.Path(__file__).parent / "fixtures" / "introspection_graphql_js.graphql"
).read_text()
# python gql's schema fetch (`fetch_schema_from_transport=True`): graphql-core's defaults.
GQL = get_introspection_query()
# graphql-core with every option the brief names.
FULL = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)
STANDARD = pytest.mark.parametrize(
    "query", [GRAPHQL_JS, GQL, FULL], ids=["graphql-js", "gql", "full"]
)
LIMITS = Limits()


async def gql(client, query: str, headers=None, **kwargs):
    response = await client.post("/graphql", json={"query": query, **kwargs}, headers=headers or {})
    return response.status_code, response.json()


def codes(body) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def query_fields(body) -> set[str]:
    schema = build_client_schema(body["data"])  # a client can build the schema from it
    return set(schema.query_type.fields)


@STANDARD
async def test_the_standard_query_answers_anonymous_callers(client, query):
    status, body = await gql(client, query)
    assert status == 200 and "errors" not in body, body.get("errors")
    assert {"version", "provinces"} <= query_fields(body)
    again = await gql(client, query)  # cached: the same answer
    assert again == (status, body)


@STANDARD
async def test_the_standard_query_answers_signed_in_callers(client, callers, query):
    headers = callers.issue(person(Role.national_admin, None))
    status, body = await gql(client, query, headers)
    assert status == 200 and "errors" not in body, body.get("errors")
    assert "me" in query_fields(body)


async def test_each_province_introspects_its_own_schema(resources, callers, two_provinces):  # noqa: F811 - the fixture imported above
    """A module enabled for A and not for B: introspection (cached per schema) shows it to A's
    callers only, whatever the order of the requests."""
    (a_id, _), (b_id, _) = two_provinces
    app = await make_app(resources, callers)
    a_officer = callers.issue(person(Role.officer, a_id))
    b_officer = callers.issue(person(Role.officer, b_id))
    async with app.router.lifespan_context(app):
        enabled = await post(
            app,
            f'mutation {{ enableModule(module: "{MODULE}") {{ enabledForMyProvince }} }}',
            callers.issue(person(Role.province_admin, a_id)),
        )
        assert enabled["data"]["enableModule"]["enabledForMyProvince"]
        for caller, sees in [(a_officer, True), (b_officer, False), (a_officer, True)]:
            for query in (GRAPHQL_JS, GQL):
                body = await post(app, query, caller)
                assert "errors" not in body
                assert ("vendorDemo" in query_fields(body)) is sees
        anonymous = await post(app, GRAPHQL_JS)
        assert "vendorDemo" not in query_fields(anonymous)


def fragments() -> str:
    """The standard query's fragments (FullType, InputValue, TypeRef)."""
    return STANDARD_QUERY[STANDARD_QUERY.index("fragment FullType") :]


async def test_introspection_costing_more_than_the_standard_query_is_refused(client):
    one = "query { s0: __schema { types { ...FullType } } } " + fragments()
    status, body = await gql(client, one)
    assert status == 200 and "errors" not in body
    copies = " ".join(f"s{i}: __schema {{ types {{ ...FullType }} }}" for i in range(3))
    _, body = await gql(client, f"query {{ {copies} }} " + fragments())
    assert codes(body) == ["INTROSPECTION_TOO_COSTLY"] and body["data"] is None
    assert body["errors"][0]["extensions"]["message_vi"]


async def test_circular_introspection_is_refused(client):
    # Each `ofType { fields { type ...` level multiplies by the fields of every type.
    level = "fields(includeDeprecated: true) { type { ofType { name "
    query = "{ __schema { types { " + level * 4 + "name" + " } } }" * 4 + " } } }"
    _, body = await gql(client, query)
    assert codes(body) == ["QUERY_TOO_DEEP"] and body["data"] is None


async def test_deeper_type_chains_than_the_standard_query_are_refused(client):
    innermost = STANDARD_QUERY.rindex("ofType {") + len("ofType {")
    deeper = STANDARD_QUERY[:innermost] + " ofType { kind name } " + STANDARD_QUERY[innermost:]
    assert deeper != STANDARD_QUERY
    _, body = await gql(client, deeper)
    assert codes(body) == ["QUERY_TOO_DEEP"]
    assert (
        f"introspection depth of {LIMITS.max_introspection_depth}" in body["errors"][0]["message"]
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (
            "{ " + " ".join(f"a{i}: __schema {{ description }}" for i in range(1000)) + " }",
            "TOO_MANY_TOKENS",
        ),
        (
            "{ " + " ".join(f"a{i}: __schema {{ description }}" for i in range(31)) + " }",
            "TOO_MANY_ALIASES",
        ),
        ("{ __schema { types { " + "name " * 12 + "} } }", "TOO_MANY_DUPLICATED_FIELDS"),
    ],
    ids=["1000 aliases", "31 aliases", "duplicates"],
)
async def test_introspection_keeps_the_other_limits(client, query, code):
    _, body = await gql(client, query)
    assert codes(body) == [code] and body["data"] is None


async def test_type_lookup_by_variable_is_costed_and_cached_per_value(client):
    query = "query T($name: String!) { __type(name: $name) { name fields { name } } }"
    _, body = await gql(client, query, variables={"name": "Query"})
    assert body["data"]["__type"]["name"] == "Query"
    _, body = await gql(client, query, variables={"name": "Province"})
    assert body["data"]["__type"]["name"] == "Province"
    _, body = await gql(client, query, variables={"name": "Nope"})
    assert body == {"data": {"__type": None}}
