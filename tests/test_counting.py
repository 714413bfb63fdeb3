"""The counting units and rules (core/workdays/counting.py), one table per unit across Tết
2026, 30 April-1 May, 31 August-2 September, the make-up Saturday 22 August and 24 November
(Vietnamese Culture Day, a day off from 2026: the installed `holidays` knows it, and
`test_24_november_is_a_day_off` says so), plus the properties: an appointment is always
working time, and a stopped clock never counts. The worked examples of docs/working-days.md."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eiso.core.workdays import VN_TZ, Extension, Rule, WorkingCalendar, due
from eiso.core.workdays.counting import latest_apology, unit_of

CAL = WorkingCalendar()
CUT = dt.time(15, 0)


def at(m: int, d: int, hh: int = 9, mm: int = 0, y: int = 2026) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def test_24_november_is_a_day_off():
    # Vietnamese Culture Day (Resolution 162/2025/QH15); if this fails, the `holidays` pin
    # (issue 17, the data helper's part) is missing and the override list must carry it.
    assert not CAL.is_working_day(dt.date(2026, 11, 24))


# (received, amount, cutoff, appointment)
WORKING_DAYS = [
    (at(2, 12), 3, None, at(2, 24, 17)),  # Fri 13, Tết 14-22, Mon 23, Tue 24
    (at(2, 13, 16), 1, None, at(2, 23, 17)),  # no cut-off: Friday counts
    (at(2, 13, 16), 1, CUT, at(2, 24, 17)),  # after the cut-off: counts from Mon 23
    (at(4, 29, 10), 2, None, at(5, 5, 17)),  # 30 Apr, 1 May, weekend off: Mon 4, Tue 5
    (at(8, 20), 2, None, at(8, 22, 17)),  # Fri 21, make-up Saturday 22
    (at(8, 28), 1, None, at(9, 3, 17)),  # 31 Aug, 1, 2 Sep off
    (at(11, 23), 1, None, at(11, 25, 17)),  # 24 Nov off
    (at(3, 10, 15, 30), 1, None, at(3, 11, 17)),  # Tue 15:30 + 1: Wednesday
    (at(3, 10, 15, 30), 1, CUT, at(3, 12, 17)),  # with a declared cut-off: Thursday
    (at(3, 10, 17, 30), 0, None, at(3, 11, 17)),  # after office close: the next day
]

SAME_WORKING_DAY = [
    (at(3, 10, 9), None, at(3, 10, 17)),  # Tue 09:00 → Tue 17:00
    (at(3, 10, 15, 30), None, at(3, 10, 17)),
    (at(3, 10, 15, 30), CUT, at(3, 11, 17)),
    (at(2, 13, 15, 30), CUT, at(2, 23, 17)),  # across Tết
    (at(8, 22, 10), None, at(8, 22, 17)),  # the make-up Saturday works
    (at(8, 29, 10), None, at(9, 3, 17)),  # an ordinary Saturday, then 31 Aug-2 Sep
    (at(11, 23, 16), CUT, at(11, 25, 17)),  # 24 Nov off
    (at(4, 30, 9), None, at(5, 4, 17)),  # received on a holiday
]

WORKING_HOURS = [
    (at(2, 13, 16), 4, None, at(2, 23, 10, 30)),  # 1 h Friday, 3 h after Tết
    (at(4, 29, 16), 2, None, at(5, 4, 8, 30)),
    (at(8, 21, 16), 2, None, at(8, 22, 8, 30)),  # into the make-up Saturday
    (at(8, 28, 16), 8, None, at(9, 3, 16, 30)),  # 1 h Friday, 7 h on Thu 3 Sep
    (at(11, 23, 16, 30), 1, None, at(11, 25, 8)),
    (at(3, 10, 15, 30), 2, CUT, at(3, 11, 9, 30)),
    (at(3, 10, 15, 30), 2, None, at(3, 11, 8)),  # 1.5 h on Tuesday, 0.5 h Wednesday
]

CALENDAR_DAYS = [
    (at(8, 18), 15, None, at(9, 3, 17)),  # ends 2 Sep (National Day) → Thu 3 Sep
    (at(2, 2), 15, None, at(2, 23, 17)),  # ends 17 Feb (Tết) → Mon 23 Feb
    (at(4, 15), 15, None, at(5, 4, 17)),  # ends 30 Apr → 1 May, weekend → Mon 4 May
    (at(8, 7), 15, None, at(8, 22, 17)),  # ends on the make-up Saturday, a working day
    (at(11, 9), 15, None, at(11, 25, 17)),  # ends 24 Nov → Wed 25 Nov
    (at(3, 14, 10), 2, None, at(3, 16, 17)),  # received Saturday: counts from Sunday
    (at(8, 7, 16), 15, CUT, at(8, 25, 17)),  # after the cut-off: received Mon 10 Aug
]


@pytest.mark.parametrize(("received", "amount", "cutoff", "expected"), WORKING_DAYS)
def test_working_days(received, amount, cutoff, expected):
    assert due(CAL, received, Rule("working_days", amount, cutoff)) == expected


@pytest.mark.parametrize(("received", "cutoff", "expected"), SAME_WORKING_DAY)
def test_same_working_day(received, cutoff, expected):
    assert due(CAL, received, Rule("same_working_day", 0, cutoff)) == expected


@pytest.mark.parametrize(("received", "amount", "cutoff", "expected"), WORKING_HOURS)
def test_working_hours(received, amount, cutoff, expected):
    assert due(CAL, received, Rule("working_hours", amount, cutoff)) == expected


@pytest.mark.parametrize(("received", "amount", "cutoff", "expected"), CALENDAR_DAYS)
def test_calendar_days_per_the_civil_code(received, amount, cutoff, expected):
    assert due(CAL, received, Rule("calendar_days", amount, cutoff)) == expected


# (rule, received, pauses, appointment)
STOPS = [
    # 5 working days from Tue 3 Mar; stopped Thu 5 Mar (3 days left), resumed Wed 11 Mar.
    (Rule("working_days", 5), at(3, 3), [(at(3, 5, 10), at(3, 11, 10))], at(3, 16, 17)),
    # the same resume after a declared cut-off: counts from Thu 12 Mar
    (Rule("working_days", 5, CUT), at(3, 3), [(at(3, 5, 10), at(3, 11, 16))], at(3, 17, 17)),
    # across Tết: 3 days from Wed 11 Feb (due Mon 23); stopped Thu 12 with 2 days left (Fri 13,
    # Mon 23), resumed Mon 23: Tue 24, Wed 25
    (Rule("working_days", 3), at(2, 11), [(at(2, 12, 10), at(2, 23, 9))], at(2, 25, 17)),
    # 8 working hours, stopped after 2 h, resumed Thu 14:00: 3 h Thursday, 3 h Friday
    (Rule("working_hours", 8), at(3, 10, 8), [(at(3, 10, 10), at(3, 12, 14))], at(3, 13, 10, 30)),
    # 15 days from 18 Aug (ends 2 Sep), stopped 20-25 Aug (5 days): ends Mon 7 Sep
    (Rule("calendar_days", 15), at(8, 18), [(at(8, 20, 10), at(8, 25, 9))], at(9, 7, 17)),
    # same day, stopped at 10:00, resumed the next day: the close of the resume day
    (Rule("same_working_day", 0), at(11, 23), [(at(11, 23, 10), at(11, 25, 9))], at(11, 25, 17)),
    # a stop after the deadline changes nothing: the dossier stays late
    (Rule("working_days", 1), at(3, 3), [(at(3, 12), at(3, 20))], at(3, 4, 17)),
]


@pytest.mark.parametrize(("rule", "received", "pauses", "expected"), STOPS)
def test_clock_stops(rule, received, pauses, expected):
    assert due(CAL, received, rule, pauses=pauses) == expected


def test_an_open_stop_has_no_appointment():
    assert due(CAL, at(3, 3), Rule("working_days", 5), pauses=[(at(3, 5), None)]) is None
    assert due(CAL, at(8, 18), Rule("calendar_days", 15), pauses=[(at(8, 20), None)]) is None


# (rule, received, extensions, appointment)
EXTENSIONS = [
    # birth registration, the same day + 5 working days to verify the facts
    (Rule("same_working_day", 0, CUT), at(3, 10), [Extension("working_days", 5)], at(3, 17, 17)),
    # across 24 Nov: Mon 23 Nov, then 25, 26, 27, 30 Nov, 1 Dec
    (Rule("same_working_day", 0, CUT), at(11, 23), [Extension("working_days", 5)], at(12, 1, 17)),
    # land, 10 working days + 10 in a disadvantaged commune, across Tết
    (Rule("working_days", 10), at(2, 2), [Extension("working_days", 10)], at(3, 9, 17)),
    # 15 calendar days + 5 calendar days: ends 7 Sep
    (Rule("calendar_days", 15), at(8, 18), [Extension("calendar_days", 5)], at(9, 7, 17)),
]


@pytest.mark.parametrize(("rule", "received", "extensions", "expected"), EXTENSIONS)
def test_extensions(rule, received, extensions, expected):
    assert due(CAL, received, rule, extensions=extensions) == expected


# (deadline, the last moment an apology is on time)
APOLOGY_LATEST = [
    (at(3, 12, 17), at(3, 11, 17)),  # Thursday → Wednesday's close
    (at(3, 16, 17), at(3, 13, 17)),  # Monday → Friday's close
    (at(2, 23, 17), at(2, 13, 17)),  # the Monday after Tết → Friday before it
    (at(11, 25, 17), at(11, 23, 17)),  # Wednesday 25 Nov → Monday 23 (24 Nov off)
    (at(8, 24, 17), at(8, 22, 17)),  # Monday 24 Aug → the make-up Saturday
    (at(9, 3, 17), at(8, 28, 17)),  # Thursday 3 Sep → Friday 28 Aug
]


@pytest.mark.parametrize(("deadline", "latest"), APOLOGY_LATEST)
def test_latest_apology_is_one_working_day_before_the_deadline(deadline, latest):
    assert latest_apology(CAL, deadline) == latest


def test_units_and_rules_refuse_nonsense():
    assert unit_of("days") == "calendar_days"  # before core API 1.3
    with pytest.raises(ValueError, match="unit"):
        unit_of("weeks")
    with pytest.raises(ValueError, match="amount"):
        Rule("working_days", -1)
    with pytest.raises(ValueError, match="pause"):
        due(CAL, at(3, 3), Rule("working_days", 5), pauses=[(at(3, 5), at(3, 4))])


# -- properties ------------------------------------------------------------------------------

moments = st.builds(
    lambda day, minutes: dt.datetime.combine(
        day, dt.time(minutes // 60, minutes % 60), tzinfo=VN_TZ
    ),
    st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2027, 2, 28)),
    st.integers(0, 24 * 60 - 1),
)
rules = st.builds(
    Rule,
    st.sampled_from(["working_days", "working_hours", "same_working_day", "calendar_days"]),
    st.integers(0, 30),
    st.sampled_from([None, CUT, dt.time(16, 0)]),
)


@settings(max_examples=200, deadline=None)
@given(received=moments, rule=rules, stop=st.integers(0, 20 * 24), length=st.integers(0, 300))
# Found: 0 calendar days for a dossier received after the close ended before its receipt.
@example(
    received=dt.datetime(2025, 12, 1, 17, 1, tzinfo=VN_TZ),
    rule=Rule("calendar_days", 0, None),
    stop=0,
    length=0,
)
def test_property_an_appointment_is_always_working_time(received, rule, stop, length):
    paused_at = received + dt.timedelta(hours=stop)
    pauses = [(paused_at, paused_at + dt.timedelta(hours=length))]
    for found in (due(CAL, received, rule), due(CAL, received, rule, pauses=pauses)):
        assert found is not None and found >= received
        assert CAL.is_working_time(found), (received, rule, found)


@settings(max_examples=200, deadline=None)
@given(
    received=moments,
    hours=st.integers(1, 40),
    stop=st.integers(0, 40 * 60),
    length=st.integers(0, 300 * 60),
)
def test_property_a_stopped_clock_never_counts(received, hours, stop, length):
    """Working hours: the office time from the start to the appointment, less the office time
    the clock stood still, is the limit itself, wherever the stop falls before the deadline."""
    rule = Rule("working_hours", hours)
    start = CAL.counting_start(received)
    plain = due(CAL, received, rule)
    assert plain is not None
    paused_at = CAL.add_working_hours(start, dt.timedelta(minutes=stop))
    if paused_at >= plain:
        return  # a stop after the deadline changes nothing (tested above)
    resumed_at = paused_at + dt.timedelta(minutes=length)
    stopped = due(CAL, received, rule, pauses=[(paused_at, resumed_at)])
    assert stopped is not None and stopped >= plain
    counted = CAL.working_time_between(start, stopped) - CAL.working_time_between(
        paused_at, max(resumed_at, CAL.counting_start(resumed_at))
    )
    assert counted == dt.timedelta(hours=hours)


@settings(max_examples=200, deadline=None)
@given(
    received=moments, days=st.integers(0, 20), stop=st.integers(0, 30), length=st.integers(0, 30)
)
def test_property_a_stopped_clock_never_counts_in_working_days(received, days, stop, length):
    """Working days: the working days counted before the stop plus those after the resume
    day (which counts like a receipt day) are the limit."""
    rule = Rule("working_days", days)
    plain = due(CAL, received, rule)
    assert plain is not None
    paused_at = received + dt.timedelta(days=stop)
    if paused_at >= plain:
        return
    resumed_at = paused_at + dt.timedelta(days=length, hours=1)
    stopped = due(CAL, received, rule, pauses=[(paused_at, resumed_at)])
    assert stopped is not None
    left_before = CAL.working_days_between(paused_at, plain)
    restart = CAL.counting_start(resumed_at)
    assert CAL.working_days_between(restart.date(), stopped) == left_before


def test_cli_appointment_computes_every_unit(database):
    import os
    import pathlib
    import subprocess
    import sys

    eiso = str(pathlib.Path(sys.executable).parent / "eiso")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update({"EISO_DATABASE_URL": database.app_url, "EISO_LOG_JSON": "false"})

    def run(*args):
        found = subprocess.run(
            [eiso, "workdays", "appointment", *args], env=env, capture_output=True, text=True
        )
        return found.returncode, found.stdout.strip(), found.stderr.strip()

    assert run("2026-03-10T15:30", "--days", "1", "--cutoff", "15:00")[1] == (
        "2026-03-12T17:00+07:00"
    )
    assert run("2026-11-23T16:00", "--same-day", "--cutoff", "15:00")[1] == (
        "2026-11-25T17:00+07:00"
    )
    assert run("2026-08-21T16:00", "--hours", "2")[1] == "2026-08-22T08:30+07:00"
    assert run("2026-08-18T09:00", "--calendar-days", "15")[1] == "2026-09-03T17:00+07:00"
    code, _, err = run("2026-08-18T09:00", "--days", "1", "--same-day")
    assert code == 2 and err.startswith("eiso: give exactly one of")
    code, _, err = run("2026-08-18T09:00", "--days", "1", "--cutoff", "3pm")
    assert code == 1 and err.startswith("eiso: --cutoff:")
