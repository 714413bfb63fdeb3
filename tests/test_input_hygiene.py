"""Input hygiene at the edge (graphql/server/inputs.py and the checks where a value crashed):
each bad value is `BAD_INPUT` (or `BAD_PERIOD`) naming its field, with `message_vi`, and
nothing is stored."""

from __future__ import annotations

import pathlib

import pytest
from sqlmodel import func, select

from eiso.core.dossiers.models import Dossier
from eiso.graphql.server.inputs import LIST_LIMITS
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC
from tests.test_dossier_graphql import Caller, app, officer_of  # noqa: F401 - the fixture

SCHEMA = pathlib.Path(__file__).resolve().parents[1] / "graphql" / "schema.graphql"
RECEIVE = (
    "mutation($input: ReceiveDossierInput!, $k: String) { receiveDossier(input: $input, "
    "idempotencyKey: $k) { dossier { code } } }"
)


def good_input(**changes: object) -> dict:
    value: dict = {
        "procedureCode": PROC,
        "applicant": {"fullName": "Nguyễn Thị Hoa", "phone": "0912345678"},
        "sectorData": {"child_name": "Trần Minh Khôi", "birth_date": "2026-11-01"},
    }
    value.update(changes)
    return value


def refused(body: dict, code: str, field: str) -> None:
    assert body.get("data") in (None, {}) or not any((body.get("data") or {}).values())
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    assert error["extensions"]["field"] == field
    assert error["extensions"]["message_vi"]


async def dossiers(resources) -> int:
    async with resources.session(TenantScope.nation()) as session:
        return int(await session.scalar(select(func.count()).select_from(Dossier)) or 0)


@pytest.fixture
async def officer(app, resources, callers):  # noqa: F811 - the fixture imported above
    gql = Caller(app, callers.issue(await officer_of(resources, "Ba Chẽ")))
    body = await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    assert body["data"]["adoptProcedure"]["code"] == PROC
    return gql


async def test_anonymous_literal_and_variable_with_nul(app):  # noqa: F811
    anonymous = Caller(app, {})
    refused(await anonymous('{ province(code: "01\\u0000") { name } }'), "BAD_INPUT", "code")
    body = await anonymous("query($c: String!) { province(code: $c) { name } }", {"c": "0\x001"})
    refused(body, "BAD_INPUT", "c")
    body = await anonymous("query($c: String!) { province(code: $c) { name } }", {"c": "a\tb"})
    # tab, newline and carriage return are text: the resolver ran (and found no province)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"applicant": {"fullName": "Hoa\x00"}}, "input.applicant.fullName"),
        ({"sectorData": {"child_name": "Kh\x00i", "birth_date": "2026-11-01"}}, None),
        ({"applicant": {"fullName": "H" * 1_000_000}}, "input.applicant.fullName"),
        ({"sectorData": {"child_name": "K\x07"}}, "input.sectorData.child_name"),
    ],
)
async def test_receive_refuses_bad_strings(officer, resources, change, field):
    before = await dossiers(resources)
    body = await officer(RECEIVE, {"input": good_input(**change)})
    refused(body, "BAD_INPUT", field or "input.sectorData.child_name")
    assert await dossiers(resources) == before


async def test_receive_refuses_deep_or_wide_json(officer, resources):
    before = await dossiers(resources)
    deep: dict = {"leaf": "x"}
    for _ in range(20):
        deep = {"d": deep}
    body = await officer(RECEIVE, {"input": good_input(sectorData=deep)})
    refused(body, "BAD_INPUT", "input.sectorData" + ".d" * 11)
    wide = {f"k{i}": i for i in range(1_001)}
    refused(
        await officer(RECEIVE, {"input": good_input(sectorData=wide)}),
        "BAD_INPUT",
        "input.sectorData",
    )
    assert await dossiers(resources) == before


async def test_receive_refuses_long_idempotency_keys(officer, resources):
    before = await dossiers(resources)
    body = await officer(RECEIVE, {"input": good_input(), "k": "K" * 1_000_000})
    refused(body, "BAD_INPUT", "k")  # the edge: over 10,000 characters
    body = await officer(RECEIVE, {"input": good_input(), "k": "K" * 129})
    refused(body, "BAD_INPUT", "idempotencyKey")  # the mutation: over 128
    assert await dossiers(resources) == before
    body = await officer(RECEIVE, {"input": good_input(), "k": unique_code("K") + "K" * 100})
    assert body["data"]["receiveDossier"]["dossier"]["code"]
    assert await dossiers(resources) == before + 1


