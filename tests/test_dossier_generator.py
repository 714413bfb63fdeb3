"""The benchmark's data generator (bench/dossier_generator.py) writes rows the app accepts:
~1,000 dossiers on PostgreSQL, seen through GraphQL by an agency's officer and by a province,
filtered, paged, looked up by citizens with their key, and continued by a real receipt."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bench.dossier_generator import generate, lookup_key
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import Dossier, DossierEventRow, DossierStep, ProcedureRecord
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_graphql import Caller
from tests.test_rollups import assert_rollups_match_rows

pytestmark = pytest.mark.only_backend("postgresql+redis")

PAGE = """query($filter: DossierFilter, $after: String) {
  dossiers(filter: $filter, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id code status late receivedAt } } } }"""


async def all_pages(gql, filter=None) -> tuple[int, list[dict]]:
    nodes, after, total = [], None, None
    for _ in range(50):
        body = await gql(PAGE, {"filter": filter, "after": after})
        assert "errors" not in body, body
        page = body["data"]["dossiers"]
        total = page["totalCount"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return total, nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("more pages than expected")


@pytest.fixture(scope="module")
async def generated(database):
    summary = await generate(
        database.owner_url,
        dossiers=1000,
        provinces=2,
        agencies=3,
        prefix=unique_code("G").replace("-", ""),
        log=lambda _: None,
    )
    assert summary.dossiers == 1000 and summary.events > 1000
    return summary


def officer(province: dict, agency: dict) -> Principal:
    return Principal(
        f"officer@{agency['code']}",
        TenantScope.agencies([agency["id"]], [province["id"]]),
        frozenset({Role.officer}),
        province_id=province["id"],
        agency_id=agency["id"],
    )


async def handed_to(resources, agency_id: int) -> int:
    """Dossiers of another agency with a step handed over to this one (the generator's share)."""
    async with resources.session(TenantScope.nation()) as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(DossierStep)
                .where(DossierStep.agency_id == agency_id, DossierStep.handed_over)
            )
        ).scalar_one()


async def test_an_agency_sees_its_generated_dossiers(app, callers, resources, generated):
    province = generated.provinces[0]
    agency = max(province["agencies"], key=lambda a: a["dossiers"])
    gql = Caller(app, callers.issue(officer(province, agency)))
    total, nodes = await all_pages(gql)
    handed = await handed_to(resources, agency["id"])
    assert handed > 0  # its neighbour handed a step of some dossiers over to it
    assert total == len(nodes) == agency["dossiers"] + handed
    assert len({n["code"] for n in nodes}) == total
    assert sum(n["code"].startswith(agency["code"] + "-") for n in nodes) == agency["dossiers"]
    assert [n["receivedAt"] for n in nodes] == sorted(
        (n["receivedAt"] for n in nodes), reverse=True
    )  # latest first

    returned_total, returned = await all_pages(gql, {"status": "RETURNED"})
    assert 0 < returned_total < total and {n["status"] for n in returned} == {"RETURNED"}
    late_total, _ = await all_pages(gql, {"late": True})
    on_time_total, _ = await all_pages(gql, {"late": False})
    assert late_total > 0 and late_total + on_time_total == total

    async with resources.session(TenantScope.nation()) as session:
        events = (
            await session.execute(
                select(func.count())
                .select_from(DossierEventRow)
                .where(DossierEventRow.agency_id == agency["id"])
            )
        ).scalar_one()
        versions = (
            await session.execute(
                select(func.sum(Dossier.version)).where(Dossier.agency_id == agency["id"])
            )
        ).scalar_one()
    assert events == versions  # one timeline row per transition


async def test_a_province_sees_only_its_agencies(app, callers, generated):
    first, second = generated.provinces
    leader = Principal(
        "leader-province",
        TenantScope.province(first["id"]),
        frozenset({Role.leader}),
        province_id=first["id"],
    )
    total, _ = await all_pages(Caller(app, callers.issue(leader)), {"status": "RETURNED"})
    everyone = Principal(
        "leader-other",
        TenantScope.province(second["id"]),
        frozenset({Role.leader}),
        province_id=second["id"],
    )
    other, _ = await all_pages(Caller(app, callers.issue(everyone)), {"status": "RETURNED"})
    assert total > 0 and other > 0
    body = await Caller(app, callers.issue(leader))("{ dossiers(first: 1) { totalCount } }")
    assert body["data"]["dossiers"]["totalCount"] == sum(a["dossiers"] for a in first["agencies"])


async def test_citizens_look_up_generated_dossiers_and_receipts_continue(
    app, callers, resources, generated
):
    province = generated.provinces[1]
    agency = province["agencies"][0]
    gql = Caller(app, callers.issue(officer(province, agency)))
    _, nodes = await all_pages(gql, {"status": "RETURNED"})
    code = nodes[0]["code"]
    public = Caller(app, {}, address=unique_code("10.9.9."))
    seen = await public(
        "query($c: String!, $k: String!) { publicDossier(code: $c, lookupKey: $k) { status "
        "timeline { action } } }",
        {"c": code, "k": lookup_key(code)},
    )
    assert seen["data"]["publicDossier"]["status"] == "RETURNED"
    assert [e["action"] for e in seen["data"]["publicDossier"]["timeline"]][-2:] == [
        "PROCESSED",
        "RETURNED",
    ]

    async with resources.session(TenantScope.nation()) as session, session.begin():
        # another test's catalogue sync (same database) may have retired the bundled procedures
        await session.execute(
            update(ProcedureRecord).where(ProcedureRecord.code == "1.001193").values(active=True)
        )
    receive = (
        'mutation { receiveDossier(input: {procedureCode: "1.001193", applicant: {fullName: "Lê '
        'Văn Nam"},'
        " sectorData: {}}) { dossier { code status } } }"
    )
    body = await gql(receive)
    assert "errors" not in body, body
    assert body["data"]["receiveDossier"]["dossier"]["status"] == "RECEIVED"
    total, _ = await all_pages(gql)
    assert total == agency["dossiers"] + await handed_to(resources, agency["id"]) + 1


async def test_the_generated_provinces_have_their_figures_rollups(resources, generated):
    """The generator rolls its rows up (the figures read the rollups): the same figures as the
    rows, in every grouping and period tests/test_rollups.py compares."""
    for province in generated.provinces:
        seen = await assert_rollups_match_rows(resources, province["id"])
        assert any(row.received for rows in seen for row in rows)
