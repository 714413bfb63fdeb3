"""Decision 766/QĐ-TTg (23 June 2022): the index of service to citizens and businesses, scored
on the national public-service portal in six groups of 100 points: transparency 18, progress and
results 20, online services 12, online payment 10, satisfaction 18, digitisation 22.

The groups and their criteria are data (`CRITERIA`): group, code, maximum points, formula and
source. A criterion eiso can compute from its dossiers has a `measure`; the others are "not
measured", with the reason in Vietnamese and English. A group's points are the sum of its
measured criteria, next to the maximum those criteria could give (`measuredMaxPoints`), so a
partial score is never read as a full one. Sources and what is not verified: docs/qms.md and
core/qms/README.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from eiso.core.qms.figures import Figures

SOURCE = "Quyết định 766/QĐ-TTg ngày 23/6/2022, Phụ lục (Bộ chỉ số); cách chấm trên Cổng DVCQG"
SATISFIED_FOR_FULL_MARKS = 0.9  # ratings: full marks from 90 % satisfied
FEEDBACK_ON_TIME_POINTS, FEEDBACK_RATING_POINTS = 8, 4  # of the portal's 12 (eiso's split)

# The six groups in the portal's order, with their maximum points.
GROUPS: dict[str, int] = {
    "transparency": 18,
    "progress": 20,
    "online_services": 12,
    "online_payment": 10,
    "satisfaction": 18,
    "digitisation": 22,
}

# A measured criterion's numbers: (numerator metric, numerator, denominator metric, denominator).
Counts = tuple[str, int, str, int]


@dataclasses.dataclass(frozen=True)
class Criterion:
    group: str
    code: str
    max_points: int
    formula_vi: str
    formula_en: str
    source: str = SOURCE
    measure: Callable[[Figures], Counts] | None = None
    # The points from the counts: by default max × numerator / denominator.
    scale: Callable[[float], float] = lambda share: share
    reason_vi: str | None = None  # why it is not measured
    reason_en: str | None = None

    def score(self, row: Figures) -> dict[str, Any]:
        result: dict[str, Any] = {
            "group": self.group,
            "code": self.code,
            "maxPoints": self.max_points,
            "formulaVi": self.formula_vi,
            "formulaEn": self.formula_en,
            "source": self.source,
            "measured": self.measure is not None,
            "points": None,
            "numerator": None,
            "denominator": None,
            "reasonVi": self.reason_vi,
            "reasonEn": self.reason_en,
        }
        if self.measure is None:
            return result
        top_metric, top, bottom_metric, bottom = self.measure(row)
        result["numerator"] = {"metric": top_metric, "value": top}
        result["denominator"] = {"metric": bottom_metric, "value": bottom}
        if bottom:
            result["points"] = round(self.max_points * self.scale(top / bottom), 2)
        return result


def _progress(row: Figures) -> Counts:
    """On time among the dossiers due: those finished in the period and those still open and
    overdue at its end (overdue open dossiers count as not on time)."""
    return "on_time", row.on_time, "due", row.finished + row.backlog_late


def _online(row: Figures) -> Counts:
    return "received_online", row.received_online, "received", row.received


def _ratings(row: Figures) -> Counts:
    return "satisfied", row.satisfied, "rated", row.rating_count


def _ratings_scale(share: float) -> float:
    return min(1.0, share / SATISFIED_FOR_FULL_MARKS)


def _feedback_on_time(row: Figures) -> Counts:
    """Like progress: feedback still unanswered past its deadline counts as not on time."""
    return (
        "feedback_on_time",
        row.feedback_on_time,
        "feedback_due",
        row.feedback_answered + row.feedback_overdue,
    )


def _feedback_ratings(row: Figures) -> Counts:
    return "feedback_satisfied", row.feedback_satisfied, "feedback_rated", row.feedback_rated


_NO_PUBLICATION = (
    "eiso không lưu ngày công bố, công khai thủ tục trên Cơ sở dữ liệu quốc gia về TTHC",
    "eiso does not record when procedures are published on the national procedure database",
)

CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "transparency",
        "CK-1",
        4,
        "Tỷ lệ TTHC được cập nhật, công khai đúng hạn trên CSDL quốc gia về TTHC",
        "Share of procedures updated and published on time on the national procedure database",
        reason_vi=_NO_PUBLICATION[0],
        reason_en=_NO_PUBLICATION[1],
    ),
    Criterion(
        "transparency",
        "CK-2",
        14,
        "Các tiêu chí công khai, minh bạch còn lại (đồng bộ trạng thái hồ sơ lên Cổng DVCQG)",
        "The other transparency criteria (dossier status synchronised to the national portal)",
        reason_vi="eiso chưa đồng bộ hồ sơ với Cổng DVCQG; cách chấm chi tiết chưa được kiểm chứng",
        reason_en="eiso does not synchronise dossiers with the national portal; the detailed "
        "scoring is not verified",
    ),
    Criterion(
        "progress",
        "TD-1",
        20,
        "20 × hồ sơ giải quyết đúng hạn / (hồ sơ đã giải quyết + hồ sơ chưa giải quyết đã quá hạn)",
        "20 × dossiers resolved on time / (dossiers resolved + open dossiers already overdue)",
        measure=_progress,
    ),
    Criterion(
        "online_services",
        "TT-1",
        12,
        "12 × hồ sơ tiếp nhận trực tuyến / hồ sơ tiếp nhận",
        "12 × dossiers received online / dossiers received",
        measure=_online,
    ),
    Criterion(
        "online_payment",
        "TT-2",
        10,
        "10 × hồ sơ có nghĩa vụ tài chính được thanh toán trực tuyến / hồ sơ có nghĩa vụ tài chính",
        "10 × dossiers whose fees were paid online / dossiers with fees",
        reason_vi="Phí, lệ phí của hồ sơ chưa ghi kênh thanh toán (trực tuyến hay trực tiếp)",
        reason_en="A dossier's fees do not record the payment channel (online or at the counter)",
    ),
    Criterion(
        "satisfaction",
        "HL-1",
        6,
        "6 × min(1, tỷ lệ đánh giá hài lòng (4–5 trên 5) / 90 %)",
        "6 × min(1, share of satisfied ratings (4-5 of 5) / 90 %)",
        measure=_ratings,
        scale=_ratings_scale,
    ),
    # The portal's 12 points for feedback and petitions, split by eiso (not verified, see
    # core/qms/README.md): 8 for answering on time, 4 for citizens satisfied with the answers.
    Criterion(
        "satisfaction",
        "HL-2",
        FEEDBACK_ON_TIME_POINTS,
        "8 × phản ánh, kiến nghị trả lời đúng hạn / (đã trả lời + chưa trả lời đã quá hạn)",
        "8 × feedback and petitions answered on time / (answered + unanswered past the deadline)",
        source=f"{SOURCE}; Nghị định 20/2008/NĐ-CP (phản ánh, kiến nghị)",
        measure=_feedback_on_time,
    ),
    Criterion(
        "satisfaction",
        "HL-3",
        FEEDBACK_RATING_POINTS,
        "4 × min(1, tỷ lệ người dân hài lòng với câu trả lời (4–5 trên 5) / 90 %)",
        "4 × min(1, share of satisfied ratings of the answers (4-5 of 5) / 90 %)",
        source=f"{SOURCE}; Nghị định 20/2008/NĐ-CP (phản ánh, kiến nghị)",
        measure=_feedback_ratings,
        scale=_ratings_scale,
    ),
    Criterion(
        "digitisation",
        "SH-1",
        22,
        "Tỷ lệ hồ sơ được số hóa thành phần hồ sơ, kết quả giải quyết "
        "và tái sử dụng dữ liệu số hóa",
        "Share of dossiers with components and results digitised, and digitised data reused",
        reason_vi="Hồ sơ chưa ghi thành phần nào được số hóa hay tái sử dụng",
        reason_en="Dossiers do not record which components were digitised or reused",
    ),
)


def scores(row: Figures) -> list[dict[str, Any]]:
    """The six groups of one figures row, each with its criteria (JSON form)."""
    result = []
    for group, max_points in GROUPS.items():
        criteria = [c.score(row) for c in CRITERIA if c.group == group]
        scored = [c for c in criteria if c["points"] is not None]
        result.append(
            {
                "group": group,
                "maxPoints": max_points,
                "points": round(sum(c["points"] for c in scored), 2) if scored else None,
                "measuredMaxPoints": sum(c["maxPoints"] for c in scored),
                "criteria": criteria,
            }
        )
    return result


def total(groups: list[dict[str, Any]]) -> float | None:
    """The points of the groups that have any (None when none has)."""
    scored = [g["points"] for g in groups if g["points"] is not None]
    return round(sum(scored), 2) if scored else None
