"""Internal audits (ISO 9001 clause 9.2): a yearly programme, dated plans with scope and
auditors, a checklist by ISO clause, and findings. A nonconformity finding opens a
nonconformity in the same transaction, so neither exists without the other."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    String,
    Text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, member_of
from eiso.core.qms import nonconformities
from eiso.core.qms.common import get_in_scope, record, require_role, require_text
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import Authored, TenantOwned, child_fks, one_per_agency_year

AUDITORS = (Role.auditor, Role.iso_secretary)
CLAUSE = re.compile(r"^(4|5|6|7|8|9|10)(\.\d{1,2}){0,3}$")


FindingKind = enum.StrEnum("FindingKind", "conformity observation nonconformity")


class AuditProgramme(TenantOwned, Authored, table=True):
    __tablename__ = "audit_programmes"
    __table_args__ = (*one_per_agency_year("audit_programmes"),)

    year: int
    title: str = Field(max_length=300)


class AuditPlan(TenantOwned, Authored, table=True):
    __tablename__ = "audit_plans"
    __table_args__ = child_fks("audit_plans", "programme_id", "audit_programmes", "programme")

    programme_id: int = Field(sa_type=BigInteger)
    date: dt.date
    scope: str = Field(sa_type=Text)
    auditors: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AuditChecklistItem(TenantOwned, table=True):
    __tablename__ = "audit_checklist_items"
    __table_args__ = child_fks("audit_checklist_items", "plan_id", "audit_plans", "plan")

    plan_id: int = Field(sa_type=BigInteger)
    clause: str = Field(max_length=16)
    question: str = Field(sa_type=Text)


class AuditFinding(TenantOwned, table=True):
    __tablename__ = "audit_findings"
    __table_args__ = child_fks("audit_findings", "plan_id", "audit_plans", "plan")

    plan_id: int = Field(sa_type=BigInteger)
    clause: str = Field(max_length=16)
    kind: FindingKind = Field(sa_type=String(16))
    description: str = Field(sa_type=Text)
    nonconformity_id: int | None = Field(default=None, sa_type=BigInteger)
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = Field(default_factory=utcnow)


def _clause(value: str) -> str:
    value = (value or "").strip()
    if not CLAUSE.match(value):
        raise DomainError(
            f"clause {value!r} is not an ISO 9001 clause such as 7.5.2",
            f"điều khoản {value!r} không hợp lệ (ví dụ 7.5.2)",
            field="clause",
        )
    return value


async def create_programme(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    year: int,
    title: str,
) -> AuditProgramme:
    require_role(principal, *AUDITORS)
    if not 2000 <= year <= 2100:
        raise DomainError("year must be between 2000 and 2100", "năm không hợp lệ", field="year")
    existing = await find_one(
        session, AuditProgramme, province_id=province_id, agency_id=agency_id, year=year
    )
    if existing:
        return existing
    programme = AuditProgramme(
        province_id=province_id,
        agency_id=agency_id,
        year=year,
        title=require_text(title, "title", 300),
        created_by=principal.subject,
    )
    return await record(
        session, programme, principal.subject, "audit_programme.create", {"year": year}
    )


async def create_plan(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    programme_id: int,
    *,
    date: dt.date,
    scope: str,
    auditors: list[str],
    checklist: Sequence[tuple[str, str]] = (),
) -> AuditPlan:
    require_role(principal, *AUDITORS)
    programme = await get_in_scope(
        session, AuditProgramme, province_id, programme_id, "audit programme"
    )
    if date.year != programme.year:
        raise DomainError(
            "date is outside the programme's year",
            "ngày không thuộc năm của chương trình",
            field="date",
        )
    auditors = [require_text(name, "auditors", 200) for name in auditors]
    if not auditors:
        raise DomainError(
            "auditors: at least one auditor", "cần ít nhất một đánh giá viên", field="auditors"
        )
    plan = AuditPlan(
        province_id=province_id,
        agency_id=programme.agency_id,
        programme_id=programme.id,
        date=date,
        scope=require_text(scope, "scope", 10_000),
        auditors=auditors,
        created_by=principal.subject,
    )
    items = [
        AuditChecklistItem(
            province_id=province_id,
            agency_id=programme.agency_id,
            plan_id=plan.id,
            clause=_clause(clause),
            question=require_text(question, "question", 10_000),
        )
        for clause, question in checklist
    ]
    session.add(plan)
    await session.flush()
    session.add_all(items)
    return await record(
        session,
        plan,
        principal.subject,
        "audit_plan.create",
        {"date": date.isoformat(), "checklist": len(items)},
    )


async def record_finding(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    plan_id: int,
    *,
    clause: str,
    kind: str,
    description: str,
) -> AuditFinding:
    require_role(principal, *AUDITORS)
    plan = await get_in_scope(session, AuditPlan, province_id, plan_id, "audit plan")
    finding_kind = member_of(
        FindingKind,
        kind,
        "kind",
        "kind must be conformity, observation or nonconformity",
        "loại phát hiện không hợp lệ",
    )
    finding = AuditFinding(
        province_id=province_id,
        agency_id=plan.agency_id,
        plan_id=plan.id,
        clause=_clause(clause),
        kind=finding_kind,
        description=require_text(description, "description", 10_000),
        recorded_by=principal.subject,
    )
    if finding_kind == FindingKind.nonconformity:
        nc = await nonconformities.raise_nonconformity(
            session,
            principal,
            province_id=province_id,
            agency_id=plan.agency_id,
            title=f"Đánh giá nội bộ {plan.date.isoformat()}, điều {finding.clause}"[:300],
            description=finding.description,
            source="audit_finding",
            source_ref=str(finding.id),
        )
        finding.nonconformity_id = nc.id
    return await record(
        session,
        finding,
        principal.subject,
        "audit_finding.record",
        {"clause": finding.clause, "kind": finding_kind.value},
    )
