"""The dossier tracking book (form 07 of Circular 03/2025/TT-VPCP, "Sổ theo dõi hồ sơ"): one
row per dossier an agency received in a period, with the columns of the form, as CSV or XLSX.

The book is an internal record of the counter: it carries the applicant's name, address and
phone because the form does, and nothing else of the applicant.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.dossiers.models import Dossier, DossierEventRow, ProcedureRecord
from eiso.core.dossiers.slips.documents import moment
from eiso.core.dossiers.statuses import LABELS, Status
from eiso.core.errors import DomainError, NotFound
from eiso.core.resources import Resources
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import aware
from eiso.infra.db import find_one
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

COLUMNS = (
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên cá nhân, tổ chức",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Nhận hồ sơ (giờ, ngày)",
    "Hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Nhận kết quả từ cơ quan giải quyết",
    "Trả kết quả cho cá nhân, tổ chức",
    "Ghi chú",
)
STATUS_VI = {status: vi for status, (vi, _) in LABELS.items()}
MAX_DAYS = 366  # one export stays bounded: a year at most
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclasses.dataclass
class Book:
    agency: Agency
    start: dt.date
    end: dt.date  # inclusive
    rows: list[list[str]]

    @property
    def title(self) -> str:
        return (
            f"SỔ THEO DÕI HỒ SƠ - {self.agency.name} - "
            f"từ {self.start:%d/%m/%Y} đến {self.end:%d/%m/%Y}"
        )


def period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    if start is None or end is None:
        raise DomainError(
            "from and to: both dates are required (YYYY-MM-DD)",
            "from và to: bắt buộc nhập cả hai ngày (YYYY-MM-DD)",
            code="BAD_INPUT",
            field="from",
        )
    if end < start:
        raise DomainError(
            "to: must not be before from", "to: không được trước from", code="BAD_INPUT", field="to"
        )
    if (end - start).days >= MAX_DAYS:
        raise DomainError(
            f"the period is at most {MAX_DAYS} days",
            f"khoảng thời gian tối đa {MAX_DAYS} ngày",
            code="BAD_INPUT",
            field="to",
        )
    return start, end


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    # The period is in local days (UTC+7); stored times are UTC.
    low = dt.datetime.combine(start, dt.time(), VN_TZ).astimezone(dt.UTC)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)
    return low, high


def _contact(applicant: dict[str, Any]) -> str:
    return ", ".join(str(applicant[k]) for k in ("address", "phone") if applicant.get(k))


def _note(dossier: Dossier) -> str:
    parts = [STATUS_VI[Status(dossier.status)]]
    if dossier.supplement_count:
        parts.append("đã yêu cầu bổ sung")
    if dossier.apology_at is not None:
        parts.append("quá hạn, đã xin lỗi và hẹn lại")
    elif dossier.was_late:
        parts.append("quá hạn")
    return "; ".join(parts)


def _cell(value: str) -> str:
    """Text a spreadsheet would run as a formula ("=HYPERLINK(...)" typed as a name) is
    quoted; a phone number like +84 912 345 678 stays as it is."""
    if value[:1] in ("=", "@", "\t", "\r") or (
        value[:1] in ("+", "-") and not value[1:].replace(" ", "").isdigit()
    ):
        return "'" + value
    return value


def _row(
    index: int, d: Dossier, agency: Agency, names: dict[str, str], times: dict[str, dt.datetime]
) -> list[str]:
    a = d.applicant or {}

    def at(action: str) -> str:
        return moment(times[action]) if action in times else ""

    return [
        _cell(v)
        for v in [
            str(index),
            d.code,
            names.get(d.procedure_code, d.procedure_code),
            "1",
            str(a.get("full_name") or a.get("name") or a.get("organisation") or ""),
            _contact(a),
            agency.name,
            moment(d.received_at),
            moment(d.appointment_at) if d.appointment_at else "",
            at("assigned"),
            at("processed"),
            at("returned"),
            _note(d),
        ]
    ]


async def _first_times(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, dt.datetime]]:
    times: dict[int, dict[str, dt.datetime]] = {}
    if not ids:
        return times
    events = (
        await session.execute(
            select(DossierEventRow.dossier_id, DossierEventRow.action, DossierEventRow.at)
            .where(
                col(DossierEventRow.dossier_id).in_(ids),
                col(DossierEventRow.action).in_(("assigned", "processed", "returned")),
            )
            .order_by(col(DossierEventRow.at))
        )
    ).all()
    for dossier_id, action, at in events:
        times.setdefault(dossier_id, {}).setdefault(action, aware(at))
    return times


async def load(
    resources: Resources,
    scope: TenantScope,
    province_id: int,
    agency_id: int,
    start: dt.date,
    end: dt.date,
    *,
    actor: str,
) -> Book:
    """The agency's book; an agency outside `scope` is NOT_FOUND. The export (personal data of
    every applicant in the period) is recorded in the agency's audit trail."""
    low, high = _bounds(start, end)
    async with resources.session(scope) as session, session.begin():
        agency = await find_one(session, Agency, province_id=province_id, id=agency_id)
        if agency is None:
            raise NotFound("no such Agency", "không tìm thấy Agency")
        dossiers = list(
            (
                await session.execute(
                    select(Dossier)
                    .where(
                        Dossier.province_id == province_id,
                        Dossier.agency_id == agency_id,
                        Dossier.received_at >= low,
                        Dossier.received_at < high,
                    )
                    .order_by(col(Dossier.received_at), col(Dossier.id))
                )
            ).scalars()
        )
        codes = {d.procedure_code for d in dossiers}
        names = (
            dict(
                (
                    await session.execute(
                        select(ProcedureRecord.code, ProcedureRecord.name_vi).where(
                            col(ProcedureRecord.code).in_(codes)
                        )
                    )
                ).all()
            )
            if codes
            else {}
        )
        times = await _first_times(session, [d.id for d in dossiers])
        await audit.append(
            session,
            province_id=province_id,
            agency_id=agency_id,
            actor=actor,
            action="dossier.tracking_book_exported",
            entity_type="agency",
            entity_id=agency_id,
            data={"from": start.isoformat(), "to": end.isoformat(), "rows": len(dossiers)},
        )
    rows = [_row(i, d, agency, names, times.get(d.id, {})) for i, d in enumerate(dossiers, 1)]
    return Book(agency, start, end, rows)


def to_csv(book: Book) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(book.rows)
    # With a byte-order mark spreadsheet programs read the diacritics as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(book: Book) -> bytes:
    from openpyxl import Workbook  # imported on first use: a large import for start-up
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = "Mẫu 07"
    sheet.append([book.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(list(COLUMNS))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in book.rows:
        sheet.append(row)
    for column, width in zip(
        "ABCDEFGHIJKLM", (5, 24, 36, 10, 24, 30, 24, 22, 22, 22, 22, 22, 30), strict=True
    ):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A4"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export(book: Book, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise DomainError(
            "format: csv or xlsx", "format: csv hoặc xlsx", code="BAD_INPUT", field="format"
        )
    return to_csv(book) if fmt == "csv" else to_xlsx(book)
