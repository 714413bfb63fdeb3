"""The yearly report on applying ISO 9001 as a workflow (Decision 19/2014/QĐ-TTg, Circular
26/2014/TT-BKHCN; docs/qms.md cites the rules, core/qms/README.md lists what is unverified).

An agency's ISO secretary or leader fills the written parts (scope, procedures under the QMS,
updates after legal changes, difficulties, proposals, funding) and submits; eiso fills the
figures of the year (annual_report.figures_dict), the nonconformity counts and the dates of
the internal audits and management reviews from the agency's records, refreshed at every save
and submission. The province's administrators (the DOST side: core/auth has no finer role)
return it for revision with a comment or accept it, and compile the province's report from the
accepted ones, naming the agencies still missing.

    draft --submit--> submitted --return--> returned --submit--> resubmitted
                          |                                           |
                          +------------------accept-------------------+--> accepted

Deadlines are a province setting (day and month of the report's year, days of warning before
it); `sweep_reminders` (`eiso qms remind-yearly-reports`) records a "due soon" and an "overdue"
reminder on each report not yet sent, opening a draft where there is none, so the agency's
officers see it on their report and the province on its status board.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, Forbidden, NotFound
from eiso.core.qms import annual_report, figures
from eiso.core.qms.audits import AuditPlan
from eiso.core.qms.common import get_in_scope, invalid_transition, record, value
from eiso.core.qms.management_review import ManagementReview
from eiso.core.qms.nonconformities import NcStatus, Nonconformity
from eiso.infra.clock import utcnow
from eiso.infra.db import core_rows, find_one
from eiso.tenants.models import (
    Agency,
    Province,
    TenantOwned,
    TenantStatus,
    one_per_agency_year,
    tenant_join,
)
from eiso.tenants.scope import (
    ScopeKind,
    TenantScope,
    bound_agencies,
    bound_scope,
    scope_of,
    scope_params,
)

ReportStatus = enum.StrEnum("ReportStatus", "draft submitted returned resubmitted accepted")


# An agency with no report row yet, on the status board.
NOT_STARTED = "not_started"
EDITABLE = {ReportStatus.draft, ReportStatus.returned}
WITH_PROVINCE = {ReportStatus.submitted, ReportStatus.resubmitted}
SENT = {*WITH_PROVINCE, ReportStatus.accepted}
FILLERS = (Role.iso_secretary, Role.leader)

# The written parts, in the report's order, with their Vietnamese headings (the PDF and XLSX).
PARTS: dict[str, str] = {
    "scope": "Phạm vi áp dụng hệ thống quản lý chất lượng",
    "procedures": "Các quy trình, thủ tục hành chính đưa vào hệ thống",
    "legal_updates": "Cập nhật hệ thống khi có thay đổi văn bản pháp luật",
    "difficulties": "Khó khăn, vướng mắc",
    "proposals": "Kiến nghị, đề xuất",
    "funding": "Kinh phí thực hiện",
}
REQUIRED_PARTS = ("scope", "procedures")
PART_LENGTH = 20_000

# Defaults of the province's setting: 15 November of the report's year and ten days' warning.
# NOT verified against the text of Circular 26/2014/TT-BKHCN (core/qms/README.md).
DEFAULT_DUE_MONTH, DEFAULT_DUE_DAY, DEFAULT_REMIND_DAYS = 11, 15, 10


class YearlyReport(TenantOwned, table=True):
    __tablename__ = "yearly_reports"
    __table_args__ = (
        *one_per_agency_year("yearly_reports"),
        # A report is what one agency sent for its year: a merge of agencies leaves it with the
        # agency that wrote it (kept as merged), not folded into the new one (one per year).
        {"info": {"keeps_agency": True}},
    )

    year: int
    status: ReportStatus = Field(default=ReportStatus.draft, sa_type=String(16))
    scope: str = Field(default="", sa_type=Text)
    procedures: str = Field(default="", sa_type=Text)
    legal_updates: str = Field(default="", sa_type=Text)
    difficulties: str = Field(default="", sa_type=Text)
    proposals: str = Field(default="", sa_type=Text)
    funding: str = Field(default="", sa_type=Text)
    # eiso's part: {"figures", "nonconformities", "internalAudits", "managementReviews"}.
    figures: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Each move with its comment: [{"action", "by", "at", "comment"}], oldest first.
    history: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Reminders recorded by the sweep: [{"kind": "due_soon" | "overdue", "on": date}].
    reminders: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    submitted_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class YearlyReportSetting(SQLModel, table=True):
    """A province's deadline for its agencies' reports (absent: the defaults above)."""

    __tablename__ = "yearly_report_settings"

    province_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("provinces.id"), primary_key=True)
    )
    due_month: int
    due_day: int
    remind_days_before: int
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


@dataclasses.dataclass(frozen=True)
class Deadline:
    due_month: int = DEFAULT_DUE_MONTH
    due_day: int = DEFAULT_DUE_DAY
    remind_days_before: int = DEFAULT_REMIND_DAYS
    is_default: bool = True

    def due_on(self, year: int) -> dt.date:
        return dt.date(year, self.due_month, self.due_day)

    def remind_from(self, year: int) -> dt.date:
        return self.due_on(year) - dt.timedelta(days=self.remind_days_before)


# -- deadline ----------------------------------------------------------------------------------


async def deadline(session: AsyncSession, province_id: int) -> Deadline:
    row = await session.get(YearlyReportSetting, province_id)
    if row is None:
        return Deadline()
    return Deadline(row.due_month, row.due_day, row.remind_days_before, is_default=False)


async def set_deadline(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    due_month: int,
    due_day: int,
    remind_days_before: int,
) -> Deadline:
    """The caller is the province's administrator (core/auth/rules.require_province_admin)."""
    try:
        dt.date(2001, due_month, due_day)  # not a leap year: 29 February is refused
    except ValueError:
        raise DomainError(
            "dueMonth/dueDay: not a day of the year (29 February is not allowed)",
            "dueMonth/dueDay: không phải một ngày trong năm (không dùng ngày 29/2)",
            field="dueDay",
        ) from None
    if not 0 <= remind_days_before <= 90:
        raise DomainError(
            "remindDaysBefore: 0 to 90 days",
            "remindDaysBefore: từ 0 đến 90 ngày",
            field="remindDaysBefore",
        )
    row = await session.get(YearlyReportSetting, province_id) or YearlyReportSetting(
        province_id=province_id,
        due_month=due_month,
        due_day=due_day,
        remind_days_before=0,
        updated_by=who.subject,
    )
    row.due_month, row.due_day, row.remind_days_before = due_month, due_day, remind_days_before
    row.updated_by, row.updated_at = who.subject, utcnow()
    session.add(row)
    await session.flush()
    return await deadline(session, province_id)


