"""The working-day calendar and the one-stop-shop counting rules, on the 2026 dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eiso.core.workdays import VN_TZ, OfficeHours, WorkingCalendar
from eiso.core.workdays.overrides import (
    ANNOUNCED_2026,
    CalendarOverride,
    OverrideKind,
    load_calendar,
    missing_overrides,
    set_override,
)

CAL = WorkingCalendar()


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 1, 1),
        *[dt.date(2026, 2, d) for d in range(14, 23)],
        dt.date(2026, 4, 27),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 1),
        dt.date(2026, 8, 31),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 2),
    ],
)
def test_2026_days_off(day):
    assert not CAL.is_working_day(day)


def test_2026_make_up_saturday_and_ordinary_days():
    assert CAL.is_working_day(dt.date(2026, 8, 22))  # Saturday, make-up for 31 August
    assert not CAL.is_working_day(dt.date(2026, 8, 29))  # an ordinary Saturday
    assert CAL.is_working_day(dt.date(2026, 2, 13))  # Friday before Tết
    assert CAL.is_working_day(dt.date(2026, 2, 23))  # Monday after Tết


def test_announced_2026_all_agree_once_overrides_are_added():
    overrides = {d: k is OverrideKind.working_day for d, k, _ in missing_overrides(ANNOUNCED_2026)}
    cal = WorkingCalendar(overrides)
    for day, kind, _ in ANNOUNCED_2026:
        assert cal.is_working_day(day) is (kind is OverrideKind.working_day), day


def test_overrides_win_over_package_and_weekend():
    cal = WorkingCalendar({dt.date(2026, 3, 9): False, dt.date(2026, 3, 7): True})
    assert not cal.is_working_day(dt.date(2026, 3, 9))  # a Monday made a day off
    assert cal.is_working_day(dt.date(2026, 3, 7))  # a Saturday made a working day


def test_add_working_days_across_tet():
    # Thursday 12 Feb, 3 working days: Fri 13, then Tết (14–22), then Mon 23, Tue 24.
    assert CAL.add_working_days(at(2026, 2, 12), 3) == at(2026, 2, 24, 17, 0)
    assert CAL.working_days_between(dt.date(2026, 2, 12), dt.date(2026, 2, 24)) == 3


def test_add_working_days_across_a_weekend_and_same_day():
    assert CAL.add_working_days(at(2026, 3, 13), 1) == at(2026, 3, 16, 17, 0)  # Fri → Mon
    assert CAL.add_working_days(at(2026, 3, 13), 0) == at(2026, 3, 13, 17, 0)
    assert CAL.add_working_days(at(2026, 3, 14), 0) == at(2026, 3, 16, 17, 0)  # Saturday


def test_add_working_days_uses_the_make_up_saturday():
    # Thu 20 Aug + 2: Fri 21, Sat 22 (make-up working day).
    assert CAL.add_working_days(at(2026, 8, 20), 2) == at(2026, 8, 22, 17, 0)
    # Fri 28 Aug + 1: Mon 31 Aug, 1, 2 Sep are off → Thu 3 Sep.
    assert CAL.add_working_days(at(2026, 8, 28), 1) == at(2026, 9, 3, 17, 0)


def test_cutoff_moves_the_count_only_when_the_procedure_declares_one():
    cutoff = dt.time(15, 0)
    before = CAL.appointment(at(2026, 3, 10, 14, 59), days=0, cutoff=cutoff)
    after = CAL.appointment(at(2026, 3, 10, 15, 0), days=0, cutoff=cutoff)
    assert before == at(2026, 3, 10, 17, 0)
    assert after == at(2026, 3, 11, 17, 0)
    # No global cut-off (issue 17): Tue 15:30 + 1 working day is Wednesday, not Thursday.
    assert CAL.appointment(at(2026, 3, 10, 15, 30), days=1) == at(2026, 3, 11, 17, 0)
    assert CAL.appointment(at(2026, 3, 10, 15, 30), days=1, cutoff=cutoff) == at(2026, 3, 12, 17)
    # Friday 13 Feb after 15:00 with a 1-day limit and the cut-off: counts from Mon 23 Feb.
    assert CAL.appointment(at(2026, 2, 13, 16, 0), days=1, cutoff=cutoff) == at(2026, 2, 24, 17)
    # A procedure's own cut-off (the last office hour: 16:00).
    assert CAL.appointment(at(2026, 3, 10, 15, 30), days=0, cutoff=dt.time(16, 0)) == at(
        2026, 3, 10, 17, 0
    )
    # Received after office close: the next working day, with or without a cut-off.
    assert CAL.appointment(at(2026, 3, 10, 17, 30), days=0) == at(2026, 3, 11, 17, 0)


def test_received_before_opening_counts_from_opening():
    assert CAL.counting_start(at(2026, 3, 10, 6, 0)) == at(2026, 3, 10, 7, 30)
    assert CAL.counting_start(at(2026, 3, 14, 10, 0)) == at(2026, 3, 16, 7, 30)  # Saturday


def test_add_working_hours_skips_lunch_nights_and_tet():
    assert CAL.add_working_hours(at(2026, 3, 10, 10, 0), 2) == at(2026, 3, 10, 14, 0)
    assert CAL.add_working_hours(at(2026, 3, 10, 16, 0), 2) == at(2026, 3, 11, 8, 30)
    # Friday 13 Feb 16:00 + 4 h: 1 h on Friday, then Tết, then 3 h on Monday 23 Feb.
    assert CAL.add_working_hours(at(2026, 2, 13, 16, 0), 4) == at(2026, 2, 23, 10, 30)
    assert CAL.add_working_hours(at(2026, 3, 10, 12, 0), 0) == at(2026, 3, 10, 13, 30)


def test_office_hours_are_settings():
    hours = OfficeHours.parse("08:00-12:00,13:00-17:00")
    cal = WorkingCalendar(office_hours=hours)
    assert hours.per_day == dt.timedelta(hours=8)
    assert cal.add_working_hours(at(2026, 3, 10, 11, 0), 2) == at(2026, 3, 10, 14, 0)
    with pytest.raises(ValueError, match="HH:MM"):
        OfficeHours.parse("8-12")
    with pytest.raises(ValueError, match="increasing"):
        OfficeHours.parse("13:00-17:00,08:00-12:00")


def test_supplement_pause_in_days():
    # Received Tue 3 Mar 9:00, 5 working days: due Tue 10 Mar.
    received = at(2026, 3, 3)
    assert CAL.appointment(received, days=5) == at(2026, 3, 10, 17, 0)
    # Paused Thu 5 Mar (2 days used, 3 left: 6, 9, 10); the supplement arrives Wed 11 Mar
    # 10:00, which counts like a receipt day: 3 more → Mon 16 Mar.
    pauses = [(at(2026, 3, 5, 10, 0), at(2026, 3, 11, 10, 0))]
    assert CAL.appointment(received, days=5, pauses=pauses) == at(2026, 3, 16, 17, 0)
    # After the procedure's cut-off the resume counts from the next working day.
    late = [(at(2026, 3, 5, 10, 0), at(2026, 3, 11, 16, 0))]
    cutoff = dt.time(15, 0)
    assert CAL.appointment(received, days=5, pauses=late, cutoff=cutoff) == at(2026, 3, 17, 17)
    # Still paused: no appointment.
    assert CAL.appointment(received, days=5, pauses=[(at(2026, 3, 5), None)]) is None


def test_supplement_pause_in_hours():
    received = at(2026, 3, 10, 8, 0)  # 8 working hours: 7 on Tuesday, 1 on Wednesday
    assert CAL.appointment(received, hours=8) == at(2026, 3, 11, 8, 30)
    # Paused at 10:00 after 2 h; resumes Thu 12 Mar 14:00 with 6 h left: 3 h on Thursday,
    # 3 h on Friday from 7:30.
    pauses = [(at(2026, 3, 10, 10, 0), at(2026, 3, 12, 14, 0))]
    assert CAL.appointment(received, hours=8, pauses=pauses) == at(2026, 3, 13, 10, 30)


def test_pause_after_the_deadline_changes_nothing():
    received = at(2026, 3, 3)
    pauses = [(at(2026, 3, 12), at(2026, 3, 20))]
    assert CAL.appointment(received, days=5, pauses=pauses) == at(2026, 3, 10, 17, 0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="exactly one"):
        CAL.appointment(at(2026, 3, 3), days=1, hours=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(dt.datetime(2026, 3, 3, 9), 1)
    with pytest.raises(ValueError):
        CAL.add_working_days(at(2026, 3, 3), -1)


days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31))


@settings(max_examples=150, deadline=None)
@given(day=days, n=st.integers(min_value=0, max_value=40), hour=st.integers(0, 23))
def test_property_add_working_days(day, n, hour):
    start = dt.datetime.combine(day, dt.time(hour), VN_TZ)
    due = CAL.add_working_days(start, n)
    assert CAL.is_working_day(due.date())
    assert due.time() == dt.time(17, 0)
    expected = n if CAL.is_working_day(day) else n + 1
    assert CAL.working_days_between(day, due.date()) == expected


@settings(max_examples=150, deadline=None)
@given(a=days, b=days)
def test_property_working_days_between_is_additive_and_antisymmetric(a, b):
    mid = min(a, b) + (max(a, b) - min(a, b)) / 2
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    lo, hi = min(a, b), max(a, b)
    assert CAL.working_days_between(lo, hi) == (
        CAL.working_days_between(lo, mid) + CAL.working_days_between(mid, hi)
    )


@settings(max_examples=100, deadline=None)
@given(day=days, minutes=st.integers(0, 60 * 24 - 1), hours=st.floats(0, 60, allow_nan=False))
def test_property_working_hours_round_trip(day, minutes, hours):
    start = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), VN_TZ)
    end = CAL.add_working_hours(start, hours)
    assert end >= start
    spent = CAL.working_time_between(start, end)
    assert abs(spent - dt.timedelta(hours=hours)) < dt.timedelta(milliseconds=1)


async def test_overrides_from_the_database(resources, nation_session):
    # A far-future date no other test uses: the table is national.
    day = dt.date(2031, 3, 4)  # a Tuesday
    async with nation_session.begin():
        await set_override(nation_session, day, OverrideKind.day_off, "Nghỉ bù thử nghiệm", "test")
        calendar = await load_calendar(nation_session, resources.settings)
    assert not calendar.is_working_day(day)
    assert calendar.add_working_days(at(2031, 3, 3), 1) == at(2031, 3, 5, 17, 0)
    async with nation_session.begin():
        row = await set_override(nation_session, day, OverrideKind.working_day, "Đổi lại", "test")
        assert row.kind is OverrideKind.working_day or row.kind == "working_day"
        calendar = await load_calendar(nation_session, resources.settings)
        await nation_session.delete(row)
    assert calendar.is_working_day(day)
    with pytest.raises(ValueError, match="reason"):
        async with nation_session.begin():
            await set_override(nation_session, day, OverrideKind.day_off, " ", "test")
    assert CalendarOverride.__tablename__ == "calendar_overrides"


def test_missing_overrides_keeps_only_what_the_package_gets_wrong():
    monday = (dt.date(2026, 3, 9), OverrideKind.day_off, "a swapped day")
    known = (dt.date(2026, 9, 2), OverrideKind.day_off, "National Day")
    assert missing_overrides([monday, known]) == [monday]


def test_cli_overrides_and_appointment(database):
    import os
    import pathlib
    import subprocess
    import sys

    eiso = str(pathlib.Path(sys.executable).parent / "eiso")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update({"EISO_DATABASE_URL": database.app_url, "EISO_LOG_JSON": "false"})

    def run(*args):
        return subprocess.run([eiso, "workdays", *args], env=env, capture_output=True, text=True)

    bad = run("set", "2032-13-01", "day_off", "--reason", "x")
    assert bad.returncode == 1 and bad.stderr.startswith("eiso: DATE:")
    bad = run("set", "2032-03-02", "holiday", "--reason", "x")
    assert bad.returncode == 1 and "KIND" in bad.stderr
    assert run("set", "2032-03-02", "day_off", "--reason", "Nghỉ bù thử").returncode == 0
    listed = run("list", "--year", "2032")
    assert '"day": "2032-03-02"' in listed.stdout and "Nghỉ bù thử" in listed.stdout
    # Monday 1 March 2032 + 1 working day skips the day off → Wednesday 3 March.
    out = run("appointment", "2032-03-01T09:00", "--days", "1")
    assert out.stdout.strip() == "2032-03-03T17:00+07:00", out.stderr
    assert run("remove", "2032-03-02").returncode == 0
    assert run("remove", "2032-03-02").returncode == 1
    tet = run("appointment", "2026-02-12T09:00", "--days", "3")
    assert tet.stdout.strip() == "2026-02-24T17:00+07:00"


async def test_cached_calendar_sees_a_changed_override(resources, monkeypatch):
    """Issue 18: each process keeps the overrides while the Redis counter stands still; a
    change committed here is seen at once, another process's once it bumps the counter."""
    from sqlalchemy import event, update
    from sqlmodel import col

    from eiso.core.workdays import overrides
    from eiso.core.workdays.overrides import CalendarOverride, calendar_version_key
    from eiso.tenants.scope import TenantScope

    # The counter's path: no subscription. The session's `app` fixture, if a test of this
    # worker started it, follows the calendar's channel with these same resources (its copy
    # would then stand until a message, which this test does not send: the next test's).
    monkeypatch.setattr(overrides._cache, "listening", set())

    day, nation = dt.date(2031, 3, 11), TenantScope.nation()  # a Tuesday
    shared = not resources.settings.is_memory_redis  # memory://: no cache, the database tells

    async def working() -> bool:
        async with resources.session(nation) as session:
            return (await load_calendar(session, resources=resources)).is_working_day(day)

    assert await working()
    async with resources.session(nation) as session, session.begin():
        await set_override(session, day, OverrideKind.day_off, "Thử bộ nhớ đệm", "test")
    assert not await working()  # committed in this process: its copy is dropped

    statements: list[object] = []

    def count(*_args: object) -> None:
        statements.append(1)

    event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert not await working()
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == (0 if shared else 1)

    # Another process's change: written without this process's ORM events...
    async with resources.session(nation) as session, session.begin():
        await session.execute(
            update(CalendarOverride)
            .where(col(CalendarOverride.day) == day)
            .values(kind=OverrideKind.working_day.value)
            .execution_options(synchronize_session=False)
        )
    assert await working() is not shared  # the copy stands until the counter moves
    # ...and announced as `calendar_changed` does (the counter only: that process's cache)
    if shared:
        await resources.redis.incr(calendar_version_key(resources))
    assert await working()

    async with resources.session(nation) as session, session.begin():
        row = await session.get(CalendarOverride, (await _override_id(session, day)))
        await session.delete(row)
    assert await working()


