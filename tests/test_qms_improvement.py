"""Nonconformities (10.2), risks (6.1) and internal audits (9.2): each transition, each refused
move (which changes nothing), and the audit chain beside every change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from eiso.core.auth.principal import Role
from eiso.core.errors import DomainError, Forbidden
from eiso.core.qms import audits, risks
from eiso.core.qms import nonconformities as ncs
from eiso.core.qms.audits import AuditFinding
from eiso.core.qms.nonconformities import NcStatus, Nonconformity
from tests.test_qms_documents import audit_count, make_agency, person, run, scope

TODAY = dt.date.today()


@pytest.fixture
async def agency(resources):
    return await make_agency(resources)


async def raise_nc(resources, agency, **extra):
    return await run(
        resources,
        agency,
        ncs.raise_nonconformity,
        person(agency, Role.iso_secretary),
        province_id=agency.province_id,
        agency_id=agency.id,
        title="Trả kết quả trễ hẹn",
        procedure_code="1.001193",
        step="thẩm định",
        officer="chuyen-vien-1",
        **extra,
    )


async def test_nonconformity_full_loop(resources, agency):
    secretary = person(agency, Role.iso_secretary)
    nc = await raise_nc(resources, agency, source="complaint", source_ref="PA-12")
    assert nc.status == NcStatus.open and nc.source == "complaint"
    nc = await run(
        resources,
        agency,
        ncs.plan_action,
        secretary,
        agency.province_id,
        nc.id,
        root_cause="Thiếu người thẩm định",
        corrective_action="Bổ sung chuyên viên",
        owner="Trưởng phòng",
        due_date=TODAY + dt.timedelta(days=10),
    )
    assert nc.status == NcStatus.action_planned
    nc = await run(resources, agency, ncs.complete_action, secretary, agency.province_id, nc.id)
    # An ineffective action goes back to planning.
    nc = await run(
        resources,
        agency,
        ncs.record_effectiveness,
        secretary,
        agency.province_id,
        nc.id,
        result="Vẫn trễ hẹn",
        effective=False,
    )
    assert nc.status == NcStatus.action_planned
    nc = await run(resources, agency, ncs.complete_action, secretary, agency.province_id, nc.id)
    nc = await run(
        resources,
        agency,
        ncs.record_effectiveness,
        secretary,
        agency.province_id,
        nc.id,
        result="3 tháng không trễ hẹn",
        effective=True,
    )
    assert nc.status == NcStatus.verified and nc.checked_by == secretary.subject
    nc = await run(
        resources, agency, ncs.close, person(agency, Role.leader), agency.province_id, nc.id
    )
    assert nc.status == NcStatus.closed and nc.closed_at
    with pytest.raises(DomainError) as again:
        await run(resources, agency, ncs.close, secretary, agency.province_id, nc.id)
    assert again.value.code == "INVALID_TRANSITION"


async def test_closing_without_effectiveness_check_is_refused(resources, agency):
    nc = await raise_nc(resources, agency)
    before = await audit_count(resources, agency)
    with pytest.raises(DomainError) as refused:
        await run(
            resources, agency, ncs.close, person(agency, Role.leader), agency.province_id, nc.id
        )
    assert refused.value.code == "EFFECTIVENESS_CHECK_REQUIRED"
    with pytest.raises(DomainError) as skipped:
        await run(
            resources,
            agency,
            ncs.record_effectiveness,
            person(agency, Role.iso_secretary),
            agency.province_id,
            nc.id,
            result="ok",
            effective=True,
        )
    assert skipped.value.code == "INVALID_TRANSITION"
    assert await audit_count(resources, agency) == before
    async with resources.session(scope(agency)) as session:
        assert (
            await session.get(Nonconformity, (agency.province_id, nc.id))
        ).status == NcStatus.open


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"source": "rumour"}, "source"),
        ({"source": "dossier"}, "source"),
        ({"title": " "}, "title"),
    ],
)
async def test_bad_nonconformity_input_names_the_field(resources, agency, extra, field):
    args = {"province_id": agency.province_id, "agency_id": agency.id, "title": "X", **extra}
    with pytest.raises(DomainError) as refused:
        await run(
            resources, agency, ncs.raise_nonconformity, person(agency, Role.iso_secretary), **args
        )
    assert refused.value.details["field"] == field


async def test_officer_cannot_raise_nonconformity(resources, agency):
    with pytest.raises(Forbidden):
        await run(
            resources,
            agency,
            ncs.raise_nonconformity,
            person(agency, Role.officer),
            province_id=agency.province_id,
            agency_id=agency.id,
            title="X",
        )


async def test_risk_level_and_validation(resources, agency):
    secretary = person(agency, Role.iso_secretary)
    risk = await run(
        resources,
        agency,
        risks.register_risk,
        secretary,
        province_id=agency.province_id,
        agency_id=agency.id,
        title="Mất dữ liệu hồ sơ",
        likelihood=2,
        impact=5,
        treatment="Sao lưu hằng ngày",
        owner="Văn phòng",
        review_date=TODAY,
    )
    assert risk.level == 10
    risk = await run(
        resources,
        agency,
        risks.review_risk,
        secretary,
        agency.province_id,
        risk.id,
        likelihood=1,
        impact=5,
        treatment="Sao lưu và kiểm tra khôi phục",
        review_date=TODAY,
    )
    assert risk.level == 5
    for field, values in (("likelihood", (0, 5)), ("impact", (3, 6))):
        before = await audit_count(resources, agency)
        with pytest.raises(DomainError) as refused:
            await run(
                resources,
                agency,
                risks.register_risk,
                secretary,
                province_id=agency.province_id,
                agency_id=agency.id,
                title="R",
                likelihood=values[0],
                impact=values[1],
                treatment="",
                owner="o",
                review_date=TODAY,
            )
        assert refused.value.details["field"] == field
        assert await audit_count(resources, agency) == before


async def programme_and_plan(resources, agency, auditor, title: str, **plan):
    """This year's audit programme `title` and a plan in it for today (`plan`: the plan's
    scope, auditors and so on)."""
    programme = await run(
        resources,
        agency,
        audits.create_programme,
        auditor,
        province_id=agency.province_id,
        agency_id=agency.id,
        year=TODAY.year,
        title=title,
    )
    made = await run(
        resources,
        agency,
        audits.create_plan,
        auditor,
        agency.province_id,
        programme.id,
        date=TODAY,
        **plan,
    )
    return programme, made


async def test_audit_programme_plan_and_findings(resources, agency):
    auditor = person(agency, Role.auditor)
    _, plan = await programme_and_plan(
        resources,
        agency,
        auditor,
        "Chương trình đánh giá nội bộ",
        scope="Bộ phận một cửa",
        auditors=["Nguyễn Văn An"],
        checklist=[("7.5.2", "Tài liệu có được phê duyệt?"), ("8.5", "Hồ sơ đúng hạn?")],
    )
    ok = await run(
        resources,
        agency,
        audits.record_finding,
        auditor,
        agency.province_id,
        plan.id,
        clause="7.5.2",
        kind="conformity",
        description="Đạt",
    )
    assert ok.nonconformity_id is None
    bad = await run(
        resources,
        agency,
        audits.record_finding,
        auditor,
        agency.province_id,
        plan.id,
        clause="8.5",
        kind="nonconformity",
        description="Hai hồ sơ trễ hẹn không có phiếu xin lỗi",
    )
    async with resources.session(scope(agency)) as session:
        nc = await session.get(Nonconformity, (agency.province_id, bad.nonconformity_id))
    assert nc.source == "audit_finding" and nc.source_ref == str(bad.id)


async def test_bad_audit_input_changes_nothing(resources, agency):
    auditor = person(agency, Role.auditor)
    programme, plan = await programme_and_plan(
        resources, agency, auditor, "Chương trình", scope="Toàn bộ", auditors=["A"]
    )
    before = await audit_count(resources, agency)
    for clause, kind, field in (("7.5.x", "nonconformity", "clause"), ("7.5", "bad", "kind")):
        with pytest.raises(DomainError) as refused:
            await run(
                resources,
                agency,
                audits.record_finding,
                auditor,
                agency.province_id,
                plan.id,
                clause=clause,
                kind=kind,
                description="d",
            )
        assert refused.value.details["field"] == field
    with pytest.raises(DomainError) as refused:
        await run(
            resources,
            agency,
            audits.create_plan,
            auditor,
            agency.province_id,
            programme.id,
            date=TODAY,
            scope="x",
            auditors=["A"],
            checklist=[("99", "?")],
        )
    assert refused.value.details["field"] == "clause"
    assert await audit_count(resources, agency) == before
    async with resources.session(scope(agency)) as session:
        assert not (
            await session.execute(select(AuditFinding).where(AuditFinding.plan_id == plan.id))
        ).first()
