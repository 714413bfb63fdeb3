"""Which one-stop slips exist (Decision 09/2024 forms 01-05) and when a dossier has each.

A slip exists only once the event it records happened: the receipt (01) and the process
control slip (05) from receipt on, the supplement request (02) after one was made, the refusal
(03) for a refused dossier, the apology (04) after one was recorded. Asking for any other slip
is SLIP_NOT_AVAILABLE, so a printed slip never claims something the engine did not do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError


@dataclasses.dataclass(frozen=True)
class SlipForm:
    number: int
    title_vi: str
    title_en: str
    exists: Callable[[Dossier], bool]
    to_applicant: bool  # handed to the applicant: carries the applicant's name

    @property
    def label(self) -> str:
        return f"{self.number:02d}"


def _received(dossier: Dossier) -> bool:
    # Accepted: received at the counter or an online dossier accepted (it has an appointment);
    # not one refused, withdrawn or waiting for a supplement before acceptance.
    return dossier.appointment_at is not None


FORMS: dict[int, SlipForm] = {
    form.number: form
    for form in (
        SlipForm(
            1,
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
            "Receipt and appointment",
            _received,
            to_applicant=True,
        ),
        SlipForm(
            2,
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            "Request to supplement the dossier",
            lambda d: d.supplement_count >= 1,
            to_applicant=True,
        ),
        SlipForm(
            3,
            "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
            "Refusal to receive the dossier",
            lambda d: Status(d.status) == Status.not_received,
            to_applicant=True,
        ),
        # `apology_at` is set only by the apology (engine.record_apology), in its transaction.
        SlipForm(
            4,
            "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
            "Apology with a new return date",
            lambda d: d.apology_at is not None,
            to_applicant=True,
        ),
        SlipForm(
            5,
            "Phiếu kiểm soát quá trình giải quyết hồ sơ",
            "Process control slip",
            _received,
            to_applicant=False,
        ),
    )
}
FORMATS = ("html", "pdf")


def form(number: int) -> SlipForm:
    if number not in FORMS:
        raise DomainError(
            f"number: slips are numbered 1 to {len(FORMS)}",
            f"number: phiếu được đánh số từ 1 đến {len(FORMS)}",
            code="BAD_INPUT",
            field="number",
        )
    return FORMS[number]


def available(dossier: Dossier) -> list[SlipForm]:
    return [f for f in FORMS.values() if f.exists(dossier)]


def require(dossier: Dossier, number: int) -> SlipForm:
    """The form, or SLIP_NOT_AVAILABLE when the dossier has no such slip (yet)."""
    chosen = form(number)
    if not chosen.exists(dossier):
        raise DomainError(
            f"dossier {dossier.code} has no slip {chosen.label} ({chosen.title_en}) "
            "in its current state",
            f"hồ sơ {dossier.code} chưa có hoặc không có {chosen.title_vi.lower()} "
            f"(mẫu {chosen.label})",
            code="SLIP_NOT_AVAILABLE",
            number=number,
        )
    return chosen


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DomainError(
            "format: html or pdf", "format: html hoặc pdf", code="BAD_INPUT", field="format"
        )
    return fmt
