"""Cross-agency transfer through GraphQL: the interlinked birth procedure (Decree 63/2024)
handed from the commune committee to the commune police to the social insurance office, each
acting on its own step with its own step data, none reading another's step, one public
timeline; and the tenant scope underneath (a session of one agency never reads another's step)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from eiso.core.audit import AuditEntry
from eiso.core.dossiers.models import Dossier, DossierEventRow, DossierStep
from eiso.tenants.scope import TenantScope
from tests.sector_support import (
    APPLICANT,
    DOSSIER,
    adopt,
    codes,
    complete,
    error_of,
    module_app,
    move,
    offices,
    public_lookup,
    receive,
)
from tests.test_rollups import assert_rollups_match_rows

LINKED = "LT-KS-TT-BHYT"
TODAY = dt.date.today()
CHILD = {
    "child_full_name": "Nguyễn Thị An",
    "date_of_birth": str(TODAY - dt.timedelta(days=10)),
    "sex": "female",
    "place_of_birth": "Bệnh viện Bãi Cháy",
    "mother_full_name": "Trần Thị Bình",
    "mother_citizen_id": "022195000111",
}
BIRTH = {"register_number": "KS-0042", "personal_id": "022326000777", "registered_on": str(TODAY)}
RESIDENCE = {
    "permanent_address": "Tổ 5, khu Vĩnh Tuy, phường Hà Lầm",
    "household_head_citizen_id": "022190000333",
    "registered_on": str(TODAY),
}
CARD = {
    "card_number": "TE1220123456789",
    "social_insurance_code": "2201234567",
    "valid_from": str(TODAY),
    "valid_until": str(TODAY.replace(year=TODAY.year + 6)),
}


@pytest.fixture
async def app(resources, callers):
    async with module_app(resources, callers, "birth_registration") as application:
        yield application


async def _three(resources, callers, app):
    return await offices(
        resources,
        callers,
        app,
        "birth_registration",
        "UBND xã Hà Lầm",
        "Công an xã Hà Lầm",
        "BHXH khu vực Hạ Long",
        "UBND xã Khác",
    )


async def test_interlinked_birth_across_three_agencies(app, resources, callers):
    committee, police, insurance, fourth = await _three(resources, callers, app)
    # The adopting committee maps the other agencies' steps to concrete agencies.
    others = await offices(resources, callers, app, "birth_registration", "Công an tỉnh khác")
    body = await adopt(
        committee, LINKED, {"residence": others[0].gid, "insurance_card": insurance.gid}
    )
    assert error_of(body) == ("AGENCY_NOT_FOUND", "stepAgencies.residence")
    assert error_of(await adopt(committee, LINKED, {"nowhere": police.gid})) == (
        "BAD_INPUT",
        "stepAgencies.nowhere",
    )
    assert error_of(await adopt(committee, LINKED, {"birth": police.gid})) == (
        "BAD_INPUT",
        "stepAgencies.birth",
    )
    body = await adopt(
        committee, LINKED, {"residence": police.gid, "insurance_card": insurance.gid}
    )
    assert body["data"]["adoptProcedure"]["stepCodes"] == ["birth", "residence", "insurance_card"]

    old = {**CHILD, "date_of_birth": str(TODAY.replace(year=TODAY.year - 7))}
    assert error_of(await receive(committee, LINKED, old)) == (
        "INVALID_SECTOR_DATA",
        "sectorData.date_of_birth",
    )
    got = (await receive(committee, LINKED, CHILD))["data"]["receiveDossier"]
    d, key = got["dossier"], got["lookupKey"]
    assert codes(await police(DOSSIER, {"id": d["id"]})) == ["NOT_FOUND"]  # not handed over yet
    d = await move(committee, d, "assignDossier", ', assignee: "cán bộ tư pháp"')

    # Step 1, the committee: its own step data, validated by the step's model.
    bad = await complete(committee, d, {**BIRTH, "personal_id": "02232600077"})
    assert error_of(bad) == ("INVALID_SECTOR_DATA", "stepData.personal_id")
    bad = await complete(
        committee, d, {**BIRTH, "registered_on": str(TODAY + dt.timedelta(days=1))}
    )
    assert error_of(bad) == ("INVALID_SECTOR_DATA", "stepData.registered_on")
    d = await complete(committee, d, BIRTH)
    assert (d["status"], d["currentStep"]) == ("IN_PROGRESS", 1)
    assert codes(await complete(committee, d, BIRTH)) == ["NOT_YOUR_STEP"]

    # Step 2, the police: the common part and its own step, nothing of the committee's step.
    seen = (await police(DOSSIER, {"id": d["id"]}))["data"]["dossier"]
    assert seen["currentStep"] == 1 and [s["code"] for s in seen["mySteps"]] == ["residence"]
    assert "KS-0042" not in str(seen) and seen["mySteps"][0]["agencyId"] == police.gid
    mine = (await committee(DOSSIER, {"id": d["id"]}))["data"]["dossier"]
    assert [s["code"] for s in mine["mySteps"]] == ["birth"] and mine["mySteps"][0][
        "sectorData"
    ] == BIRTH
    d = await move(police, seen, "assignDossier", ', assignee: "cán bộ cư trú"')
    bad = await complete(police, d, {**RESIDENCE, "household_head_citizen_id": "123"})
    assert error_of(bad) == ("INVALID_SECTOR_DATA", "stepData.household_head_citizen_id")
    d = await complete(police, d, RESIDENCE)
    assert (d["status"], d["currentStep"]) == ("IN_PROGRESS", 2)

    # Step 3, social insurance: cannot read the police step, and the police cannot read its.
    seen = (await insurance(DOSSIER, {"id": d["id"]}))["data"]["dossier"]
    assert [s["code"] for s in seen["mySteps"]] == ["insurance_card"]
    assert "Vĩnh Tuy" not in str(seen) and "KS-0042" not in str(seen)
    bad = await complete(insurance, d, {**CARD, "card_number": "DN1220123456789"})
    assert error_of(bad) == ("INVALID_SECTOR_DATA", "stepData.card_number")
    bad = await complete(insurance, d, {**CARD, "valid_until": CARD["valid_from"]})
    assert error_of(bad)[0] == "INVALID_SECTOR_DATA"
    d = await complete(insurance, d, CARD)
    assert d["status"] == "PROCESSED"
    police_view = str((await police(DOSSIER, {"id": d["id"]}))["data"]["dossier"])
    assert "TE1220123456789" not in police_view and "Vĩnh Tuy" in police_view
    assert "TE1220123456789" in str((await insurance(DOSSIER, {"id": d["id"]}))["data"]["dossier"])

    # A fourth agency sees nothing; only the receiving committee returns the result.
    assert codes(await fourth(DOSSIER, {"id": d["id"]})) == ["NOT_FOUND"]
    assert (await fourth("{ dossiers(first: 10) { totalCount } }"))["data"]["dossiers"][
        "totalCount"
    ] == 0
    assert codes(await move(fourth, d, "returnResult")) == ["NOT_FOUND"]
    assert codes(await move(insurance, d, "returnResult")) == ["NOT_YOUR_STEP"]
    d = await move(committee, d, "returnResult")
    assert d["status"] == "RETURNED"

    # The citizen: ONE timeline across the three agencies, no personal data.
    public = await public_lookup(app, d["code"], key)
    assert [e["action"] for e in public["timeline"]] == [
        "RECEIVED",
        "ASSIGNED",
        "HANDED_OVER",
        "ASSIGNED",
        "HANDED_OVER",
        "PROCESSED",
        "RETURNED",
    ]
    names = [e["agency"] for e in public["timeline"]]
    assert names[0] == names[-1] == committee.agency.name
    assert names[2] == committee.agency.name and names[3] == names[4] == police.agency.name
    assert names[5] == insurance.agency.name
    assert APPLICANT["fullName"] not in str(public) and "KS-0042" not in str(public)
    await _scope_underneath(resources, d, committee, police, insurance, fourth)
    # The insurance office finished the committee's dossier under its own scope: the figures'
    # rollups count it for the committee, as the rows do (row-level security allowed the write).
    await assert_rollups_match_rows(resources, committee.agency.province_id)


async def _scope_underneath(resources, d, committee, police, insurance, fourth):
    """The tenant scope itself: each agency's session reads its own step, timeline and audit."""
    from eiso.core.global_ids import decode_id

    province_id, dossier_id = decode_id(d["id"], "Dossier")
    for office, step in (
        (committee, "birth"),
        (police, "residence"),
        (insurance, "insurance_card"),
    ):
        async with resources.session(
            TenantScope.agencies([office.agency.id], [province_id])
        ) as session:
            steps = (
                await session.execute(
                    select(DossierStep).where(DossierStep.dossier_id == dossier_id)
                )
            ).scalars()
            assert [s.step_code for s in steps] == [step]
            events = (
                (
                    await session.execute(
                        select(DossierEventRow).where(DossierEventRow.dossier_id == dossier_id)
                    )
                )
                .scalars()
                .all()
            )
            assert events and {e.agency_id for e in events} == {office.agency.id}
            trail = (
                (
                    await session.execute(
                        select(AuditEntry.agency_id).where(AuditEntry.entity_id == str(dossier_id))
                    )
                )
                .scalars()
                .all()
            )
            assert trail and set(trail) == {office.agency.id}
            assert (
                await session.get(Dossier, (province_id, dossier_id))
            ) is not None  # the common part
    async with resources.session(
        TenantScope.agencies([fourth.agency.id], [province_id])
    ) as session:
        assert (
            await session.execute(select(DossierStep).where(DossierStep.dossier_id == dossier_id))
        ).first() is None
        assert (await session.get(Dossier, (province_id, dossier_id))) is None


