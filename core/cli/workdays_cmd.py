"""`eiso workdays`: the national calendar overrides, and appointment checks for operators."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

import typer

from eiso.core.cli.common import echo_json, fail, run_as_nation, run_with_resources

if TYPE_CHECKING:
    from sqlalchemy import CursorResult
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources
    from eiso.core.workdays import OverrideKind

app = typer.Typer(help="The working-day calendar and its national overrides.", no_args_is_help=True)


def _date(text: str, field: str = "DATE") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{field}: {text!r} is not a date (YYYY-MM-DD)")


def _kind(text: str) -> OverrideKind:
    from eiso.core.workdays import OverrideKind

    try:
        return OverrideKind(text)
    except ValueError:
        fail(f"KIND: {text!r} must be day_off or working_day")


@app.command("list")
def list_overrides(year: int | None = typer.Option(None, help="Only this year.")) -> None:
    """Print the national overrides as JSON."""
    from sqlmodel import col, select

    from eiso.core.workdays import CalendarOverride

    async def work(session: AsyncSession, _resources: Resources) -> list[dict[str, str]]:
        statement = select(CalendarOverride).order_by(col(CalendarOverride.day))
        rows = (await session.execute(statement)).scalars()
        return [
            {
                "day": r.day.isoformat(),
                "kind": str(getattr(r.kind, "value", r.kind)),
                "reason": r.reason,
                "by": r.created_by,
            }
            for r in rows
            if year is None or r.day.year == year
        ]

    echo_json(run_as_nation(work))


@app.command("set")
def set_day(
    day: str = typer.Argument(..., metavar="DATE", help="YYYY-MM-DD"),
    kind: str = typer.Argument(..., metavar="KIND", help="day_off or working_day"),
    reason: str = typer.Option(..., "--reason", help="The government decision, e.g. its number."),
    by: str = typer.Option("national-admin", "--by", help="Who enters it."),
) -> None:
    """Add or replace the override of one date."""
    from eiso.core.workdays.overrides import calendar_changed, set_override
    from eiso.tenants.scope import TenantScope

    parsed, parsed_kind = _date(day), _kind(kind)
    if not reason.strip():
        fail("--reason: an override needs a reason")

    async def work(resources: Resources) -> None:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            await set_override(session, parsed, parsed_kind, reason.strip(), by)
        await calendar_changed(resources)  # after the commit: every worker's copy re-reads

    run_with_resources(work)
    typer.echo(f"eiso: {parsed.isoformat()} is now a {parsed_kind.value}", err=True)


@app.command("remove")
def remove(day: str = typer.Argument(..., metavar="DATE")) -> None:
    """Remove the override of one date (the package's rule applies again)."""
    from sqlalchemy import delete
    from sqlmodel import col

    from eiso.core.workdays import CalendarOverride
    from eiso.core.workdays.overrides import calendar_changed
    from eiso.tenants.scope import TenantScope

    parsed = _date(day)

    async def work(resources: Resources) -> int:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            result = await session.execute(
                delete(CalendarOverride).where(col(CalendarOverride.day) == parsed)
            )
        await calendar_changed(resources)  # after the commit, as `set`
        # A DELETE answers with a cursor result (AsyncSession.execute is typed for any statement).
        return cast("CursorResult[Any]", result).rowcount

    if not run_with_resources(work):
        fail(f"DATE: no override on {parsed.isoformat()}")
    typer.echo(f"eiso: override of {parsed.isoformat()} removed", err=True)


@app.command("appointment")
def appointment(
    received: str = typer.Argument(..., metavar="RECEIVED", help="YYYY-MM-DDTHH:MM, local time"),
    days: int | None = typer.Option(None, min=0, help="Limit in working days."),
    hours: float | None = typer.Option(None, min=0, help="Limit in working hours."),
    same_day: bool = typer.Option(
        False, "--same-day", help="Due the same working day (office close)."
    ),
    calendar_days: int | None = typer.Option(
        None, min=0, help="Limit in calendar days (Civil Code arts. 147-148)."
    ),
    cutoff: str | None = typer.Option(
        None,
        metavar="HH:MM",
        help="The procedure's cut-off: received at or after it, the count starts the next "
        "working day. None by default (only procedures that declare one have it).",
    ),
) -> None:
    """The appointment of a dossier received at RECEIVED under one counting unit (national
    overrides applied)."""
    from eiso.core.workdays import VN_TZ, Rule, due, load_calendar

    given = {
        "working_days": days,
        "working_hours": hours,
        "same_working_day": 0 if same_day else None,
        "calendar_days": calendar_days,
    }
    chosen = [(unit, amount) for unit, amount in given.items() if amount is not None]
    if len(chosen) != 1:
        fail("give exactly one of --days, --hours, --same-day or --calendar-days", 2)
    try:
        moment = dt.datetime.fromisoformat(received)
    except ValueError:
        fail(f"RECEIVED: {received!r} is not a date and time (YYYY-MM-DDTHH:MM)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN_TZ)
    try:
        limit = dt.time.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        fail(f"--cutoff: {cutoff!r} is not a time (HH:MM)")
    ((unit, amount),) = chosen
    rule = Rule(unit, amount, limit)  # type: ignore[arg-type]  # a key of `given`

    async def work(session: AsyncSession, resources: Resources) -> dt.datetime:
        calendar = await load_calendar(session, resources.settings)
        found = due(calendar, moment, rule)
        assert found is not None  # no clock stop: there is an appointment
        return found

    typer.echo(run_as_nation(work).isoformat(timespec="minutes"))