# -- the agency's side --------------------------------------------------------------------------


def check_year(year: int, today: dt.date | None = None) -> None:
    current = (today or utcnow().date()).year
    if not 2000 <= year <= current:
        raise DomainError(
            f"year: 2000 to {current}", f"year: từ năm 2000 đến {current}", field="year"
        )


def _clean_parts(parts: dict[str, str | None]) -> dict[str, str]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise DomainError(f"unknown parts: {sorted(unknown)}", "phần báo cáo không có")
    cleaned = {}
    for name, text in parts.items():
        if text is None:
            continue
        text = text.strip()
        if len(text) > PART_LENGTH:
            raise DomainError(
                f"{name} is longer than {PART_LENGTH} characters",
                f"{name} dài quá {PART_LENGTH} ký tự",
                field=name,
            )
        cleaned[name] = text
    return cleaned


def _require_filler(who: Principal) -> None:
    if not who.has_role(*FILLERS):
        raise Forbidden(
            "Only the agency's ISO secretary or leader fills and submits its report",
            "Chỉ thư ký ISO hoặc lãnh đạo cơ quan được lập và gửi báo cáo",
        )


async def find(
    session: AsyncSession, province_id: int, agency_id: int, year: int
) -> YearlyReport | None:
    """The agency's report of the year, if any (`one_per_agency_year`: at most one)."""
    return await find_one(
        session, YearlyReport, province_id=province_id, agency_id=agency_id, year=year
    )


