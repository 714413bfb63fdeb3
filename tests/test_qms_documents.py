"""QMS documented information (7.5): the version workflow, one effective version, leader
approval, acknowledgements, attachments, the province's model set; refused moves change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eiso.core.audit import AuditEntry
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, Forbidden
from eiso.core.qms import documents as docs
from eiso.core.qms.documents import DocumentVersion, VersionStatus
from eiso.core.qms.storage import LocalStorage
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code


async def make_agency(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Tài Liệu")
        return await ensure_agency(
            session, province, unique_code("A"), "Ủy ban nhân dân xã Tài Liệu", AgencyKind.commune
        )


@pytest.fixture
async def agency(resources):
    return await make_agency(resources)


def person(agency, role: Role, name: str = "") -> Principal:
    return Principal(
        name or f"{role.value}-{agency.code}",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({role}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


def scope(agency) -> TenantScope:
    return TenantScope.agencies([agency.id], [agency.province_id])


async def audit_count(resources, agency) -> int:
    """How many entries the agency's audit chain holds."""
    async with resources.session(scope(agency)) as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.agency_id == agency.id)
            )
        ).scalar()


async def run(resources, agency, fn, *args, **kwargs):
    async with resources.session(scope(agency)) as session, session.begin():
        return await fn(session, *args, **kwargs)


async def create(resources, agency, code=None):
    secretary = person(agency, Role.iso_secretary)
    document, version = await run(
        resources,
        agency,
        docs.create_document,
        secretary,
        province_id=agency.province_id,
        agency_id=agency.id,
        kind="procedure",
        code=code or unique_code("QT"),
        title="Quy trình tiếp nhận hồ sơ",
    )
    return document, version


async def to_effective(resources, agency, version_id):
    secretary, leader = person(agency, Role.iso_secretary), person(agency, Role.leader)
    await run(resources, agency, docs.submit, secretary, agency.province_id, version_id)
    await run(resources, agency, docs.approve, leader, agency.province_id, version_id)
    return await run(
        resources, agency, docs.make_effective, secretary, agency.province_id, version_id
    )


async def status_of(resources, agency, version_id):
    async with resources.session(scope(agency)) as session:
        return (await session.get(DocumentVersion, (agency.province_id, version_id))).status


async def test_version_workflow_and_one_effective_version(resources, agency):
    document, first = await create(resources, agency)
    assert first.status == VersionStatus.draft and first.number == 1
    made = await to_effective(resources, agency, first.id)
    assert made.status == VersionStatus.effective and made.approved_by.startswith("leader")
    second = await run(
        resources,
        agency,
        docs.new_version,
        person(agency, Role.iso_secretary),
        agency.province_id,
        document.id,
        content="Sửa đổi lần 1",
    )
    assert second.number == 2
    await to_effective(resources, agency, second.id)
    assert await status_of(resources, agency, first.id) == VersionStatus.obsolete
    assert await status_of(resources, agency, second.id) == VersionStatus.effective
    async with resources.session(scope(agency)) as session:
        actions = set(
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.agency_id == agency.id)
                )
            ).scalars()
        )
    assert {
        "document.create",
        "document_version.in_review",
        "document_version.approved",
        "document_version.effective",
        "document_version.obsolete",
    } <= actions


async def test_obsolete_version_cannot_become_effective_again(resources, agency):
    _, first = await create(resources, agency)
    await to_effective(resources, agency, first.id)
    await run(
        resources,
        agency,
        docs.withdraw,
        person(agency, Role.iso_secretary),
        agency.province_id,
        first.id,
    )
    with pytest.raises(DomainError) as refused:
        await run(
            resources,
            agency,
            docs.make_effective,
            person(agency, Role.iso_secretary),
            agency.province_id,
            first.id,
        )
    assert refused.value.code == "INVALID_TRANSITION"
    assert await status_of(resources, agency, first.id) == VersionStatus.obsolete


