"""The dossier's clock under its procedure's counting rules (issue 17): the appointment
(`counting.due` with the adopted time limit, the clock stops and the extensions), the stops
kept on the dossier (`Dossier.pauses`, `paused_at`) and the statuses that stop it. The engine
(engine.py) calls these inside its moves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.dossiers import catalogue
from eiso.core.dossiers.models import Dossier, ProcedureRecord
from eiso.core.dossiers.statuses import FINISHED, Status
from eiso.core.workdays import WorkingCalendar, counting
from eiso.infra.clock import aware


def cutoff_of(procedure: ProcedureRecord, tightened: str | None = None) -> dt.time | None:
    """The cut-off that applies: the adoption's (kept on the dossier) where it tightened the
    procedure's, which it may only add or move earlier (catalogue.adopt), else the procedure's."""
    cutoff = tightened or procedure.cutoff
    return dt.time.fromisoformat(cutoff) if cutoff else None


def rule_of(procedure: ProcedureRecord, amount: int, cutoff: str | None = None) -> counting.Rule:
    """The procedure's counting rule with the agency's (maybe shortened) `amount` and (maybe
    earlier) `cutoff`."""
    return counting.Rule(
        counting.unit_of(procedure.time_limit_unit), amount, cutoff_of(procedure, cutoff)
    )


def appointment(
    calendar: WorkingCalendar,
    procedure: ProcedureRecord,
    amount: int,
    received_at: dt.datetime,
    pauses: list[list[Any]] | None = None,
    extensions: list[dict[str, Any]] | None = None,
    cutoff: str | None = None,
) -> dt.datetime | None:
    """The appointment under the procedure's rule (`counting.due`), with the adoption's
    tightened `cutoff`, after the clock stops `pauses` (overlapping ones merged) and the
    recorded `extensions`; None while one is open."""
    extended = [
        counting.Extension(counting.unit_of(e["unit"]), e["amount"]) for e in extensions or []
    ]
    due = counting.due(
        calendar,
        received_at,
        rule_of(procedure, amount, cutoff),
        pauses=merged(pauses or []),
        extensions=extended,
    )
    return utc(due)


# -- clock stops ----------------------------------------------------------------------------
# A stop is [stopped_at, resumed_at | None, why, agency_id] in `Dossier.pauses` (ISO strings);
# `paused_at` mirrors the earliest open one, so SQL (figures, the late filter) sees it.
SUPPLEMENT = "supplement"


def stops(dossier: Dossier) -> list[list[Any]]:
    """The dossier's clock stops, rows written before issue 17 (a supplement, [start, end],
    the open one only in `paused_at`) read in today's shape."""
    rows = [[*p[:2], *(p[2:] or [SUPPLEMENT, None])] for p in dossier.pauses]
    if dossier.paused_at is not None and not any(r[1] is None for r in rows):
        rows.append([aware(dossier.paused_at).isoformat(), None, SUPPLEMENT, None])
    return rows


def merged(rows: list[list[Any]]) -> list[counting.Pause]:
    """The intervals the clock stood still: overlapping stops as one (an open one: to None)."""
    spans = sorted(
        (dt.datetime.fromisoformat(r[0]), dt.datetime.fromisoformat(r[1]) if r[1] else None)
        for r in rows
    )
    out: list[counting.Pause] = []
    for start, end in spans:
        if out and (out[-1][1] is None or start <= out[-1][1]):
            last_start, last_end = out[-1]
            out[-1] = (last_start, None if end is None or last_end is None else max(end, last_end))
        else:
            out.append((start, end))
    return out


def stop_clock(dossier: Dossier, now: dt.datetime, why: str, agency_id: int | None) -> None:
    rows = stops(dossier)
    rows.append([now.isoformat(), None, why, agency_id])
    dossier.pauses = rows
    dossier.paused_at = min(
        (dt.datetime.fromisoformat(r[0]) for r in rows if r[1] is None), default=None
    )