async def save(
    session: AsyncSession,
    who: Principal,
    *,
    province_id: int,
    agency_id: int,
    year: int,
    parts: dict[str, str | None],
) -> YearlyReport:
    """Open or change the agency's report of `year` while it is a draft or returned; the
    parts left out (None) keep their text."""
    _require_filler(who)
    check_year(year)
    cleaned = _clean_parts(parts)
    row = await find(session, province_id, agency_id, year)
    if row is None:
        row = YearlyReport(
            province_id=province_id, agency_id=agency_id, year=year, updated_by=who.subject
        )
    elif ReportStatus(row.status) not in EDITABLE:
        raise DomainError(
            f"the report is {value(row.status)}: only a draft or a returned report is changed",
            f"báo cáo đang ở trạng thái {value(row.status)}: chỉ sửa bản nháp "
            "hoặc báo cáo bị trả lại",
            code="INVALID_TRANSITION",
            current=value(row.status),
        )
    for name, text in cleaned.items():
        setattr(row, name, text)
    row.figures = await compute_figures(session, province_id, agency_id, year)
    row.updated_by, row.updated_at = who.subject, utcnow()
    return await record(session, row, who.subject, "yearly_report.save", {"year": year})


async def submit(
    session: AsyncSession, who: Principal, province_id: int, row_id: int
) -> YearlyReport:
    _require_filler(who)
    row = await get_in_scope(session, YearlyReport, province_id, row_id, "báo cáo năm")
    current = ReportStatus(row.status)
    target = {
        ReportStatus.draft: ReportStatus.submitted,
        ReportStatus.returned: ReportStatus.resubmitted,
    }.get(current)
    if target is None:
        raise invalid_transition("yearly report", current, ReportStatus.submitted)
    missing = [name for name in REQUIRED_PARTS if not getattr(row, name)]
    if missing:
        raise DomainError(
            f"fill {', '.join(missing)} before submitting",
            f"cần điền {', '.join(PARTS[name] for name in missing)} trước khi gửi",
            code="REPORT_INCOMPLETE",
            field=missing[0],
        )
    row.figures = await compute_figures(session, province_id, row.agency_id, row.year)
    now = utcnow()
    _move(row, who, target, now, "")
    row.submitted_at = now
    return await record(session, row, who.subject, f"yearly_report.{target.value}")


# -- the province's side ------------------------------------------------------------------------


def _require_province(who: Principal) -> None:
    if not who.has_role(Role.province_admin, Role.national_admin):
        raise Forbidden(
            "Only the province's administrators (the DOST) return or accept a report",
            "Chỉ quản trị tỉnh (Sở KH&CN) được trả lại hoặc chấp nhận báo cáo",
        )


async def return_for_revision(
    session: AsyncSession, who: Principal, province_id: int, row_id: int, comment: str
) -> YearlyReport:
    _require_province(who)
    row = await get_in_scope(session, YearlyReport, province_id, row_id, "báo cáo năm")
    comment = (comment or "").strip()
    if ReportStatus(row.status) not in WITH_PROVINCE:
        raise invalid_transition("yearly report", row.status, ReportStatus.returned)
    if not comment:
        raise DomainError(
            "comment: say what to revise", "comment: cần ghi nội dung phải sửa", field="comment"
        )
    _move(row, who, ReportStatus.returned, utcnow(), comment[:PART_LENGTH])
    return await record(session, row, who.subject, "yearly_report.returned", {"comment": comment})