async def test_draft_cannot_skip_review_and_nothing_changes(resources, agency):
    _, first = await create(resources, agency)
    before = await audit_count(resources, agency)
    for step in (docs.approve, docs.make_effective):
        who = person(agency, Role.leader)
        with pytest.raises(DomainError) as refused:
            await run(resources, agency, step, who, agency.province_id, first.id)
        assert refused.value.code == "INVALID_TRANSITION"
    after = await audit_count(resources, agency)
    assert after == before
    assert await status_of(resources, agency, first.id) == VersionStatus.draft


async def test_only_a_leader_approves(resources, agency):
    _, first = await create(resources, agency)
    await run(
        resources,
        agency,
        docs.submit,
        person(agency, Role.iso_secretary),
        agency.province_id,
        first.id,
    )
    for role in (Role.iso_secretary, Role.officer, Role.auditor):
        with pytest.raises(Forbidden):
            await run(
                resources, agency, docs.approve, person(agency, role), agency.province_id, first.id
            )
    assert await status_of(resources, agency, first.id) == VersionStatus.in_review


async def test_acknowledgement_only_of_the_effective_version_and_once(resources, agency):
    _, first = await create(resources, agency)
    officer = person(agency, Role.officer, "chuyen-vien-1")
    with pytest.raises(DomainError):
        await run(resources, agency, docs.acknowledge, officer, agency.province_id, first.id)
    await to_effective(resources, agency, first.id)
    one = await run(resources, agency, docs.acknowledge, officer, agency.province_id, first.id)
    two = await run(resources, agency, docs.acknowledge, officer, agency.province_id, first.id)
    assert one.id == two.id


async def test_attachment_is_content_addressed(resources, agency, tmp_path):
    storage = LocalStorage(tmp_path)
    _, first = await create(resources, agency)
    content = "Biểu mẫu BM-01".encode()
    version = await run(
        resources,
        agency,
        docs.attach,
        person(agency, Role.iso_secretary),
        storage,
        agency.province_id,
        first.id,
        "bm01.docx",
        content,
    )
    assert storage.get(version.attachment_sha256) == content
    assert storage.put(content) == version.attachment_sha256
    await to_effective(resources, agency, first.id)
    with pytest.raises(DomainError):  # an effective text is frozen
        await run(
            resources,
            agency,
            docs.attach,
            person(agency, Role.iso_secretary),
            storage,
            agency.province_id,
            first.id,
            "other.docx",
            b"x",
        )


async def test_province_model_set_adopted_and_traced(resources, agency):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        from eiso.tenants.models import Province

        province = await session.get(Province, agency.province_id)
        committee = await ensure_agency(
            session,
            province,
            unique_code("UB"),
            "Ủy ban nhân dân tỉnh",
            AgencyKind.people_committee,
        )
    admin = Principal(
        "admin",
        TenantScope.province(agency.province_id),
        frozenset({Role.province_admin, Role.leader}),
        province_id=agency.province_id,
    )
    async with (
        resources.session(TenantScope.province(agency.province_id)) as session,
        session.begin(),
    ):
        model, model_v1 = await docs.create_document(
            session,
            admin,
            province_id=agency.province_id,
            agency_id=committee.id,
            kind="policy",
            code=unique_code("CS"),
            title="Chính sách chất lượng mẫu",
            content="Mẫu",
            is_model=True,
        )
    for step in (docs.submit, docs.approve, docs.make_effective):
        async with (
            resources.session(TenantScope.province(agency.province_id)) as session,
            session.begin(),
        ):
            await step(session, admin, agency.province_id, model_v1.id)
    async with (
        resources.session(TenantScope.province(agency.province_id)) as session,
        session.begin(),
    ):
        adopted, copy = await docs.adopt_model(
            session,
            person(agency, Role.iso_secretary),
            agency.province_id,
            model_v1.id,
            agency_id=agency.id,
        )
    assert adopted.agency_id == agency.id and adopted.model_version_id == model_v1.id
    assert copy.status == VersionStatus.draft and copy.content == "Mẫu"
    async with resources.session(TenantScope.province(agency.province_id)) as session:
        assert await docs.adoptions(session, agency.province_id, model.id) == [
            (agency.id, adopted.id, 1)
        ]
