"""The demo dossiers, created through the dossier engine with `now=` in the past: each one is
received, assigned, processed, paused, apologised for, returned... as an agency would, so its
timeline, audit chain and outbox events are those of a real dossier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.demo import plan as demo_plan
from eiso.core.dossiers import catalogue, engine, service
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.plugins.declarations import Procedure
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.resources import Resources
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

WINDOW_DAYS = 150  # the demo spreads the finished dossiers over about five months
OFFICE_DAY_HOURS = 7.5

# The reasons a move gives, drawn at random.
REASONS = {
    "refuse": [
        "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan",
        "Thành phần hồ sơ không đúng mẫu quy định",
        "Trùng với hồ sơ đã nộp trực tiếp tại Bộ phận Một cửa",
    ],
    "withdraw": [
        "Công dân xin rút hồ sơ để hoàn thiện giấy tờ",
        "Công dân thay đổi nhu cầu, không tiếp tục thực hiện thủ tục",
    ],
    "stop": [
        "Thửa đất đang có tranh chấp, chờ Tòa án giải quyết",
        "Người nộp không bổ sung hồ sơ trong thời hạn quy định",
        "Phát hiện thông tin kê khai không trung thực",
    ],
    "apology": [
        "Hồ sơ phải xác minh thực địa, cần thêm thời gian",
        "Cán bộ thụ lý nghỉ ốm đột xuất, bàn giao chậm",
        "Chờ ý kiến của cơ quan phối hợp",
    ],
}
# What an agency asks of the applicant of each module: the missing paper, the fee due.
SUPPLEMENT_REASONS = {
    "land_use_rights": "Thiếu mảnh trích đo bản đồ địa chính thửa đất",
    "construction_permits": "Bản vẽ thiết kế chưa có chữ ký của chủ đầu tư",
    "business_registration": "Giấy đề nghị chưa ghi đủ ngành, nghề kinh doanh",
    "birth_registration": "Thiếu bản chính Giấy chứng sinh",
}
FEE_NOTES = {
    "land_use_rights": "Nộp lệ phí cấp Giấy chứng nhận và lệ phí trước bạ",
    "construction_permits": "Nộp lệ phí cấp giấy phép xây dựng 75.000 đồng",
    "business_registration": "Nộp lệ phí đăng ký hộ kinh doanh 100.000 đồng",
}
COMMENTS = {
    5: ["Cán bộ hướng dẫn tận tình, trả kết quả đúng hẹn", "Nhanh gọn, không phải đi lại nhiều"],
    4: ["Thủ tục rõ ràng", "Hài lòng"],
    3: ["Phải chờ lâu ở quầy tiếp nhận"],
    2: ["Trả kết quả chậm so với giấy hẹn"],
    1: ["Phải bổ sung nhiều lần, hướng dẫn chưa rõ"],
}


@dataclasses.dataclass(frozen=True)
class Staff:
    officer: str
    leader: str


@dataclasses.dataclass
class Move:
    name: str  # an engine function
    at: dt.datetime
    kwargs: dict[str, str] = dataclasses.field(default_factory=dict)


def limit_hours(procedure: Procedure) -> float:
    """The procedure's time limit in office hours, roughly (to pace the demo's moves)."""
    amount, unit = procedure.time_limit.amount, procedure.time_limit.unit
    if unit == "working_hours":
        return amount
    return amount * OFFICE_DAY_HOURS * (1 if unit == "working_days" else 5 / 7)


class Timeline:
    """The moves of one dossier, paced on the working calendar."""

    def __init__(
        self, calendar: WorkingCalendar, rng: random.Random, staff: Staff, module: str
    ) -> None:
        self.calendar, self.rng, self.staff, self.module = calendar, rng, staff, module

    def after(self, at: dt.datetime, hours: float) -> dt.datetime:
        return self.calendar.add_working_hours(at, max(hours, 0.1))

    def moves(
        self,
        kind: str,
        steps: int,
        online: bool,
        start: dt.datetime,
        limit: float,
        first_step_only: bool = False,
    ) -> list[Move]:
        rng, at = self.rng, start
        out: list[Move] = []
        out.append(Move("receive", at))
        if kind in ("new",):
            return out
        if online:
            at = self.after(at, rng.uniform(0.5, 4))
            if kind == "not_received":
                return [*out, Move("refuse", at, {"reason": rng.choice(REASONS["refuse"])})]
            out.append(Move("accept", at))
        if kind == "received":
            return out
        if kind == "withdrawn" and rng.random() < 0.5:
            return [
                *out,
                Move(
                    "withdraw",
                    self.after(at, rng.uniform(1, 6)),
                    {"reason": rng.choice(REASONS["withdraw"])},
                ),
            ]
        # The late ones stall on one step, well past the time limit: the last step, or for one
        # still in progress the one before.
        late_step = {"returned_late": steps - 1, "in_progress_late": steps - 2}.get(kind)
        pace = limit * rng.uniform(0.3, 0.6) / (steps + 2)
        at = self.after(at, pace * rng.uniform(0.3, 1))
        out.append(Move("assign", at, {"assignee": self.staff.officer}))
        stop_at = {
            "in_progress": rng.randint(0, steps - 1),
            "in_progress_late": steps - 1,
            "stopped": rng.randint(0, steps - 1),
            "withdrawn": rng.randint(0, steps - 1),
            "supplement_requested": rng.randint(0, steps - 1),
            "fee_requested": steps - 1,
        }.get(kind, steps)
        if first_step_only:  # the next step belongs to another agency
            stop_at = 0
        pause_at = rng.randint(0, steps - 1)
        for step in range(steps):
            if step == pause_at and kind in ("returned_supplement", "supplement_requested"):
                at = self.after(at, pace * rng.uniform(0.2, 0.6))
                out.append(
                    Move("request_supplement", at, {"reason": SUPPLEMENT_REASONS[self.module]})
                )
                if kind == "supplement_requested":
                    return out
                at = self.after(at, rng.uniform(4, 24))  # the citizen brings the paper
                out.append(Move("supplement_received", at))
            if step == steps - 1 and kind in ("returned_fee", "fee_requested"):
                at = self.after(at, pace * rng.uniform(0.2, 0.6))
                out.append(Move("request_fee", at, {"note": FEE_NOTES[self.module]}))
                if kind == "fee_requested":
                    return out
                at = self.after(at, rng.uniform(1, 4))
                out.append(Move("fee_paid", at))
            if step == stop_at:
                at = self.after(at, pace * rng.uniform(0.3, 1))
                if kind == "stopped":
                    return [*out, Move("stop", at, {"reason": rng.choice(REASONS["stop"])})]
                if kind == "withdrawn":
                    return [*out, Move("withdraw", at, {"reason": rng.choice(REASONS["withdraw"])})]
                if kind in ("in_progress", "in_progress_late"):
                    return out
            gap = (
                limit * rng.uniform(1.1, 1.4) if step == late_step else pace * rng.uniform(0.5, 1.2)
            )
            at = self.after(at, gap)
            leader_step = step == steps - 1
            out.append(
                Move(
                    "complete_step",
                    at,
                    {"actor": self.staff.leader if leader_step else self.staff.officer},
                )
            )
        if kind == "processed":
            return out
        return [*out, Move("return_result", self.after(at, rng.uniform(1, 12)))]


def _office_moment(calendar: WorkingCalendar, rng: random.Random, day: dt.date) -> dt.datetime:
    day = calendar.next_working_day(day, include=True)
    minutes = rng.randint(7 * 60 + 35, 16 * 60 + 40)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), VN_TZ)


def schedule(
    timeline: Timeline, item: demo_plan.Planned, steps: int, limit: float, anchor: dt.datetime
) -> list[Move]:
    """The moves, all before `anchor`: finished dossiers anywhere in the window, open ones
    in the last days (a few of them overdue by now, as in any agency)."""
    rng, calendar = timeline.rng, timeline.calendar
    today = anchor.astimezone(VN_TZ).date()
    days = limit / OFFICE_DAY_HOURS
    if item.kind == "in_progress_late":
        back = int(days * 1.6) + rng.randint(1, 4)
    elif item.kind in demo_plan.OPEN:
        back = rng.randint(0, max(1, int(days * 0.6)))
    else:
        back = rng.randint(int(days * 2) + 7, WINDOW_DAYS)
    first_only = item.procedure_code == demo_plan.INTERLINKED
    for _ in range(60):
        start = _office_moment(calendar, rng, today - dt.timedelta(days=back))
        moves = timeline.moves(item.kind, steps, item.online, start, limit, first_only)
        if moves[-1].at <= anchor:
            return moves
        back += 2
    raise AssertionError(f"demo dossier {item.n}: no room before {anchor}")  # pragma: no cover


class Runner:
    """Carries out one dossier's moves in one transaction; an overdue dossier first gets its
    apology slip (slip 04) with a new appointment, once (the engine no longer demands it, but
    the demo shows the slip; recorded after the deadline, it is a late one)."""

    def __init__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        calendar: WorkingCalendar,
        staff: Staff,
        rng: random.Random,
    ) -> None:
        self.session, self.dossier, self.calendar, self.staff, self.rng = (
            session,
            dossier,
            calendar,
            staff,
            rng,
        )

    async def run(self, move: Move) -> None:
        dossier, at = self.dossier, move.at
        if engine.is_overdue(dossier, at) and dossier.apology_at is None:
            dossier.version += 1
            await engine.record_apology(
                self.session,
                dossier,
                actor=self.staff.leader,
                reason=self.rng.choice(REASONS["apology"]),
                new_appointment=self.calendar.add_working_days(at, 3),
                calendar=self.calendar,
                now=at,
            )
        dossier.version += 1  # as engine.load does for an officer's move
        kwargs: dict[str, object] = {"actor": self.staff.officer, **move.kwargs}
        if move.name in ("accept", "supplement_received"):
            kwargs["calendar"] = self.calendar
        await getattr(engine, move.name)(self.session, dossier, now=at, **kwargs)


@dataclasses.dataclass
class Context:
    resources: Resources
    registry: PluginRegistry
    calendar: WorkingCalendar
    agencies: dict[str, Agency]
    staff: dict[str, Staff]
    anchor: dt.datetime


def _procedure(registry: PluginRegistry, code: str) -> tuple[str, Procedure] | None:
    """The procedure as the catalogue has it: the first loaded module (by name) offering it,
    with that module's name."""
    for name, record in registry.loaded.items():
        for procedure in record.procedures:
            if procedure.code == code:
                return name, procedure
    return None