async def accept(
    session: AsyncSession, who: Principal, province_id: int, row_id: int, comment: str = ""
) -> YearlyReport:
    _require_province(who)
    row = await get_in_scope(session, YearlyReport, province_id, row_id, "báo cáo năm")
    if ReportStatus(row.status) not in WITH_PROVINCE:
        raise invalid_transition("yearly report", row.status, ReportStatus.accepted)
    now = utcnow()
    _move(row, who, ReportStatus.accepted, now, (comment or "").strip()[:PART_LENGTH])
    row.accepted_at = now
    return await record(session, row, who.subject, "yearly_report.accepted")


def _move(
    row: YearlyReport, who: Principal, target: ReportStatus, now: dt.datetime, note: str
) -> None:
    row.history = [
        *row.history,
        {"action": target.value, "by": who.subject, "at": now.isoformat(), "comment": note},
    ]
    row.status, row.updated_by, row.updated_at = target, who.subject, now


# -- eiso's part: the figures -------------------------------------------------------------------


async def compute_figures(
    session: AsyncSession, province_id: int, agency_id: int, year: int
) -> dict[str, Any]:
    """The numbers and dates of the agency's year, from its own records."""
    period = figures.Period.of(year=year)
    narrow = figures.Filter(province_id=province_id, agency_id=agency_id)
    scope = TenantScope.agencies([agency_id], [province_id])
    (row,) = await figures.figures(session, scope, period, figures.Group.nation, narrow)
    start, end = period.bounds()
    nc = Nonconformity
    raised, still_open = (
        await session.execute(
            select(
                func.sum(case((col(nc.raised_at) >= start, 1), else_=0)),
                func.sum(case((col(nc.status) != NcStatus.closed.value, 1), else_=0)),
            ).where(
                col(nc.province_id) == province_id,
                col(nc.agency_id) == agency_id,
                col(nc.raised_at) < end,
            )
        )
    ).one()
    audits = await _days(session, AuditPlan, col(AuditPlan.date), province_id, agency_id, period)
    reviews = await _days(
        session, ManagementReview, col(ManagementReview.held_on), province_id, agency_id, period
    )
    return {
        "figures": annual_report.figures_dict(row),
        "nonconformities": {"raised": int(raised or 0), "open": int(still_open or 0)},
        "internalAudits": audits,
        "managementReviews": reviews,
    }


async def _days(
    session: AsyncSession,
    model: type[TenantOwned],
    day: Any,
    province_id: int,
    agency_id: int,
    period: figures.Period,
) -> list[str]:
    """The agency's dates of `model` (an audit plan, a review) in the period, in order."""
    rows = await session.execute(
        select(day)
        .where(
            col(model.province_id) == province_id,
            col(model.agency_id) == agency_id,
            day >= period.start,
            day <= period.last_day,
        )
        .order_by(day)
    )
    return [found.isoformat() for (found,) in rows]


# -- the province at a glance -------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class BoardLine:
    """One agency on the status board: plain values read as rows, not ORM objects (the
    board of a province of a few hundred agencies is read often; issue 20's benchmark). Not
    frozen: a frozen dataclass sets each field through `object.__setattr__`, which made
    building a board's 250 lines cost more than reading its rows."""

    province_id: int
    agency_id: int
    agency_code: str
    agency_name: str
    report_id: int | None  # None: not started
    report_status: str | None
    submitted_at: dt.datetime | None
    accepted_at: dt.datetime | None
    reminders: tuple[str, ...]  # the kinds recorded, oldest first
    due_on: dt.date

    @property
    def status(self) -> str:
        return self.report_status if self.report_status is not None else NOT_STARTED

    @property
    def sent(self) -> bool:
        return self.report_status is not None and ReportStatus(self.report_status) in SENT

    def overdue(self, today: dt.date) -> bool:
        return not self.sent and today > self.due_on

    def as_dict(self, today: dt.date) -> dict[str, Any]:
        return {
            "agency": self.agency_code,
            "name": self.agency_name,
            "status": self.status,
            "dueOn": self.due_on.isoformat(),
            "overdue": self.overdue(today),
            "submittedAt": self.submitted_at.isoformat() if self.submitted_at else None,
            "acceptedAt": self.accepted_at.isoformat() if self.accepted_at else None,
            "reminders": list(self.reminders),
        }


