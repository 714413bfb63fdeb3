"""Figures of service provision (ISO 9001 clauses 9.1.1 and 9.1.2) per nation, province,
agency or procedure and period, computed by the database with grouped aggregates.

`figures` reads the dossier numbers from the rollups kept with every move (core/qms/rollups.py,
issue 23); with `from_rows` it computes the same numbers from the dossier rows (what the
rollups are rebuilt from and tested against). There no dossier is loaded into Python: four aggregate
statements, each served by an index on the dossiers table (migration 0610_figures), give one
row per group:

- received in the period: `received_at` in [start, end), status not "new" or "not received";
  and, of them, those filed online (a semi-join on the dossier events: Decision 766);
- finished (resolved: processed or returned) in the period, by `finished_at`, with their
  on-time flag, handling time in working days (mean, p90) and the citizens' ratings;
- the backlog: received before the period's end and not finished by then (`finished_at`
  null or later), and how much of it was overdue at the end.

The engine stamps `finished_at`, `handling_days` and `on_time` when a dossier first finishes
(core/dossiers/engine.py), so no calendar arithmetic happens here. Each number is a predicate
(`predicate(metric, period)`), and `dossiers_behind` lists the dossiers that make it up.
"""

from __future__ import annotations

import calendar as month_calendar
import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any, SupportsFloat

from sqlalchemy import (
    Column,
    Float,
    Integer,
    Row,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement

from eiso.core.dossiers.models import Dossier, DossierEventRow
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.core.feedback import counts as feedback_counts
from eiso.core.workdays import VN_TZ
from eiso.infra.tables import table_of
from eiso.tenants.scope import TenantScope

DOSSIERS = table_of(Dossier)
T = DOSSIERS.c
EVENTS = table_of(DossierEventRow)
ONLINE_ACTION = "registered"  # the first event of a dossier filed online
NEVER_RECEIVED = (int(Status.new), int(Status.not_received))
RESOLVED = (int(Status.processed), int(Status.returned))
SATISFIED_FROM = 4  # ratings are 1-5; 4 and 5 count as satisfied
P90 = 0.9

# A group's key: its values of the key columns, whose types depend on the group: () for the
# nation, (province_id,), (province_id, agency_id) or (procedure_code,).
Key = tuple[Any, ...]
Keys = tuple[Column[Any], ...]
Conditions = Sequence[ColumnElement[bool]]
Statement = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]


Group = enum.StrEnum("Group", "nation province agency procedure")


# The numbers that name a set of dossiers (figureDossiers lists each).
Metric = enum.StrEnum(
    "Metric",
    "received finished on_time finished_late backlog backlog_late late rated satisfied",
)


_FIRST_DAY = dt.date(1900, 1, 1)


def _bad_period(message: str, message_vi: str) -> DomainError:
    return DomainError(message, message_vi, code="BAD_PERIOD", field="period")


