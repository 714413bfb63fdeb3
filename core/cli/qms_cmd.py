"""`eiso qms`: the QMS jobs an operator schedules (cron, a Kubernetes CronJob)."""

from __future__ import annotations

import typer

from eiso.core.cli.common import echo_json, run_with_resources

app = typer.Typer(help="The QMS improvement loop.", no_args_is_help=True)


@app.command("sweep-overdue")
def sweep_overdue() -> None:
    """Raise a nonconformity for every open dossier past its appointment that has none yet
    (idempotent: run it as often as you like). Prints {"checked": N, "raised": M}."""
    from eiso.core.qms import dossier_ncs
    from eiso.tenants.scope import TenantScope

    async def work(resources):
        async with resources.session(TenantScope.nation()) as session, session.begin():
            return await dossier_ncs.sweep_overdue(session)

    echo_json(run_with_resources(work))