@functools.lru_cache(maxsize=16)
def _board_statement(kind: ScopeKind, provinces: bool, some_agencies: bool) -> Select:
    """Each active agency of a province with its report of the year, if any (an outer join),
    and the province's due day (a subquery run once: month * 100 + day, none for the default);
    by code. The scope of the session's kind written in (`bound_agencies`, `bound_scope`: what
    its criteria would add), to run on the session's Core connection; `some_agencies`: only the
    agencies `agency_ids` too. Built once per shape (bind parameters `province_id`, `year`,
    `agency_ids` and the scope's ids): building it costs more than running it."""
    report, setting = YearlyReport, YearlyReportSetting
    province_id = bindparam("province_id", type_=BigInteger)
    due_day = (
        select(col(setting.due_month) * 100 + col(setting.due_day))
        .where(col(setting.province_id) == province_id)
        .scalar_subquery()
    )
    joined = [
        tenant_join(Agency.id, report.agency_id),
        col(report.year) == bindparam("year"),
    ]
    where = [
        col(Agency.province_id) == province_id,
        col(Agency.status) == TenantStatus.active.value,
    ]
    own_reports = bound_scope(report, kind, provinces=provinces)
    own_agencies = bound_agencies(kind, provinces=provinces)
    if own_reports is not None and own_agencies is not None:  # not the nation
        joined.append(own_reports)
        where.append(own_agencies)
    if some_agencies:
        where.append(col(Agency.id).in_(bindparam("agency_ids", expanding=True)))
    return (
        select(  # type: ignore[call-overload]
            col(Agency.province_id),
            col(Agency.id),
            col(Agency.code),
            col(Agency.name),
            col(report.id),
            col(report.status),
            # read as the driver gives them (`board_lines` makes SQLite's aware), not through
            # sqlmodel's UTCDateTime (0.4 ms a board: docs/benchmarks.md, issue 20)
            type_coerce(col(report.submitted_at), DateTime(timezone=True)),
            type_coerce(col(report.accepted_at), DateTime(timezone=True)),
            col(report.reminders),
            due_day,
        )
        .select_from(Agency)
        .outerjoin(report, and_(*joined))
        .where(*where)
        .order_by(col(Agency.code))
    )


async def board(
    session: AsyncSession, scope: TenantScope, province_id: int, year: int
) -> list[BoardLine]:
    """Every active agency of the province in the caller's scope with its report of `year`
    (none: not started), by code, in one statement read as Core rows on the session's
    connection (`_board_statement`, one round trip, no ORM execution). The statement carries
    the session's scope (as its criteria would; row-level security applies as everywhere);
    `scope`, when it is another agency scope, narrows it to its agencies."""
    own = scope_of(session.sync_session)
    some = scope.kind == "agencies" and scope != own
    params: dict[str, Any] = {"province_id": province_id, "year": year, **scope_params(own)}
    if some:
        params["agency_ids"] = sorted(scope.agency_ids)
    statement = _board_statement(own.kind, bool(own.province_ids), some)
    return board_lines(await core_rows(session, statement, params), year)


