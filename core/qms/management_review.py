"""Management review (ISO 9001 clause 9.3): a record for a chosen period whose inputs are
compiled from the agency's own data, and whose decisions become tracked actions.

Inputs (a snapshot stored with the record, so a later change of the data does not rewrite
what the leadership looked at): the dossier figures of the period from core/qms/figures.py
(received, finished, on time, late, backlog, handling times), citizens' ratings, their
feedback and petitions (received, answered on time, overdue, ratings of the answers), internal audit
findings by kind, nonconformities (raised, open, closed; by source) and the risks at or above
the threshold.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String, Text, func, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError
from eiso.core.qms import common, figures
from eiso.core.qms.audits import AuditFinding
from eiso.core.qms.nonconformities import NcStatus, Nonconformity
from eiso.core.qms.risks import Risk
from eiso.infra.clock import utcnow
from eiso.tenants.models import Authored, TenantOwned, agency_fk, child_fks
from eiso.tenants.scope import TenantScope

KEEPERS = (Role.leader, Role.iso_secretary)
DEFAULT_RISK_THRESHOLD = 12  # likelihood × impact out of 25: "high" in most registers


ActionStatus = enum.StrEnum("ActionStatus", "open done")


class ManagementReview(TenantOwned, Authored, table=True):
    __tablename__ = "management_reviews"
    __table_args__ = (agency_fk("management_reviews"),)

    period_start: dt.date
    period_end: dt.date
    held_on: dt.date
    chaired_by: str = Field(max_length=200)
    risk_threshold: int = DEFAULT_RISK_THRESHOLD
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    conclusions: str = Field(default="", sa_type=Text)


class ReviewAction(TenantOwned, Authored, table=True):
    """A decision of the review, tracked to done with its owner and due date."""

    __tablename__ = "review_actions"
    __table_args__ = child_fks("review_actions", "review_id", "management_reviews", "review")

    review_id: int = Field(sa_type=BigInteger)
    decision: str = Field(sa_type=Text)
    owner: str = Field(max_length=200)
    due_date: dt.date
    status: ActionStatus = Field(default=ActionStatus.open, sa_type=String(16))
    result: str | None = Field(default=None, sa_type=Text)
    done_by: str | None = Field(default=None, max_length=200)
    done_at: dt.datetime | None = None


async def dossier_figures(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    period_start: dt.date,
    period_end: dt.date,
) -> dict[str, Any]:
    """The agency's figures of the period, from core/qms/figures.py (the same numbers as the
    `figures` query): received, finished, on time, late, backlog, handling times, ratings."""
    period = figures.Period.of(start=period_start, to=period_end)
    [got] = await figures.figures(session, TenantScope.agencies([agency_id], [province_id]), period)
    return {
        "dossiers": {
            "received": got.received,
            "finished": got.finished,
            "on_time": got.on_time,
            "finished_late": got.finished_late,
            "backlog": got.backlog,
            "backlog_late": got.backlog_late,
            "late": got.late,
            "on_time_rate": got.on_time_rate,
            "mean_days": got.mean_days,
            "p90_days": got.p90_days,
        },
        "feedback": {
            "ratings": got.rating_count,
            "mean_rating": got.rating_mean,
            "satisfied_share": got.satisfied_share,
        },
        # Citizens' feedback and petitions (core/feedback): 9.1.2 customer satisfaction.
        "feedback_petitions": {
            "received": got.feedback_received,
            "answered": got.feedback_answered,
            "answered_on_time": got.feedback_on_time,
            "overdue": got.feedback_overdue,
            "rated": got.feedback_rated,
            "satisfied": got.feedback_satisfied,
        },
    }


async def compile_inputs(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    period_start: dt.date,
    period_end: dt.date,
    risk_threshold: int,
) -> dict[str, Any]:
    start, end = figures.Period.of(start=period_start, to=period_end).bounds()  # Vietnam's days
    mine = (Nonconformity.province_id == province_id, Nonconformity.agency_id == agency_id)
    findings = dict(
        (
            await session.execute(
                select(AuditFinding.kind, func.count())
                .where(
                    AuditFinding.province_id == province_id,
                    AuditFinding.agency_id == agency_id,
                    AuditFinding.recorded_at >= start,
                    AuditFinding.recorded_at < end,
                )
                .group_by(AuditFinding.kind)
            )
        ).all()
    )
    raised = dict(
        (
            await session.execute(
                select(Nonconformity.source, func.count())
                .where(*mine, Nonconformity.raised_at >= start, Nonconformity.raised_at < end)
                .group_by(Nonconformity.source)
            )
        ).all()
    )
    open_now = (
        await session.execute(
            select(func.count())
            .select_from(Nonconformity)
            .where(*mine, Nonconformity.status != NcStatus.closed.value)
        )
    ).scalar_one()
    closed = (
        await session.execute(
            select(func.count())
            .select_from(Nonconformity)
            .where(*mine, col(Nonconformity.closed_at) >= start, col(Nonconformity.closed_at) < end)
        )
    ).scalar_one()
    risks = (
        (
            await session.execute(
                select(Risk)
                .where(
                    Risk.province_id == province_id,
                    Risk.agency_id == agency_id,
                    Risk.level >= risk_threshold,
                )
                .order_by(col(Risk.level).desc(), col(Risk.id))
            )
        )
        .scalars()
        .all()
    )
    return {
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        **await dossier_figures(session, province_id, agency_id, period_start, period_end),
        "audit_findings": {common.value(k): n for k, n in findings.items()},
        "nonconformities": {
            "raised": sum(raised.values()),
            "raised_by_source": {common.value(k): n for k, n in raised.items()},
            "open": open_now,
            "closed": closed,
        },
        "risks_above_threshold": [
            {"title": r.title, "level": r.level, "owner": r.owner} for r in risks
        ],
    }


async def hold_review(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    period_start: dt.date,
    period_end: dt.date,
    held_on: dt.date,
    chaired_by: str,
    risk_threshold: int = DEFAULT_RISK_THRESHOLD,
    conclusions: str = "",
) -> ManagementReview:
    common.require_role(principal, *KEEPERS)
    if period_end < period_start:
        raise DomainError(
            "periodEnd is before periodStart",
            "ngày kết thúc kỳ trước ngày bắt đầu",
            field="periodEnd",
        )
    if held_on < period_start:
        raise DomainError(
            "heldOn is before the period", "ngày họp trước kỳ xem xét", field="heldOn"
        )
    if not 1 <= risk_threshold <= 25:
        raise DomainError(
            "riskThreshold must be between 1 and 25",
            "ngưỡng rủi ro phải từ 1 đến 25",
            field="riskThreshold",
        )
    review = ManagementReview(
        province_id=province_id,
        agency_id=agency_id,
        period_start=period_start,
        period_end=period_end,
        held_on=held_on,
        chaired_by=common.require_text(chaired_by, "chairedBy", 200),
        risk_threshold=risk_threshold,
        inputs=await compile_inputs(
            session, province_id, agency_id, period_start, period_end, risk_threshold
        ),
        conclusions=conclusions,
        created_by=principal.subject,
    )
    return await common.record(
        session,
        review,
        principal.subject,
        "management_review.hold",
        {"period": review.inputs["period"]},
    )


async def add_action(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    review_id: int,
    *,
    decision: str,
    owner: str,
    due_date: dt.date,
) -> ReviewAction:
    common.require_role(principal, *KEEPERS)
    review = await common.get_in_scope(
        session, ManagementReview, province_id, review_id, "management review"
    )
    if due_date < review.held_on:
        raise DomainError(
            "dueDate is before the review was held",
            "hạn thực hiện trước ngày họp xem xét",
            field="dueDate",
        )
    action = ReviewAction(
        province_id=province_id,
        agency_id=review.agency_id,
        review_id=review.id,
        decision=common.require_text(decision, "decision", 10_000),
        owner=common.require_text(owner, "owner", 200),
        due_date=due_date,
        created_by=principal.subject,
    )
    return await common.record(
        session,
        action,
        principal.subject,
        "review_action.add",
        {"review_id": review.id, "due_date": due_date.isoformat()},
    )


async def complete_action(
    session: AsyncSession, principal: Principal, province_id: int, action_id: int, *, result: str
) -> ReviewAction:
    common.require_role(principal, *KEEPERS)
    action = await common.get_in_scope(
        session, ReviewAction, province_id, action_id, "review action"
    )
    if common.value(action.status) != ActionStatus.open.value:
        raise common.invalid_transition("review action", action.status, ActionStatus.done.value)
    action.result = common.require_text(result, "result", 10_000)
    action.status, action.done_by, action.done_at = ActionStatus.done, principal.subject, utcnow()
    return await common.record(session, action, principal.subject, "review_action.done")


async def actions_of(
    session: AsyncSession, keys: list[tuple[int, int]]
) -> dict[tuple[int, int], list[ReviewAction]]:
    """The actions of several reviews ((province_id, id) keys) in one query."""
    found: dict[tuple[int, int], list[ReviewAction]] = {}
    if keys:
        for row in (
            await session.execute(
                select(ReviewAction)
                .where(tuple_(ReviewAction.province_id, ReviewAction.review_id).in_(keys))
                .order_by(col(ReviewAction.due_date), col(ReviewAction.id))
            )
        ).scalars():
            found.setdefault((row.province_id, row.review_id), []).append(row)
    return found
