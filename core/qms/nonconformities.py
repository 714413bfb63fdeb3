"""Nonconformities and corrective action (ISO 9001 clause 10.2).

open → action_planned → action_done → verified → closed. `verified` needs a recorded
effectiveness check; closing without one is refused with EFFECTIVENESS_CHECK_REQUIRED. Rows are
never deleted: the record of what went wrong is the point.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Exists, Index, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import Field, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, member_of
from eiso.core.qms.common import (
    get_in_scope,
    invalid_transition,
    record,
    require_role,
    require_text,
)
from eiso.infra.clock import utcnow
from eiso.infra.db import add_in_savepoint
from eiso.tenants.models import TenantOwned, agency_fk


class NcSource(str, enum.Enum):
    manual = "manual"
    audit_finding = "audit_finding"
    complaint = "complaint"
    dossier = "dossier"  # raised by the dossier engine only (core/qms/dossier_ncs.py)
    feedback = "feedback"  # a feedback answered late (core/qms/feedback_ncs.py)
    inspection = "inspection"  # a finding of the DOST's inspection (core/qms/inspections.py)
    review_flag = "review_flag"  # a legal change not reviewed in time (core/qms/review_deadline.py)


NcStatus = enum.StrEnum("NcStatus", "open action_planned action_done verified closed")


MAINTAINERS = (Role.iso_secretary, Role.leader, Role.auditor)


class Nonconformity(TenantOwned, table=True):
    __tablename__ = "nonconformities"
    __table_args__ = (
        agency_fk("nonconformities"),
        # One nonconformity per dossier per cause and agency (source_ref holds the dossier code):
        # each agency's stage of an interlinked dossier has its own (migration 0560).
        Index(
            "uq_nonconformities_cause",
            "province_id",
            "agency_id",
            "source_ref",
            "cause",
            unique=True,
        ),
    )

    title: str = Field(max_length=300)
    description: str = Field(default="", sa_type=Text)
    source: NcSource = Field(default=NcSource.manual, sa_type=String(32))
    source_ref: str | None = Field(default=None, max_length=100)
    # Why the dossier engine raised it (overdue, refused_after_acceptance, second_supplement).
    cause: str | None = Field(default=None, max_length=32)
    procedure_code: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=100)
    officer: str | None = Field(default=None, max_length=200)
    status: NcStatus = Field(default=NcStatus.open, sa_type=String(32))
    root_cause: str | None = Field(default=None, sa_type=Text)
    corrective_action: str | None = Field(default=None, sa_type=Text)
    owner: str | None = Field(default=None, max_length=200)
    due_date: dt.date | None = None
    effectiveness_result: str | None = Field(default=None, sa_type=Text)
    effective: bool | None = None
    checked_by: str | None = Field(default=None, max_length=200)
    checked_at: dt.datetime | None = None
    raised_by: str = Field(max_length=200)
    raised_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None


async def raise_once(session: AsyncSession, nc: Nonconformity, data: dict) -> bool:
    """A sweep's nonconformity, raised by "system" and audited with `data`; False (nothing
    written) when its unique key is taken: a concurrent sweep raised it first."""
    if await add_in_savepoint(session, nc) is not None:
        return False
    await record(session, nc, "system", "nonconformity.raise", data)
    return True


def raised_for(province_id: Mapped[int], code: Mapped[str], cause: str) -> Exists:
    """Whether the source row whose province and code columns these are has a nonconformity
    of `cause` already: the correlated EXISTS that keeps a sweep from raising one twice."""
    return (
        select(Nonconformity.id)
        .where(
            col(Nonconformity.province_id) == province_id,
            col(Nonconformity.source_ref) == code,
            col(Nonconformity.cause) == cause,
        )
        .exists()
    )


async def raise_nonconformity(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    title: str,
    description: str = "",
    source: str = "manual",
    source_ref: str | None = None,
    procedure_code: str | None = None,
    step: str | None = None,
    officer: str | None = None,
) -> Nonconformity:
    require_role(principal, *MAINTAINERS)
    kind = member_of(
        NcSource,
        source,
        "source",
        "source must be manual, audit_finding or complaint",
        "nguồn không hợp lệ",
    )
    if kind in (NcSource.dossier, NcSource.inspection):
        raise DomainError(
            f"{kind.value} nonconformities are raised by eiso itself (the dossier engine, "
            "an inspection's finding)",
            "điểm không phù hợp loại này do hệ thống tự tạo",
            field="source",
        )
    if kind in (NcSource.audit_finding, NcSource.complaint):
        # Traceability: which finding or which complaint (its number in the register).
        source_ref = require_text(source_ref, "sourceRef", 100)
    nc = Nonconformity(
        province_id=province_id,
        agency_id=agency_id,
        title=require_text(title, "title", 300),
        description=description,
        source=kind,
        source_ref=source_ref,
        procedure_code=procedure_code,
        step=step,
        officer=officer,
        raised_by=principal.subject,
    )
    return await record(
        session,
        nc,
        principal.subject,
        "nonconformity.raise",
        {"source": kind.value, "procedure_code": procedure_code},
    )


async def _load(session: AsyncSession, province_id: int, nc_id: int) -> Nonconformity:
    return await get_in_scope(session, Nonconformity, province_id, nc_id, "nonconformity")


def _expect(nc: Nonconformity, allowed: set[NcStatus], target: NcStatus) -> None:
    if nc.status not in allowed:
        raise invalid_transition("nonconformity", nc.status, target.value)


async def plan_action(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    nc_id: int,
    *,
    root_cause: str,
    corrective_action: str,
    owner: str,
    due_date: dt.date,
) -> Nonconformity:
    require_role(principal, *MAINTAINERS)
    nc = await _load(session, province_id, nc_id)
    _expect(nc, {NcStatus.open, NcStatus.action_planned}, NcStatus.action_planned)
    nc.root_cause = require_text(root_cause, "rootCause", 10_000)
    nc.corrective_action = require_text(corrective_action, "correctiveAction", 10_000)
    nc.owner = require_text(owner, "owner", 200)
    if due_date < nc.raised_at.date():
        raise DomainError(
            "dueDate is before the nonconformity was raised",
            "hạn xử lý trước ngày phát hiện",
            field="dueDate",
        )
    nc.due_date, nc.status = due_date, NcStatus.action_planned
    return await record(
        session, nc, principal.subject, "nonconformity.plan", {"due_date": due_date.isoformat()}
    )


async def complete_action(
    session: AsyncSession, principal: Principal, province_id: int, nc_id: int
) -> Nonconformity:
    require_role(principal, *MAINTAINERS)
    nc = await _load(session, province_id, nc_id)
    _expect(nc, {NcStatus.action_planned}, NcStatus.action_done)
    nc.status = NcStatus.action_done
    return await record(session, nc, principal.subject, "nonconformity.action_done")


async def record_effectiveness(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    nc_id: int,
    *,
    result: str,
    effective: bool,
) -> Nonconformity:
    """An ineffective action sends the nonconformity back to planning."""
    require_role(principal, *MAINTAINERS)
    nc = await _load(session, province_id, nc_id)
    _expect(nc, {NcStatus.action_done}, NcStatus.verified)
    nc.effectiveness_result = require_text(result, "result", 10_000)
    nc.effective, nc.checked_by, nc.checked_at = effective, principal.subject, utcnow()
    nc.status = NcStatus.verified if effective else NcStatus.action_planned
    return await record(
        session, nc, principal.subject, "nonconformity.effectiveness", {"effective": effective}
    )


async def close(
    session: AsyncSession, principal: Principal, province_id: int, nc_id: int
) -> Nonconformity:
    require_role(principal, Role.iso_secretary, Role.leader)
    nc = await _load(session, province_id, nc_id)
    if nc.status == NcStatus.closed:
        raise invalid_transition("nonconformity", nc.status, NcStatus.closed.value)
    if nc.status != NcStatus.verified or not nc.effective or nc.checked_at is None:
        raise DomainError(
            "an effectiveness check must confirm the action before closure",
            "cần kiểm tra hiệu lực của hành động khắc phục trước khi đóng",
            code="EFFECTIVENESS_CHECK_REQUIRED",
            status=nc.status,
        )
    nc.status, nc.closed_at = NcStatus.closed, utcnow()
    return await record(session, nc, principal.subject, "nonconformity.close")
