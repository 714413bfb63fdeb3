"""The schema's shape as Relay and schema linters expect it: full `PageInfo` and backward pages
(`last`/`before`) on every connection, `nodes(ids:)` costed by its ids, one naming rule for
enums, and the dossier actions an enum can show. `node`/`nodes` and tenancy are in
tests/test_isolation.py."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import Dossier
from eiso.core.global_ids import encode_id
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code

ROOT = Path(__file__).resolve().parent.parent


async def gql(client, query: str, variables: dict | None = None, headers: dict | None = None):
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def problems(body: dict) -> list[tuple[str, str | None]]:
    return [(e["extensions"]["code"], e["extensions"].get("field")) for e in body.get("errors", [])]


@pytest.fixture
async def province_world(resources):
    """A province with five communes and five dossiers of the first one (received a day
    apart), and an officer of that commune."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), f"Tỉnh {unique_code('')}")
        agencies = [
            await ensure_agency(
                session, province, unique_code("A"), f"Xã {name}", AgencyKind.commune
            )
            for name in ("An", "Bình", "Cát", "Dương", "Đông")
        ]
        start = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
        dossiers = []
        for day in range(5):
            row = Dossier(
                province_id=province.id,
                agency_id=agencies[0].id,
                code=unique_code("D"),
                lookup_hash="0" * 64,
                procedure_code="1.000001",
                status=2,
                received_at=start + dt.timedelta(days=day),
                # Accepted (received at the counter): an accepted dossier has its appointment.
                appointment_at=start + dt.timedelta(days=day + 5),
            )
            session.add(row)
            dossiers.append(row)
    officer = Principal(
        "officer-" + agencies[0].code,
        TenantScope.agencies([agencies[0].id], [province.id]),
        frozenset({Role.officer}),
        province_id=province.id,
        agency_id=agencies[0].id,
    )
    admin = Principal(
        "admin-" + province.code,
        TenantScope.province(province.id),
        frozenset({Role.province_admin}),
        province_id=province.id,
    )
    return province, agencies, dossiers, officer, admin


async def _walk(client, headers, query: str, variables: dict, field: str, backward: bool):
    """Every code of a connection, page by page (2 a page), forwards or backwards, and the
    pageInfo of each page."""
    seen, infos, cursor = [], [], None
    for _ in range(10):  # bounded: five rows, two a page
        direction = {"last": 2, "before": cursor} if backward else {"first": 2, "after": cursor}
        body = await gql(client, query, {**variables, **direction}, headers)
        assert "errors" not in body, body
        page = body["data"][field]
        codes = [edge["node"]["code"] for edge in page["edges"]]
        info = page["pageInfo"]
        assert info["startCursor"] == (page["edges"][0]["cursor"] if codes else None)
        assert info["endCursor"] == (page["edges"][-1]["cursor"] if codes else None)
        infos.append(info)
        seen = codes + seen if backward else seen + codes
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            return seen, infos
        cursor = info["startCursor" if backward else "endCursor"]
    raise AssertionError("the walk did not end")


PAGE = (
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { code } }"
)
AGENCIES = (
    "query($p: String, $first: Int, $after: String, $last: Int, $before: String) { "
    "agencies(provinceCode: $p, first: $first, after: $after, last: $last, before: $before) "
    f"{{ totalCount {PAGE} }} }}"
)
DOSSIERS = (
    "query($first: Int, $after: String, $last: Int, $before: String) { "
    f"dossiers(first: $first, after: $after, last: $last, before: $before) {{ {PAGE} }} }}"
)
FIGURE_DOSSIERS = (
    "query($a: ID, $first: Int, $after: String, $last: Int, $before: String) { "
    "figureDossiers(metric: RECEIVED, period: {year: 2026}, agencyId: $a, first: $first, "
    f"after: $after, last: $last, before: $before) {{ totalCount {PAGE} }} }}"
)


async def test_every_list_reads_backwards_as_it_reads_forwards(client, callers, province_world):
    province, agencies, dossiers, officer, admin = province_world
    agency_gid = encode_id("Agency", province.id, agencies[0].id)
    by_name = sorted(agencies, key=lambda a: (a.name_folded, a.id))  # Đông before Dương
    lists = [
        (AGENCIES, {"p": province.code}, "agencies", admin, [a.code for a in by_name]),
        (DOSSIERS, {}, "dossiers", officer, [d.code for d in reversed(dossiers)]),
        (
            FIGURE_DOSSIERS,
            {"a": agency_gid},
            "figureDossiers",
            officer,
            [d.code for d in sorted(dossiers, key=lambda d: d.id)],
        ),
    ]
    for query, variables, field, caller, expected in lists:
        headers = callers.issue(caller)
        forwards, forward_infos = await _walk(client, headers, query, variables, field, False)
        backwards, backward_infos = await _walk(client, headers, query, variables, field, True)
        assert forwards == backwards == expected, field
        # As the Relay spec allows: no look the other way (it would cost a query a page).
        assert [i["hasPreviousPage"] for i in forward_infos] == [False] * 3, field
        assert [i["hasNextPage"] for i in forward_infos] == [True, True, False], field
        assert [i["hasNextPage"] for i in backward_infos] == [False] * 3, field
        assert [i["hasPreviousPage"] for i in backward_infos] == [True, True, False], field