def board_lines(rows: Iterable[Sequence[Any]], year: int) -> list[BoardLine]:
    """The board's lines from its statement's rows (`_board_statement`'s columns). The times
    in UTC: PostgreSQL's driver gives them so, SQLite's without a zone (stored in UTC)."""
    due: dict[int | None, dt.date] = {}
    lines = []
    for province, agency, code, name, rid, status, sent, accepted, reminders, day in rows:
        due_on = due.get(day)
        if due_on is None:
            limit = Deadline() if day is None else Deadline(day // 100, day % 100)
            due_on = due[day] = limit.due_on(year)
        if sent is not None and sent.tzinfo is None:
            sent = sent.replace(tzinfo=dt.UTC)
        if accepted is not None and accepted.tzinfo is None:
            accepted = accepted.replace(tzinfo=dt.UTC)
        lines.append(
            BoardLine(
                province,
                agency,
                code,
                name,
                rid,
                status,
                sent,
                accepted,
                tuple(r["kind"] for r in reminders) if reminders else (),
                due_on,
            )
        )
    return lines


async def _reports(
    session: AsyncSession, province_id: int, lines: list[BoardLine]
) -> dict[int, YearlyReport]:
    """The report rows (ORM objects, to read in full or change) of these board lines."""
    ids = [line.report_id for line in lines if line.report_id is not None]
    if not ids:
        return {}
    found = await session.execute(
        select(YearlyReport).where(
            col(YearlyReport.province_id) == province_id, col(YearlyReport.id).in_(ids)
        )
    )
    return {row.id: row for row in found.scalars()}


async def compile_province(
    session: AsyncSession, scope: TenantScope, province_id: int, year: int
) -> dict[str, Any]:
    """The province's report for the People's Committee and the Ministry: the accepted
    agencies' figures summed, their written parts, and the agencies still missing."""
    province = await session.get(Province, province_id)
    if province is None:
        raise NotFound("no such province", "không tìm thấy tỉnh")
    lines = await board(session, scope, province_id, year)
    accepted = [line for line in lines if line.status == ReportStatus.accepted.value]
    rows = await _reports(session, province_id, accepted)
    reports = [(line, rows[line.report_id]) for line in accepted if line.report_id in rows]
    totals: dict[str, int] = dict.fromkeys(COUNTED, 0)
    for _, report in reports:
        for key in COUNTED:
            totals[key] += int(report.figures.get("figures", {}).get(key) or 0)
    return {
        "province": {"code": province.code, "name": province.name},
        "year": year,
        "agencies": len(lines),
        "accepted": [
            {
                "agency": line.agency_code,
                "name": line.agency_name,
                **{part: getattr(report, part) for part in PARTS},
                **report.figures,
            }
            for line, report in reports
        ],
        "missing": [
            {"agency": line.agency_code, "name": line.agency_name, "status": line.status}
            for line in lines
            if line.status != ReportStatus.accepted.value
        ],
        "totals": totals,
    }


# The counts summed over the province (rates and means are not summed).
COUNTED = ("received", "finished", "onTime", "late", "backlog", "ratingCount", "satisfied")


# -- reminders ----------------------------------------------------------------------------------


async def sweep_reminders(
    session: AsyncSession, today: dt.date, actor: str = "eiso"
) -> dict[str, int]:
    """Record a "due_soon" reminder from the province's warning day and an "overdue" one after
    the due day on every report of `today.year` not yet sent, opening a draft where an active
    agency has none. Idempotent: each kind is recorded once per report. Run with a nation
    scope."""
    year = today.year
    checked = reminded = 0
    provinces = await session.execute(
        select(col(Province.id)).where(col(Province.status) == TenantStatus.active.value)
    )
    for province_id in [found for (found,) in provinces.all() if found is not None]:
        limit = await deadline(session, province_id)
        if today < limit.remind_from(year):
            continue
        kind = "overdue" if today > limit.due_on(year) else "due_soon"
        lines = await board(session, TenantScope.nation(), province_id, year)
        checked += len(lines)
        due = [line for line in lines if not line.sent and kind not in line.reminders]
        rows = await _reports(session, province_id, due)
        for line in due:
            report = rows.get(line.report_id)  # type: ignore[arg-type]
            if report is None:
                report = YearlyReport(
                    province_id=province_id,
                    agency_id=line.agency_id,
                    year=year,
                    updated_by=actor,
                )
            report.reminders = [
                *report.reminders,
                {"kind": kind, "on": today.isoformat(), "dueOn": limit.due_on(year).isoformat()},
            ]
            await record(session, report, actor, f"yearly_report.reminder.{kind}")
            reminded += 1
    return {"checked": checked, "reminded": reminded}
