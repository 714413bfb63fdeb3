"""The dossier lifecycle through GraphQL, with an in-test module providing the procedure:
adoption, receipt (validation, idempotency), every move with expectedVersion, conflicts,
refused moves, the public lookup and rating, rate limiting, another tenant's officer."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC, REGISTRY, enable_test_module

DATA = '{child_name: "Trần Minh Khôi", birth_date: "2026-11-01"}'
APPLICANT = '{fullName: "Nguyễn Thị Hoa", phone: "0912345678"}'


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


async def officer_of(resources, name="Hòa Bình"):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), f"Tỉnh {name}")
        agency = await ensure_agency(
            session, province, unique_code("A"), f"UBND xã {name}", AgencyKind.commune
        )
        await enable_test_module(session, province.id)
    return Principal(
        f"officer-{agency.code}",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


class Caller:
    def __init__(self, app, headers, address="127.0.0.1"):
        self.app, self.headers, self.address = app, headers, address

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        transport = httpx.ASGITransport(app=self.app, client=(self.address, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers=self.headers,
            )
        return response.json()


def codes(body):
    return [e["extensions"]["code"] for e in body.get("errors", [])]


MOVE = (
    "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v%s) { id status version "
    "currentStep appointmentAt } }"
)


async def test_lifecycle_through_graphql(app, resources, callers):
    me = await officer_of(resources)
    gql = Caller(app, callers.issue(me))
    body = await gql(
        f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 9) {{ code }} }}'
    )
    assert codes(body) == ["TIME_LIMIT_TOO_LONG"]
    body = await gql(
        f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code timeLimit }} }}'
    )
    assert body["data"]["adoptProcedure"]["code"] == PROC

    receive = (
        'mutation($k: String) { receiveDossier(input: {procedureCode: "%s", applicant: %s, '
        "sectorData: %s},"
        " idempotencyKey: $k) { lookupKey replayed dossier { id code status version appointmentAt "
        "} } }"
    )
    body = await gql(receive % (PROC, APPLICANT, '{child_name: "Khôi", birth_date: "hôm qua"}'))
    assert codes(body) == ["INVALID_SECTOR_DATA"]
    assert body["errors"][0]["extensions"]["field"] == "sectorData.birth_date"
    key = unique_code("K")
    first = (await gql(receive % (PROC, APPLICANT, DATA), {"k": key}))["data"]["receiveDossier"]
    again = (await gql(receive % (PROC, APPLICANT, DATA), {"k": key}))["data"]["receiveDossier"]
    assert (
        again["replayed"]
        and again["dossier"]["id"] == first["dossier"]["id"]
        and again["lookupKey"] is None
    )
    body = await gql(
        receive % (PROC, APPLICANT, '{child_name: "Khác", birth_date: "2026-11-02"}'), {"k": key}
    )
    assert codes(body) == ["IDEMPOTENCY_KEY_REUSED"]
    d = first["dossier"]
    assert d["status"] == "RECEIVED" and d["appointmentAt"]
    dossier_id, lookup = d["id"], first["lookupKey"]

    async def move(name, version, extra=""):
        return await gql(MOVE % (name, extra), {"id": dossier_id, "v": version})

    assert codes(await move("returnResult", d["version"])) == ["INVALID_TRANSITION"]
    v = (await move("assignDossier", d["version"], ', assignee: "officer-2"'))["data"][
        "assignDossier"
    ]["version"]
    assert codes(await move("stopDossier", d["version"], ', reason: "x"')) == ["CONFLICT"]  # stale
    v = (await move("requestSupplement", v, ', reason: "Thiếu bản sao giấy chứng sinh"'))["data"][
        "requestSupplement"
    ]["version"]
    assert codes(await move("requestFee", v)) == ["INVALID_TRANSITION"]
    v = (await move("supplementReceived", v))["data"]["supplementReceived"]["version"]
    assert codes(await move("requestSupplement", v, ', reason: "lần hai"')) == [
        "SUPPLEMENT_ALREADY_USED"
    ]
    v = (await move("completeStep", v))["data"]["completeStep"]["version"]
    done = (await move("completeStep", v))["data"]["completeStep"]
    assert done["status"] == "PROCESSED"
    returned = (await move("returnResult", done["version"]))["data"]["returnResult"]
    assert returned["status"] == "RETURNED"

    listed = await gql(
        "{ dossiers(filter: {status: RETURNED, late: false}, first: 10) { totalCount edges { node "
        "{ id } } } }"
    )
    assert [e["node"]["id"] for e in listed["data"]["dossiers"]["edges"]] == [dossier_id]

    public = Caller(app, {}, address=unique_code("10.0.0."))
    seen = await public(
        "query($c: String!, $k: String!) { publicDossier(code: $c, lookupKey: $k) { status "
        "timeline { action status } } }",
        {"c": d["code"], "k": lookup},
    )
    assert seen["data"]["publicDossier"]["status"] == "RETURNED"
    assert "Nguyễn" not in str(seen) and "officer" not in str(seen)
    rate = (
        "mutation($c: String!, $k: String!) { rateDossier(code: $c, lookupKey: $k, rating: 5, "
        'comment: "Nhanh gọn") }'
    )
    assert (await public(rate, {"c": d["code"], "k": lookup}))["data"]["rateDossier"] is True
    assert codes(await public(rate, {"c": d["code"], "k": lookup})) == ["ALREADY_RATED"]

    other = Caller(app, callers.issue(await officer_of(resources, "Khác")))
    assert codes(
        await other("query($id: ID!) { dossier(id: $id) { code } }", {"id": dossier_id})
    ) == ["NOT_FOUND"]
    body = await other(
        MOVE % ("stopDossier", ', reason: "x"'), {"id": dossier_id, "v": returned["version"]}
    )
    assert codes(body) == ["NOT_FOUND"]
    assert (await other("{ dossiers(first: 5) { totalCount } }"))["data"]["dossiers"][
        "totalCount"
    ] == 0


async def test_public_lookup_is_rate_limited_per_address(app, monkeypatch):
    # One fixed window: 61 requests on a slow machine could otherwise straddle a minute.
    from types import SimpleNamespace

    from eiso.infra import rate_limit

    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    public = Caller(app, {}, address=unique_code("10.1.1."))
    query = '{ publicDossier(code: "none", lookupKey: "x") { code } }'
    answers = [codes(await public(query)) for _ in range(61)]
    assert answers[0] == ["NOT_FOUND"] and answers[-1] == ["RATE_LIMITED"]
    assert codes(await Caller(app, {}, address=unique_code("10.2.2."))(query)) == ["NOT_FOUND"]


async def test_dossier_list_latest_first_paged_searched_and_late(app, callers, resources):
    """The list an officer works from: the latest receipt first, keyset pages, a code search
    ignoring case, and an online dossier (no appointment yet) counted as not late."""
    gql = Caller(app, callers.issue(await officer_of(resources, "Tiên Yên")))
    await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    receive = (
        f'mutation($online: Boolean!) {{ receiveDossier(input: {{procedureCode: "{PROC}", '
        f"applicant: {APPLICANT},"
        f" sectorData: {DATA}, online: $online}}) {{ dossier {{ code }} }} }}"
    )
    made = [
        (await gql(receive, {"online": online}))["data"]["receiveDossier"]["dossier"]["code"]
        for online in (False, False, True)
    ]
    page = (
        "query($after: String, $filter: DossierFilter) { dossiers(first: 2, after: $after, "
        "filter: $filter)"
        " { pageInfo { hasNextPage endCursor } edges { node { code status late } } } }"
    )
    first = (await gql(page))["data"]["dossiers"]
    assert [e["node"]["code"] for e in first["edges"]] == made[::-1][:2] and first["pageInfo"][
        "hasNextPage"
    ]
    rest = (await gql(page, {"after": first["pageInfo"]["endCursor"]}))["data"]["dossiers"]
    assert [e["node"]["code"] for e in rest["edges"]] == made[:1] and not rest["pageInfo"][
        "hasNextPage"
    ]
    assert codes(await gql(page, {"after": "bm90IGEgY3Vyc29y"})) == ["BAD_INPUT"]

    count = (
        "query($filter: DossierFilter) { dossiers(first: 100, filter: $filter) { totalCount edges "
        "{ node { code } } } }"
    )
    not_late = (await gql(count, {"filter": {"late": False}}))["data"]["dossiers"]
    assert not_late["totalCount"] == 3 and {e["node"]["code"] for e in not_late["edges"]} == set(
        made
    )
    assert (await gql(count, {"filter": {"late": True}}))["data"]["dossiers"]["totalCount"] == 0
    found = (await gql(count, {"filter": {"search": " " + made[1].lower()}}))["data"]["dossiers"]
    assert [e["node"]["code"] for e in found["edges"]] == [made[1]]
    assert (await gql(count, {"filter": {"search": "100%"}}))["data"]["dossiers"]["totalCount"] == 0
    # a beginning, in any case, finds every code it starts (a prefix range on PostgreSQL)
    day = made[0].rsplit("-", 1)[0]
    assert all(code.startswith(day) for code in made)
    found = (await gql(count, {"filter": {"search": day.swapcase() + "-"}}))["data"]["dossiers"]
    assert found["totalCount"] == 3
    # `_` and `%` are characters, not wildcards
    assert (await gql(count, {"filter": {"search": day[:-1] + "_"}}))["data"]["dossiers"][
        "totalCount"
    ] == 0
    # a control character is refused at the edge (graphql/server/inputs.py)
    refused = await gql(count, {"filter": {"search": "\x00"}})
    assert codes(refused) == ["BAD_INPUT"]
    assert refused["errors"][0]["extensions"]["field"] == "filter.search"
    # characters no code holds: the last code points find nothing, no error
    for odd, expected in ((day + "\U0010ffff", 0), (day + "\ud7ff", 0)):
        assert (await gql(count, {"filter": {"search": odd}}))["data"]["dossiers"][
            "totalCount"
        ] == expected


# The queue filters of the officer's desk: `assignee` (the officer's own dossiers) and
# `dueBefore` (due soon, overdue included, only while the clock runs), within the agency.
DESK_COUNT = (
    "query($filter: DossierFilter) { dossiers(first: 50, filter: $filter) { totalCount "
    "edges { node { id code version } } } }"
)


async def _receive(gql) -> dict:
    body = await gql(
        f'mutation {{ receiveDossier(input: {{procedureCode: "{PROC}", applicant: {APPLICANT}, '
        f"sectorData: {DATA}}}) {{ dossier {{ id code version appointmentAt }} }} }}"
    )
    return body["data"]["receiveDossier"]["dossier"]


def _codes(body: dict) -> set[str]:
    return {e["node"]["code"] for e in body["data"]["dossiers"]["edges"]}


async def test_assignee_and_due_before_filters_stay_in_the_agency(app, resources, callers):
    me = await officer_of(resources, "Lọc Một")
    other = await officer_of(resources, "Lọc Hai")
    gql, theirs = Caller(app, callers.issue(me)), Caller(app, callers.issue(other))
    for caller in (gql, theirs):
        await caller(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    mine, waiting = await _receive(gql), await _receive(gql)
    elsewhere = await _receive(theirs)
    assigned = await gql(
        MOVE % ("assignDossier", f', assignee: "{me.subject}"'),
        {"id": mine["id"], "v": mine["version"]},
    )
    assert "errors" not in assigned, assigned
    await theirs(
        MOVE % ("assignDossier", f', assignee: "{me.subject}"'),  # the same name elsewhere
        {"id": elsewhere["id"], "v": elsewhere["version"]},
    )
    own = await gql(DESK_COUNT, {"filter": {"assignee": me.subject}})
    assert _codes(own) == {mine["code"]}
    # Due before a moment after both appointments: both of this agency's, none of the other's.
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=60)).isoformat()
    due = await gql(DESK_COUNT, {"filter": {"dueBefore": later}})
    assert _codes(due) == {mine["code"], waiting["code"]}
    assert elsewhere["code"] not in _codes(due)
    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).isoformat()
    assert _codes(await gql(DESK_COUNT, {"filter": {"dueBefore": past}})) == set()
    # A finished dossier is never due.
    stopped = await gql(
        MOVE % ("stopDossier", ', reason: "Dừng thử"'),
        {"id": waiting["id"], "v": waiting["version"]},
    )
    assert "errors" not in stopped, stopped
    assert _codes(await gql(DESK_COUNT, {"filter": {"dueBefore": later}})) == {mine["code"]}
    # A bound without its time zone is refused, naming the field.
    naive = await gql(DESK_COUNT, {"filter": {"dueBefore": "2030-01-01T00:00:00"}})
    assert naive["errors"][0]["extensions"]["field"] == "dueBefore"
