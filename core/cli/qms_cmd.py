"""`eiso qms`: the QMS jobs an operator schedules (cron, a Kubernetes CronJob)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer

from eiso.core.cli.common import cli_actor, echo_json, fail, run_as_nation
from eiso.infra.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(help="The QMS improvement loop.", no_args_is_help=True)


@app.command("sweep-overdue")
def sweep_overdue() -> None:
    """Raise a nonconformity for every open dossier past its appointment, and every citizen's
    feedback answered late or unanswered past its deadline, that has none yet (idempotent: run
    it as often as you like). Prints {"checked": N, "raised": M, "feedback": {...}}."""
    from eiso.core.qms import dossier_ncs, feedback_ncs

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, object]:
        dossiers = await dossier_ncs.sweep_overdue(session)
        return {**dossiers, "feedback": await feedback_ncs.sweep_overdue(session)}

    echo_json(run_as_nation(work))


@app.command("reports")
def reports(
    province: str = typer.Option(..., "--province", help="The province's code."),
    year: int = typer.Option(..., "--year", help="The report's year, e.g. 2026."),
    today: str | None = typer.Option(
        None, "--today", help="YYYY-MM-DD: judge lateness as on this day (default: today)."
    ),
) -> None:
    """Every agency's yearly report of the province at a glance (JSON): its status, due day,
    whether it is overdue and the reminders sent; with a count per status."""
    from eiso.core.cli.common import province_option
    from eiso.core.qms import yearly_reports
    from eiso.tenants.scope import TenantScope

    day = _day(today)

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = (await province_option(session, province)).id
        assert province_id is not None
        lines = await yearly_reports.board(session, TenantScope.nation(), province_id, year)
        rows = [line.as_dict(day) for line in lines]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return {"province": province, "year": year, "counts": counts, "agencies": rows}

    echo_json(run_as_nation(work))


@app.command("remind-yearly-reports")
def remind_yearly_reports(
    today: str | None = typer.Option(
        None, "--today", help="YYYY-MM-DD: remind as on this day (default: today)."
    ),
) -> None:
    """Record a "due soon" reminder (from the province's warning day) and an "overdue" one (after
    its due day) on every yearly report of this year not yet sent, opening a draft where an agency
    has none; the agency sees them on its report. Idempotent: schedule it daily. Prints
    {"checked": N, "reminded": M}."""
    from eiso.core.qms import yearly_reports

    day = _day(today)

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        return await yearly_reports.sweep_reminders(session, day, actor=cli_actor())

    echo_json(run_as_nation(work))


def _day(raw: str | None) -> dt.date:
    if raw is None:
        return utcnow().date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        fail(f"--today: a date YYYY-MM-DD, not {raw!r}")


rollups_app = typer.Typer(help="The figures' rollups (core/qms/rollups.py).", no_args_is_help=True)
app.add_typer(rollups_app, name="rollups")


@rollups_app.command("rebuild")
def rebuild_rollups(
    province: str | None = typer.Option(
        None, "--province", help="The province's code (default: every province)."
    ),
) -> None:
    """Recompute the figures' rollups from the dossier rows, in one transaction (idempotent:
    the figures read the same afterwards unless the rollups had drifted). Prints
    {"provinces": N, "rows": M}."""
    from sqlmodel import col, select

    from eiso.core.cli.common import province_option
    from eiso.core.qms import rollups
    from eiso.tenants.models import Province

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        if province is not None:
            ids = [(await province_option(session, province)).id]
        else:
            ids = list((await session.execute(select(col(Province.id)))).scalars())
        written = 0
        for province_id in ids:
            assert province_id is not None
            written += await rollups.rebuild(session, province_id)
        return {"provinces": len(ids), "rows": written}

    echo_json(run_as_nation(work))
