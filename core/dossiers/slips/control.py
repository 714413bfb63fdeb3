"""The rows of the process control slip (06), the dossier's ISO record: for every transition
who handed the dossier over to whom, when, and whether the step it closes kept its own time
budget (before time, on time, late) on the working-day calendar, the clock stopped while a
supplement was awaited."""

from __future__ import annotations

import dataclasses
import datetime as dt

from eiso.core.dossiers.models import DossierEventRow
from eiso.core.dossiers.slips.facts import Facts
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.infra.clock import aware

COUNTER = "Bộ phận tiếp nhận và trả kết quả"
APPLICANT = "Tổ chức, cá nhân"
BEFORE, ON_TIME, LATE = "Trước hạn", "Đúng hạn", "Quá hạn"


@dataclasses.dataclass
class Handover:
    unit: str
    given_by: str
    taken_by: str
    at: dt.datetime
    result: str = ""
    note: str = ""


def verdict(done: dt.datetime, due: dt.datetime | None) -> str:
    """Before time: finished on an earlier day than the due one; on time: by the due moment."""
    if due is None:
        return ""
    done, due = aware(done).astimezone(VN_TZ), aware(due).astimezone(VN_TZ)
    if done.date() < due.date():
        return BEFORE
    return ON_TIME if done <= due else LATE


def _paused(
    calendar: WorkingCalendar,
    pauses: list[tuple[dt.datetime, dt.datetime]],
    start: dt.datetime,
    end: dt.datetime,
    working: bool,
) -> dt.timedelta:
    total = dt.timedelta()
    for a, b in pauses:
        a, b = max(a, start), min(b, end)
        if b > a:
            total += calendar.working_time_between(a, b) if working else b - a
    return total


def step_due(
    facts: Facts,
    index: int,
    start: dt.datetime,
    end: dt.datetime,
    pauses: list[tuple[dt.datetime, dt.datetime]],
) -> dt.datetime | None:
    """When step `index`, begun at `start`, had to be done: its budget plus the paused time."""
    steps = facts.procedure.steps
    if not 0 <= index < len(steps):
        return None
    budget = steps[index].get("budget") or {}
    amount, unit = int(budget.get("amount", 0)), budget.get("unit", "working_days")
    calendar = facts.calendar
    if unit == "days":
        return (
            start + dt.timedelta(days=amount) + _paused(calendar, pauses, start, end, working=False)
        )
    allowed = (
        dt.timedelta(hours=amount)
        if unit == "working_hours"
        else amount * calendar.office_hours.per_day
    )
    return calendar.add_working_hours(
        start, allowed + _paused(calendar, pauses, start, end, working=True)
    )


def _counter(facts: Facts) -> str:
    return facts.unit or COUNTER


def _step_name(facts: Facts, index: int) -> str:
    steps = facts.procedure.steps
    if not 0 <= index < len(steps):
        return _counter(facts)
    step = steps[index]
    unit = facts.step_units.get(step["code"])
    name = step["name"]["vi"]
    return f"{unit} ({name})" if unit else name


class _Walk:
    """Walks the timeline once, keeping the step in hand, when it began and the pauses."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.step = 0
        self.step_start: dt.datetime | None = None
        self.pauses: list[tuple[dt.datetime, dt.datetime]] = []
        self.paused_at: dt.datetime | None = None
        self.rows: list[Handover] = []

    def _finish_step(self, event: DossierEventRow, at: dt.datetime, taken_by: str) -> None:
        due = (
            step_due(self.facts, self.step, self.step_start, at, self.pauses)
            if self.step_start
            else None
        )
        name = _step_name(self.facts, self.step)
        self.rows.append(
            Handover(
                name,
                self.facts.name(event.actor),
                taken_by,
                at,
                verdict(at, due),
                event.note or f"Hoàn thành: {name}",
            )
        )
        self.step += 1
        self.step_start = at

    def add(self, event: DossierEventRow) -> None:
        facts, at = self.facts, aware(event.at)
        actor = facts.name(event.actor)
        action = event.action
        counter = _counter(facts)
        if action in ("received", "registered"):
            note = "Nộp trực tuyến" if action == "registered" else "Tiếp nhận hồ sơ"
            self.rows.append(Handover(counter, APPLICANT, actor, at, note=note))
        elif action == "assigned":
            self.step_start = self.step_start or at
            self.rows.append(
                Handover(
                    _step_name(facts, self.step),
                    actor,
                    facts.name(facts.dossier.assignee),
                    at,
                    note=f"Chuyển xử lý: {_step_name(facts, self.step)}",
                )
            )
        elif action == "step_completed":
            self._finish_step(event, at, _step_name(facts, self.step + 1))
        elif action == "processed":
            self._finish_step(event, at, _counter(facts))
        elif action == "supplement_requested":
            self.paused_at = at
            self.rows.append(
                Handover(counter, actor, APPLICANT, at, note=f"Yêu cầu bổ sung: {event.note}")
            )
        elif action == "supplement_received":
            if self.paused_at is not None:
                self.pauses.append((self.paused_at, at))
                self.paused_at = None
            self.rows.append(Handover(counter, APPLICANT, actor, at, note="Nhận hồ sơ bổ sung"))
        elif action == "returned":
            due = facts.dossier.appointment_at
            result = LATE if facts.dossier.was_late else verdict(at, due)
            self.rows.append(Handover(counter, actor, APPLICANT, at, result, "Trả kết quả"))
        else:
            self.rows.append(
                Handover(
                    counter,
                    actor,
                    "",
                    at,
                    LATE if action == "apology" else "",
                    f"{LABELS.get(action, action)}{': ' + event.note if event.note else ''}",
                )
            )


LABELS = {
    "refused": "Từ chối tiếp nhận",
    "fee_requested": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "fee_paid": "Đã thực hiện nghĩa vụ tài chính",
    "withdrawn": "Công dân rút hồ sơ",
    "stopped": "Dừng xử lý",
    "stopped_on_request": "Dừng xử lý theo đề nghị của người nộp hồ sơ",
    "extended": "Gia hạn giải quyết",
    "apology": "Xin lỗi và hẹn lại ngày trả kết quả",
}


def trail(facts: Facts) -> list[Handover]:
    walk = _Walk(facts)
    for event in facts.events:
        walk.add(event)
    return walk.rows
