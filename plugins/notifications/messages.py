"""Từ sự kiện hồ sơ đến lời nhắn / From a dossier event to the applicant's message, in
Vietnamese: which events are told (`KIND_OF_ACTION`), the default wording of each, and the
rendering of a province's own templates (`string.Template`, placeholders only: a template
cannot reach attributes or code)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import string
import unicodedata
from zoneinfo import ZoneInfo

from eiso.plugins.notifications.config import Kind, NotificationsConfig, Template

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# `DossierEvent.data["action"]` → what the applicant is told.
KIND_OF_ACTION: dict[str, Kind] = {
    "received": Kind.RECEIVED,  # at the counter, or an online dossier accepted (status 2)
    "supplement_requested": Kind.SUPPLEMENT_REQUESTED,  # status 5
    "apology": Kind.APOLOGY,  # the new appointment, slip 04 (Circular 03/2025/TT-VPCP, Annex I)
    "processed": Kind.RESULT_READY,  # status 9: the result waits at the counter
}

SIGNATURE = "\n\nTrân trọng,\n$office\n(Thư tự động, xin đừng trả lời thư này.)"

DEFAULTS: dict[Kind, Template] = {
    Kind.RECEIVED: Template(
        subject="Hồ sơ $dossier_code đã được tiếp nhận",
        email=(
            "Kính gửi $addressee,\n\n"
            "$office đã tiếp nhận hồ sơ số $dossier_code (thủ tục $procedure_code) "
            "ngày $date. Ông/bà có thể tra cứu tình trạng giải quyết hồ sơ bằng số hồ sơ "
            "ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả." + SIGNATURE
        ),
        sms="$office: da tiep nhan ho so so $dossier_code ngay $date.",
    ),
    Kind.SUPPLEMENT_REQUESTED: Template(
        subject="Hồ sơ $dossier_code cần bổ sung, hoàn thiện",
        email=(
            "Kính gửi $addressee,\n\n"
            "Hồ sơ số $dossier_code (thủ tục $procedure_code) cần được bổ sung, hoàn thiện. "
            "Nội dung cần bổ sung ghi trong Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ; "
            "ông/bà vui lòng liên hệ $office để nhận phiếu và nộp bổ sung. Thời hạn giải "
            "quyết được tính lại từ khi nhận đủ hồ sơ." + SIGNATURE
        ),
        sms="$office: ho so $dossier_code can bo sung, hoan thien. De nghi lien he bo phan "
        "mot cua de biet chi tiet.",
    ),
    Kind.APOLOGY: Template(
        subject="Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ $dossier_code",
        email=(
            "Kính gửi $addressee,\n\n"
            "Hồ sơ số $dossier_code (thủ tục $procedure_code) chưa được giải quyết đúng hạn "
            "đã hẹn. $office xin lỗi ông/bà về sự chậm trễ này. Phiếu xin lỗi và hẹn lại "
            "ngày trả kết quả (Mẫu số 04) gửi kèm thư này ghi ngày hẹn mới." + SIGNATURE
        ),
        sms="$office: xin loi ong/ba vi ho so $dossier_code cham tra ket qua. Ngay hen moi "
        "ghi tren Phieu xin loi (Mau 04) gui qua thu dien tu hoac nhan tai bo phan mot cua.",
    ),
    Kind.RESULT_READY: Template(
        subject="Đã có kết quả giải quyết hồ sơ $dossier_code",
        email=(
            "Kính gửi $addressee,\n\n"
            "Hồ sơ số $dossier_code (thủ tục $procedure_code) đã có kết quả giải quyết từ "
            "ngày $date. Ông/bà vui lòng mang Giấy tiếp nhận hồ sơ và hẹn trả kết quả đến "
            "$office để nhận kết quả." + SIGNATURE
        ),
        sms="$office: ho so $dossier_code da co ket qua. Moi ong/ba mang giay hen den bo "
        "phan mot cua de nhan.",
    ),
}


@dataclasses.dataclass(frozen=True)
class Message:
    kind: Kind
    subject: str
    email: str
    sms: str
    attach_slip: int | None  # the slip number to attach to the e-mail (04 for an apology)


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics (đ → d), for SMS sent in GSM 7-bit."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def compose(
    kind: Kind,
    config: NotificationsConfig,
    *,
    addressee: str | None,
    dossier_code: str,
    procedure_code: str,
    at: dt.datetime,
) -> Message:
    """The message of `kind`, in the province's wording where it gave one."""
    own, default = config.templates.get(kind), DEFAULTS[kind]
    values = {
        "addressee": addressee or "ông/bà",
        "dossier_code": dossier_code,
        "procedure_code": procedure_code,
        "office": config.office,
        "date": at.astimezone(VIETNAM).strftime("%d/%m/%Y"),
    }

    def render(field: str) -> str:
        text = (own and getattr(own, field)) or getattr(default, field)
        return string.Template(text).safe_substitute(values)

    sms = render("sms")
    return Message(
        kind=kind,
        subject=render("subject"),
        email=render("email"),
        sms=ascii_fold(sms) if config.sms.ascii_only else sms,
        attach_slip=4 if kind is Kind.APOLOGY else None,
    )
