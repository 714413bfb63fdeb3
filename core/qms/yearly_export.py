"""The yearly report as files: an agency's report and the province's compiled report, as XLSX
(openpyxl, like the tracking book) and PDF (the slips' fpdf2 writer, core/dossiers/slips/
printing.py, with its national header, labelled sections, a table and signatures).

The layout follows the report's contents as Circular 26/2014/TT-BKHCN lists them (docs/qms.md):
the written parts in order, then the figures; the form's number and exact wording are not
verified (core/qms/README.md).
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

from eiso.core.dossiers.slips.documents import Document, Line, Table
from eiso.core.dossiers.slips.printing import render_pdf
from eiso.core.errors import DomainError
from eiso.core.qms.common import get_in_scope, value
from eiso.core.qms.yearly_reports import COUNTED, PARTS, YearlyReport, compile_province
from eiso.tenants.models import Agency, Province

if TYPE_CHECKING:
    from eiso.core.resources import Resources
    from eiso.tenants.scope import TenantScope

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# Where the layout comes from (its form number is not verified: core/qms/README.md).
SOURCE = "Theo Thông tư 26/2014/TT-BKHCN"
TITLE = "BÁO CÁO TÌNH HÌNH XÂY DỰNG, ÁP DỤNG, DUY TRÌ VÀ CẢI TIẾN HỆ THỐNG QUẢN LÝ CHẤT LƯỢNG"
# The figures' keys (annual_report.figures_dict) with their Vietnamese labels, in print order.
FIGURE_LABELS = {
    "received": "Hồ sơ tiếp nhận",
    "receivedOnline": "Trong đó trực tuyến",
    "finished": "Hồ sơ đã giải quyết",
    "onTime": "Giải quyết đúng hạn",
    "late": "Giải quyết quá hạn",
    "backlog": "Hồ sơ đang giải quyết cuối kỳ",
    "onTimeRate": "Tỷ lệ đúng hạn",
    "ratingCount": "Lượt đánh giá",
    "satisfied": "Lượt hài lòng",
}
STATUS_VI = {
    "not_started": "Chưa lập",
    "draft": "Đang lập",
    "submitted": "Đã gửi",
    "returned": "Trả lại để sửa",
    "resubmitted": "Đã gửi lại",
    "accepted": "Đã chấp nhận",
}


def _dates(days: list[str]) -> str:
    return ", ".join(f"{d[8:10]}/{d[5:7]}/{d[:4]}" for d in days) or "(không có)"


def _agency_lines(report: YearlyReport) -> list[tuple[str, str]]:
    """(heading, text) of the report, in order: the written parts, then eiso's dates."""
    own = report.figures or {}
    lines = [(heading, getattr(report, name) or "(chưa điền)") for name, heading in PARTS.items()]
    lines[1:1] = [
        ("Ngày đánh giá nội bộ", _dates(own.get("internalAudits", []))),
        ("Ngày xem xét của lãnh đạo", _dates(own.get("managementReviews", []))),
    ]
    return lines


def _figure_rows(own: dict[str, Any]) -> list[list[str]]:
    numbers = own.get("figures", {})
    rows = [[label, _number(numbers.get(key))] for key, label in FIGURE_LABELS.items()]
    rate = numbers.get("onTimeRate")
    if rate is not None:  # a share: printed as a percentage
        rows[list(FIGURE_LABELS).index("onTimeRate")][1] = f"{rate * 100:.1f} %"
    ncs = own.get("nonconformities", {})
    rows += [
        ["Điểm không phù hợp phát sinh", _number(ncs.get("raised"))],
        ["Điểm không phù hợp chưa khắc phục", _number(ncs.get("open"))],
    ]
    return rows


def _number(item: Any) -> str:
    if item is None:
        return "-"
    if isinstance(item, float):
        return f"{item:.4g}"
    return str(item)


def agency_pdf(report: YearlyReport, agency: Agency, province_name: str, font_dir: str) -> bytes:
    doc = Document(
        number=SOURCE,
        title=f"{TITLE}\nNĂM {report.year}",
        superior=f"UBND {province_name.upper()}",
        agency=agency.name,
        place_date=f"Năm {report.year}",
        code=STATUS_VI[value(report.status)],
        code_label="Tình trạng",
        copy_note="Kính gửi: Sở Khoa học và Công nghệ",
        lines=[
            Line(text, f"{number}. {heading}: ")
            for number, (heading, text) in enumerate(_agency_lines(report), start=1)
        ],
        table=Table(["Chỉ tiêu", "Số liệu"], [3, 1], _figure_rows(report.figures or {})),
        signatures=[("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)")],
    )
    return render_pdf(doc, font_dir)


def agency_xlsx(report: YearlyReport, agency: Agency, province_name: str) -> bytes:
    sheets = [
        (
            "Báo cáo",
            ["Mục", "Nội dung"],
            [
                [TITLE, f"Năm {report.year}"],
                ["Cơ quan", agency.name],
                ["Mã cơ quan", agency.code],
                ["Tỉnh", province_name],
                ["Tình trạng", STATUS_VI[value(report.status)]],
                *[list(line) for line in _agency_lines(report)],
            ],
        ),
        ("Số liệu", ["Chỉ tiêu", "Số liệu"], _figure_rows(report.figures or {})),
    ]
    return _book(sheets)


