"""The demo's ISO application (issue 20): Quảng Ninh's DOST inspection plan of the year with one
inspection concluded (a finding opened a nonconformity in the Department of Construction) and
one planned, two agencies' QMS profiles, a training record and the province's ISO steering
committee with a meeting. Loaded once: a later run finds the plan and adds nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal, Role
from eiso.core.qms import application, inspections
from eiso.core.qms.application import Medium, Standard
from eiso.core.resources import Resources
from eiso.infra.clock import utcnow
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

PROVINCE_PREFIX = ".H49"  # Quảng Ninh's agency codes
COMMITTEE, DOST, CONSTRUCTION, SERVICE_CENTRE = (
    "000.00.00.H49",
    "000.00.21.H49",
    "000.00.22.H49",
    "000.00.10.H49",
)


def _operator() -> Principal:
    return Principal("demo", TenantScope.nation(), frozenset({Role.national_admin}))


def _secretary(agency: Agency) -> Principal:
    return Principal(
        f"demo-iso-{agency.code}",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.iso_secretary}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


async def _schedule(
    session: AsyncSession, agency: Agency, planned_on: dt.date
) -> inspections.Inspection:
    """The agency on the plan of `planned_on`'s year, visited by the DOST's team that day."""
    return await inspections.schedule(
        session,
        _operator(),
        province_id=agency.province_id,
        agency_id=agency.id,
        year=planned_on.year,
        planned_on=planned_on,
        inspectors="Đoàn kiểm tra Sở KH&CN",
    )


async def load(resources: Resources, agencies: dict[str, Agency]) -> dict[str, int]:
    """Returns the rows present (the same on every run)."""
    needed = (COMMITTEE, DOST, CONSTRUCTION, SERVICE_CENTRE)
    if not all(code in agencies for code in needed):  # Quảng Ninh merged away: nothing to show
        return {"inspections": 0, "inspection_findings": 0, "training_records": 0}
    who, year = _operator(), utcnow().year
    construction, centre = agencies[CONSTRUCTION], agencies[SERVICE_CENTRE]
    province_id = construction.province_id
    async with resources.session(TenantScope.nation()) as session, session.begin():
        if await inspections.plan(session, province_id, year) is None:
            await inspections.save_plan(
                session,
                who,
                province_id,
                year,
                f"Kế hoạch kiểm tra việc áp dụng TCVN ISO 9001 năm {year}",
                "Sở Khoa học và Công nghệ chủ trì, trình UBND tỉnh phê duyệt",
            )
            done = await _schedule(session, construction, dt.date(year, 3, 18))
            await inspections.start(session, who, province_id, done.id)
            await inspections.mark_item(session, who, province_id, done.id, "KT-01", "conform")
            await inspections.record_finding(
                session,
                who,
                province_id,
                done.id,
                "KT-09",
                "Chưa thực hiện đánh giá nội bộ trong năm; chương trình đánh giá chưa được "
                "phê duyệt",
            )
            await inspections.conclude(
                session,
                who,
                province_id,
                done.id,
                "Cơ bản duy trì HTQLCL; khắc phục 01 điểm không phù hợp trước ngày 30/6",
            )
            await _schedule(session, centre, dt.date(year, 11, 12))
            for agency, standard, medium, upgraded_on in (
                (construction, Standard.iso_9001_2015, Medium.electronic, dt.date(2019, 12, 20)),
                (centre, Standard.iso_9001_2008, Medium.paper, None),
            ):
                await application.set_profile(
                    session,
                    _secretary(agency),
                    province_id=province_id,
                    agency_id=agency.id,
                    standard=standard.value,
                    medium=medium.value,
                    upgraded_on=upgraded_on,
                )
            await application.record_training(
                session,
                _secretary(construction),
                province_id=province_id,
                agency_id=construction.id,
                person="Nguyễn Thị Hạnh",
                position="Thư ký ISO",
                training="Chuyên gia đánh giá nội bộ TCVN ISO 9001:2015",
                provider="Chi cục Tiêu chuẩn Đo lường Chất lượng",
                held_on=dt.date(2025, 9, 10),
                evidence="Giấy chứng nhận số 125/CN-TĐC",
            )
            for person, role, code in (
                ("Chủ tịch UBND tỉnh", "Trưởng ban", COMMITTEE),
                ("Giám đốc Sở Khoa học và Công nghệ", "Phó Trưởng ban thường trực", DOST),
                ("Giám đốc Sở Xây dựng", "Thành viên", CONSTRUCTION),
            ):
                await application.add_member(
                    session,
                    who,
                    province_id,
                    person=person,
                    committee_role=role,
                    since=dt.date(2024, 1, 2),
                    agency_id=agencies[code].id,
                )
            await application.record_meeting(
                session,
                who,
                province_id,
                held_on=dt.date(2025, 12, 15),
                minutes="Họp Ban Chỉ đạo ISO tỉnh: tổng kết năm, thông qua kế hoạch kiểm tra",
                decisions=[
                    "Phê duyệt kế hoạch kiểm tra năm sau",
                    "Các cơ quan còn áp dụng TCVN ISO 9001:2008 chuyển đổi trong quý I",
                ],
            )
        found = await inspections.inspections(session, province_id, year)
        findings = await inspections.findings(session, province_id, [row.id for row in found])
        trainings = await session.scalar(
            select(func.count()).select_from(application.TrainingRecord)
        )
    return {
        "inspections": len(found),
        "inspection_findings": sum(len(f) for f in findings.values()),
        "training_records": int(trainings or 0),
    }
