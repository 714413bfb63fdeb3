"""Slips as PDF with fpdf2, in the DejaVu Serif fonts of Debian's `fonts-dejavu-core`
(embedded as TrueType subsets, so every Vietnamese diacritic prints and extracts as text).
The font folder is the setting `EISO_SLIP_FONT_DIR`."""

from __future__ import annotations

import datetime as dt
import io
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from eiso.core.dossiers.lookup_qr import qr_png
from eiso.core.dossiers.slips.documents import MOTTO, NATION, Document, Line, Table
from eiso.core.errors import DomainError

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "DejaVuSerif"
# fonts-dejavu-core ships the upright faces only (italics are in fonts-dejavu-extra): the
# slips use regular and bold, and a smaller size where the form prints italics.
STYLES = {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf"}


# fpdf2 (with fontTools) is imported on the first PDF, not at start-up: it is a large import.
class _Move(TypedDict):
    """Where fpdf2 puts the cursor after a cell."""

    new_x: str
    new_y: str


NEXT_LINE: _Move = {"new_x": "LMARGIN", "new_y": "NEXT"}
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a document built by hand, not issued


def _pdf(font_dir: str) -> FPDF:
    from fpdf import FPDF

    folder = pathlib.Path(font_dir)
    missing = [name for name in STYLES.values() if not (folder / name).is_file()]
    if missing:
        raise DomainError(
            f"PDF fonts missing in {folder} ({', '.join(missing)}): install fonts-dejavu-core "
            "or set EISO_SLIP_FONT_DIR",
            f"thiếu phông chữ PDF trong {folder}: cài gói fonts-dejavu-core "
            "hoặc đặt EISO_SLIP_FONT_DIR",
            code="PDF_FONTS_MISSING",
        )
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    for style, name in STYLES.items():
        pdf.add_font(FONT, style, str(folder / name))
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, doc: Document) -> None:
    width = pdf.epw
    left, right = width * 0.45, width * 0.55
    top = pdf.get_y()
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(left, 5, doc.superior, align="C", **NEXT_LINE)
    pdf.set_font(FONT, "B", 9)
    names = [doc.agency, doc.unit] if doc.unit else [doc.agency]
    pdf.multi_cell(left, 5, "\n".join(n.upper() for n in names), align="C", **NEXT_LINE)
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + left, top)
    pdf.multi_cell(right, 5, NATION, align="C", new_x="LEFT", new_y="NEXT")
    pdf.multi_cell(right, 5, MOTTO, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(right, 6, doc.place_date, align="C", **NEXT_LINE)
    pdf.set_y(max(bottom, pdf.get_y()) + 4)


def _title(pdf: FPDF, doc: Document) -> None:
    pdf.set_font(FONT, "", 9)
    # A slip's form number ("01"); another document may name its source instead.
    label = f"Mẫu số {doc.number}" if doc.number[:1].isdigit() else doc.number
    pdf.cell(0, 5, label, align="C", **NEXT_LINE)
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(0, 7, doc.title, align="C", **NEXT_LINE)
    pdf.set_font(FONT, "", 11)
    pdf.multi_cell(0, 6, f"{doc.code_label}: **{doc.code}**", align="C", markdown=True, **NEXT_LINE)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 5, doc.copy_note, align="C", **NEXT_LINE)
    pdf.ln(3)


def _escape(text: str) -> str:
    # fpdf2's markdown reads ** and __ as bold and underline: user text must not switch them.
    return text.replace("*", "\u2217").replace("__", "_\u200b_")


def _lines(pdf: FPDF, lines: list[Line]) -> None:
    pdf.set_font(FONT, "", 11)
    for line in lines:
        label = f"**{_escape(line.label)}**" if line.label else ""
        pdf.multi_cell(0, 6, label + _escape(line.text), markdown=True, **NEXT_LINE)
        pdf.ln(1)


def _table(pdf: FPDF, table: Table) -> None:
    from fpdf.fonts import FontFace

    pdf.ln(2)
    pdf.set_font(FONT, "", 9)
    with pdf.table(
        col_widths=tuple(table.widths),
        text_align="LEFT",
        line_height=4.5,
        headings_style=FontFace(emphasis="BOLD"),
    ) as grid:
        head = grid.row()
        for text in table.head:
            head.cell(text, align="CENTER")
        for cells in table.rows:
            row = grid.row()
            for text in cells:
                row.cell(text)


def _signatures(pdf: FPDF, doc: Document) -> None:
    if not doc.signatures:
        return
    pdf.ln(6)
    width = pdf.epw / len(doc.signatures)
    top = pdf.get_y()
    for index, (role, name) in enumerate(doc.signatures):
        pdf.set_xy(pdf.l_margin + index * width, top)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(width, 6, role, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(width, 6, name, align="C", new_x="LEFT", new_y="NEXT")


QR_CAPTION = "Quét mã QR để tra cứu tình trạng hồ sơ và đánh giá:"
QR_SIZE = 32  # mm: comfortably scanned by a phone's camera


def _qr(pdf: FPDF, url: str) -> None:
    """Slip 01 printed at receipt: the QR code of its lookup URL, the URL beside it."""
    top = pdf.get_y() + 2
    if top + QR_SIZE > pdf.page_break_trigger:
        pdf.add_page()
        top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(url)), x=pdf.l_margin, y=top, w=QR_SIZE, h=QR_SIZE)
    pdf.set_xy(pdf.l_margin + QR_SIZE + 4, top + 6)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(pdf.epw - QR_SIZE - 4, 5, f"{QR_CAPTION}\n{url}", **NEXT_LINE)
    pdf.set_y(top + QR_SIZE + 2)


def render_pdf(
    doc: Document,
    font_dir: str,
    qr_url: str | None = None,
    drawing: Callable[[FPDF], None] | None = None,
) -> bytes:
    """`qr_url`: slip 01 printed at receipt, with the QR code of its lookup URL. `drawing`
    draws a figure after the table (a process document's flow chart, core/qms/process_docs.py)."""
    pdf = _pdf(font_dir)
    pdf.set_title(f"Mẫu {doc.number} - {doc.title} - {doc.code}")
    pdf.set_creator("eiso")
    # Dated by the slip's event, not by the print: two prints of a slip are the same bytes.
    pdf.set_creation_date(doc.issued_at or EPOCH)
    _header(pdf, doc)
    _title(pdf, doc)
    _lines(pdf, doc.lines)
    if doc.table:
        _table(pdf, doc.table)
    if qr_url:
        _qr(pdf, qr_url)
    if drawing:
        drawing(pdf)
    _lines(pdf, doc.closing)
    _signatures(pdf, doc)
    return bytes(pdf.output())