async def resume_stop(
    session: AsyncSession,
    dossier: Dossier,
    why: str,
    now: dt.datetime,
    calendar: WorkingCalendar | None,
) -> bool:
    """Close the open stop `why` (if any) and, when no other stop is open, move the
    appointment by the time the clock stood still. True when a stop was closed."""
    rows = stops(dossier)
    open_rows = [r for r in rows if r[1] is None and r[2] == why]
    if not open_rows:
        return False
    open_rows[0][1] = now.isoformat()
    dossier.pauses = rows
    still = [dt.datetime.fromisoformat(r[0]) for r in rows if r[1] is None]
    dossier.paused_at = min(still, default=None)
    if still:
        return True
    calendar = await calendar_or_stored(session, calendar)
    if dossier.apology_at is not None:
        # The apology fixed its own appointment: shift it by the office time the clock stood.
        assert dossier.appointment_at is not None  # the one the apology set
        paused_at = dt.datetime.fromisoformat(open_rows[0][0])
        dossier.appointment_at = utc(
            calendar.add_working_hours(
                calendar.counting_start(now),
                calendar.working_time_between(paused_at, aware(dossier.appointment_at)),
            )
        )
    else:
        procedure = await catalogue.procedure_in_force(
            session, dossier.procedure_code, aware(dossier.received_at)
        )
        dossier.appointment_at = appointment(
            calendar,
            procedure,
            await time_limit(session, dossier),
            aware(dossier.received_at),
            dossier.pauses,
            dossier.extensions,
            dossier.cutoff,
        )
    return True


async def calendar_or_stored(
    session: AsyncSession, calendar: WorkingCalendar | None
) -> WorkingCalendar:
    """`calendar`, or the stored one (the moves that need none from their caller)."""
    if calendar is not None:
        return calendar
    from eiso.core.settings import get_settings
    from eiso.core.workdays.overrides import load_calendar

    return await load_calendar(session, get_settings())


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite keeps a datetime's wall-clock digits and drops its zone: store UTC only, so
    # what is read back (naive, taken as UTC) is the same moment.
    return moment.astimezone(dt.UTC) if moment is not None and moment.tzinfo else moment


def accepted(dossier: Dossier) -> bool:
    """Received (at the counter, or an online dossier accepted): only then has it an
    appointment. A dossier filed online and not yet accepted has none, whatever its status
    (new, waiting for a supplement asked before acceptance, refused or withdrawn)."""
    return dossier.appointment_at is not None


async def status_stops(
    session: AsyncSession,
    dossier: Dossier,
    before: Status,
    to: Status,
    now: dt.datetime,
    calendar: WorkingCalendar | None,
) -> None:
    """The statuses the procedure names as clock stops (`CountingRules.stop_statuses`, e.g. 6
    for land): entering one stops an accepted dossier's clock, leaving it resumes it. A
    finished dossier's open stops close with it."""
    if not accepted(dossier) or before == to:
        return
    if to in FINISHED:
        if dossier.paused_at is not None:
            dossier.pauses = [
                r if r[1] else [r[0], now.isoformat(), *r[2:]] for r in stops(dossier)
            ]
            dossier.paused_at = None
        return
    procedure = await catalogue.procedure_in_force(
        session, dossier.procedure_code, aware(dossier.received_at)
    )
    stopping = set((procedure.counting or {}).get("stop_statuses", ()))
    if int(before) in stopping:
        await resume_stop(session, dossier, f"status:{int(before)}", now, calendar)
    if int(to) in stopping:
        stop_clock(dossier, now, f"status:{int(to)}", None)


async def time_limit(session: AsyncSession, dossier: Dossier) -> int:
    # Kept on the dossier at receipt: the agencies of later steps cannot read the adoption.
    if dossier.time_limit_amount is not None:
        return dossier.time_limit_amount
    return (
        await catalogue.adoption_of(session, dossier.agency_id, dossier.procedure_code)
    ).time_limit_amount
