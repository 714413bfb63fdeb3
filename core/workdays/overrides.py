"""National calendar overrides (swapped days off, make-up Saturdays), entered by the national
administrator, and the loader that builds a `WorkingCalendar` from them.

The overrides are read from the database on every `load_calendar` call: it is one indexed
query on a table of a few rows per year, and it keeps every worker exactly in step with what
the administrator entered, with no cache to invalidate across processes.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import Column, Date, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.workdays.working_calendar import OfficeHours, WorkingCalendar
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import Authored

if TYPE_CHECKING:
    from eiso.core.settings import Settings


class OverrideKind(str, enum.Enum):
    day_off = "day_off"
    working_day = "working_day"


class CalendarOverride(Authored, table=True):
    """A national decision that wins over the weekday and holiday rules for one date."""

    __tablename__ = "calendar_overrides"

    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(sa_column=Column(Date, unique=True, nullable=False))
    kind: OverrideKind = Field(sa_type=String(16))
    reason: str = Field(max_length=300)


async def load_overrides(session: AsyncSession) -> dict[dt.date, bool]:
    statement = select(col(CalendarOverride.day), col(CalendarOverride.kind))
    rows = (await session.execute(statement)).all()
    return {day: OverrideKind(kind) is OverrideKind.working_day for day, kind in rows}


async def load_calendar(session: AsyncSession, settings: Settings | None = None) -> WorkingCalendar:
    """The calendar with today's overrides and the configured office hours (a cut-off is a
    procedure's own rule, never the calendar's)."""
    if settings is None:
        return WorkingCalendar(await load_overrides(session))
    office_hours = OfficeHours.parse(settings.office_hours)
    return WorkingCalendar(await load_overrides(session), office_hours=office_hours)


async def set_override(
    session: AsyncSession, day: dt.date, kind: OverrideKind, reason: str, who: str
) -> CalendarOverride:
    """Add or replace the override of `day` (idempotent)."""
    if not reason.strip():
        raise ValueError("reason: an override needs a reason")
    row = await find_one(session, CalendarOverride, day=day)
    if row is None:
        row = CalendarOverride(day=day, kind=kind, reason=reason, created_by=who)
        session.add(row)
    else:
        row.kind, row.reason, row.created_by, row.created_at = kind, reason, who, utcnow()
    await session.flush()
    return row


# What the government announced for 2026 (the national administrator's data). The `holidays`
# package already knows part of it; `missing_overrides` keeps only what it does not.
ANNOUNCED_2026: list[tuple[dt.date, OverrideKind, str]] = [
    *[
        (dt.date(2026, 2, d), OverrideKind.day_off, "Tết Bính Ngọ 2026 (14–22/02)")
        for d in range(14, 23)
    ],
    (dt.date(2026, 1, 1), OverrideKind.day_off, "Tết Dương lịch 2026"),
    (dt.date(2026, 4, 27), OverrideKind.day_off, "Nghỉ bù Giỗ Tổ Hùng Vương (26/04 là Chủ nhật)"),
    (dt.date(2026, 4, 30), OverrideKind.day_off, "Ngày Chiến thắng 30/4"),
    (dt.date(2026, 5, 1), OverrideKind.day_off, "Ngày Quốc tế Lao động 1/5"),
    (dt.date(2026, 8, 31), OverrideKind.day_off, "Nghỉ Quốc khánh (hoán đổi với thứ Bảy 22/08)"),
    (dt.date(2026, 9, 1), OverrideKind.day_off, "Quốc khánh 2026"),
    (dt.date(2026, 9, 2), OverrideKind.day_off, "Quốc khánh 2026"),
    (dt.date(2026, 8, 22), OverrideKind.working_day, "Làm bù cho ngày nghỉ 31/08/2026"),
    # Chosen by the Politburo as an annual paid day off; Government Resolution 30/NQ-CP (2026)
    # has the Labour Code's Art. 112(1) amended for it. `holidays` knows it from 0.106 on.
    (
        dt.date(2026, 11, 24),
        OverrideKind.day_off,
        "Ngày Văn hóa Việt Nam 24/11 (chủ trương của Bộ Chính trị; Nghị quyết 30/NQ-CP năm 2026)",
    ),
]


def missing_overrides(
    announced: list[tuple[dt.date, OverrideKind, str]],
) -> list[tuple[dt.date, OverrideKind, str]]:
    """The announced days that the `holidays` package (without overrides) gets wrong."""
    plain = WorkingCalendar()
    return [
        (day, kind, reason)
        for day, kind, reason in announced
        if plain.is_working_day(day) != (kind is OverrideKind.working_day)
    ]