async def test_handover_names_the_receiving_agency(app, resources, callers):
    """A step the adoption did not map: the handing agency names the receiver (`toAgency`)."""
    committee, police, insurance, _ = await _three(resources, callers, app)
    await adopt(committee, LINKED, {"insurance_card": insurance.gid})
    d = (await receive(committee, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]
    d = await move(committee, d, "assignDossier", ', assignee: "x"')
    assert error_of(await complete(committee, d, BIRTH, to="bm9uZQ==")) == (
        "AGENCY_NOT_FOUND",
        "toAgency",
    )
    d = await complete(committee, d, BIRTH, to=police.gid)
    seen = (await police(DOSSIER, {"id": d["id"]}))["data"]["dossier"]
    assert [s["code"] for s in seen["mySteps"]] == ["residence"]
    # A step mapped at adoption goes to the mapped agency whatever the handover names.
    d = await complete(police, seen, RESIDENCE, to=committee.gid)
    assert [
        s["code"] for s in (await insurance(DOSSIER, {"id": d["id"]}))["data"]["dossier"]["mySteps"]
    ] == ["insurance_card"]


PAGE = """query($after: String, $filter: DossierFilter) {
  dossiers(first: 2, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { code } } } }"""


async def test_an_agency_lists_its_own_and_the_handed_over_dossiers_newest_first(
    app, resources, callers
):
    """The page reads an agency's own dossiers and those handed over to it in two queries
    (graphql/dossiers/page.py); the merged page keeps the order and the cursor across both."""
    committee, police, _, fourth = await _three(resources, callers, app)
    assert "errors" not in await adopt(committee, LINKED, {"residence": police.gid})
    assert "errors" not in await adopt(police, LINKED)
    first = (await receive(police, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]
    handed = (await receive(committee, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]
    handed = await move(committee, handed, "assignDossier", ', assignee: "x"')
    await complete(committee, handed, BIRTH)
    last = (await receive(police, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]

    async def pages(office, filter=None) -> list[list[str]]:
        found, after = [], None
        for _ in range(5):
            page = (await office(PAGE, {"after": after, "filter": filter}))["data"]["dossiers"]
            found.append([e["node"]["code"] for e in page["edges"]])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]
        raise AssertionError(found)

    assert await pages(police) == [[last["code"], handed["code"]], [first["code"]]]
    assert await pages(police, {"status": "IN_PROGRESS"}) == [[handed["code"]]]
    assert (await police(PAGE, {}))["data"]["dossiers"]["totalCount"] == 3
    assert await pages(committee) == [[handed["code"]]]
    assert await pages(fourth) == [[]]


async def test_bound_scope_shows_what_the_session_shows(app, resources, callers):
    """`bound_scope` (a statement built once, run on the session's Core connection: the
    dossier page) selects the rows the ORM's scope criteria select, for every kind of scope;
    an agency's own and shared parts add up to what it sees and never overlap."""
    from eiso.tenants.scope import bound_scope, scope_params

    committee, police, _, fourth = await _three(resources, callers, app)
    assert "errors" not in await adopt(committee, LINKED, {"residence": police.gid})
    assert "errors" not in await adopt(police, LINKED)
    await receive(police, LINKED, CHILD)
    handed = (await receive(committee, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]
    handed = await move(committee, handed, "assignDossier", ', assignee: "x"')
    await complete(committee, handed, BIRTH)
    agency = committee.agency
    scopes = [
        *(office.principal.tenant for office in (committee, police, fourth)),
        TenantScope.agencies([police.agency.id]),  # an agency scope that names no province
        TenantScope.province(agency.province_id),
        TenantScope.nation(),
    ]

    async def ids(scope, part=None) -> set[int]:
        async with resources.session(scope) as session:
            condition = bound_scope(Dossier, scope.kind, part, provinces=bool(scope.province_ids))
            statement = select(Dossier.id).where(Dossier.province_id == agency.province_id)
            if condition is not None:
                statement = statement.where(condition)
            connection = await session.connection()
            return set((await connection.execute(statement, scope_params(scope))).scalars())

    for scope in scopes:
        async with resources.session(scope) as session:
            shown = set(
                (
                    await session.execute(
                        select(Dossier.id).where(Dossier.province_id == agency.province_id)
                    )
                ).scalars()
            )
        assert await ids(scope) == shown, scope
        if scope.kind == "agencies":
            own, shared = await ids(scope, "own"), await ids(scope, "shared")
            assert own | shared == shown and not own & shared, scope
    assert len(await ids(police.principal.tenant, "shared")) == 1  # the handed-over dossier


async def test_a_merge_of_the_receiving_agency_keeps_the_hand_over(app, resources, callers):
    """`dossiers.handed_to` (what the dossiers policy reads on Citus) names the agency a step
    was handed over to, and after a merge of that agency the new one (issue 23)."""
    from eiso.tenants.models import Province
    from eiso.tenants.reorganisation import merge_agencies
    from tests.conftest import unique_code

    committee, police, _, fourth = await _three(resources, callers, app)
    assert "errors" not in await adopt(committee, LINKED, {"residence": police.gid})
    handed = (await receive(committee, LINKED, CHILD))["data"]["receiveDossier"]["dossier"]
    handed = await move(committee, handed, "assignDossier", ', assignee: "x"')
    await complete(committee, handed, BIRTH)

    async def handed_to() -> list[int]:
        async with resources.session(TenantScope.nation()) as session:
            found = await session.execute(
                select(Dossier.handed_to).where(Dossier.code == handed["code"])
            )
            return list(found.scalar_one())

    assert await handed_to() == [police.agency.id]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, police.agency.province_id)
        assert province is not None
        new, _ = await merge_agencies(
            session,
            province.code,
            [police.agency.code, fourth.agency.code],
            code=unique_code("A"),
            name="Công an xã mới",
            by="test",
        )
    assert await handed_to() == [new.id]
    scope = TenantScope.agencies([new.id], [new.province_id])
    async with resources.session(scope) as session:
        seen = await session.execute(select(Dossier.code).where(Dossier.code == handed["code"]))
        assert seen.scalars().all() == [handed["code"]]
