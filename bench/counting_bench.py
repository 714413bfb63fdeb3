"""Appointments per second under each counting unit (core/workdays/counting.py, issue 17),
against the bare primitive `WorkingCalendar.add_working_days` measured in the same run: the
cost of computing a dossier's appointment at receipt and at every clock resume.

Receipt moments spread over 2026 (every hour of every day, so Tết, 30 Apr-1 May,
31 Aug-2 Sep, the make-up Saturday and 24 Nov are all crossed); limits 0-30; with a declared
cut-off and with one clock stop of two days. Rounds interleaved, median of the rounds.

    python -m bench.counting_bench [--seconds 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import statistics
import time
from collections.abc import Callable

from eiso.core.workdays import VN_TZ, Rule, WorkingCalendar, due

CAL = WorkingCalendar()
MOMENTS = [
    dt.datetime(2026, 1, 1, tzinfo=VN_TZ) + dt.timedelta(hours=h, minutes=17)
    for h in range(0, 365 * 24, 7)
]
AMOUNTS = list(range(31))
CUT = dt.time(15, 0)


def _rate(work: Callable[[dt.datetime, int], object], seconds: float) -> float:
    cases = itertools.cycle(zip(MOMENTS, itertools.cycle(AMOUNTS), strict=False))
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            moment, amount = next(cases)
            work(moment, amount)
        done += 200
    return done / elapsed


def _stopped(rule: Callable[[int], Rule]) -> Callable[[dt.datetime, int], object]:
    def work(moment: dt.datetime, amount: int) -> object:
        stop = moment + dt.timedelta(hours=1)
        return due(CAL, moment, rule(amount), pauses=[(stop, stop + dt.timedelta(days=2))])

    return work


TARGETS: dict[str, Callable[[dt.datetime, int], object]] = {
    "add_working_days (baseline)": lambda m, n: CAL.add_working_days(m, n),
    "working_days": lambda m, n: due(CAL, m, Rule("working_days", n)),
    "working_days, cut-off 15:00": lambda m, n: due(CAL, m, Rule("working_days", n, CUT)),
    "same_working_day, cut-off 15:00": lambda m, n: due(CAL, m, Rule("same_working_day", 0, CUT)),
    "working_hours": lambda m, n: due(CAL, m, Rule("working_hours", n)),
    "calendar_days": lambda m, n: due(CAL, m, Rule("calendar_days", n)),
    "working_days, one 2-day stop": _stopped(lambda n: Rule("working_days", n)),
    "working_hours, one 2-day stop": _stopped(lambda n: Rule("working_hours", n)),
    "calendar_days, one 2-day stop": _stopped(lambda n: Rule("calendar_days", n)),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for work in TARGETS.values():  # warm the holiday tables of every year touched
        for moment in MOMENTS:
            work(moment, 30)
    rates: dict[str, list[float]] = {name: [] for name in TARGETS}
    for _ in range(args.rounds):
        for name, work in TARGETS.items():
            rates[name].append(_rate(work, args.seconds))
    base = statistics.median(rates["add_working_days (baseline)"])
    print("| computation | per second | vs baseline | µs each |")
    print("|---|---|---|---|")
    for name, found in rates.items():
        rate = statistics.median(found)
        print(f"| {name} | {rate:,.0f} | {rate / base:.2f}x | {1e6 / rate:.1f} |")


if __name__ == "__main__":
    main()
