"""Counting rules as data (issue 17): the unit a procedure counts its time limit in, its
optional cut-off, the clock stops and the extensions, and `due`, which turns them into an
appointment on a `WorkingCalendar`. Pure: no I/O. The worked examples are in
docs/working-days.md and tests/test_counting.py.

Units:
- `working_days`: office close of the n-th working day after the day the count starts;
- `working_hours`: n hours of office time from the start;
- `same_working_day`: office close of the day the count starts (the civil status "trong
  ngày"): received Tue 09:00 → Tue 17:00;
- `calendar_days`: the Civil Code (Bộ luật Dân sự 2015, arts. 147-148): the count starts the
  day after receipt, the period ends at the end of its last day, and a last day that is a rest
  day moves the end to the close of the next working day. eiso ends a day at office close,
  so an appointment is always inside working time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Literal, get_args

from eiso.core.workdays.working_calendar import VN_TZ, WorkingCalendar

Unit = Literal["working_days", "working_hours", "same_working_day", "calendar_days"]
UNITS: tuple[str, ...] = get_args(Unit)
# Before core API 1.3 a module said "days" for calendar days (then added as 24-hour blocks).
LEGACY_UNITS = {"days": "calendar_days"}


def unit_of(name: str) -> Unit:
    """The unit named `name` (a legacy name is read as its successor)."""
    name = LEGACY_UNITS.get(name, name)
    if name not in UNITS:
        raise ValueError(f"unit: one of {', '.join(UNITS)}")
    return name  # type: ignore[return-value]  # checked against UNITS just above


_UNITS_VI = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
}


def describe_vi(amount: float, unit: str) -> str:
    """`8 giờ làm việc`, `3 ngày làm việc`, `15 ngày`, `trong ngày làm việc`."""
    unit = LEGACY_UNITS.get(unit, unit)
    if unit == "same_working_day":
        return "trong ngày làm việc"
    return f"{amount:g} {_UNITS_VI.get(unit, unit)}"


@dataclasses.dataclass(frozen=True)
class Rule:
    """A time limit: `amount` of `unit`; `cutoff` only where the procedure declares one
    (received at or after it, the count starts the next working day)."""

    unit: Unit
    amount: float
    cutoff: dt.time | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", unit_of(self.unit))
        if self.amount < 0:
            raise ValueError("amount must be >= 0")


@dataclasses.dataclass(frozen=True)
class Extension:
    """A lawful extension recorded on a dossier: `amount` more of `unit` after the deadline."""

    unit: Unit
    amount: float


Pause = tuple[dt.datetime, dt.datetime | None]


def _receipt_day(calendar: WorkingCalendar, received_at: dt.datetime, rule: Rule) -> dt.date:
    """The day a calendar-day count is received on: the day itself, or with a cut-off and a
    dossier received at or after it (or on a rest day), the next working day."""
    if rule.cutoff is None:
        return received_at.astimezone(VN_TZ).date()
    return calendar.counting_start(received_at, rule.cutoff).date()


def _add(calendar: WorkingCalendar, start: dt.datetime, unit: Unit, amount: float) -> dt.datetime:
    """`amount` of `unit` counted from `start` (a counting start, or a deadline extended)."""
    if unit == "working_hours":
        return calendar.add_working_hours(start, amount)
    if unit == "calendar_days":
        return calendar.close_of(start.astimezone(VN_TZ).date() + dt.timedelta(days=int(amount)))
    return calendar.add_working_days(start, 0 if unit == "same_working_day" else int(amount))


def due(
    calendar: WorkingCalendar,
    received_at: dt.datetime,
    rule: Rule,
    *,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[Extension] = (),
) -> dt.datetime | None:
    """The appointment of a dossier received at `received_at` under `rule`, extended by each
    of `extensions`, after the clock stopped for each (stopped_at, resumed_at) interval. None
    while a stop is still open: there is no appointment while the clock stands still. A stop
    that starts after the deadline changes nothing (the dossier stays late)."""
    if rule.unit == "calendar_days":
        return _due_in_days(calendar, received_at, rule, pauses, extensions)
    start = calendar.counting_start(received_at, rule.cutoff)
    end = _add(calendar, start, rule.unit, rule.amount)
    for extension in extensions:
        end = _add(calendar, end, extension.unit, extension.amount)
    for paused_at, resumed_at in _checked(pauses):
        if resumed_at is None:
            return None
        if paused_at >= end:
            continue
        restart = calendar.counting_start(resumed_at, rule.cutoff)
        if rule.unit == "working_hours":
            left = calendar.working_time_between(paused_at, end)
            end = calendar.add_working_hours(restart, left)
        else:
            # whole working days left after the stop day; the resume day counts like a
            # receipt day
            end = calendar.add_working_days(restart, calendar.working_days_between(paused_at, end))
    return end


def _checked(pauses: Iterable[Pause]) -> list[Pause]:
    ordered = sorted(pauses, key=lambda p: p[0])
    for paused_at, resumed_at in ordered:
        if resumed_at is not None and resumed_at < paused_at:
            raise ValueError("a pause must end after it starts")
    return ordered


def _due_in_days(
    calendar: WorkingCalendar,
    received_at: dt.datetime,
    rule: Rule,
    pauses: Iterable[Pause],
    extensions: Iterable[Extension],
) -> dt.datetime | None:
    """Calendar days: the nominal last day (receipt day + amount, + the days of extensions in
    days, + the days each stop lasted) and its close, moved off a rest day; an extension in
    another unit runs from that close."""
    last = _receipt_day(calendar, received_at, rule) + dt.timedelta(days=int(rule.amount))
    others = []
    for extension in extensions:
        if extension.unit == "calendar_days":
            last += dt.timedelta(days=int(extension.amount))
        else:
            others.append(extension)
    end = _close_after(calendar, last, received_at)
    for paused_at, resumed_at in _checked(pauses):
        if resumed_at is None:
            return None
        if paused_at >= end:
            continue
        last += resumed_at.astimezone(VN_TZ).date() - paused_at.astimezone(VN_TZ).date()
        end = _close_after(calendar, last, received_at)
    for extension in others:
        end = _add(calendar, end, extension.unit, extension.amount)
    return end


def _close_after(calendar: WorkingCalendar, last: dt.date, received_at: dt.datetime) -> dt.datetime:
    """The close of `last` (moved off a rest day), never before the receipt: a count of 0 days
    for a dossier received after the close ends at the close of the next working day."""
    end = calendar.close_of(last)
    if end < received_at:
        end = calendar.close_of(received_at.astimezone(VN_TZ).date() + dt.timedelta(days=1))
    return end


def latest_apology(calendar: WorkingCalendar, deadline: dt.datetime) -> dt.datetime:
    """The last moment the apology slip is on time: the close of the working day before the
    deadline's day ("chậm nhất 01 ngày trước ngày hết hạn", Decree 61/2018/NĐ-CP art. 19)."""
    previous = deadline.astimezone(VN_TZ).date() - dt.timedelta(days=1)
    while not calendar.is_working_day(previous):
        previous -= dt.timedelta(days=1)
    return calendar.close_of(previous)
