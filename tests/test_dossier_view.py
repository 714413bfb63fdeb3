"""The staff view of a dossier: its timeline (who, when, from, to, note), procedure, agency,
current step and assignee as objects; a page of dossiers with all of them costs the same
few statements whatever its size (dataloaders, no N+1)."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import event

from eiso.core.auth.models import User
from eiso.graphql.server.limits import Limits
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC
from tests.test_dossier_graphql import APPLICANT, DATA, Caller, officer_of
from tests.test_dossier_intake import app  # noqa: F401 - the app with the test procedure

VIEW = """
fragment View on DossierNode {
  code status currentStep assignee
  procedure { code nameVi }
  agency { code name }
  step { index code nameVi nameEn assignee { subject name } }
  timeline { at action fromStatus toStatus toStatusLabelVi note actor { subject name }
             agency { code } }
}
"""
PAGE = "query($first: Int!) { dossiers(first: $first) { edges { node { ...View } } } }" + VIEW
ONE = "query($id: ID!) { dossier(id: $id) { ...View } }" + VIEW
RECEIVE = (
    f'mutation {{ receiveDossier(input: {{procedureCode: "{PROC}", applicant: {APPLICANT}, '
    f"sectorData: {DATA}}}) {{ dossier {{ id version }} }} }}"
)
ASSIGN = (
    "mutation($id: ID!, $v: Int!, $a: String!) { assignDossier(id: $id, expectedVersion: $v, "
    "assignee: $a) { id version } }"
)


async def _officers(resources, officer, count: int) -> list[User]:
    """Staff accounts of the officer's agency, to be assigned dossiers."""
    users = [
        User(
            username=unique_code("cv"),
            display_name=f"Chuyên viên {i}",
            roles=["officer"],
            province_id=officer.province_id,
            agency_id=officer.agency_id,
        )
        for i in range(count)
    ]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        session.add_all(users)
    return users


async def _page_statements(resources, gql, query: str, first: int) -> tuple[int, list[dict]]:
    """The statements the engine ran for a page of `first` dossiers, and its nodes."""
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
    try:
        body = await gql(query, {"first": first})
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", count)
    nodes = [e["node"] for e in body["data"]["dossiers"]["edges"]]
    assert len(nodes) == first, body
    return len(seen), nodes


async def test_timeline_procedure_agency_and_step(app, callers, resources):  # noqa: F811
    officer = await officer_of(resources, "Cẩm Phả")
    gql = Caller(app, callers.issue(officer))
    await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    (user,) = await _officers(resources, officer, 1)
    made = (await gql(RECEIVE))["data"]["receiveDossier"]["dossier"]
    await gql(ASSIGN, {"id": made["id"], "v": made["version"], "a": str(user.id)})
    seen = (await gql(ONE, {"id": made["id"]}))["data"]["dossier"]
    assert seen["procedure"] == {"code": PROC, "nameVi": "Đăng ký khai sinh"}
    assert seen["agency"]["name"] == "UBND xã Cẩm Phả"
    assert seen["step"]["index"] == seen["currentStep"] == 0
    assert seen["step"]["assignee"] == {"subject": str(user.id), "name": "Chuyên viên 0"}
    assert [
        (e["action"], e["fromStatus"], e["toStatus"], e["actor"]["subject"])
        for e in seen["timeline"]
    ] == [
        ("RECEIVED", None, "RECEIVED", officer.subject),
        ("ASSIGNED", "RECEIVED", "IN_PROGRESS", officer.subject),
    ]
    assert seen["timeline"][1]["toStatusLabelVi"] == "Đang xử lý"
    assert seen["timeline"][0]["agency"]["code"] == seen["agency"]["code"]
    # An account of another agency, typed as the assignee, is not named to this one.
    stranger = await officer_of(resources, "Vân Đồn")
    (theirs,) = await _officers(resources, stranger, 1)
    made = (await gql(RECEIVE))["data"]["receiveDossier"]["dossier"]
    await gql(ASSIGN, {"id": made["id"], "v": made["version"], "a": str(theirs.id)})
    seen = (await gql(ONE, {"id": made["id"]}))["data"]["dossier"]
    assert seen["step"]["assignee"] == {"subject": str(theirs.id), "name": str(theirs.id)}


async def test_a_page_with_every_relation_costs_the_same_statements(app, callers, resources):  # noqa: F811
    officer = await officer_of(resources, "Móng Cái")
    gql = Caller(app, callers.issue(officer))
    await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    users = await _officers(resources, officer, 6)
    for user in users:
        made = (await gql(RECEIVE))["data"]["receiveDossier"]["dossier"]
        await gql(ASSIGN, {"id": made["id"], "v": made["version"], "a": str(user.id)})

    async def statements_for(first: int) -> int:
        seen, nodes = await _page_statements(resources, gql, PAGE, first)
        assert all(len(n["timeline"]) == 2 and n["step"]["assignee"]["name"] for n in nodes)
        return seen

    await statements_for(1)  # warm up
    assert await statements_for(2) == await statements_for(6)


NESTED = """
query($first: Int!) { dossiers(first: $first) { edges { node {
  code
  mySteps { index code status agencyId }
  timeline { at action actor { subject name } }
  procedure { code nameVi }
  agency { code }
  step { index code assignee { subject name } }
} } } }
"""


@pytest.fixture
async def roomy_app(resources, callers, monkeypatch):
    """The test app with a query cost budget that lets a page of 100 carry two lists each."""
    from eiso.core import app as core_app
    from tests.test_dossier_intake import REGISTRY

    monkeypatch.setattr(core_app, "Limits", functools.partial(Limits, max_cost=100_000))
    application = core_app.create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


async def test_nested_step_relations_cost_the_same_statements_for_10_50_100(
    roomy_app, callers, resources
):
    """Issue 18: `mySteps` and every other relation of a page load through the request's
    dataloaders: the statements counted on the engine are the same for 10, 50 and 100."""
    officer = await officer_of(resources, "Uông Bí")
    gql = Caller(roomy_app, callers.issue(officer))
    await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    (user,) = await _officers(resources, officer, 1)
    for i in range(100):
        made = (await gql(RECEIVE))["data"]["receiveDossier"]["dossier"]
        if i % 2:
            await gql(ASSIGN, {"id": made["id"], "v": made["version"], "a": str(user.id)})

    async def statements_for(first: int) -> int:
        seen, nodes = await _page_statements(resources, gql, NESTED, first)
        assert all(n["mySteps"] and n["timeline"] and n["procedure"] for n in nodes), nodes
        return seen

    await statements_for(10)  # warm up
    counts = [await statements_for(n) for n in (10, 50, 100)]
    assert counts[0] == counts[1] == counts[2], counts