# The LIKE pattern of the demo dossiers' idempotency keys (demo_plan.Planned.key).
DEMO_KEYS = "demo-%"


async def existing_keys(resources: Resources) -> set[str]:
    column = col(Dossier.idempotency_key)
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(select(column).where(column.like(DEMO_KEYS)))
        return {key for (key,) in rows if key is not None}


async def create(ctx: Context, plan: list[demo_plan.Planned]) -> int:
    """Create the plan's dossiers not there yet; returns how many were created."""
    done, created = await existing_keys(ctx.resources), 0
    names: dict[str, set[str]] = {}
    for item in plan:
        found = _procedure(ctx.registry, item.procedure_code)
        agency = ctx.agencies.get(item.agency_code)
        if found is None or agency is None:
            continue  # its module is not loaded here
        module, procedure = found
        rng = item.rng()
        timeline = Timeline(ctx.calendar, rng, ctx.staff[item.agency_code], module)
        moves = schedule(timeline, item, len(procedure.steps), limit_hours(procedure), ctx.anchor)
        received = moves[0].at.astimezone(VN_TZ).date()
        applicant, data = demo_plan.sector_data(
            item, module, rng, received, names.setdefault(item.home, set())
        )
        if item.key in done:
            continue
        created += await _one(ctx, item, agency, procedure, moves, applicant, data, rng)
    return created


