"""Each slip as a small printable document (header, title, labelled lines, a table,
signatures) built from the dossier's facts. The HTML template and the PDF writer both render
this one structure, so the two formats never say different things; it is also what an issued
slip keeps (`to_content` / `from_content`), so a reprint says what the slip said when issued.

Personal data: the applicant's name, address, phone and e-mail appear only on the slips handed
to the applicant (01-05); the process control slip (06) stays internal and names the officers
only. The lookup key appears only on slip 01 printed at receipt time.

The wording follows the forms of Circular 03/2025/TT-VPCP's Annex I as far as they could be
checked (core/dossiers/README.md lists what could not be).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

from eiso.core.dossiers.applicant import display_name, read
from eiso.core.dossiers.models import DossierEventRow
from eiso.core.dossiers.slips import control
from eiso.core.dossiers.slips.facts import Facts
from eiso.core.dossiers.slips.forms import REFUSAL_ACTIONS, STOP_ACTIONS, SlipForm
from eiso.core.workdays import VN_TZ
from eiso.core.workdays.counting import describe_vi
from eiso.infra.clock import aware

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
KEY_ON_ORIGINAL = "xem trên phiếu gốc"
SIGN = "(Ký và ghi rõ họ tên)"


@dataclasses.dataclass
class Line:
    text: str
    label: str = ""  # printed bold before the text


@dataclasses.dataclass
class Table:
    head: list[str]
    widths: list[int]  # relative column widths
    rows: list[list[str]]


@dataclasses.dataclass
class Document:
    number: str
    title: str
    superior: str  # the line above the agency's name ("UBND TỈNH ...")
    agency: str
    place_date: str
    code: str
    copy_note: str
    lines: list[Line]
    table: Table | None = None
    closing: list[Line] = dataclasses.field(default_factory=list)
    signatures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    unit: str = ""  # the receiving unit, under the agency in the header
    issued_at: dt.datetime | None = None  # the event's moment: the PDF's creation date
    # What `code` is: a dossier's code on the slips; another document (the yearly report of
    # core/qms/yearly_export.py) prints its own label through the same writer.
    code_label: str = "Mã hồ sơ"


def to_content(doc: Document) -> dict[str, Any]:
    """What an issued slip keeps (JSON)."""
    content = dataclasses.asdict(doc)
    content["issued_at"] = doc.issued_at.isoformat() if doc.issued_at else None
    return content


def from_content(content: dict[str, Any]) -> Document:
    fields = dict(content)
    table = fields.pop("table")
    return Document(
        **{
            **fields,
            "lines": [Line(**line) for line in fields["lines"]],
            "closing": [Line(**line) for line in fields["closing"]],
            "signatures": [tuple(pair) for pair in fields["signatures"]],
            "issued_at": dt.datetime.fromisoformat(fields["issued_at"])
            if fields.get("issued_at")
            else None,
        },
        table=Table(**table) if table else None,
    )


def moment(at: dt.datetime | None) -> str:
    if at is None:
        return "(chưa có)"
    local = aware(at).astimezone(VN_TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def day(at: dt.datetime | None) -> str:
    if at is None:
        return "(chưa có)"
    local = aware(at).astimezone(VN_TZ)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


class _More(TypedDict, total=False):
    """What a slip has besides its lines (`Document`'s fields of the same names)."""

    table: Table | None
    closing: list[Line]
    signatures: list[tuple[str, str]]


def _header(
    facts: Facts, chosen: SlipForm, at: dt.datetime | None, lines: list[Line], **more: Unpack[_More]
) -> Document:
    """The slip dated `at`, the moment of the event it records (never the print's)."""
    province = facts.province.name if facts.province else ""
    unit = facts.unit or facts.agency.name
    return Document(
        # The agency's superior on the header's first line: the province's People's Committee.
        number=chosen.label,
        title=chosen.title_vi.upper(),
        superior=f"UBND {province}".upper() if province else "",
        agency=facts.agency.name,
        unit=unit if unit != facts.agency.name else "",
        place_date=f"{province}, {day(at)}" if province else day(at).capitalize(),
        code=facts.dossier.code,
        copy_note=f"(Liên: Lưu tại {unit})"
        if not chosen.to_applicant
        else f"(Liên: Giao tổ chức, cá nhân / Lưu tại {unit})",
        lines=lines,
        issued_at=aware(at) if at else None,
        **more,
    )


def _contact(facts: Facts, name_label: str) -> list[Line]:
    """Who the slip is about, with the address, phone and e-mail the forms ask for."""
    a = read(facts.dossier.applicant)
    return [
        Line(display_name(facts.dossier.applicant), name_label),
        Line(a.get("address", ""), "Địa chỉ: "),
        Line(a.get("phone", ""), "Số điện thoại: "),
        Line(a.get("email", ""), "Email: "),
    ]


def _receipt_lines(facts: Facts) -> list[Line]:
    d, p = facts.dossier, facts.procedure
    components = [f"{c['name']['vi']} ({c.get('copies', 1)} bản)" for c in p.components] or [
        "Theo quy định của thủ tục"
    ]
    received = facts.event("received")
    return [
        Line(f"{facts.unit} tiếp nhận hồ sơ của: {display_name(d.applicant)}"),
        *_contact(facts, "Tên tổ chức, cá nhân: ")[1:],
        Line(p.name_vi, "Nội dung yêu cầu giải quyết: "),
        Line("; ".join(components), "1. Thành phần hồ sơ nộp gồm: "),
        Line("01 (bộ)", "2. Số lượng hồ sơ: "),
        Line(
            describe_vi(facts.procedure.time_limit_amount, p.time_limit_unit),
            "3. Thời gian giải quyết hồ sơ theo quy định là: ",
        ),
        Line(moment(received.at if received else d.received_at), "4. Thời gian nhận hồ sơ: "),
        Line(moment(d.appointment_at), "5. Thời gian trả kết quả giải quyết hồ sơ: "),
        Line(f"{facts.unit} - {facts.agency.name}", "6. Đăng ký nhận kết quả tại: "),
        Line(facts.lookup_key or KEY_ON_ORIGINAL, "Mã tra cứu hồ sơ: "),
    ]


def _signer(event: DossierEventRow | None, facts: Facts) -> str:
    return facts.name(event.actor) if event else SIGN


def slip_01(facts: Facts, chosen: SlipForm) -> Document:
    event = facts.event("received") or facts.event("registered")
    volume, number = facts.book or ("", 0)
    return _header(
        facts,
        chosen,
        event.at if event else facts.dossier.received_at,
        _receipt_lines(facts),
        closing=[
            Line(
                f"Quyển số: {volume}, Số thứ tự: {number} (mã hồ sơ {facts.dossier.code}).",
                "Vào Sổ theo dõi hồ sơ, ",
            )
        ],
        signatures=[("NGƯỜI NỘP HỒ SƠ", SIGN), ("NGƯỜI TIẾP NHẬN HỒ SƠ", _signer(event, facts))],
    )


def _last(facts: Facts, actions: Sequence[str]) -> DossierEventRow | None:
    found = [e for e in facts.events if e.action in actions]
    return found[-1] if found else None


def _notice(
    facts: Facts,
    chosen: SlipForm,
    event: DossierEventRow | None,
    body: list[Line],
    signer: str,
) -> Document:
    """A notice to the applicant about the dossier (slips 02, 03, 05): who filed what, then
    `body`, signed by the officer who recorded `event` and dated by it."""
    lines = [
        *_contact(facts, "Hồ sơ của: "),
        Line(facts.procedure.name_vi, "Nội dung yêu cầu giải quyết: "),
        Line(facts.dossier.code, "Mã hồ sơ: "),
        *body,
    ]
    return _header(
        facts,
        chosen,
        event.at if event else None,
        lines,
        signatures=[(signer, _signer(event, facts))],
    )


def slip_02(facts: Facts, chosen: SlipForm) -> Document:
    event = facts.event("supplement_requested")
    body = [
        Line(
            f"Lúc {moment(event.at if event else None)}, {facts.unit} đã xem xét thành phần hồ "
            "sơ của Ông/Bà. Hồ sơ chưa đầy đủ; đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ gồm "
            "những nội dung sau:"
        ),
        Line(event.note if event else "", "Nội dung, lý do yêu cầu bổ sung: "),
        Line(
            "Thời gian giải quyết tạm dừng từ khi có yêu cầu bổ sung đến khi nhận đủ hồ sơ bổ sung."
        ),
        Line(
            "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ "
            f"{facts.unit} để được hướng dẫn."
        ),
    ]
    return _notice(facts, chosen, event, body, "NGƯỜI HƯỚNG DẪN")


def slip_03(facts: Facts, chosen: SlipForm) -> Document:
    event = _last(facts, REFUSAL_ACTIONS)
    body = [
        Line(
            f"Qua xem xét, {facts.unit} thông báo không tiếp nhận, giải quyết hồ sơ này với "
            "lý do cụ thể như sau:"
        ),
        Line(event.note if event else "", "Lý do: "),
        Line("Xin thông báo để Ông/Bà được biết và thực hiện."),
    ]
    return _notice(facts, chosen, event, body, "NGƯỜI TIẾP NHẬN HỒ SƠ")


def slip_05(facts: Facts, chosen: SlipForm) -> Document:
    """The stop notice: the dossier received on `received_at` stops being handled from the
    `stopped` event on, for the reason recorded with it (the applicant's request, or the
    ground the officer gives)."""
    event = _last(facts, STOP_ACTIONS)
    body = [
        Line(
            f"{day(facts.dossier.received_at).capitalize()}, {facts.unit} tiếp nhận hồ sơ của "
            f"Ông/Bà (hẹn trả kết quả lúc {moment(facts.dossier.appointment_at)})."
        ),
        Line(
            f"{facts.agency.name} thông báo dừng giải quyết hồ sơ nêu trên kể từ "
            f"{moment(event.at if event else None)}."
        ),
        Line(event.note if event else "", "Lý do dừng giải quyết: "),
        Line(
            f"Ông/Bà nhận lại hồ sơ tại {facts.unit}. Xin thông báo để Ông/Bà được biết và "
            "thực hiện."
        ),
    ]
    return _notice(facts, chosen, event, body, "THỦ TRƯỞNG CƠ QUAN")


def slip_04(facts: Facts, chosen: SlipForm) -> Document:
    d, apology = facts.dossier, facts.apology or {}
    new = apology.get("new_appointment") or d.appointment_at
    event = facts.event("apology")
    lines = [
        Line(display_name(d.applicant), "Kính gửi: "),
        Line(
            f"{day(d.received_at).capitalize()}, {facts.unit} tiếp nhận hồ sơ của Ông/Bà "
            f"về thủ tục: {facts.procedure.name_vi}."
        ),
        Line(d.code, "Mã hồ sơ: "),
        Line(
            moment(apology.get("old_appointment")), "Thời gian hẹn trả kết quả giải quyết hồ sơ: "
        ),
        Line(
            f"Tuy nhiên đến nay, {facts.agency.name} chưa trả kết quả giải quyết hồ sơ của Ông/Bà."
        ),
        Line(apology.get("reason", ""), "Lý do: "),
        Line(
            f"Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {facts.agency.name} xin lỗi Ông/Bà "
            f"và đề nghị gia hạn thời gian giải quyết; kết quả giải quyết hồ sơ sẽ được trả cho "
            f"Ông/Bà vào {moment(new)}."
        ),
        Line("Xin trân trọng cảm ơn sự hợp tác của Ông/Bà."),
    ]
    return _header(
        facts,
        chosen,
        event.at if event else apology.get("at"),
        lines,
        signatures=[("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)")],
    )


CONTROL_HEAD = [
    "TÊN CƠ QUAN, BỘ PHẬN",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/Đúng hạn/Quá hạn)",
    "GHI CHÚ",
]


