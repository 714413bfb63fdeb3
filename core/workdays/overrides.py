"""National calendar overrides (swapped days off, make-up Saturdays), entered by the national
administrator, and the loader that builds a `WorkingCalendar` from them.

Each process caches the overrides (issue 18: receipts and steps read them in a transaction of
their own), invalidated like the module sets (core/plugins/activation.py): a change bumps a
counter in Redis and publishes it (`calendar_changed`, which the CLI calls after its commit).
While the worker's subscription is up (`listen`, started with the app) a published change drops
its copy and a timed move needs no round trip at all; while it is down a worker compares the
counter (one GET, no database round trip) with the one its copy was read under.
A commit in this process that changes a row drops the copy at once; a copy older than
`FALLBACK_TTL` is read again (a change written straight into the database). Without a shared
counter (`memory://` Redis, Redis unreadable, or a caller that passes no `Resources`) every
call reads the database, as before: another process's change is never missed.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy import Column, Date, String, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, object_session
from sqlmodel import Field, col, select

from eiso.core.workdays.working_calendar import OfficeHours, WorkingCalendar
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.infra.redis_client import keep_following
from eiso.tenants.models import Authored

if TYPE_CHECKING:
    from eiso.core.resources import Resources
    from eiso.core.settings import Settings

FALLBACK_TTL = 30.0
log = logging.getLogger("eiso.workdays")
_CHANGED = "eiso.calendar_changed"


OverrideKind = enum.StrEnum("OverrideKind", "day_off working_day")


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


async def load_calendar(
    session: AsyncSession, settings: Settings | None = None, resources: Resources | None = None
) -> WorkingCalendar:
    """The calendar with today's overrides and the configured office hours (a cut-off is a
    procedure's own rule, never the calendar's). With `resources`, the overrides come from this
    process's copy while it is current."""
    overrides = await _cache.overrides(session, resources)
    if settings is None and resources is not None:
        settings = resources.settings
    return _calendar(overrides, settings)


def current_calendar(resources: Resources) -> WorkingCalendar | None:
    """`load_calendar(session, resources=resources)` when this process's copy of the overrides
    is current (the channel followed, the copy fresh), else None: a caller opens a session
    only when it gets None (opening and closing an unused AsyncSession was ~60 µs of a timed
    move's CPU, issue 18)."""
    overrides = _cache.current(resources)
    return None if overrides is None else _calendar(overrides, resources.settings)


def _calendar(overrides: dict[dt.date, bool], settings: Settings | None) -> WorkingCalendar:
    if settings is None:
        return WorkingCalendar(overrides)
    office_hours = OfficeHours.parse(settings.office_hours)
    return WorkingCalendar(overrides, office_hours=office_hours)


def calendar_version_key(resources: Resources) -> str:
    return resources.key("calendar", "version")


def calendar_channel(resources: Resources) -> str:
    return resources.key("calendar", "changed")


async def calendar_changed(resources: Resources) -> None:
    """Announce a committed change of the overrides to every worker (after the commit: a
    worker that reads the new counter must find the new rows): the counter first, then the
    message (a worker that hears it reads the new counter)."""
    _cache.forget()
    try:
        await resources.redis.incr(calendar_version_key(resources))
        await resources.redis.publish(calendar_channel(resources), "changed")
    except (RedisError, OSError) as error:  # the workers' copies expire after FALLBACK_TTL
        log.warning("calendar change not announced, Redis unavailable: %s", error)


async def listen(resources: Resources, retry: float = 1.0) -> None:
    """Follow the calendar's channel until cancelled (the app's lifespan runs it): once
    subscribed, a cached copy is used without reading the counter, and every message drops
    it; a lost subscription is logged once, and the counter is read per call until the next
    one is confirmed."""
    channel = calendar_channel(resources)

    def heard(message: dict) -> None:
        if message["type"] in ("subscribe", "message"):
            _cache.forget()  # a copy may predate the subscription, or the change
            _cache.listening.add(channel)

    warning = "calendar channel lost, reading the counter per call"
    await keep_following(
        resources.redis, channel, heard, lambda: _cache.listening.discard(channel), warning, retry
    )


class _CalendarCache:
    """This process's overrides, per database, with the counter they were read under."""

    def __init__(self) -> None:
        # database URL -> (the Redis counter, when read, the overrides)
        self._entries: dict[str, tuple[Any, float, dict[dt.date, bool]]] = {}
        self._epoch = 0  # bumped at every invalidation: a read that raced one is not kept
        self.listening: set[str] = set()  # the channels followed (`listen`): no GET needed

    def forget(self) -> None:
        self._epoch += 1
        self._entries.clear()

    def current(self, resources: Resources) -> dict[dt.date, bool] | None:
        """The copy, while the channel is followed and the copy fresh (a change would have
        dropped it); else None."""
        if calendar_channel(resources) in self.listening:
            cached = self._entries.get(resources.settings.database_url)
            if cached and time.monotonic() - cached[1] < FALLBACK_TTL:
                return cached[2]
        return None

    async def overrides(
        self, session: AsyncSession, resources: Resources | None
    ) -> dict[dt.date, bool]:
        if resources is not None:
            current = self.current(resources)
            if current is not None:
                return current
        version = await self._version(resources)
        if resources is None or version is None:
            return await load_overrides(session)  # no shared counter: the database tells
        url, now = resources.settings.database_url, time.monotonic()
        cached = self._entries.get(url)
        if cached and cached[0] == version and now - cached[1] < FALLBACK_TTL:
            return cached[2]
        epoch = self._epoch
        found = await load_overrides(session)
        if epoch == self._epoch:
            self._entries[url] = (version, now, found)
        return found

    @staticmethod
    async def _version(resources: Resources | None) -> tuple[str, Any] | None:
        if resources is None or resources.settings.is_memory_redis:
            return None  # memory:// is this process's own: another's change never reaches it
        try:
            return ("redis", await resources.redis.get(calendar_version_key(resources)))
        except (RedisError, OSError):
            log.warning("calendar version unreadable, reading the overrides", exc_info=True)
            return None


_cache = _CalendarCache()


@event.listens_for(CalendarOverride, "after_insert")
@event.listens_for(CalendarOverride, "after_update")
@event.listens_for(CalendarOverride, "after_delete")
def _mark_changed(_mapper: Any, _connection: Any, target: CalendarOverride) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _cache.forget()  # this process sees its own change at once


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


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
