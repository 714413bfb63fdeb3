"""`eiso procedures`: the procedure catalogue that the loaded modules offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import echo_json, fail, run_as_nation, run_with_resources, settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.dossiers.models import ProcedureRecord
    from eiso.core.resources import Resources

app = typer.Typer(
    help="The procedure catalogue (synced from the loaded modules).", no_args_is_help=True
)


def time_limit_vi(amount: int, unit: str) -> str:
    """`8 giờ làm việc`, `3 ngày làm việc`, `15 ngày` (the Construction Law counts days),
    `trong ngày làm việc`."""
    from eiso.core.workdays.counting import describe_vi

    return describe_vi(amount, unit)


@app.command("sync")
def sync() -> None:
    """Bring the catalogue in line with the loaded modules (EISO_PLUGINS). The app does the
    same at start-up; a procedure no loaded module offers is marked inactive, never deleted."""
    from eiso.core.dossiers.catalogue import sync_registry
    from eiso.core.plugins.registry import PluginRegistry

    registry = PluginRegistry.load(settings().plugins)
    report = run_with_resources(lambda resources: sync_registry(resources, registry))
    for change, codes in (
        ("added", report.added),
        ("updated", report.updated),
        ("deactivated", report.deactivated),
    ):
        for code in codes:
            typer.echo(f"{change}\t{code}")
    for code, kept, ignored in report.duplicates:
        typer.echo(f"eiso: {code} is offered by {kept} and {ignored}: {kept}'s is used", err=True)
    typer.echo(
        f"eiso: procedure catalogue synced: added {len(report.added)},"
        f" updated {len(report.updated)}, deactivated {len(report.deactivated)},"
        f" unchanged {report.unchanged}",
        err=True,
    )


@app.command("review-sweep")
def review_sweep() -> None:
    """Flag for review every adopted procedure and QMS document whose legal basis is no longer
    in force (its latest version's validUntil has passed), and send the agency back to "to be
    re-announced". Idempotent; schedule it daily (the catalogue sync runs it too).
    Prints {"expired": bases found, "flagged": flags raised}."""
    from eiso.core.qms import legal

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        return await legal.sweep_expired(session, actor="review-sweep")

    echo_json(run_as_nation(work))


@app.command("drop")
def drop(
    agency: str = typer.Option(..., "--agency", help="The agency's code."),
    procedure: str = typer.Option(..., "--procedure", help="The procedure's code."),
) -> None:
    """End the agency's adoption of a procedure (as `dropProcedure` does): the procedure
    leaves the QMS scope and an announced agency must re-announce conformity. Refused while
    the agency holds a dossier of it not finished or whose result is not returned.
    Prints {"agency": ..., "dropped": code, "isoStatus": ...}."""
    from eiso.core.cli.common import agency_option, cli_actor
    from eiso.core.dossiers import catalogue
    from eiso.core.errors import DomainError
    from eiso.tenants.models import IsoStatus

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, str]:
        row = await agency_option(session, agency)
        assert row.id is not None
        try:
            await catalogue.drop(
                session,
                province_id=row.province_id,
                agency_id=row.id,
                procedure_code=procedure,
                actor=cli_actor(),
            )
        except DomainError as error:
            fail(f"--procedure: {error.message} ({error.code})")
        await session.refresh(row)
        status = IsoStatus(row.iso_status).value
        return {"agency": agency, "dropped": procedure, "isoStatus": status}

    echo_json(run_as_nation(work))


@app.command("list")
def list_procedures(
    module: str | None = typer.Option(None, "--module", help="only this module's procedures"),
    all_: bool = typer.Option(
        False, "--all", help="also the inactive ones (no loaded module offers them)"
    ),
) -> None:
    """One line per procedure: code, Vietnamese name, time limit, module, state (tab-separated)."""
    from sqlmodel import select

    from eiso.core.dossiers.models import ProcedureRecord
    from eiso.tenants.scope import TenantScope

    async def work(resources: Resources) -> list[ProcedureRecord]:
        async with resources.session(TenantScope.nation()) as session:
            statement = select(ProcedureRecord).order_by(
                ProcedureRecord.module, ProcedureRecord.code
            )
            return list((await session.execute(statement)).scalars())

    rows = run_with_resources(work)
    if not rows:
        fail(
            "the procedure catalogue is empty: run `eiso procedures sync` (or start the app) first"
        )
    if module is not None:
        rows = [r for r in rows if r.module == module]
        if not rows:
            fail(f"--module {module!r}: no procedure of this module in the catalogue")
    for row in rows:
        if row.active or all_:
            state = "active" if row.active else "inactive"
            limit = time_limit_vi(row.time_limit_amount, row.time_limit_unit)
            typer.echo(f"{row.code}\t{row.name_vi}\t{limit}\t{row.module}\t{state}")