def _handover_cell(h: control.Handover) -> str:
    # Each hand-over is signed by both sides on the paper slip: the names, and room to sign.
    return (
        f"{moment(h.at)}\n"
        f"Người giao: {h.given_by or '........'} (ký)\n"
        f"Người nhận: {h.taken_by or '........'} (ký)"
    )


def slip_06(facts: Facts, chosen: SlipForm) -> Document:
    units = sorted(set(facts.step_units.values())) or [facts.agency.name]
    rows = [[h.unit, _handover_cell(h), h.result, h.note] for h in control.trail(facts)]
    lines = [
        Line(", ".join(units), "Cơ quan (bộ phận) giải quyết hồ sơ: "),
        Line(", ".join(facts.coordinating) or "Không", "Cơ quan phối hợp giải quyết hồ sơ: "),
        Line(facts.procedure.name_vi, "Thủ tục hành chính: "),
        Line(moment(facts.dossier.appointment_at), "Thời gian hẹn trả kết quả: "),
    ]
    received = facts.event("received")
    at = received.at if received else facts.dossier.received_at
    return _header(facts, chosen, at, lines, table=Table(CONTROL_HEAD, [26, 34, 18, 22], rows))


BUILDERS = {1: slip_01, 2: slip_02, 3: slip_03, 4: slip_04, 5: slip_05, 6: slip_06}


def build(facts: Facts, chosen: SlipForm) -> Document:
    return BUILDERS[chosen.number](facts, chosen)