async def _one(
    ctx: Context,
    item: demo_plan.Planned,
    agency: Agency,
    procedure: Procedure,
    moves: list[Move],
    applicant: dict[str, Any],
    data: dict[str, Any],
    rng: random.Random,
) -> int:
    staff = ctx.staff[item.agency_code]
    scope = TenantScope.agencies([agency.id], [agency.province_id])
    async with ctx.resources.session(scope) as session, session.begin():
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=item.procedure_code,
            applicant=applicant,
            sector_data=data,
            actor=staff.officer,
            calendar=ctx.calendar,
            data_model=procedure.data_model,
            idempotency_key=item.key,
            online=item.online,
            now=moves[0].at,
        )
        if got.replayed:
            return 0  # another `eiso demo` running at the same time made it
        runner = Runner(session, got.dossier, ctx.calendar, staff, rng)
        for move in moves[1:]:
            await runner.run(move)
        dossier, lookup_key = got.dossier, got.lookup_key
        assert lookup_key is not None  # the first answer to a receipt carries it
    if dossier.status == Status.returned and rng.random() < 0.6:
        rating = rng.choices([5, 4, 3, 2, 1], [55, 28, 10, 5, 2])[0]
        comment = rng.choice(COMMENTS[rating]) if rng.random() < 0.5 else ""
        await service.rate_dossier(ctx.resources, dossier.code, lookup_key, rating, comment)
    return 1


async def count_by_status(resources: Resources) -> dict[str, dict[int, int]]:
    """province code → status → how many demo dossiers."""
    from eiso.tenants.models import Province

    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(col(Province.code), col(Dossier.status), func.count())
            .join(Province, col(Province.id) == col(Dossier.province_id))
            .where(col(Dossier.idempotency_key).like(DEMO_KEYS))
            .group_by(col(Province.code), col(Dossier.status))
        )
        counts: dict[str, dict[int, int]] = {}
        for province, status, count in rows:
            counts.setdefault(province, {})[status] = count
        return counts


async def adopt_all(
    resources: Resources, agencies: dict[str, Agency], adoptions: dict[str, list[str]]
) -> int:
    """Each agency adopts its procedures once (a second run adds no audit entry)."""
    from eiso.core.dossiers.models import ProcedureAdoption

    made = 0
    async with resources.session(TenantScope.nation()) as session, session.begin():
        have = {
            (a, p)
            for a, p in await session.execute(
                select(col(ProcedureAdoption.agency_id), col(ProcedureAdoption.procedure_code))
            )
        }
        for code, procedures in adoptions.items():
            agency = agencies[code]
            for procedure in procedures:
                if (agency.id, procedure) not in have:
                    await catalogue.adopt(
                        session,
                        province_id=agency.province_id,
                        agency_id=agency.id,
                        procedure_code=procedure,
                        actor="demo",
                    )
                    made += 1
    return made