def _missing_rows(compiled: dict[str, Any]) -> list[list[str]]:
    return [[m["agency"], m["name"], STATUS_VI[m["status"]]] for m in compiled["missing"]]


def _accepted_rows(compiled: dict[str, Any]) -> list[list[Any]]:
    return [
        [a["agency"], a["name"], *(a.get("figures", {}).get(key) for key in COUNTED)]
        for a in compiled["accepted"]
    ]


def province_xlsx(compiled: dict[str, Any]) -> bytes:
    province = compiled["province"]
    counted = [FIGURE_LABELS.get(key, key) for key in COUNTED]
    sheets = [
        (
            "Tổng hợp",
            ["Mục", "Nội dung"],
            [
                [TITLE, f"Năm {compiled['year']}"],
                ["Tỉnh", province["name"]],
                ["Số cơ quan", compiled["agencies"]],
                ["Đã chấp nhận", len(compiled["accepted"])],
                ["Chưa có báo cáo được chấp nhận", len(compiled["missing"])],
                *[[FIGURE_LABELS.get(k, k), v] for k, v in compiled["totals"].items()],
            ],
        ),
        ("Cơ quan đã báo cáo", ["Mã", "Cơ quan", *counted], _accepted_rows(compiled)),
        (
            "Khó khăn, kiến nghị",
            ["Mã", "Cơ quan", PARTS["difficulties"], PARTS["proposals"]],
            [
                [a["agency"], a["name"], a["difficulties"], a["proposals"]]
                for a in compiled["accepted"]
            ],
        ),
        ("Chưa báo cáo", ["Mã", "Cơ quan", "Tình trạng"], _missing_rows(compiled)),
    ]
    return _book(sheets)


def province_pdf(compiled: dict[str, Any], font_dir: str) -> bytes:
    province = compiled["province"]
    missing = compiled["missing"]
    doc = Document(
        number=SOURCE,
        title=f"{TITLE}\nNĂM {compiled['year']} - {province['name'].upper()}",
        superior=f"UBND {province['name'].upper()}",
        agency="SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        place_date=f"Năm {compiled['year']}",
        code=f"{len(compiled['accepted'])}/{compiled['agencies']}",
        code_label="Cơ quan đã có báo cáo được chấp nhận",
        copy_note="Kính gửi: Ủy ban nhân dân tỉnh; Bộ Khoa học và Công nghệ",
        lines=[
            *[Line(str(v), f"{FIGURE_LABELS.get(k, k)}: ") for k, v in compiled["totals"].items()],
            Line(
                "; ".join(f"{m['name']} ({STATUS_VI[m['status']]})" for m in missing)
                or "(không có)",
                "Cơ quan chưa có báo cáo được chấp nhận: ",
            ),
        ],
        table=Table(
            ["Mã", "Cơ quan", "Tiếp nhận", "Đã giải quyết", "Đúng hạn"],
            [2, 5, 2, 2, 2],
            [[str(x) for x in row[:5]] for row in _accepted_rows(compiled)],
        ),
        signatures=[("GIÁM ĐỐC", "(Ký, ghi rõ họ tên và đóng dấu)")],
    )
    return render_pdf(doc, font_dir)


def _book(sheets: list[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    for number, (title, header, lines) in enumerate(sheets):
        sheet = book.worksheets[0] if number == 0 else book.create_sheet()
        sheet.title = title[:31]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for line in lines:
            sheet.append(line)
        for column in sheet.columns:
            column[0].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- loading, for the downloads (core/http/downloads.py) ------------------------------------------


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DomainError(
            "format: xlsx or pdf", "format: xlsx hoặc pdf", code="BAD_INPUT", field="format"
        )
    return FORMATS[fmt]


async def agency_file(
    resources: Resources, scope: TenantScope, province_id: int, row_id: int, fmt: str
) -> tuple[bytes, str, str]:
    """(body, media type, file name) of an agency's report in the caller's scope."""
    media_type = check_format(fmt)
    async with resources.session(scope) as session:
        report = await get_in_scope(session, YearlyReport, province_id, row_id, "báo cáo năm")
        agency = await session.get(Agency, (report.province_id, report.agency_id))
        province = await session.get(Province, report.province_id)
        assert agency is not None and province is not None  # the foreign key holds them
    if fmt == "pdf":
        body = await asyncio.to_thread(
            agency_pdf, report, agency, province.name, resources.settings.slip_font_dir
        )
    else:
        body = agency_xlsx(report, agency, province.name)
    return body, media_type, f"bao-cao-iso-{agency.code}-{report.year}.{fmt}"


async def province_file(
    resources: Resources, scope: TenantScope, province_id: int, year: int, fmt: str
) -> tuple[bytes, str, str]:
    media_type = check_format(fmt)
    async with resources.session(scope) as session:
        compiled = await compile_province(session, scope, province_id, year)
    if fmt == "pdf":
        body = await asyncio.to_thread(province_pdf, compiled, resources.settings.slip_font_dir)
    else:
        body = province_xlsx(compiled)
    return body, media_type, f"bao-cao-iso-{compiled['province']['code']}-{year}.{fmt}"
