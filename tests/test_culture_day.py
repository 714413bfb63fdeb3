"""24 November (Ngày Văn hóa Việt Nam) is a day off from 2026: the pinned `holidays` package
knows it, and the 2026 announcements carry it with its source."""

from __future__ import annotations

import datetime as dt

import holidays

from eiso.core.workdays import WorkingCalendar
from eiso.core.workdays.overrides import ANNOUNCED_2026, OverrideKind

CULTURE_DAY = dt.date(2026, 11, 24)


def test_the_package_knows_culture_day_from_2026():
    assert CULTURE_DAY in holidays.VN(years=2026)
    assert dt.date(2025, 11, 24) not in holidays.VN(years=2025)
    assert not WorkingCalendar().is_working_day(CULTURE_DAY)  # a Tuesday


def test_the_2026_announcements_carry_it_with_its_source():
    [(kind, reason)] = [(k, r) for d, k, r in ANNOUNCED_2026 if d == CULTURE_DAY]
    assert kind is OverrideKind.day_off
    assert "Ngày Văn hóa Việt Nam" in reason and "30/NQ-CP" in reason


def test_a_one_day_limit_steps_over_it():
    # Monday 23 November 2026, 9:00, 1 working day: Tuesday 24 is off → Wednesday 25, 17:00.
    cal = WorkingCalendar()
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert cal.add_working_days(start, 1).date() == dt.date(2026, 11, 25)
