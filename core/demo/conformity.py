"""The demo's conformity and yearly reports (issue 20), through the QMS services:

- a QMS scope for every agency that adopted procedures (core/qms/conformity.set_scope);
- Quảng Ninh's Department of Construction announced: its model QMS documents and ISO process
  documents made effective, an internal audit and a management review after the scope, then
  the announcement with its decision number and date (published on the province's public
  page, notified to the DOST);
- Hạ Long ward announced too, then its scope widened to a procedure it had left out, so it
  must re-announce;
- the yearly reports of the year: two drafts, one submitted, one returned with the DOST's
  comments, one accepted (the DOST's compiled report of the province is computed from the
  accepted ones: core/qms/yearly_reports.compile_province).

Loaded once: an agency with a scope, an announcement or a report already is left as it is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from eiso.core.auth.principal import Principal, Role
from eiso.core.qms import audits, conformity, documents, management_review, qms_scope
from eiso.core.qms import yearly_reports as reports
from eiso.core.qms.conformity import ConformityAnnouncement
from eiso.core.qms.documents import Document, DocumentVersion, VersionStatus
from eiso.core.resources import Resources
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import utcnow
from eiso.tenants.models import Agency, IsoStatus
from eiso.tenants.scope import TenantScope

ACTIVITIES = ["Tiếp nhận và trả kết quả tại Bộ phận Một cửa", "Quản lý văn bản đi, đến"]
# agency code → (leader, the announcing decision's number, QMS started on, chaired by)
ANNOUNCED = {
    "000.00.22.H49": (
        "lanhdao.soxaydung.qn",
        "125/QĐ-SXD",
        dt.date(2025, 3, 3),
        "Giám đốc Sở Xây dựng",
    ),
    "000.31.01.H49": (
        "lanhdao.halong",
        "86/QĐ-UBND",
        dt.date(2025, 4, 1),
        "Chủ tịch UBND phường Hạ Long",
    ),
}
# The announced agency whose scope then grows by the procedure it had left out.
REANNOUNCE = "000.31.01.H49"

# The yearly report of each agency: how far it went.
REPORTS = {
    "000.31.01.H49": "draft",
    "000.31.02.H49": "draft",
    "000.32.01.H49": "submitted",
    "000.32.02.H49": "returned",
    "000.00.22.H49": "accepted",
}
PARTS = {
    "scope": "Áp dụng Hệ thống quản lý chất lượng theo TCVN ISO 9001:2015 cho toàn bộ hoạt động "
    "giải quyết thủ tục hành chính tại Bộ phận Một cửa và công tác quản lý văn bản.",
    "procedures": "Các quy trình nội bộ theo mô hình khung (Quyết định 101/QĐ-BKHCN) và quy "
    "trình ISO của từng thủ tục hành chính đã áp dụng.",
    "legal_updates": "Rà soát, cập nhật quy trình khi Nghị định, Thông tư liên quan được sửa "
    "đổi, bổ sung trong năm.",
    "difficulties": "Cán bộ kiêm nhiệm nhiều việc; một số quy trình điện tử chưa liên thông.",
    "proposals": "Đề nghị Sở Khoa học và Công nghệ tổ chức lớp tập huấn đánh giá nội bộ.",
    "funding": "Kinh phí duy trì hệ thống từ ngân sách chi thường xuyên của cơ quan.",
}
RETURN_COMMENT = (
    "Đề nghị bổ sung ngày đánh giá nội bộ, ngày xem xét của lãnh đạo và kết quả khắc phục "
    "các điểm không phù hợp trong năm."
)
ACCEPT_COMMENT = "Báo cáo đầy đủ nội dung theo Thông tư 26/2014/TT-BKHCN."


def _staff(agency: Agency, subject: str, *roles: Role) -> Principal:
    return Principal(
        subject,
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset(roles),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


def _secretary(agency: Agency) -> Principal:
    return _staff(agency, f"demo-iso-{agency.code}", Role.iso_secretary)


def _province_admin(province_id: int) -> Principal:
    scope, roles = TenantScope.province(province_id), frozenset({Role.province_admin})
    return Principal("demo:province-admin", scope, roles, province_id=province_id)


async def _scopes(
    resources: Resources, agencies: dict[str, Agency], adoptions: dict[str, list[str]]
) -> None:
    """Each agency's scope: every procedure it adopted (Hạ Long's first leaves one out)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for code, chosen in sorted(adoptions.items()):
            agency = agencies[code]
            if await qms_scope.scope_of(session, agency.province_id, agency.id) is not None:
                continue
            procedures = sorted(chosen)
            if code == REANNOUNCE and len(procedures) > 1:
                procedures = procedures[:-1]
            await conformity.set_scope(
                session,
                _secretary(agency),
                agency.province_id,
                agency.id,
                procedures=procedures,
                activities=ACTIVITIES,
            )


