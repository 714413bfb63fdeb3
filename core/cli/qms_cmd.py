"""`eiso qms`: the QMS jobs an operator schedules (cron, a Kubernetes CronJob)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import echo_json, run_as_nation

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
