"""Quality objectives with measurable targets (ISO 9001 clause 6.2), evaluated from the figures.

An objective reads "at least 98 % of dossiers on time in 2026": a metric of the figures, a
comparator, a target and a period, for one agency or (agency_id empty) a whole province,
optionally for one procedure. Its result is computed, never stored: in progress until the
period ends, then achieved or not achieved, always with the actual value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import operator
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field

from eiso.core import audit
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, Forbidden, member_of
from eiso.core.qms import documents, figures
from eiso.core.qms.common import get_in_scope, record, require_text
from eiso.infra.clock import utcnow
from eiso.tenants.models import TenantOwned, agency_fk
from eiso.tenants.scope import TenantScope

# What an objective may target: a rate (0-1), a handling time or a count of the figures.
ObjectiveMetric = enum.StrEnum(
    "ObjectiveMetric",
    "on_time_rate satisfied_share rating_mean mean_days p90_days received finished late backlog",
)


Comparator = enum.StrEnum("Comparator", "at_least at_most more_than less_than")


COMPARE = {
    Comparator.at_least: operator.ge,
    Comparator.at_most: operator.le,
    Comparator.more_than: operator.gt,
    Comparator.less_than: operator.lt,
}
RATES = {ObjectiveMetric.on_time_rate, ObjectiveMetric.satisfied_share}


class ObjectiveStatus(str, enum.Enum):
    achieved = "achieved"
    not_achieved = "not_achieved"
    in_progress = "in_progress"
    no_data = "no_data"  # the period is over and nothing was measured (no dossier finished)


class Objective(TenantOwned, table=True):
    """agency_id empty: an objective of the whole province, kept by its administrators (only a
    province or national scope sees it)."""

    __tablename__ = "objectives"
    __table_args__ = (
        agency_fk("objectives"),
        # a province objective has no agency: its province is checked directly
        ForeignKeyConstraint(["province_id"], ["provinces.id"], name="fk_objectives_province"),
        Index("ix_objectives_period", "province_id", "period_start"),
    )

    # Wider than TenantOwned's `int` on purpose: a province objective has no agency. Code
    # that takes any TenantOwned row (common.record) is given agency objectives only.
    agency_id: int | None = Field(  # type: ignore[assignment]
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    title: str = Field(max_length=300)
    metric: str = Field(max_length=32)
    comparator: str = Field(max_length=16)
    target: float
    period_start: dt.date
    period_end: dt.date  # the last day, included
    procedure_code: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)

    @property
    def period(self) -> figures.Period:
        return figures.Period(self.period_start, self.period_end + dt.timedelta(days=1))


KEEPERS = (Role.iso_secretary, Role.leader)


def _may_keep(principal: Principal, province_id: int, agency_id: int | None) -> None:
    """Agency objectives: its ISO secretary or leader. Province objectives: its administrator."""
    if agency_id is None:
        allowed = principal.has_role(Role.province_admin) and principal.tenant.allows(
            province_id, None
        )
    else:
        allowed = principal.has_role(*KEEPERS) and principal.tenant.allows(province_id, agency_id)
    if not allowed:
        raise Forbidden(
            "Only the agency's ISO secretary or leader (or the province administrator for a "
            "province objective) may change it",
            "Chỉ thư ký ISO, lãnh đạo cơ quan (hoặc quản trị tỉnh với mục tiêu cấp tỉnh) "
            "được thay đổi",
        )


@dataclasses.dataclass
class Definition:
    title: str
    metric: str
    comparator: str
    target: float
    period: figures.Period
    procedure_code: str | None = None

    def clean(self) -> Definition:
        title = require_text(self.title, "title", 300)
        metric = member_of(ObjectiveMetric, self.metric, "metric")
        comparator = member_of(Comparator, self.comparator, "comparator")
        target = float(self.target)
        if target < 0 or (metric in RATES and target > 1):
            raise DomainError(
                "target: a rate is between 0 and 1, other targets are not negative",
                "target: tỷ lệ từ 0 đến 1, các chỉ tiêu khác không âm",
                code="BAD_INPUT",
                field="target",
            )
        code = (self.procedure_code or "").strip() or None
        return Definition(title, metric.value, comparator.value, target, self.period, code)

    def columns(self) -> dict[str, Any]:
        """The objective's columns this definition sets (clean it first), for a new row and
        for an update alike."""
        return {
            "title": self.title,
            "metric": self.metric,
            "comparator": self.comparator,
            "target": self.target,
            "period_start": self.period.start,
            "period_end": self.period.last_day,
            "procedure_code": self.procedure_code,
        }


async def create(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int | None,
    definition: Definition,
) -> Objective:
    _may_keep(principal, province_id, agency_id)
    row = Objective(
        province_id=province_id,
        agency_id=agency_id,
        created_by=principal.subject,
        **definition.clean().columns(),
    )
    session.add(row)
    await _audit(session, row, principal, "objective.create")
    return row


async def update(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    objective_id: int,
    definition: Definition,
) -> Objective:
    row = await get_in_scope(session, Objective, province_id, objective_id, "objective")
    _may_keep(principal, row.province_id, row.agency_id)
    for name, column in definition.clean().columns().items():
        setattr(row, name, column)
    row.updated_at = utcnow()
    session.add(row)
    await _audit(session, row, principal, "objective.update")
    return row


async def delete(
    session: AsyncSession, principal: Principal, province_id: int, objective_id: int
) -> None:
    row = await get_in_scope(session, Objective, province_id, objective_id, "objective")
    _may_keep(principal, row.province_id, row.agency_id)
    await _audit(session, row, principal, "objective.delete")
    await session.delete(row)
    await session.flush()


async def _audit(session: AsyncSession, row: Objective, principal: Principal, action: str) -> None:
    data = {
        "metric": row.metric,
        "comparator": row.comparator,
        "target": row.target,
        "period": row.period.label(),
        "procedure": row.procedure_code,
    }
    if row.agency_id is not None:
        await record(session, row, principal.subject, action, data)
        return
    # The audit chain is per agency: a province objective goes to the chain of the province's
    # People's Committee (the owner of its model documents too), when the province has one.
    await session.flush()
    try:
        owner = await documents.model_owner(session, row.province_id)
    except DomainError:
        return
    await audit.append(
        session,
        province_id=row.province_id,
        agency_id=owner,
        actor=principal.subject,
        action=action,
        entity_type=Objective.__tablename__,
        entity_id=row.id,
        data=data,
    )


@dataclasses.dataclass
class Evaluation:
    status: ObjectiveStatus
    actual: float | None


async def evaluate(
    session: AsyncSession, row: Objective, now: dt.datetime | None = None
) -> Evaluation:
    """The objective's result from the figures of its own agency (or province) and period."""
    now = now or utcnow()
    narrow = figures.Filter(
        province_id=row.province_id, agency_id=row.agency_id, procedure_code=row.procedure_code
    )
    (got,) = await figures.figures(
        session, TenantScope.province(row.province_id), row.period, figures.Group.nation, narrow
    )
    actual = got.value(row.metric)
    if not row.period.is_over(now):
        return Evaluation(ObjectiveStatus.in_progress, actual)
    if actual is None:
        return Evaluation(ObjectiveStatus.no_data, None)
    met = COMPARE[Comparator(row.comparator)](actual, row.target)
    return Evaluation(ObjectiveStatus.achieved if met else ObjectiveStatus.not_achieved, actual)