async def test_naive_received_from_is_refused(officer):
    query = "query($f: DossierFilter) { dossiers(first: 5, filter: $f) { totalCount } }"
    body = await officer(query, {"f": {"receivedFrom": "2026-01-01T00:00:00"}})
    refused(body, "BAD_INPUT", "receivedFrom")
    body = await officer(query, {"f": {"receivedTo": "2026-01-01T00:00:00"}})
    refused(body, "BAD_INPUT", "receivedTo")
    body = await officer(query, {"f": {"receivedFrom": "2026-01-01T00:00:00+07:00"}})
    assert body["data"]["dossiers"]["totalCount"] >= 0


async def test_period_at_the_calendar_end_is_refused(officer):
    query = 'query { figures(period: {from: "%s", to: "%s"}, groupBy: AGENCY) { received } }'
    refused(await officer(query % ("2026-01-01", "9999-12-31")), "BAD_PERIOD", "period")
    refused(await officer(query % ("0001-01-01", "2026-12-31")), "BAD_PERIOD", "period")


async def test_whole_texts_have_a_larger_limit(app):  # noqa: F811
    """`content` (a document, a CSV) may pass 10,000 characters, whatever its variable's name;
    the same length as a title is refused. Anonymous: the edge lets the first through and the
    resolver refuses the caller."""
    anonymous = Caller(app, {})
    create = (
        'mutation($body: String!, $t: String!) { createDocument(kind: POLICY, code: "X", '
        "title: $t, content: $body) { id } }"
    )
    body = await anonymous(create, {"body": "x" * 20_000, "t": "Chính sách"})
    assert body["errors"][0]["extensions"]["code"] != "BAD_INPUT"
    body = await anonymous(create, {"body": "x" * 2_000_001, "t": "Chính sách"})
    refused(body, "BAD_INPUT", "body")
    refused(await anonymous(create, {"body": "", "t": "x" * 10_001}), "BAD_INPUT", "t")


def _list_arguments() -> set[str]:
    """`field.argument` of every list argument in the committed schema."""
    from graphql import GraphQLList, GraphQLNonNull, build_schema

    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    found = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        for name, field in (root.fields if root else {}).items():
            for argument, definition in field.args.items():
                kind = definition.type
                kind = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
                if isinstance(kind, GraphQLList):
                    found.add(f"{name}.{argument}")
    return found


def test_every_list_argument_has_a_documented_limit():
    """A new list argument needs its figure in LIST_LIMITS and a line in docs/graphql.md."""
    docs = (SCHEMA.parents[1] / "docs" / "graphql.md").read_text(encoding="utf-8")
    assert _list_arguments() <= set(LIST_LIMITS)
    for owner, most in LIST_LIMITS.items():
        field, argument = owner.split(".")
        assert f"`{field}({argument}:)`: at most {most:,}" in docs, owner


async def test_long_lists_are_refused_with_their_field(app):  # noqa: F811
    anonymous = Caller(app, {})
    ids = ["UHJvdmluY2U6MQ=="] * (LIST_LIMITS["nodes.ids"] + 1)
    body = await anonymous("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    refused(body, "BAD_INPUT", "ids")
    assert "at most" not in body["errors"][0]["message"]  # a list: items, not characters
    literal = ", ".join(f'"{i}"' for i in ids)
    refused(await anonymous(f"{{ nodes(ids: [{literal}]) {{ id }} }}"), "BAD_INPUT", "ids")
    # the same figure for a variable of another name, and a list of 100 passes the edge
    body = await anonymous("query($x: [ID!]!) { nodes(ids: $x) { id } }", {"x": ids[:100]})
    assert not any(e["extensions"]["code"] == "BAD_INPUT" for e in body.get("errors", []))
    register = "mutation($d: [String!]!) { registerTrustedDocuments(documents: $d) { documentId } }"
    refused(await anonymous(register, {"d": ["{ version }"] * 501}), "BAD_INPUT", "d")
    # a trusted document may pass 10,000 characters (the mutation caps it at 100,000)
    body = await anonymous(register, {"d": ["{ version }" + " " * 20_000]})
    assert body["errors"][0]["extensions"]["code"] != "BAD_INPUT"
    plan = (
        'mutation($a: [String!]!) { createAuditPlan(date: "2030-01-01", scope: "s", '
        "auditors: $a) { date } }"
    )
    refused(await anonymous(plan, {"a": ["Lan"] * 51}), "BAD_INPUT", "a")


async def test_json_lists_are_capped(officer, resources):
    before = await dossiers(resources)
    change = {"sectorData": {"child_name": "Khôi", "siblings": ["An"] * 1_001}}
    body = await officer(RECEIVE, {"input": good_input(**change)})
    refused(body, "BAD_INPUT", "input.sectorData.siblings")
    assert await dossiers(resources) == before