async def _override_id(session, day: dt.date) -> int:
    from sqlmodel import select

    from eiso.core.workdays.overrides import CalendarOverride

    return (
        await session.execute(select(CalendarOverride.id).where(CalendarOverride.day == day))
    ).scalar_one()


@pytest.mark.only_backend("postgresql+redis")
async def test_a_subscribed_worker_keeps_its_copy_without_a_get_until_a_change_is_published(
    resources, monkeypatch
):
    """Issue 18: while `listen` follows the calendar's channel, a timed move reads neither
    Redis nor the database; another process's change, published by `calendar_changed`,
    drops the copy."""
    import asyncio

    from sqlalchemy import update
    from sqlmodel import col

    from eiso.core.workdays import overrides
    from eiso.tenants.scope import TenantScope

    day, nation = dt.date(2031, 3, 18), TenantScope.nation()  # a Tuesday
    channel = overrides.calendar_channel(resources)

    async def working() -> bool:
        async with resources.session(nation) as session:
            return (await load_calendar(session, resources=resources)).is_working_day(day)

    listening = asyncio.create_task(overrides.listen(resources))
    try:
        for _ in range(500):  # bounded: the subscription's confirmation
            if channel in overrides._cache.listening:
                break
            await asyncio.sleep(0.01)
        assert channel in overrides._cache.listening
        async with resources.session(nation) as session, session.begin():
            await set_override(session, day, OverrideKind.day_off, "Thử kênh lịch", "test")
        assert not await working()  # read again after this process's own change, and kept

        gets: list[str] = []
        get = resources.redis.get

        async def counted(key: str) -> object:
            gets.append(key)
            return await get(key)

        monkeypatch.setattr(resources.redis, "get", counted)
        assert not await working()
        assert gets == []  # the subscription stands for the counter

        # Another process's change: written without this process's ORM events, then published.
        async with resources.session(nation) as session, session.begin():
            await session.execute(
                update(overrides.CalendarOverride)
                .where(col(overrides.CalendarOverride.day) == day)
                .values(kind=OverrideKind.working_day.value)
                .execution_options(synchronize_session=False)
            )
        assert not await working()  # the copy stands until the change is announced
        await resources.redis.publish(channel, "changed")
        for _ in range(500):  # bounded: the message's delivery
            if await working():
                break
            await asyncio.sleep(0.01)
        assert await working()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        async with resources.session(nation) as session, session.begin():
            row = await session.get(overrides.CalendarOverride, await _override_id(session, day))
            await session.delete(row)
    assert channel not in overrides._cache.listening


