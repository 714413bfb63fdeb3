"""Each slip as a small printable document (header, title, numbered lines, a table,
signatures) built from the dossier's facts. The HTML template and the PDF writer both render
this one structure, so the two formats never say different things.

Personal data: the applicant's name (and the address and phone form 01 asks for) appear only
on the slips handed to the applicant (01-04); the process control slip (05) stays internal and
names the officers only. The lookup key appears only on slip 01 printed at receipt time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypedDict, Unpack

from eiso.core.dossiers.models import DossierEventRow
from eiso.core.dossiers.slips import control
from eiso.core.dossiers.slips.facts import Facts
from eiso.core.dossiers.slips.forms import SlipForm
from eiso.core.workdays import VN_TZ
from eiso.core.workdays.counting import describe_vi
from eiso.infra.clock import aware, utcnow

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
KEY_ON_ORIGINAL = "xem trên phiếu gốc"


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


def _applicant_name(facts: Facts) -> str:
    a = facts.dossier.applicant or {}
    return str(
        a.get("full_name") or a.get("name") or a.get("organisation") or a.get("organization") or ""
    )


class _More(TypedDict, total=False):
    """What a slip has besides its lines (`Document`'s fields of the same names)."""

    table: Table | None
    closing: list[Line]
    signatures: list[tuple[str, str]]


def _header(facts: Facts, chosen: SlipForm, lines: list[Line], **more: Unpack[_More]) -> Document:
    province = facts.province.name if facts.province else ""
    return Document(
        # The agency's superior on the header's first line: the province's People's Committee.
        number=chosen.label,
        title=chosen.title_vi.upper(),
        superior=f"UBND {province}".upper() if province else "",
        agency=facts.agency.name,
        place_date=f"{province}, {day(utcnow())}" if province else day(utcnow()).capitalize(),
        code=facts.dossier.code,
        copy_note="(Liên: Lưu tại Bộ phận tiếp nhận và trả kết quả)"
        if not chosen.to_applicant
        else "(Liên: Giao tổ chức, cá nhân / Lưu tại Bộ phận tiếp nhận và trả kết quả)",
        lines=lines,
        **more,
    )


def _receipt_lines(facts: Facts) -> list[Line]:
    d, p, a = facts.dossier, facts.procedure, facts.dossier.applicant or {}
    components = [f"{c['name']['vi']} ({c.get('copies', 1)} bản)" for c in p.components] or [
        "Theo quy định của thủ tục"
    ]
    received = facts.event("received")
    return [
        Line(
            f"{facts.agency.name} tiếp nhận hồ sơ của: {_applicant_name(facts)}",
            "Bộ phận tiếp nhận và trả kết quả ",
        ),
        Line(str(a.get("address") or ""), "Địa chỉ: "),
        Line(str(a.get("phone") or ""), "Số điện thoại: "),
        Line(p.name_vi, "Nội dung yêu cầu giải quyết: "),
        Line("; ".join(components), "1. Thành phần hồ sơ nộp gồm: "),
        Line("01 (bộ)", "2. Số lượng hồ sơ: "),
        Line(
            describe_vi(facts.procedure.time_limit_amount, p.time_limit_unit),
            "3. Thời gian giải quyết hồ sơ theo quy định là: ",
        ),
        Line(moment(received.at if received else d.received_at), "4. Thời gian nhận hồ sơ: "),
        Line(moment(d.appointment_at), "5. Thời gian trả kết quả giải quyết hồ sơ: "),
        Line(f"{COUNTER_FULL} - {facts.agency.name}", "6. Đăng ký nhận kết quả tại: "),
        Line(facts.lookup_key or KEY_ON_ORIGINAL, "Mã tra cứu hồ sơ: "),
    ]


COUNTER_FULL = "Bộ phận tiếp nhận và trả kết quả"


def slip_01(facts: Facts, chosen: SlipForm) -> Document:
    return _header(
        facts,
        chosen,
        _receipt_lines(facts),
        closing=[Line(f"Vào Sổ theo dõi hồ sơ, mã hồ sơ {facts.dossier.code}.")],
        signatures=[
            ("NGƯỜI NỘP HỒ SƠ", "(Ký và ghi rõ họ tên)"),
            ("NGƯỜI TIẾP NHẬN HỒ SƠ", _receiver(facts)),
        ],
    )


def _receiver(facts: Facts) -> str:
    event = facts.event("received") or facts.event("registered")
    return facts.name(event.actor) if event else "(Ký và ghi rõ họ tên)"


def _request_notice(
    facts: Facts,
    chosen: SlipForm,
    action: str,
    intro: Callable[[DossierEventRow | None], str],
    reason: str,
    closing: Sequence[str],
    signer: str,
) -> Document:
    """A notice about the applicant's request (slips 02, 03): who filed what, the `intro`, the
    `reason` the officer recorded with the `action` row, the `closing`, signed by that officer."""
    event = facts.event(action)
    lines = [
        Line(
            f"{facts.agency.name} tiếp nhận hồ sơ của: {_applicant_name(facts)}",
            "Bộ phận tiếp nhận và trả kết quả ",
        ),
        Line(facts.procedure.name_vi, "Nội dung yêu cầu giải quyết: "),
        Line(intro(event)),
        Line(event.note if event else "", reason),
        *map(Line, closing),
    ]
    return _header(
        facts, chosen, lines, signatures=[(signer, facts.name(event.actor) if event else "")]
    )


def slip_02(facts: Facts, chosen: SlipForm) -> Document:
    def intro(event: DossierEventRow | None) -> str:
        return (
            f"Ngày {moment(event.at) if event else ''}: sau khi xem xét thành phần, hồ sơ của "
            "Ông/Bà chưa đầy đủ. Đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:"
        )

    closing = (
        "Thời gian giải quyết tạm dừng từ khi có yêu cầu bổ sung đến khi nhận đủ hồ sơ bổ sung.",
        f"Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ {COUNTER_FULL} "
        f"{facts.agency.name} để được hướng dẫn.",
    )
    reason = "Nội dung, lý do yêu cầu bổ sung: "
    signer = "NGƯỜI HƯỚNG DẪN"
    return _request_notice(facts, chosen, "supplement_requested", intro, reason, closing, signer)


def slip_03(facts: Facts, chosen: SlipForm) -> Document:
    intro = (
        f"Qua xem xét, {facts.agency.name} thông báo không tiếp nhận, giải quyết hồ sơ này "
        "với lý do cụ thể như sau:"
    )
    closing = ("Xin thông báo để Ông/Bà được biết và thực hiện.",)
    signer = "NGƯỜI TIẾP NHẬN HỒ SƠ"
    return _request_notice(facts, chosen, "refused", lambda _: intro, "Lý do: ", closing, signer)


def slip_04(facts: Facts, chosen: SlipForm) -> Document:
    d, apology = facts.dossier, facts.apology or {}
    new = apology.get("new_appointment") or d.appointment_at
    lines = [
        Line(_applicant_name(facts), "Kính gửi: "),
        Line(
            f"{day(d.received_at).capitalize()}, {facts.agency.name} tiếp nhận giải quyết hồ sơ "
            f"của Ông/Bà về thủ tục: {facts.procedure.name_vi}."
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
            f"và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào {moment(new)}."
        ),
        Line("Xin trân trọng cảm ơn sự hợp tác của Ông/Bà."),
    ]
    return _header(
        facts, chosen, lines, signatures=[("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)")]
    )


def slip_05(facts: Facts, chosen: SlipForm) -> Document:
    units = sorted(set(facts.step_units.values())) or [facts.agency.name]
    rows = [
        [h.unit, f"Giao: {h.given_by}\nNhận: {h.taken_by}\n{moment(h.at)}", h.result, h.note]
        for h in control.trail(facts)
    ]
    lines = [
        Line(", ".join(units), "Cơ quan (bộ phận) giải quyết hồ sơ: "),
        Line(facts.procedure.name_vi, "Thủ tục hành chính: "),
        Line(moment(facts.dossier.appointment_at), "Thời gian hẹn trả kết quả: "),
    ]
    table = Table(
        [
            "TÊN CƠ QUAN, BỘ PHẬN",
            "THỜI GIAN GIAO, NHẬN HỒ SƠ",
            "KẾT QUẢ GIẢI QUYẾT (Trước hạn/Đúng hạn/Quá hạn)",
            "GHI CHÚ",
        ],
        [26, 34, 18, 22],
        rows,
    )
    return _header(facts, chosen, lines, table=table)


BUILDERS = {1: slip_01, 2: slip_02, 3: slip_03, 4: slip_04, 5: slip_05}


def build(facts: Facts, chosen: SlipForm) -> Document:
    return BUILDERS[chosen.number](facts, chosen)