async def test_a_page_is_read_one_way_and_bad_arguments_name_their_field(
    client, callers, province_world
):
    province, _, _, _, admin = province_world
    headers = callers.issue(admin)
    body = await gql(client, AGENCIES, {"p": province.code, "last": 2}, headers)
    end = body["data"]["agencies"]["pageInfo"]["endCursor"]
    cases = [
        ({"last": 2, "after": end}, ("BAD_INPUT", "after")),
        ({"last": 101}, ("BAD_INPUT", "last")),
        ({"first": -1}, ("BAD_INPUT", "first")),
        ({"last": 2, "before": "not-a-cursor"}, ("BAD_INPUT", "before")),
        ({"first": 2, "after": "not-a-cursor"}, ("BAD_INPUT", "after")),
    ]
    for arguments, problem in cases:
        body = await gql(client, AGENCIES, {"p": province.code, **arguments}, headers)
        assert problems(body) == [problem], arguments


async def test_nodes_is_costed_by_its_ids(client, callers, province_world):
    """Three `nodes` of 100 ids with a list below each cost 3 * (100 + 100 * 20): refused,
    by literal and by variable; of 5 ids each they pass (with a flat 10 a list, both would)."""
    province, _, dossiers, officer, _ = province_world
    headers = callers.issue(officer)
    selection = "{ ... on DossierNode { slips { number } mySteps { code } } }"
    for count, refused in [(100, True), (5, False)]:
        ids = [encode_id("Dossier", province.id, dossiers[i % 5].id) for i in range(count)]
        literal = "[" + ", ".join(f'"{i}"' for i in ids) + "]"
        by_text = (
            "{ " + " ".join(f"n{k}: nodes(ids: {literal}) {selection}" for k in range(3)) + " }"
        )
        by_variable = (
            "query($ids: [ID!]!) { "
            + " ".join(f"n{k}: nodes(ids: $ids) {selection}" for k in range(3))
            + " }"
        )
        for query, variables in [(by_text, {}), (by_variable, {"ids": ids})]:
            body = await gql(client, query, variables, headers)
            assert ("QUERY_TOO_COSTLY" in [c for c, _ in problems(body)]) is refused, body
            if not refused:
                assert "errors" not in body and len(body["data"]["n0"]) == count
    too_many = [encode_id("Dossier", province.id, dossiers[0].id)] * 101
    body = await gql(
        client, "query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": too_many}, headers
    )
    # refused at the edge (graphql/server/inputs.py LIST_LIMITS), which names the variable
    assert problems(body) == [("BAD_INPUT", "i")]


async def test_last_is_costed_as_first(client):
    """Three pages of 100 provinces with a list below each: over the budget by `first` and by
    `last` alike, literal or variable; pages of 5 pass either way."""
    for argument in ("first", "last"):
        pages = " ".join(
            f"p{i}: provinces({argument}: $n) {{ edges {{ node {{ code }} }} }}" for i in range(3)
        )
        query = f"query($n: Int) {{ {pages} }}"
        for n, refused in [(100, True), (5, False)]:
            for text, variables in [(query, {"n": n}), (query.replace("$n", str(n)), {})]:
                text = text.replace("query(" + str(n) + ": Int)", "query")
                body = await gql(client, text, variables)
                costly = "QUERY_TOO_COSTLY" in [code for code, _ in problems(body)]
                assert costly is refused, (argument, n, body)


def test_enums_follow_one_naming_rule():
    """No `Enum` suffix on a type, UPPER_SNAKE values (GraphQL's convention, and the linters')."""
    from eiso.graphql.schema import build_schema
    from graphql import GraphQLEnumType

    schema = build_schema()._schema
    enums = [
        t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLEnumType) and not name.startswith("__")
    ]
    assert len(enums) > 20
    for enum in enums:
        assert not enum.name.endswith("Enum"), enum.name
        for value in enum.values:
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", value), (enum.name, value)


def test_the_dossier_action_enum_holds_every_action_the_engine_records():
    """An action the engine records but the enum lacks would fail every answer showing it."""
    from eiso.graphql.dossiers.nodes import DossierAction

    source = (ROOT / "core" / "dossiers" / "engine.py").read_text()
    recorded = set(re.findall(r'action="([a-z_]+)"', source))
    # The table-driven moves: Move, ReasonedMove, ClockMove(Status.x, "action", ...).
    recorded |= set(re.findall(r'Move\(\s*Status\.\w+,\s*"([a-z_]+)"', source))
    recorded |= set(re.findall(r'action="([a-z_]+)" if', source))
    recorded |= set(re.findall(r'else "([a-z_]+)"', source))
    assert {"received", "refused", "handed_over", "registered"} <= recorded  # the scan works
    assert recorded <= {action.value for action in DossierAction}
