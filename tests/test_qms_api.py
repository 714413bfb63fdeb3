"""The QMS over GraphQL: a document from draft to effective, refused moves with stable codes,
a nonconformity loop, an audit finding that opens a nonconformity."""

from __future__ import annotations

import pytest

from eiso.core.auth.principal import Role
from eiso.core.qms.storage import storage_from_settings
from eiso.core.settings import Settings
from tests.test_qms_documents import make_agency, person


@pytest.fixture
async def agency(resources):
    return await make_agency(resources)


async def call(client, callers, who, query, **variables):
    body = (
        await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=callers.issue(who)
        )
    ).json()
    return body.get("data"), [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_document_lifecycle_over_graphql(client, callers, agency):
    secretary, leader = person(agency, Role.iso_secretary), person(agency, Role.leader)
    data, errors = await call(
        client,
        callers,
        secretary,
        'mutation { createDocument(kind: PROCEDURE, code: "QT-01", '
        'title: "Quy trình cấp giấy khai sinh") { id versions { id status } } }',
    )
    assert not errors
    version = data["createDocument"]["versions"][0]["id"]
    move = "mutation($id: ID!) { %s(id: $id) { status } }"
    _, errors = await call(
        client, callers, secretary, move % "makeDocumentVersionEffective", id=version
    )
    assert errors == ["INVALID_TRANSITION"]
    assert (await call(client, callers, secretary, move % "submitDocumentVersion", id=version))[
        1
    ] == []
    _, errors = await call(client, callers, secretary, move % "approveDocumentVersion", id=version)
    assert errors == ["FORBIDDEN"]
    assert (await call(client, callers, leader, move % "approveDocumentVersion", id=version))[
        1
    ] == []
    data, errors = await call(
        client, callers, secretary, move % "makeDocumentVersionEffective", id=version
    )
    assert data["makeDocumentVersionEffective"]["status"] == "EFFECTIVE"
    officer = person(agency, Role.officer)
    assert (await call(client, callers, officer, move % "acknowledgeDocument", id=version))[1] == []
    data, _ = await call(
        client, callers, officer, "{ documents(first: 5) { totalCount edges { node { code } } } }"
    )
    assert data["documents"]["totalCount"] == 1


async def test_nonconformity_and_audit_over_graphql(client, callers, agency):
    secretary, auditor = person(agency, Role.iso_secretary), person(agency, Role.auditor)
    data, errors = await call(
        client,
        callers,
        auditor,
        'mutation { createAuditPlan(date: "2026-06-01", '
        'scope: "Một cửa", auditors: ["Lê Thị Bình"], checklist: [{clause: "8.5", '
        'question: "Đúng hạn?"}]) { id } }',
    )
    assert not errors
    data, errors = await call(
        client,
        callers,
        auditor,
        "mutation($id: ID!) { recordAuditFinding(planId: $id, "
        'clause: "8.5", kind: NONCONFORMITY, description: "Trễ hẹn") { nonconformityId } }',
        id=data["createAuditPlan"]["id"],
    )
    nc = data["recordAuditFinding"]["nonconformityId"]
    assert nc
    close = "mutation($id: ID!) { closeNonconformity(id: $id) { status } }"
    assert (await call(client, callers, secretary, close, id=nc))[1] == [
        "EFFECTIVENESS_CHECK_REQUIRED"
    ]
    steps = [
        (
            'planCorrectiveAction(id: $id, rootCause: "Thiếu người", correctiveAction: "Bổ sung", '
            'owner: "Văn phòng", '
            'dueDate: "2030-01-01")'
        ),
        "completeCorrectiveAction(id: $id)",
        'recordEffectivenessCheck(id: $id, result: "Không còn trễ", effective: true)',
        "closeNonconformity(id: $id)",
    ]
    for step in steps:
        data, errors = await call(
            client, callers, secretary, f"mutation($id: ID!) {{ {step} {{ status }} }}", id=nc
        )
        assert not errors, step
    assert next(iter(data.values()))["status"] == "CLOSED"
    data, errors = await call(
        client,
        callers,
        secretary,
        'mutation { registerRisk(title: "R", likelihood: 6, '
        'impact: 1, treatment: "", owner: "o", reviewDate: "2030-01-01") { level } }',
    )
    assert errors == ["BAD_INPUT"]


def test_storage_dir_setting(tmp_path):
    storage = storage_from_settings(Settings(storage_dir=str(tmp_path)))
    digest = storage.put(b"ISO")
    assert (tmp_path / digest[:2] / digest).read_bytes() == b"ISO"


async def test_model_set_adopted_over_graphql(client, callers, resources, agency):
    from eiso.core.auth.principal import Principal
    from eiso.core.qms import documents as docs
    from eiso.tenants.models import AgencyKind, Province
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency
    from tests.conftest import unique_code

    province_scope = TenantScope.province(agency.province_id)
    admin = Principal(
        "admin-qms",
        province_scope,
        frozenset({Role.province_admin, Role.leader}),
        province_id=agency.province_id,
    )
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, agency.province_id)
        committee = await ensure_agency(
            session,
            province,
            unique_code("UB"),
            "Ủy ban nhân dân tỉnh",
            AgencyKind.people_committee,
        )
    async with resources.session(province_scope) as session, session.begin():
        _, version = await docs.create_document(
            session,
            admin,
            province_id=agency.province_id,
            agency_id=committee.id,
            kind="objectives",
            code=unique_code("MT"),
            title="Mục tiêu chất lượng mẫu",
            is_model=True,
        )
    for step in (docs.submit, docs.approve, docs.make_effective):
        async with resources.session(province_scope) as session, session.begin():
            await step(session, admin, agency.province_id, version.id)
    secretary = person(agency, Role.iso_secretary)
    data, errors = await call(
        client,
        callers,
        secretary,
        "{ modelDocuments(first: 10) { edges { node { id code versions { id status } } } } }",
    )
    assert not errors
    node = data["modelDocuments"]["edges"][0]["node"]
    data, errors = await call(
        client,
        callers,
        secretary,
        "mutation($id: ID!) { adoptModelDocument(versionId: $id) { code versions { status } } }",
        id=node["versions"][0]["id"],
    )
    assert not errors and data["adoptModelDocument"]["versions"][0]["status"] == "DRAFT"
    data, errors = await call(
        client,
        callers,
        admin,
        "query($id: ID!) { modelAdoptions(id: $id) { modelVersionNumber } }",
        id=node["id"],
    )
    assert not errors and data["modelAdoptions"] == [{"modelVersionNumber": 1}]