async def test_current_calendar_is_the_followed_copy_else_none(resources, monkeypatch):
    """Issue 18: a timed move opens no session while this process's copy of the overrides is
    current (the channel followed, the copy fresh): `current_calendar` gives it, with the
    configured office hours; otherwise None, and the caller reads through a session."""
    import time

    from eiso.core.workdays import overrides

    monkeypatch.setattr(overrides._cache, "listening", set())
    monkeypatch.setattr(overrides._cache, "_entries", {})
    day = dt.date(2031, 3, 25)  # a Tuesday
    assert overrides.current_calendar(resources) is None  # no copy, channel not followed
    copy = (None, time.monotonic(), {day: False})
    overrides._cache._entries[resources.settings.database_url] = copy
    assert overrides.current_calendar(resources) is None  # a copy, the channel not followed
    overrides._cache.listening.add(overrides.calendar_channel(resources))
    calendar = overrides.current_calendar(resources)
    assert calendar is not None and not calendar.is_working_day(day)
    assert calendar.office_hours == OfficeHours.parse(resources.settings.office_hours)
    stale = (None, time.monotonic() - overrides.FALLBACK_TTL - 1, {day: False})
    overrides._cache._entries[resources.settings.database_url] = stale
    assert overrides.current_calendar(resources) is None  # too old: read again
    overrides._cache._entries[resources.settings.database_url] = copy
    overrides._cache.forget()  # a change heard
    assert overrides.current_calendar(resources) is None
