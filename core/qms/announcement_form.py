"""The conformity announcement as a document: the agency's decision announcing that its QMS
conforms to TCVN ISO 9001:2015 (Decision 19/2014/QĐ-TTg, Circular 26/2014/TT-BKHCN), rendered
as HTML and PDF (the slips' writer), and the province's public list of announcements for the
citizen portal.

The layout is that of an administrative decision (national header, number and date, grounds,
articles, recipients, signature) with the scope listed in Article 1. The form's exact wording in
Circular 26/2014/TT-BKHCN was not found (core/qms/README.md): this is eiso's rendering of what
the announcement records (number, date, scope), not a verified copy of the official form.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.dossiers.slips.documents import MOTTO, NATION, Line
from eiso.core.dossiers.slips.documents import Document as Printable
from eiso.core.dossiers.slips.printing import render_pdf
from eiso.core.errors import DomainError, NotFound
from eiso.core.qms.common import value
from eiso.core.qms.conformity import ConformityAnnouncement, agency_row
from eiso.core.qms.process_docs import FORMATS, check_format, environment
from eiso.tenants.models import Agency, Province, TenantStatus, tenant_join
from eiso.tenants.scope import TenantScope

if TYPE_CHECKING:
    from eiso.core.resources import Resources

STANDARD = "TCVN ISO 9001:2015"
SUBJECT = "Về việc công bố Hệ thống quản lý chất lượng phù hợp Tiêu chuẩn quốc gia " + STANDARD
GROUNDS = (
    "Căn cứ Quyết định số 19/2014/QĐ-TTg ngày 05/3/2014 của Thủ tướng Chính phủ về việc áp "
    "dụng Hệ thống quản lý chất lượng theo Tiêu chuẩn quốc gia TCVN ISO 9001 vào hoạt động của "
    "các cơ quan, tổ chức thuộc hệ thống hành chính nhà nước;",
    "Căn cứ Thông tư số 26/2014/TT-BKHCN ngày 10/10/2014 của Bộ trưởng Bộ Khoa học và Công nghệ "
    "quy định chi tiết thi hành Quyết định số 19/2014/QĐ-TTg;",
    "Xét kết quả đánh giá nội bộ và xem xét của lãnh đạo về Hệ thống quản lý chất lượng,",
)
STATUS_VI = {
    "not_started": "Chưa xây dựng",
    "building": "Đang xây dựng",
    "announced": "Đã công bố",
    "to_be_reannounced": "Cần công bố lại",
}


@dataclasses.dataclass
class Article:
    label: str
    text: str
    items: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class AnnouncementForm:
    superior: str
    agency: str
    decision_number: str
    announced_on: dt.date
    place_date: str
    subject: str
    signer_title: str
    grounds: tuple[str, ...]
    articles: list[Article]
    recipients: list[str]


def not_announced() -> DomainError:
    return DomainError(
        "the agency has not announced its QMS's conformity",
        "cơ quan chưa công bố Hệ thống quản lý chất lượng phù hợp tiêu chuẩn",
        code="NOT_ANNOUNCED",
    )


async def procedure_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    rows = await session.execute(
        select(ProcedureRecord.code, ProcedureRecord.name_vi).where(
            col(ProcedureRecord.code).in_(codes)
        )
    )
    return dict(rows.all())


def build(
    row: ConformityAnnouncement, agency: Agency, province: str, names: dict[str, str]
) -> AnnouncementForm:
    if row.decision_number is None or row.announced_on is None:
        raise not_announced()
    scope = row.announced_scope or {}
    procedures = [f"{names.get(c, c)} (mã {c})" for c in scope.get("procedures", [])]
    day = row.announced_on
    return AnnouncementForm(
        superior=f"UBND {province.upper()}",
        agency=agency.name,
        decision_number=row.decision_number,
        announced_on=day,
        place_date=f"{province}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}",
        subject=SUBJECT,
        signer_title=f"THỦ TRƯỞNG {agency.name.upper()}",
        grounds=GROUNDS,
        articles=[
            Article(
                "Điều 1.",
                f"Công bố Hệ thống quản lý chất lượng của {agency.name} phù hợp Tiêu chuẩn quốc "
                f"gia {STANDARD} đối với các hoạt động sau:",
                [*procedures, *scope.get("activities", [])],
            ),
            Article(
                "Điều 2.",
                f"{agency.name} có trách nhiệm duy trì, cải tiến Hệ thống quản lý chất lượng và "
                "công bố lại khi điều chỉnh, mở rộng, thu hẹp phạm vi áp dụng.",
            ),
            Article("Điều 3.", "Quyết định này có hiệu lực kể từ ngày ký."),
        ],
        recipients=[
            f"Sở Khoa học và Công nghệ {province}",
            "Cán bộ, công chức trong cơ quan",
            "Lưu: VT",
        ],
    )


def html(form: AnnouncementForm) -> str:
    return (
        environment()
        .get_template("conformity_announcement.html")
        .render(form=form, nation=NATION, motto=MOTTO)
    )


def pdf(form: AnnouncementForm, font_dir: str) -> bytes:
    lines = [Line(g) for g in form.grounds] + [Line("", "QUYẾT ĐỊNH:")]
    for article in form.articles:
        lines.append(Line(article.text, f"{article.label} "))
        lines += [Line(f"{n}. {item}") for n, item in enumerate(article.items, start=1)]
    doc = Printable(
        number=f"Số: {form.decision_number}",
        title=f"QUYẾT ĐỊNH\n{form.subject}",
        superior=form.superior,
        agency=form.agency,
        place_date=form.place_date,
        code=form.announced_on.strftime("%d/%m/%Y"),
        code_label="Ngày công bố",
        copy_note=form.signer_title,
        lines=lines,
        closing=[Line("; ".join(form.recipients), "Nơi nhận: ")],
        signatures=[(form.signer_title, "(Ký, ghi rõ họ tên và đóng dấu)")],
        issued_at=dt.datetime.combine(form.announced_on, dt.time(), tzinfo=dt.UTC),
    )
    return render_pdf(doc, font_dir)


async def load(session: AsyncSession, province_id: int, agency_id: int) -> AnnouncementForm:
    agency = await agency_row(session, province_id, agency_id)
    province = await session.get(Province, province_id)
    assert province is not None
    row = (
        await session.execute(
            select(ConformityAnnouncement).where(
                col(ConformityAnnouncement.province_id) == province_id,
                col(ConformityAnnouncement.agency_id) == agency_id,
            )
        )
    ).scalar_one_or_none()
    if row is None or value(row.status) not in ("announced", "to_be_reannounced"):
        raise not_announced()
    names = await procedure_names(session, list((row.announced_scope or {}).get("procedures", [])))
    return build(row, agency, province.name, names)


async def file(
    resources: Resources, scope: TenantScope, province_id: int, agency_id: int, fmt: str
) -> tuple[bytes, str, str]:
    """(body, media type, file name); `scope` the caller's (the nation's for the public)."""
    check_format(fmt)
    async with resources.session(scope) as session:
        form = await load(session, province_id, agency_id)
    name = f"quyet-dinh-cong-bo-iso-{form.announced_on:%Y%m%d}.{fmt}"
    if fmt == "pdf":
        body = await asyncio.to_thread(pdf, form, resources.settings.slip_font_dir)
        return body, FORMATS[fmt], name
    return html(form).encode(), FORMATS[fmt], name


@dataclasses.dataclass
class PublicConformity:
    agency: Agency
    status: str
    decision_number: str | None
    announced_on: dt.date | None
    procedures: list[tuple[str, str]]
    activities: list[str]


async def public_list(resources: Resources, province_code: str) -> list[PublicConformity]:
    """Every active agency of an active province with its conformity status and, once
    announced, the decision and its scope (public information: no person is named)."""
    async with resources.session(TenantScope.nation()) as session:
        province = (
            await session.execute(select(Province).where(col(Province.code) == province_code))
        ).scalar_one_or_none()
        if province is None or province.status != TenantStatus.active:
            raise NotFound(
                f"province {province_code!r} not found", f"không tìm thấy tỉnh {province_code!r}"
            )
        rows = (
            await session.execute(
                select(Agency, ConformityAnnouncement)
                .outerjoin(
                    ConformityAnnouncement,
                    tenant_join(Agency.id, ConformityAnnouncement.agency_id),
                )
                .where(
                    col(Agency.province_id) == province.id,
                    col(Agency.status) == TenantStatus.active.value,
                )
                .order_by(col(Agency.name))
            )
        ).all()
        codes = {
            c
            for _, row in rows
            if row is not None
            for c in (row.announced_scope or {}).get("procedures", [])
        }
        names = await procedure_names(session, sorted(codes))
    out = []
    for agency, row in rows:
        status = value(row.status) if row is not None else value(agency.iso_status)
        announced = row is not None and status in ("announced", "to_be_reannounced")
        scope: dict[str, Any] = (row.announced_scope or {}) if announced and row else {}
        out.append(
            PublicConformity(
                agency=agency,
                status=status,
                decision_number=row.decision_number if announced and row else None,
                announced_on=row.announced_on if announced and row else None,
                procedures=[(c, names.get(c, c)) for c in scope.get("procedures", [])],
                activities=list(scope.get("activities", [])),
            )
        )
    return out
