"""Which one-stop forms exist and when a dossier has each: Annex I of Circular 03/2025/TT-VPCP
(guiding Decree 118/2025/NĐ-CP; it replaced Circular 01/2018/TT-VPCP), docs/dossiers.md.

| form | what | the event it records (`records`) |
|---|---|---|
| 01 | receipt and appointment | `received` (at the counter, or an online dossier accepted) |
| 02 | request to supplement the dossier | `supplement_requested` |
| 03 | refusal to receive the dossier | `refused` (online before acceptance, or at the counter) |
| 04 | apology and request to extend the time | `apology` |
| 05 | notice that handling stops | `stopped` (status 8, e.g. at the applicant's request) |
| 06 | process control slip | `received`; its rows grow with the timeline |
| 07 | tracking book | (per agency and period: `book.py`) |

A slip exists only once the event it records happened, so a printed slip never claims
something the engine did not do; asking for any other is SLIP_NOT_AVAILABLE. Each slip is
dated and frozen at that event (`issued.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError

CIRCULAR = "Thông tư số 03/2025/TT-VPCP"


@dataclasses.dataclass(frozen=True)
class SlipForm:
    number: int
    title_vi: str
    title_en: str
    exists: Callable[[Dossier], bool]
    to_applicant: bool  # handed to the applicant: carries the applicant's name
    records: tuple[str, ...]  # the timeline actions it records (the last one is the slip's)
    frozen: bool = True  # what it prints is kept at issue; 06 grows with the timeline

    @property
    def label(self) -> str:
        return f"{self.number:02d}"


def _received(dossier: Dossier) -> bool:
    # Accepted: received at the counter or an online dossier accepted (it has an appointment);
    # not one refused, withdrawn or waiting for a supplement before acceptance.
    return dossier.appointment_at is not None


def _on_status(
    number: int, title_vi: str, title_en: str, status: Status, records: tuple[str, ...]
) -> SlipForm:
    """A slip handed to the applicant once the dossier's status is `status` (a final one: the
    refusal, the stop), recorded by any of the moves `records`."""
    return SlipForm(
        number,
        title_vi,
        title_en,
        lambda d: Status(d.status) == status,
        to_applicant=True,
        records=records,
    )


RECEIPT = 1
CONTROL = 6
# The refusal and the stop, whatever move records them: the counter refusal and the stop at
# the applicant's request are the engine's `refused` and `stopped` rows (their note: the reason).
REFUSAL_ACTIONS = ("refused",)
STOP_ACTIONS = ("stopped", "stopped_on_request")

FORMS: dict[int, SlipForm] = {
    form.number: form
    for form in (
        SlipForm(
            1,
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
            "Receipt and appointment",
            _received,
            to_applicant=True,
            records=("received",),
        ),
        SlipForm(
            2,
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            "Request to supplement the dossier",
            lambda d: d.supplement_count >= 1,
            to_applicant=True,
            records=("supplement_requested",),
        ),
        _on_status(
            3,
            "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
            "Refusal to receive the dossier",
            Status.not_received,
            REFUSAL_ACTIONS,
        ),
        # `apology_at` is set only by the apology (engine.record_apology), in its transaction.
        SlipForm(
            4,
            "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
            "Apology and request to extend the time",
            lambda d: d.apology_at is not None,
            to_applicant=True,
            records=("apology",),
        ),
        _on_status(
            5,
            "Thông báo dừng giải quyết hồ sơ",
            "Notice that handling stops",
            Status.stopped,
            STOP_ACTIONS,
        ),
        SlipForm(
            CONTROL,
            "Phiếu kiểm soát quá trình giải quyết hồ sơ",
            "Process control slip",
            _received,
            to_applicant=False,
            records=("received",),
            frozen=False,
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


def not_available(dossier: Dossier, chosen: SlipForm) -> DomainError:
    return DomainError(
        f"dossier {dossier.code} has no slip {chosen.label} ({chosen.title_en}) "
        "in its current state",
        f"hồ sơ {dossier.code} chưa có hoặc không có {chosen.title_vi.lower()} "
        f"(mẫu {chosen.label})",
        code="SLIP_NOT_AVAILABLE",
        number=chosen.number,
    )


def require(dossier: Dossier, number: int) -> SlipForm:
    """The form, or SLIP_NOT_AVAILABLE when the dossier has no such slip (yet)."""
    chosen = form(number)
    if not chosen.exists(dossier):
        raise not_available(dossier, chosen)
    return chosen


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DomainError(
            "format: html or pdf", "format: html hoặc pdf", code="BAD_INPUT", field="format"
        )
    return fmt