@dataclasses.dataclass(frozen=True)
class Period:
    """Local (Vietnam) calendar days [start, end); `end` exclusive."""

    start: dt.date
    end: dt.date

    @classmethod
    def of(
        cls,
        year: int | None = None,
        quarter: int | None = None,
        month: int | None = None,
        start: dt.date | None = None,
        to: dt.date | None = None,
    ) -> Period:
        """A year, a quarter or a month of a year, or the days `start`..`to` (both included)."""
        if start is not None or to is not None:
            if (
                year is not None
                or quarter is not None
                or month is not None
                or start is None
                or to is None
            ):
                raise _bad_period(
                    "period: give a year (with a quarter or a month), or from and to",
                    "kỳ báo cáo: chọn năm (kèm quý hoặc tháng), hoặc từ ngày đến ngày",
                )
            if not (start >= _FIRST_DAY and to < dt.date.max):  # `end` is the day after `to`
                raise _bad_period(
                    "period: days from 1900-01-01 to 9999-12-30",
                    "kỳ báo cáo: ngày từ 01/01/1900 đến 30/12/9999",
                )
            if to < start:
                raise _bad_period(
                    "period: 'to' is before 'from'", "kỳ báo cáo: ngày kết thúc trước ngày bắt đầu"
                )
            return cls(start, to + dt.timedelta(days=1))
        if year is None or not 1900 <= year <= 9999:
            raise _bad_period("period: a year is required", "kỳ báo cáo: cần chọn năm")
        if quarter is not None and month is not None:
            raise _bad_period(
                "period: a quarter or a month, not both",
                "kỳ báo cáo: chọn quý hoặc tháng, không cả hai",
            )
        if quarter is not None:
            if not 1 <= quarter <= 4:
                raise _bad_period("period: quarter must be 1-4", "kỳ báo cáo: quý từ 1 đến 4")
            first = dt.date(year, 3 * quarter - 2, 1)
            return cls(first, _add_months(first, 3))
        if month is not None:
            if not 1 <= month <= 12:
                raise _bad_period("period: month must be 1-12", "kỳ báo cáo: tháng từ 1 đến 12")
            first = dt.date(year, month, 1)
            return cls(first, _add_months(first, 1))
        return cls(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Local midnights, in UTC (what the engine stores)."""
        return _utc_midnight(self.start), _utc_midnight(self.end)

    def is_over(self, now: dt.datetime) -> bool:
        return now >= self.bounds()[1]

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.last_day.isoformat()}"


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), VN_TZ).astimezone(dt.UTC)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


# -- predicates ---------------------------------------------------------------------------------


def _accepted() -> ColumnElement[bool]:
    """Received at the counter or accepted online: such a dossier has an appointment. Not one
    refused, or withdrawn or waiting for a supplement before acceptance (statuses 7, 5)."""
    return and_(T.status.not_in(NEVER_RECEIVED), T.appointment_at.is_not(None))


def _received(period: Period) -> ColumnElement[bool]:
    start, end = period.bounds()
    return and_(T.received_at >= start, T.received_at < end, _accepted())


def _finished(period: Period) -> ColumnElement[bool]:
    start, end = period.bounds()
    return and_(T.finished_at >= start, T.finished_at < end, T.status.in_(RESOLVED))


def _backlog(period: Period) -> ColumnElement[bool]:
    _, end = period.bounds()
    return and_(
        T.received_at < end,
        _accepted(),
        or_(T.finished_at.is_(None), T.finished_at >= end),
    )


def _late_at_end(period: Period) -> ColumnElement[bool]:
    """Overdue at the period's end: an apology had already replaced a missed appointment, or
    the appointment had passed and the clock was not stopped (a supplement, a status or step
    the procedure names: `paused_at`)."""
    _, end = period.bounds()
    paused = and_(T.paused_at.is_not(None), T.paused_at <= end)  # NULL would poison not_()
    return or_(
        and_(T.late_since.is_not(None), T.late_since < end),
        and_(T.appointment_at.is_not(None), T.appointment_at < end, not_(paused)),
    )


def _on_time() -> ColumnElement[bool]:
    return T.on_time.is_(true())


def _not_on_time() -> ColumnElement[bool]:
    return or_(T.on_time.is_(None), T.on_time.is_(false()))


def predicate(metric: Metric, period: Period) -> ColumnElement[bool]:
    """The SQL condition that picks the dossiers behind `metric` in `period`."""
    metric = Metric(metric)
    if metric is Metric.received:
        return _received(period)
    if metric is Metric.backlog:
        return _backlog(period)
    if metric is Metric.backlog_late:
        return and_(_backlog(period), _late_at_end(period))
    if metric is Metric.late:
        return or_(
            and_(_finished(period), _not_on_time()), and_(_backlog(period), _late_at_end(period))
        )
    extra = {
        Metric.finished: true(),
        Metric.on_time: _on_time(),
        Metric.finished_late: _not_on_time(),
        Metric.rated: T.rating.is_not(None),
        Metric.satisfied: T.rating >= SATISFIED_FROM,
    }[metric]
    return and_(_finished(period), extra)


def scope_filter(
    scope: TenantScope, columns: ReadOnlyColumnCollection[str, Column[Any]] = T
) -> ColumnElement[bool]:
    """The caller's tenant scope as a plain condition on a tenant table's columns (the dossiers'
    by default): these statements are Core, so the ORM's automatic criteria do not apply
    (row-level security still does on PostgreSQL)."""
    if scope.kind == "nation":
        return true()
    if scope.kind == "province":
        return columns.province_id.in_(sorted(scope.province_ids))
    return columns.agency_id.in_(sorted(scope.agency_ids))


@dataclasses.dataclass(frozen=True)
class Filter:
    """Narrower than the caller's scope: one province, one agency, one procedure."""

    province_id: int | None = None
    agency_id: int | None = None
    procedure_code: str | None = None

    def where(
        self, columns: ReadOnlyColumnCollection[str, Column[Any]] = T
    ) -> list[ColumnElement[bool]]:
        """The conditions on a table with these three columns (the dossiers' by default)."""
        conditions: list[ColumnElement[bool]] = []
        if self.province_id is not None:
            conditions.append(columns.province_id == self.province_id)
        if self.agency_id is not None:
            conditions.append(columns.agency_id == self.agency_id)
        if self.procedure_code is not None:
            conditions.append(columns.procedure_code == self.procedure_code)
        return conditions


# -- aggregates ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Figures:
    key: Key = ()
    received: int = 0
    received_online: int = 0  # of them, filed online (Decision 766's online services)
    finished: int = 0
    on_time: int = 0
    finished_late: int = 0
    backlog: int = 0
    backlog_late: int = 0
    mean_days: float | None = None
    p90_days: float | None = None
    rating_count: int = 0
    rating_mean: float | None = None
    satisfied: int = 0
    # Citizens' feedback and petitions (core/feedback/counts.py): answered in the period (on
    # time, rated, rated satisfied), and open past their deadline at its end.
    feedback_received: int = 0
    feedback_answered: int = 0
    feedback_on_time: int = 0
    feedback_overdue: int = 0
    feedback_rated: int = 0
    feedback_satisfied: int = 0

    @property
    def late(self) -> int:
        return self.finished_late + self.backlog_late

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.finished if self.finished else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rating_count if self.rating_count else None

    def value(self, name: str) -> float | None:
        """A metric by name, for objectives: counts, rates and the handling times."""
        return getattr(self, name)


KEY_COLUMNS: dict[Group, Keys] = {
    Group.nation: (),
    Group.province: (T.province_id,),
    Group.agency: (T.province_id, T.agency_id),
    Group.procedure: (T.procedure_code,),
}


def online_statement(keys: Keys, where: Conditions, period: Period) -> Statement:
    """Of the dossiers received, those filed online: their timeline starts with "registered"
    (core/dossiers/engine.py), a dossier taken at the counter with "received". A statement of
    its own (a semi-join on the events), so the received count keeps its index-only scan."""
    online = select(EVENTS.c.province_id, EVENTS.c.dossier_id).where(
        EVENTS.c.action == ONLINE_ACTION
    )
    return (
        select(*keys, func.count().label("online"))
        .where(*where, _received(period), tuple_(T.province_id, T.id).in_(online))
        .group_by(*keys)
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(condition)  # FILTER: PostgreSQL, and SQLite since 3.30


def received_statement(keys: Keys, where: Conditions, period: Period) -> Statement:
    return (
        select(*keys, func.count().label("received"))
        .where(*where, _received(period))
        .group_by(*keys)
    )


def finished_statement(keys: Keys, where: Conditions, period: Period, postgres: bool) -> Statement:
    columns = [
        func.count().label("finished"),
        _count(_on_time()).label("on_time"),
        func.avg(T.handling_days).label("mean_days"),
        func.count(T.rating).label("rating_count"),
        func.avg(cast(T.rating, Float)).label("rating_mean"),
        _count(T.rating >= SATISFIED_FROM).label("satisfied"),
    ]
    if postgres:
        columns.append(func.percentile_cont(P90).within_group(T.handling_days).label("p90_days"))
    return select(*keys, *columns).where(*where, _finished(period)).group_by(*keys)


def backlog_statement(keys: Keys, where: Conditions, period: Period) -> Statement:
    return (
        select(
            *keys, func.count().label("backlog"), _count(_late_at_end(period)).label("backlog_late")
        )
        .where(*where, _backlog(period))
        .group_by(*keys)
    )


def p90_statement(keys: Keys, where: Conditions, period: Period) -> Statement:
    """percentile_cont(0.9) without the function (SQLite): rank the handling times per group,
    then interpolate between the two ranks around 0.9 × (n - 1), still inside the database."""
    ranked = (
        select(
            *keys,
            T.handling_days.label("v"),
            func.row_number().over(partition_by=keys or None, order_by=T.handling_days).label("rn"),
            func.count().over(partition_by=keys or None).label("n"),
        )
        .where(*where, _finished(period), T.handling_days.is_not(None))
        .subquery()
    )
    position = literal(P90) * (ranked.c.n - 1)
    low = cast(position, Integer)  # truncation is floor for position >= 0
    weight = case(
        (ranked.c.rn - 1 == low, 1 - (position - low)),
        (ranked.c.rn - 2 == low, position - low),
        else_=0,
    )
    group = [ranked.c[key.name] for key in keys]
    return select(*group, func.sum(ranked.c.v * weight).label("p90_days")).group_by(*group)


async def figures(
    session: AsyncSession,
    scope: TenantScope,
    period: Period,
    group: Group = Group.nation,
    narrow: Filter = Filter(),
    *,
    from_rows: bool = False,
) -> list[Figures]:
    """One `Figures` per group (sorted by key): the dossier numbers from the rollups
    (core/qms/rollups.py), or `from_rows` computed from the dossier rows (what the rollups
    are rebuilt from and checked against: tests/test_rollups.py); the feedback counts from
    their rows."""
    (rows,) = await figures_of_periods(session, scope, [period], group, narrow, from_rows=from_rows)
    return rows


async def figures_of_periods(
    session: AsyncSession,
    scope: TenantScope,
    periods: Sequence[Period],
    group: Group = Group.nation,
    narrow: Filter = Filter(),
    *,
    from_rows: bool = False,
) -> list[list[Figures]]:
    """`figures` of each of `periods` (a dashboard's twelve months): from the rollups, three
    statements whatever the number of periods (the counters, the p90's buckets, the
    feedback)."""
    from eiso.core.qms import rollups  # it builds on this module

    periods = list(periods)
    if from_rows:
        found = [await _from_rows(session, scope, p, group, narrow) for p in periods]
    else:
        found = await rollups.read_many(session, scope, periods, group, narrow)
    await _add_feedback(session, found, scope, periods, group, narrow)
    grouped = bool(KEY_COLUMNS[Group(group)])
    return [_sorted(rows, grouped) for rows in found]


async def figures_and_total(
    session: AsyncSession,
    scope: TenantScope,
    period: Period,
    group: Group,
    narrow: Filter = Filter(),
) -> tuple[list[Figures], Figures]:
    """`figures` by `group` and, as by `Group.nation`, of all of them together: from the
    rollups in the same statements (the yearly report's rows and its total)."""
    from eiso.core.qms import rollups  # it builds on this module

    (found,) = await rollups.read_many(session, scope, [period], group, narrow, total=True)
    whole = {(): found.pop((), Figures())}
    await _add_feedback(session, [found], scope, [period], group, narrow)
    await _add_feedback(session, [whole], scope, [period], Group.nation, narrow)
    return _sorted(found, True), whole[()]


async def _from_rows(
    session: AsyncSession, scope: TenantScope, period: Period, group: Group, narrow: Filter
) -> dict[Key, Figures]:
    keys = KEY_COLUMNS[Group(group)]
    where = [scope_filter(scope), *narrow.where()]
    postgres = session.get_bind().dialect.name == "postgresql"
    rows: dict[Key, Figures] = {}

    def row(result_row: AnyRow) -> Figures:
        key = tuple(result_row[: len(keys)])
        return rows.setdefault(key, Figures(key=key))

    for r in await session.execute(received_statement(keys, where, period)):
        row(r).received = r.received
    for r in await session.execute(online_statement(keys, where, period)):
        row(r).received_online = r.online
    for r in await session.execute(finished_statement(keys, where, period, postgres)):
        got = row(r)
        got.finished, got.on_time = r.finished, int(r.on_time)
        got.finished_late = got.finished - got.on_time
        got.mean_days = rounded(r.mean_days)
        got.rating_count, got.rating_mean, got.satisfied = (
            r.rating_count,
            rounded(r.rating_mean),
            int(r.satisfied),
        )
        if postgres:
            got.p90_days = rounded(r.p90_days)
    if not postgres:
        for r in await session.execute(p90_statement(keys, where, period)):
            row(r).p90_days = rounded(r.p90_days)
    for r in await session.execute(backlog_statement(keys, where, period)):
        got = row(r)
        got.backlog, got.backlog_late = r.backlog, int(r.backlog_late)
    return rows


async def _add_feedback(
    session: AsyncSession,
    found: list[dict[Key, Figures]],
    scope: TenantScope,
    periods: list[Period],
    group: Group,
    narrow: Filter,
) -> None:
    """The feedback counts of every period, in one statement (the period's index first)."""
    statements = [
        _feedback_statement(scope, period, group, narrow).add_columns(
            literal(i, Integer).label("period")
        )
        for i, period in enumerate(periods)
    ]
    n = len(KEY_COLUMNS[Group(group)])
    statement = statements[0] if len(statements) == 1 else union_all(*statements)
    for r in await session.execute(statement):
        key = tuple(r[:n])
        got = found[r.period].setdefault(key, Figures(key=key))
        got.feedback_received, got.feedback_answered = r.received, r.answered
        got.feedback_on_time, got.feedback_overdue = r.on_time, r.overdue
        got.feedback_rated, got.feedback_satisfied = r.rated, r.satisfied


def _sorted(rows: dict[Key, Figures], grouped: bool) -> list[Figures]:
    if not grouped and not rows:
        rows[()] = Figures()
    return [
        rows[key] for key in sorted(rows, key=lambda k: tuple("" if v is None else v for v in k))
    ]


def _feedback_statement(
    scope: TenantScope, period: Period, group: Group, narrow: Filter
) -> Statement:
    """The feedback counts grouped like the dossiers (by procedure: the feedback about one)."""
    columns = feedback_counts.F
    where = [scope_filter(scope, columns), *narrow.where(columns)]
    if group == Group.procedure:
        where.append(columns.procedure_code.is_not(None))
    names = [key.name for key in KEY_COLUMNS[Group(group)]]
    return feedback_counts.statement(names, where, *period.bounds())


def rounded(value: SupportsFloat | None) -> float | None:
    return None if value is None else round(float(value), 4)


async def dossiers_behind(
    session: AsyncSession,
    scope: TenantScope,
    metric: Metric,
    period: Period,
    narrow: Filter = Filter(),
    first: int = 50,
    after: tuple[int, int] | None = None,
    backward: bool = False,
    count: bool = True,
) -> tuple[int, Sequence[AnyRow]]:
    """The dossiers that make up one number: (how many, counted only when `count`, 0
    otherwise; one page of them by (province_id, id), `first + 1` rows to tell whether more
    follow). `backward`: the rows before `after`, the nearest first (the caller turns them
    round)."""
    where = [scope_filter(scope), *narrow.where(), predicate(metric, period)]
    total = (
        (
            await session.execute(select(func.count()).select_from(DOSSIERS).where(*where))
        ).scalar_one()
        if count
        else 0
    )
    statement = select(
        T.province_id,
        T.id,
        T.agency_id,
        T.code,
        T.procedure_code,
        T.status,
        T.received_at,
        T.appointment_at,
        T.finished_at,
        T.handling_days,
        T.on_time,
        T.rating,
    ).where(*where)
    key = tuple_(T.province_id, T.id)
    if after is not None:
        statement = statement.where(key < tuple_(*after) if backward else key > tuple_(*after))
    order = (T.province_id.desc(), T.id.desc()) if backward else (T.province_id, T.id)
    rows = (await session.execute(statement.order_by(*order).limit(first + 1))).all()
    return total, rows
