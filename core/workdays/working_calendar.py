"""`WorkingCalendar`: Monday–Friday, minus Vietnam's public holidays from the `holidays`
package (Tết included, with the substituted days and make-up Saturdays it knows), then the
national overrides, which always win. Pure: no I/O; `overrides.load_calendar` builds one.

Counting rules (see docs/working-days.md; the units are `counting.Unit`):
- a time limit in working days ends at office close of the n-th working day after the day the
  count starts; the count starts on the receipt day, or on the next working day when the
  dossier arrives on a non-working day, after office close or, only for a procedure that
  declares one, after its cut-off ("same working day" = 0 working days);
- a limit in working hours runs only inside office hours;
- a limit in (calendar) days follows the Civil Code (arts. 147-148): the count starts the day
  after receipt, and an end on a rest day moves to the close of the next working day;
- a clock stop (a supplement request, a status or step the procedure names) stops the clock;
  when it ends the remaining time runs again from that moment (which counts like a new
  receipt, cut-off included).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping

import holidays

from eiso.core.settings import check_office_windows, office_windows

# Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset needs no tz database.
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


@dataclasses.dataclass(frozen=True)
class OfficeHours:
    """Office windows of a working day, local time. The default is the common schedule of
    Vietnamese state offices (morning 7:30–11:30, afternoon 13:30–17:00)."""

    windows: tuple[tuple[dt.time, dt.time], ...] = (
        (dt.time(7, 30), dt.time(11, 30)),
        (dt.time(13, 30), dt.time(17, 0)),
    )

    def __post_init__(self) -> None:
        check_office_windows(self.windows)

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """`"07:30-11:30,13:30-17:00"` → OfficeHours."""
        return cls(office_windows(text))

    @property
    def opening(self) -> dt.time:
        return self.windows[0][0]

    @property
    def closing(self) -> dt.time:
        return self.windows[-1][1]

    @property
    def per_day(self) -> dt.timedelta:
        return sum(
            (_on(dt.date.min, e) - _on(dt.date.min, s) for s, e in self.windows), dt.timedelta()
        )


@functools.cache
def _package_holidays(country: str) -> holidays.HolidayBase:
    """One per process: the package's rules never change while it runs, and it fills years
    lazily on lookup (expand=True), so any year works."""
    return holidays.country_holidays(country)


def _on(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, VN_TZ)


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(VN_TZ)


class WorkingCalendar:
    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        *,
        office_hours: OfficeHours | None = None,
        country: str = "VN",
    ) -> None:
        """`overrides` maps a date to True (a working day) or False (a day off). There is no
        calendar-wide cut-off: only a procedure declares one (`TimeLimit.cutoff`)."""
        self.overrides = dict(overrides or {})
        self.office_hours = office_hours or OfficeHours()
        self._holidays = _package_holidays(country)

    # -- days -------------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            day = _local(day).date()
        if day in self.overrides:
            return self.overrides[day]
        return self._holidays.is_working_day(day)

    def next_working_day(self, day: dt.date, *, include: bool = False) -> dt.date:
        """The first working day after `day` (or `day` itself when `include` and it works)."""
        if include and self.is_working_day(day):
            return day
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def working_days_between(self, a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
        """Working days d with a < d <= b (by local date); negative when b is before a."""
        a, b = (_local(x).date() if isinstance(x, dt.datetime) else x for x in (a, b))
        if b < a:
            return -self.working_days_between(b, a)
        count, day = 0, a
        while day < b:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def counting_start(
        self, received_at: dt.datetime, cutoff: dt.time | None = None
    ) -> dt.datetime:
        """When the clock starts for a dossier received at `received_at`: at once on a working
        day before office close (and before `cutoff`, when the procedure declares one), else at
        opening time of the next working day."""
        local = _local(received_at)
        last = self.office_hours.closing if cutoff is None else cutoff
        day = local.date()
        if self.is_working_day(day) and local.time() < last:
            return max(local, _on(day, self.office_hours.opening))
        return _on(self.next_working_day(day), self.office_hours.opening)

    def add_working_days(self, start: dt.datetime, n: int) -> dt.datetime:
        """Office close of the n-th working day after the day `start` falls on (moved to the
        next working day first when it is not one). n=0 is the close of that same day."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day = self.next_working_day(_local(start).date(), include=True)
        for _ in range(n):
            day = self.next_working_day(day)
        return _on(day, self.office_hours.closing)

    def close_of(self, day: dt.date) -> dt.datetime:
        """Office close of `day`, or of the next working day when `day` is a rest day."""
        return _on(self.next_working_day(day, include=True), self.office_hours.closing)

    def is_working_time(self, moment: dt.datetime) -> bool:
        """Inside an office window of a working day (its close included: the appointments
        are office closes)."""
        local = _local(moment)
        if not self.is_working_day(local.date()):
            return False
        return any(s <= local.time() <= e for s, e in self.office_hours.windows)

    # -- hours ------------------------------------------------------------------------------

    def _windows_from(self, start: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
        """Office windows from `start` on, the first one clipped to begin at `start`."""
        local = _local(start)
        day = local.date()
        while True:
            if self.is_working_day(day):
                for s, e in self.office_hours.windows:
                    begin, end = _on(day, s), _on(day, e)
                    if end > local:
                        yield max(begin, local), end
            day += dt.timedelta(days=1)

    def add_working_hours(self, start: dt.datetime, hours: float | dt.timedelta) -> dt.datetime:
        """The moment when `hours` of office time have passed since `start`."""
        left = hours if isinstance(hours, dt.timedelta) else dt.timedelta(hours=hours)
        if left < dt.timedelta(0):
            raise ValueError("hours must be >= 0")
        for begin, end in self._windows_from(start):
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Office time inside [a, b)."""
        total = dt.timedelta()
        if b <= a:
            return total
        for begin, end in self._windows_from(a):
            if begin >= b:
                break
            total += min(end, b) - begin
        return total

    # -- the one-stop-shop appointment ---------------------------------------------------------

    def appointment(
        self,
        received_at: dt.datetime,
        *,
        days: int | None = None,
        hours: float | None = None,
        cutoff: dt.time | None = None,
        pauses: Iterable[tuple[dt.datetime, dt.datetime | None]] = (),
    ) -> dt.datetime | None:
        """The appointment for a limit of `days` working days or `hours` working hours, after
        the clock stopped for each (paused_at, resumed_at) interval; None while a pause is
        open. The other units: `counting.due`."""
        from eiso.core.workdays import counting

        if (days is None) == (hours is None):
            raise ValueError("give exactly one of days or hours")
        rule = (
            counting.Rule("working_days", days, cutoff)
            if days is not None
            else counting.Rule("working_hours", hours or 0, cutoff)
        )
        return counting.due(self, received_at, rule, pauses=pauses)
