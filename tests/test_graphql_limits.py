"""A regression test per GraphQL limit (graphql-cop's list), through the real endpoint."""

from __future__ import annotations

import pytest
import strawberry

from eiso.graphql.server.limits import Limits

LIMITS = Limits()


@strawberry.type
class Node:
    name: str = "n"

    @strawberry.field
    def child(self) -> Node:
        return Node()


@strawberry.type
class DeepQuery:
    @strawberry.field
    def node(self) -> Node:
        return Node()


async def gql(client, query: str, **kwargs):
    response = await client.post("/graphql", json={"query": query, **kwargs})
    return response.status_code, response.json()


def codes(body) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def test_a_small_query_passes(client):
    status, body = await gql(client, "{ version __typename }")
    assert status == 200 and body["data"]["__typename"] == "Query"


async def test_depth_limit():
    """Module types can nest; the same extensions as every served schema refuse deep queries."""
    from eiso.graphql.server.limits import schema_extensions

    schema = strawberry.Schema(DeepQuery, extensions=schema_extensions(LIMITS))
    ok = (
        "{ node { "
        + "child { " * (LIMITS.max_depth - 2)
        + "name"
        + " }" * (LIMITS.max_depth - 1)
        + " }"
    )
    assert (await schema.execute(ok)).errors is None
    deep = (
        "{ node { " + "child { " * LIMITS.max_depth + "name" + " }" * (LIMITS.max_depth + 1) + " }"
    )
    result = await schema.execute(deep)
    assert result.data is None and "exceeds maximum operation depth" in result.errors[0].message


async def test_token_limit(client):
    query = "{ " + " ".join(f"a{i}: version" for i in range(LIMITS.max_tokens)) + " }"
    _, body = await gql(client, query)
    assert body.get("data") is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_alias_limit(client):
    query = "{ " + " ".join(f"a{i}: version" for i in range(LIMITS.max_aliases + 1)) + " }"
    _, body = await gql(client, query)
    assert "aliases found" in body["errors"][0]["message"]


async def test_aliases_are_counted_through_fragments(client):
    fragment = "fragment F on Query { " + " ".join(f"f{i}: version" for i in range(20)) + " }"
    query = "{ ...F " + " ".join(f"q{i}: version" for i in range(15)) + " } " + fragment
    _, body = await gql(client, query)
    assert "35 aliases found" in body["errors"][0]["message"]


async def test_duplicated_fields_limit(client):
    # graphql-cop's probe: 500 copies of one field stay under the token cap.
    query = "{ " + "__typename " * 500 + "}"
    _, body = await gql(client, query)
    assert "TOO_MANY_DUPLICATED_FIELDS" in codes(body)
    _, body = await gql(
        client, "query { ...A ...A ...A } fragment A on Query { " + "version " * 5 + "}"
    )
    assert "TOO_MANY_DUPLICATED_FIELDS" in codes(body)


async def test_directives_limit(client):
    query = "{ __typename " + "@include(if: true) " * (LIMITS.max_directives + 1) + "}"
    _, body = await gql(client, query)
    assert "TOO_MANY_DIRECTIVES" in codes(body)


async def test_cost_budget_counts_requested_objects(client):
    # Five pages of 50 provinces, each node one object: 5 * 50 * 21 = 5250 objects.
    query = (
        "{ "
        + " ".join(
            f"p{i}: provinces(first: 50) {{ edges {{ node {{ code }} }} }}" for i in range(5)
        )
        + " }"
    )
    _, body = await gql(client, query)
    assert codes(body) == ["QUERY_TOO_COSTLY"]
    assert "5250" in body["errors"][0]["message"]
    # Introspection has its own budget (tests/test_introspection.py).
    status, body = await gql(client, "{ __schema { queryType { name } } }")
    assert status == 200 and "errors" not in body


async def test_circular_introspection_is_refused(client):
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    _, body = await gql(client, query)
    assert body["data"] is None and body["errors"]  # refused by the depth or the cost rule


async def test_field_suggestions_are_off(client):
    _, body = await gql(client, "{ versio }")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_mutations_are_refused_over_get(client):
    response = await client.get(
        "/graphql", params={"query": 'mutation { enableModule(module: "x") }'}
    )
    assert response.status_code in (400, 405)
    assert "mutation" in response.text.lower()
    response = await client.get("/graphql", params={"query": "{ version }"})
    assert response.status_code == 200 and response.json()["data"]["version"]


async def test_batching_is_off(client):
    response = await client.post(
        "/graphql", json=[{"query": "{ version }"}, {"query": "{ version }"}]
    )
    assert response.status_code == 400


