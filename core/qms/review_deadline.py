"""The deadline for reviewing what a legal change flagged (issue 20): a review flag is due N
working days after it was raised (the working-day calendar of core/workdays), N each
province's setting (`setReviewDeadlineDays`, its administrator), eiso's default without one.

The obligation is the agency's duty to keep its QMS up to date with the legal documents it
applies (Decision 19/2014/QĐ-TTg, Art. 4; ISO 9001:2015 clauses 4.4, 6.3 and 7.5.3, see
docs/qms.md "Review deadline after a legal change"); the law found fixes no number of days, so
the province sets it. A flag still open past its due date is overdue: the sweep
`eiso qms sweep-overdue` opens one nonconformity for it (source `review_flag`, cause
`review_overdue`, source_ref `flag:<id>`), idempotently, as for feedback answered late
(core/qms/feedback_ncs.py). A flag keeps the due date it was given when the setting changes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy
from sqlalchemy import String, cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.principal import Principal
from eiso.core.errors import DomainError
from eiso.core.qms.conformity import FlagKind, ReviewFlag
from eiso.core.qms.nonconformities import NcSource, Nonconformity, raise_once, raised_for
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.core.workdays.overrides import load_calendar
from eiso.tenants.province_settings import ProvinceSetting, save_setting

# eiso's default when the province set none: about a month of working days (eiso's choice,
# not the law's: docs/qms.md); a province may set 1 to MAX_REVIEW_DAYS.
DEFAULT_REVIEW_DAYS = 20
MIN_REVIEW_DAYS = 1
MAX_REVIEW_DAYS = 90
OVERDUE = "review_overdue"
TITLE_VI = "Chưa rà soát {what} {subject} theo thay đổi của văn bản {reference} đúng hạn"
TITLE_EN = "{what_en} {subject} not reviewed by its due date after a change of {reference}"
_CALENDAR = "eiso.review_deadline.calendar"


class ReviewDeadlineSetting(ProvinceSetting, table=True):
    """A province's review deadline (working days after the flag is raised)."""

    __tablename__ = "review_deadline_settings"

    review_days: int


async def review_days(session: AsyncSession, province_id: int) -> int:
    """The province's deadline in working days, or eiso's default."""
    setting = await session.get(ReviewDeadlineSetting, province_id)
    return setting.review_days if setting else DEFAULT_REVIEW_DAYS


async def set_review_days(
    session: AsyncSession, principal: Principal, province_id: int, days: int
) -> int:
    """The province sets its deadline; flags raised from now on get it (a raised flag keeps
    its due date)."""
    if not MIN_REVIEW_DAYS <= days <= MAX_REVIEW_DAYS:
        raise DomainError(
            f"days: {MIN_REVIEW_DAYS} to {MAX_REVIEW_DAYS} working days",
            f"days: từ {MIN_REVIEW_DAYS} đến {MAX_REVIEW_DAYS} ngày làm việc",
            code="BAD_INPUT",
            field="days",
        )
    await save_setting(
        session, ReviewDeadlineSetting, province_id, principal.subject, review_days=days
    )
    return days


async def due_on(session: AsyncSession, province_id: int, raised_at: dt.datetime) -> dt.date:
    """The day a flag raised at `raised_at` is due: the N-th working day after it (the
    calendar is read once per session)."""
    calendar: WorkingCalendar | None = session.info.get(_CALENDAR)
    if calendar is None:
        calendar = session.info[_CALENDAR] = await load_calendar(session)
    days = await review_days(session, province_id)
    return calendar.add_working_days(calendar.counting_start(raised_at), days).date()


def today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


def is_overdue(flag: ReviewFlag, on: dt.date | None = None) -> bool:
    """Open, and its due date has passed (the due day itself is still in time)."""
    return flag.reviewed_at is None and flag.due_on is not None and (on or today()) > flag.due_on


async def sweep_overdue(session: AsyncSession, on: dt.date | None = None) -> dict[str, int]:
    """Open the `review_overdue` nonconformity of every open flag past its due date that has
    none yet."""
    on = on or today()
    ref = sqlalchemy.literal("flag:", String) + cast(col(ReviewFlag.id), String)
    statement = (
        sqlalchemy.select(ReviewFlag)
        .where(
            col(ReviewFlag.reviewed_at).is_(None),
            col(ReviewFlag.due_on) < on,
            ~raised_for(col(ReviewFlag.province_id), ref, OVERDUE),  # type: ignore[arg-type]
        )
        .order_by(col(ReviewFlag.province_id), col(ReviewFlag.id))
    )
    raised = checked = 0
    for flag in (await session.execute(statement)).scalars().all():
        checked += 1
        procedure = flag.kind == FlagKind.procedure.value or flag.kind == FlagKind.procedure
        nc = Nonconformity(
            province_id=flag.province_id,
            agency_id=flag.agency_id,
            title=TITLE_VI.format(
                what="thủ tục" if procedure else "tài liệu",
                subject=flag.subject,
                reference=flag.reference,
            )[:300],
            description=TITLE_EN.format(
                what_en="Procedure" if procedure else "Document",
                subject=flag.subject,
                reference=flag.reference,
            ),
            source=NcSource.review_flag,
            source_ref=f"flag:{flag.id}",
            cause=OVERDUE,
            procedure_code=flag.subject if procedure else None,
            raised_by="system",
        )
        data = {"source": "review_flag", "cause": OVERDUE, "flag": flag.id, "due": str(flag.due_on)}
        raised += await raise_once(session, nc, data)
    return {"checked": checked, "raised": raised}