async def _documents_effective(
    session: AsyncSession, secretary: Principal, leader: Principal
) -> None:
    """The agency's own documents still in draft (the model QMS, the ISO process documents):
    submitted, approved by the leader and made effective."""
    own = select(col(Document.id)).where(
        col(Document.province_id) == secretary.province_id,
        col(Document.agency_id) == secretary.agency_id,
        col(Document.is_model).is_(False),
    )
    drafts = await session.execute(
        select(col(DocumentVersion.id))
        .where(
            col(DocumentVersion.province_id) == secretary.province_id,
            col(DocumentVersion.document_id).in_(own),
            col(DocumentVersion.status) == VersionStatus.draft.value,
        )
        .order_by(col(DocumentVersion.id))
    )
    province_id = secretary.province_id
    assert province_id is not None
    for version_id in list(drafts.scalars()):
        await documents.submit(session, secretary, province_id, version_id)
        await documents.approve(session, leader, province_id, version_id)
        await documents.make_effective(session, secretary, province_id, version_id)


async def _announce(resources: Resources, agency: Agency, adopted: list[str]) -> None:
    username, decision, since, chair = ANNOUNCED[agency.code]
    secretary, leader = _secretary(agency), _staff(agency, username, Role.leader)
    province_id, today = agency.province_id, dt.datetime.now(VN_TZ).date()
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await conformity.start_building(session, secretary, province_id, agency.id, since=since)
        await _documents_effective(session, secretary, leader)
        programme = await audits.create_programme(
            session,
            secretary,
            province_id=province_id,
            agency_id=agency.id,
            year=today.year,
            title=f"Chương trình đánh giá nội bộ năm {today.year}",
        )
        plan = await audits.create_plan(
            session,
            secretary,
            province_id,
            programme.id,
            date=today,
            scope="Toàn bộ Hệ thống quản lý chất lượng trong phạm vi áp dụng",
            auditors=["Nguyễn Thị Hạnh", "Trần Quốc Bảo"],
            checklist=[("8.5", "Hồ sơ được giải quyết đúng quy trình, đúng hạn?")],
        )
        await audits.record_finding(
            session,
            secretary,
            province_id,
            plan.id,
            clause="8.5",
            kind="conformity",
            description="Hồ sơ được tiếp nhận, xử lý và trả kết quả đúng quy trình ISO",
        )
        await management_review.hold_review(
            session,
            leader,
            province_id=province_id,
            agency_id=agency.id,
            period_start=today.replace(month=1, day=1),
            period_end=today,
            held_on=today,
            chaired_by=chair,
            conclusions="Hệ thống phù hợp, đủ điều kiện công bố theo TCVN ISO 9001:2015",
        )
        await conformity.announce(
            session, leader, province_id, agency.id, decision_number=decision, announced_on=today
        )
        if agency.code == REANNOUNCE:
            # The procedure left out joins the scope: a change of scope, to re-announce.
            await conformity.set_scope(
                session,
                secretary,
                province_id,
                agency.id,
                procedures=sorted(adopted),
                activities=ACTIVITIES,
            )


async def _report(resources: Resources, agency: Agency, target: str, year: int) -> None:
    secretary, admin = _secretary(agency), _province_admin(agency.province_id)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        parts = PARTS if target != "draft" else {"scope": PARTS["scope"]}
        row = await reports.save(
            session,
            secretary,
            province_id=agency.province_id,
            agency_id=agency.id,
            year=year,
            parts=dict(parts),
        )
        if target == "draft":
            return
        await reports.submit(session, secretary, agency.province_id, row.id)
        if target == "returned":
            await reports.return_for_revision(
                session, admin, agency.province_id, row.id, RETURN_COMMENT
            )
        elif target == "accepted":
            await reports.accept(session, admin, agency.province_id, row.id, ACCEPT_COMMENT)


async def load(
    resources: Resources, agencies: dict[str, Agency], adoptions: dict[str, list[str]]
) -> dict[str, int]:
    """Returns the scopes, the agencies that announced and the yearly reports present (the
    same every run)."""
    await _scopes(resources, agencies, adoptions)
    year = utcnow().year
    for code in ANNOUNCED:
        agency = agencies.get(code)
        if agency is None or code not in adoptions:
            continue
        async with resources.session(TenantScope.nation()) as session:
            row = await conformity.announcement(
                session, agency.province_id, agency.id, create=False
            )
        if row is None or row.status == IsoStatus.not_started:
            await _announce(resources, agency, adoptions[code])
    for code, target in REPORTS.items():
        agency = agencies.get(code)
        if agency is None:
            continue
        async with resources.session(TenantScope.nation()) as session:
            found = await reports.find(session, agency.province_id, agency.id, year)
        if found is None:
            await _report(resources, agency, target, year)
    demo = TenantScope.province(*sorted({a.province_id for a in agencies.values()}))
    async with resources.session(demo) as session:

        async def count(model: type[SQLModel]) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        return {
            "conformity_scopes": await count(qms_scope.ConformityScope),
            "conformity_announced": int(
                await session.scalar(
                    select(func.count())
                    .select_from(ConformityAnnouncement)
                    .where(col(ConformityAnnouncement.announced_on).is_not(None))
                )
                or 0
            ),
            "yearly_reports": await count(reports.YearlyReport),
        }