async def test_graphiql_is_dev_only(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


async def test_unexpected_errors_are_masked_outside_dev(resources):
    import strawberry

    from eiso.graphql.server.view import GraphQLView

    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> str:
            raise RuntimeError("secret connection string")

    class Result:
        errors = None

    view = GraphQLView(strawberry.Schema(Query), dev=False)
    result = await strawberry.Schema(Query).execute("{ boom }")
    formatted = view._format_error(result.errors[0])
    assert formatted["message"] == "Internal error"
    assert formatted["extensions"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in str(formatted)


def test_parser_and_validation_caches_are_bounded():
    from strawberry.extensions import ParserCache, ValidationCache

    from eiso.graphql.server.limits import schema_extensions

    built = [factory() for factory in schema_extensions(LIMITS)]
    (hygiene,) = [e for e in built if isinstance(e, ParserCache)]
    assert isinstance(hygiene, ValidationCache)
    assert hygiene.cached_parse_document.cache_info().maxsize == LIMITS.cache_size
    assert hygiene.cached_validate_document.cache_info().maxsize == LIMITS.cache_size


def test_served_schemas_cache_prepared_documents_bounded(app):
    """eiso's schemas parse and validate a query text once (graphql/server/execution.py)."""
    schema = app.state.schemas.get(())
    assert schema.prepared.cache_info().maxsize == LIMITS.cache_size


@pytest.mark.parametrize("query", ["{ version }", "query Q { version }"])
async def test_validation_cache_hits_across_requests(app, client, query):
    info = app.state.schemas.get(()).prepared.cache_info  # the anonymous caller's schema
    await gql(client, query)
    before = info().hits
    await gql(client, query)
    assert info().hits == before + 1


async def test_a_cached_invalid_query_is_refused_every_time(client):
    for _ in range(2):
        _, body = await gql(client, "{ " + "__typename " * 500 + "}")
        assert "TOO_MANY_DUPLICATED_FIELDS" in codes(body)


async def test_urlencoded_post_is_refused(client):
    """graphql-cop's CSRF probe: a form post cannot run an operation."""
    response = await client.post(
        "/graphql",
        content=b"query=%7B+version+%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 415)


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (b"{not json", "BAD_REQUEST", 400),
        (b'{"variables": {}}', "MISSING_QUERY", 400),
        (b'{"query": 1}', "BAD_REQUEST", 400),
        (b'{"query": "{ version }", "variables": []}', "BAD_REQUEST", 400),
        (b'[{"query": "{ version }"}]', "BATCH_NOT_SUPPORTED", 400),
        # A GraphQL request error, not an HTTP one: 200 under application/json.
        (b'{"query": "query A { version }", "operationName": "B"}', "OPERATION_NOT_FOUND", 200),
    ],
)
async def test_malformed_posts_answer_a_code(client, body, code, status):
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code and error["extensions"]["message_vi"]


# Query bombs: each limit rule visits a bounded number of nodes per selection of the document
# (fragments are computed once, not per spread), read from `limits.work` rather than timed.
# The timeout marks are a guard against a regression hanging the suite, not an assertion.


def fan_out(n: int, leaf: str = "version", directive: str = "") -> str:
    """Issue 16's bomb: n fragments, each spreading the next twice (2**n copies of `leaf`)."""
    fragments = "".join(
        f"fragment F{i} on Query {{ ... on Query {directive} {{ ...F{i + 1} }} "
        f"... on Query {{ ...F{i + 1} }} }} "
        for i in range(n)
    )
    return "query { ...F0 } " + fragments + f"fragment F{n} on Query {{ {leaf} }} "


async def refused_within_bounds(client, query: str, code: str | None, message: str = ""):
    """The query's answer, checking every rule's visits stayed within a small multiple of the
    query's length (a linear bound; the exponential expansion is 2**n)."""
    from eiso.graphql.server.limits import work

    work.clear()
    _, body = await gql(client, query)
    if code is not None:
        assert code in codes(body), body
    if message:
        assert any(message in e["message"] for e in body["errors"]), body
    for rule, visits in work.items():
        assert visits <= 20 * len(query), (rule, visits, len(query))
    return body


@pytest.mark.timeout(10)
@pytest.mark.parametrize("n", [19, 30])
async def test_fragment_fan_out_is_refused_in_linear_work(client, n):
    body = await refused_within_bounds(client, fan_out(n), "TOO_MANY_DUPLICATED_FIELDS")
    assert body.get("data") is None


@pytest.mark.timeout(10)
async def test_fragment_fan_out_within_limits_is_answered(client):
    from eiso.graphql.server.limits import work

    work.clear()
    status, body = await gql(client, fan_out(3))  # 8 `version`s: 7 duplicates, under 10
    assert status == 200 and body["data"] == {"version": body["data"]["version"]}
    assert "errors" not in body
    assert 0 < sum(work.values()) < 20 * len(fan_out(3))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("n", [19, 30])
async def test_alias_fan_out_through_fragments_is_refused_in_linear_work(client, n):
    fragments = "".join(
        f"fragment F{i} on Query {{ a{i}: __typename ...F{i + 1} b{i}: __typename ...F{i + 1} }} "
        for i in range(n)
    )
    query = "query { ...F0 } " + fragments + f"fragment F{n} on Query {{ v: version }} "
    await refused_within_bounds(client, query, None, "aliases found. Allowed: 30")


@pytest.mark.timeout(10)
async def test_depth_through_fragments_is_refused_in_linear_work(client):
    """Deep nesting spread through fragments, each spread twice: the depth is counted once per
    fragment. `me` nests objects; 40 levels of inline fragments add no depth, fields do."""
    query = fan_out(19, "provinces { edges { node { code } } }")
    # Within the depth limit through 19 fragment levels: answered by the duplicated-fields rule
    # (2**19 copies of `provinces`), in linear work for every rule.
    await refused_within_bounds(client, query, "TOO_MANY_DUPLICATED_FIELDS")
    nested = "{ " + "... on Query { " * 150 + "version" + " }" * 150 + " }"
    body = await refused_within_bounds(client, nested, None)
    assert body["data"]["version"]  # inline fragments add no depth


@pytest.mark.timeout(10)
@pytest.mark.parametrize("n", [5, 30])
async def test_deep_nesting_through_fragments_in_linear_work(n):
    """Each fragment nests one level and spreads the next twice: 2**n paths, n levels deep."""
    from eiso.graphql.server.limits import schema_extensions, work

    schema = strawberry.Schema(DeepQuery, extensions=schema_extensions(LIMITS))
    fragments = "".join(
        f"fragment F{i} on Node {{ child {{ ... on Node {{ ...F{i + 1} }} "
        f"... on Node {{ ...F{i + 1} }} }} }} "
        for i in range(n)
    )
    query = "{ node { ...F0 } } " + fragments + f"fragment F{n} on Node {{ name }}"
    work.clear()
    result = await schema.execute(query)
    if n > LIMITS.max_depth:
        assert result.data is None
        messages = [e.message for e in result.errors]  # the cost rule refuses 2**30 too
        assert f"'anonymous' exceeds maximum operation depth of {LIMITS.max_depth}" in messages
    else:
        assert result.errors is None
    assert 0 < max(work.values()) <= 20 * len(query)


@pytest.mark.timeout(10)
async def test_long_directive_lists_are_refused_in_linear_work(client):
    query = "{ __typename " + "@include(if: true) " * 100 + "}"
    await refused_within_bounds(client, query, "TOO_MANY_DIRECTIVES")
    # Directives inside a fragment spread 2**19 times count once each (they are nodes).
    await refused_within_bounds(client, fan_out(19, directive="@skip(if: false)"), None)


@pytest.mark.timeout(10)
async def test_many_variables_are_answered_in_linear_work(client):
    count = 600
    definitions = ", ".join(f"$v{i}: Int" for i in range(count))
    query = f"query Q({definitions}) {{ version }}"
    body = await refused_within_bounds(client, query, None)
    # Unused variables are a validation error (graphql-core's rule), or the token cap refuses.
    assert body.get("data") is None and body["errors"]
    used = ", ".join(f"$v{i}: Int" for i in range(40))
    uses = " ".join(f"p{i}: provinces(first: $v{i}) {{ totalCount }}" for i in range(40))
    await refused_within_bounds(client, f"query Q({used}) {{ {uses} }}", None, "aliases found")


def paged(copies: int, variable: str = "$n: Int!") -> str:
    pages = " ".join(
        f"p{i}: provinces(first: $n) {{ edges {{ node {{ code }} }} }}" for i in range(copies)
    )
    return f"query Q({variable}) {{ {pages} }}"


PAGED = paged(3)


async def test_a_variable_first_is_costed_by_its_value(client):
    literal = PAGED.replace("($n: Int!)", "").replace("$n", "100")
    _, refused = await gql(client, literal)
    assert "QUERY_TOO_COSTLY" in codes(refused)
    _, body = await gql(client, PAGED, variables={"n": 100})
    assert codes(body) == codes(refused) and body["errors"] == refused["errors"]
    assert body.get("data") is None
    # The validation cache holds the text's result: a cheap value does not vouch for a dear one.
    for n, costly in [(5, False), (100, True), (5, False), (100.0, True)]:
        status, body = await gql(client, PAGED, variables={"n": n})
        assert ("QUERY_TOO_COSTLY" in codes(body)) is costly, (n, body)
        if not costly:
            assert (
                status == 200 and "errors" not in body and set(body["data"]) == {"p0", "p1", "p2"}
            )


async def test_a_variable_first_without_a_value_falls_back_to_defaults(client):
    """No value: the variable's default, else the argument's (`provinces(first: Int! = 50)`):
    five pages of 50 provinces cost 5 * 50 * 21 = 5250, over the budget of 5000."""
    five = paged(5, "$n: Int")
    _, body = await gql(client, five)
    assert "QUERY_TOO_COSTLY" in codes(body) and "5250" in body["errors"][0]["message"]
    _, body = await gql(client, five, variables={"n": 5})
    assert "errors" not in body
    _, body = await gql(client, PAGED.replace("$n: Int!", "$n: Int! = 100"))
    assert "QUERY_TOO_COSTLY" in codes(body)
    _, body = await gql(client, PAGED.replace("$n: Int!", "$n: Int! = 5"))
    assert "errors" not in body
