"""What must be true before an agency announces (or re-announces) conformity: the QMS is built
and applied, then checked. Decision 19/2014/QĐ-TTg Art. 4 and Circular 26/2014/TT-BKHCN
(docs/qms.md, "Conformity announcement", cites each; core/qms/README.md lists what is not
verified):

- SCOPE_NOT_SET: a QMS scope with at least one procedure;
- DOCUMENTS_NOT_EFFECTIVE: an effective quality policy, quality objectives and at least one
  QMS procedure document;
- PROCESS_DOCUMENTS_NOT_EFFECTIVE: every procedure the agency adopted has an effective version
  of its ISO process document (`QT-<procedure code>`, process_docs.py: Decision 101/QĐ-BKHCN's
  model QMS, one process per administrative procedure); the problem names the procedures;
- INTERNAL_AUDIT_MISSING: an internal audit (a plan with at least one finding recorded) dated
  between the last scope change and the announcement;
- MANAGEMENT_REVIEW_MISSING: a management review held between the last scope change and the
  announcement.

"After the scope change" is checked on the dates the records carry and on when they were
entered, so a record entered before the change cannot be back-dated into counting.
Every unmet prerequisite is reported, not only the first (`unmet`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, exists, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from eiso.core.dossiers.models import ProcedureAdoption
from eiso.core.qms.audits import AuditFinding, AuditPlan
from eiso.core.qms.documents import (
    PROCESS_CODE_PREFIX,
    Document,
    DocumentKind,
    with_effective_version,
)
from eiso.core.qms.management_review import ManagementReview
from eiso.core.qms.qms_scope import ConformityScope
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import aware
from eiso.tenants.models import tenant_join

# The documents a QMS cannot run without (ISO 9001 5.2 policy, 6.2 objectives, and the
# procedures of 4.4/7.5): an effective version of each kind.
REQUIRED_KINDS = (DocumentKind.policy, DocumentKind.objectives, DocumentKind.procedure)
KIND_VI = {
    DocumentKind.policy: "chính sách chất lượng",
    DocumentKind.objectives: "mục tiêu chất lượng",
    DocumentKind.procedure: "quy trình",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One unmet prerequisite: a stable code and the messages (GraphQL `problems[]`)."""

    code: str
    message: str
    message_vi: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


async def unmet(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    scope: ConformityScope | None,
    announced_on: dt.date,
) -> list[Problem]:
    """Every prerequisite the agency does not meet for an announcement dated `announced_on`."""
    problems: list[Problem] = []
    if scope is None or not scope.procedures:
        problems.append(
            Problem(
                "SCOPE_NOT_SET",
                "the QMS scope (procedures covered) is not set",
                "chưa xác định phạm vi áp dụng hệ thống quản lý chất lượng (các thủ tục)",
            )
        )
    missing = await _kinds_without_effective(session, province_id, agency_id)
    if missing:
        problems.append(
            Problem(
                "DOCUMENTS_NOT_EFFECTIVE",
                "no effective " + ", ".join(kind.value for kind in missing) + " document",
                "chưa có tài liệu có hiệu lực: " + ", ".join(KIND_VI[kind] for kind in missing),
            )
        )
    lacking = await procedures_without_process(session, province_id, agency_id)
    if lacking:
        problems.append(
            Problem(
                "PROCESS_DOCUMENTS_NOT_EFFECTIVE",
                "no effective ISO process document for the adopted procedure(s) "
                + ", ".join(lacking),
                "chưa có quy trình ISO có hiệu lực cho thủ tục đã áp dụng: " + ", ".join(lacking),
            )
        )
    since = aware(scope.changed_at) if scope else None
    keys, window = (province_id, agency_id), (since, announced_on)
    # An audit plan in the window with a finding entered after the scope change.
    audit = (AuditPlan, col(AuditPlan.date), keys, window, _with_findings(since))
    if not await _any_between(session, *audit):
        problems.append(
            Problem(
                "INTERNAL_AUDIT_MISSING",
                "no internal audit with findings after the last scope change",
                "chưa đánh giá nội bộ (có kết quả) sau lần thay đổi phạm vi gần nhất",
            )
        )
    # A management review held in the window, entered after the scope change.
    entered = () if since is None else (col(ManagementReview.created_at) >= since,)
    review = (ManagementReview, col(ManagementReview.held_on), keys, window, *entered)
    if not await _any_between(session, *review):
        problems.append(
            Problem(
                "MANAGEMENT_REVIEW_MISSING",
                "no management review after the last scope change",
                "chưa xem xét của lãnh đạo sau lần thay đổi phạm vi gần nhất",
            )
        )
    return problems


async def _with_effective(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    column: Mapped[Any],
    *more: ColumnElement[bool],
) -> set[Any]:
    """The `column` values of the agency's own documents (not models) that have an effective
    version and meet `more`."""
    query = (
        with_effective_version(select(column), province_id)
        .where(col(Document.agency_id) == agency_id, col(Document.is_model).is_(False), *more)
        .distinct()
    )
    return set((await session.execute(query)).scalars())


async def _kinds_without_effective(
    session: AsyncSession, province_id: int, agency_id: int
) -> list[DocumentKind]:
    found = await _with_effective(session, province_id, agency_id, col(Document.kind))
    return [kind for kind in REQUIRED_KINDS if kind.value not in found]


async def procedures_without_process(
    session: AsyncSession, province_id: int, agency_id: int
) -> list[str]:
    """The codes (sorted) of the procedures the agency adopted whose process document
    (`QT-<code>`, the agency's own) has no effective version."""
    adopted = set(
        (
            await session.execute(
                select(col(ProcedureAdoption.procedure_code)).where(
                    col(ProcedureAdoption.province_id) == province_id,
                    col(ProcedureAdoption.agency_id) == agency_id,
                )
            )
        ).scalars()
    )
    if not adopted:
        return []
    codes = [PROCESS_CODE_PREFIX + code for code in adopted]
    effective = await _with_effective(
        session, province_id, agency_id, col(Document.code), col(Document.code).in_(codes)
    )
    return sorted(code for code in adopted if PROCESS_CODE_PREFIX + code not in effective)


def _day(moment: dt.datetime | None) -> dt.date:
    return aware(moment).astimezone(VN_TZ).date() if moment else dt.date.min


async def _any_between(
    session: AsyncSession,
    model: type[AuditPlan] | type[ManagementReview],
    day: Mapped[dt.date],
    keys: tuple[int, int],
    window: tuple[dt.datetime | None, dt.date],
    *more: ColumnElement[bool],
) -> bool:
    """Whether the agency (`keys`) has a `model` row whose `day` falls between the scope change
    and the announcement (`window`) and that meets `more`."""
    since, until = window
    query = (
        select(func.count())
        .select_from(model)
        .where(
            col(model.province_id) == keys[0],
            col(model.agency_id) == keys[1],
            day >= _day(since),
            day <= until,
            *more,
        )
    )
    return (await session.execute(query)).scalar_one() > 0


def _with_findings(since: dt.datetime | None) -> ColumnElement[bool]:
    """An audit plan with a finding entered after the scope change (`since`)."""
    findings = select(AuditFinding.id).where(tenant_join(AuditPlan.id, AuditFinding.plan_id))
    if since is not None:
        findings = findings.where(col(AuditFinding.recorded_at) >= since)
    return exists(findings)
