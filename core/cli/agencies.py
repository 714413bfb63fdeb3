"""`eiso agencies import`: bulk onboarding from CSV or JSON, with a progress bar;
`eiso agencies list`: the agencies and their codes (what a receipt, a test or a script names)."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

import typer

from eiso.core.cli import common

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources
    from eiso.tenants.onboarding import OnboardingReport

app = typer.Typer(help="Agencies (the tenants).", no_args_is_help=True)


@app.command("import")
def import_agencies(
    file: pathlib.Path = typer.Argument(
        ..., help="CSV (code,name,kind,parent_code[,admin_username,admin_email]) or JSON list"
    ),
    province: str = typer.Option(..., "--province", help="the province's code"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report, write nothing"),
) -> None:
    """Validate every row, then write them all (or nothing). Safe to re-run."""
    from rich.progress import Progress

    from eiso.tenants.onboarding import detect_format, onboard
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import get_province

    try:
        content = file.read_bytes()
    except OSError as error:
        common.fail(f"{file}: {error.strerror or error}")

    from eiso.core.auth.invitations import create_agency_admins

    async def work(resources: Resources) -> OnboardingReport | None:
        async with resources.session(TenantScope.nation()) as session:
            target = await get_province(session, province)
        if target is None:
            return None
        with Progress(transient=True) as bar:
            task = bar.add_task(f"importing into {province}", total=None)
            return await onboard(
                resources.session,
                target,
                content,
                detect_format(file.name, content),
                dry_run=dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                accounts=create_agency_admins,
            )

    report = common.run_with_resources(work)
    if report is None:
        common.fail(f"--province {province!r}: no such province")
    if report.errors:
        for row_error in report.errors:
            typer.echo(f"eiso: {row_error}", err=True)
        typer.echo(f"eiso: {len(report.errors)} bad line(s); nothing was written", err=True)
        raise typer.Exit(1)
    verb = "would create" if dry_run else "created"
    typer.echo(
        f"eiso: {report.total} rows: {verb} {len(report.created)}, updated {len(report.updated)},"
        f" unchanged {len(report.unchanged)}",
        err=True,
    )
    if report.pending_accounts:
        what = (
            "would invite"
            if dry_run
            else "invited (no password yet; see `eiso users set-password`)"
        )
        typer.echo(f"eiso: {len(report.pending_accounts)} admin account(s) {what}:", err=True)
        for account in report.pending_accounts:
            typer.echo(
                f"  {account.agency_code}: {account.username} {account.email or ''}".rstrip(),
                err=True,
            )


@app.command("list")
def list_agencies(
    province: str | None = typer.Option(None, "--province", help="only this province's code"),
    json_output: common.JsonOutput = False,
) -> None:
    """The agencies by province and code: code, name, kind, parent's code and status."""
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased
    from sqlmodel import col, select

    from eiso.tenants.models import Agency, AgencyKind, Province, TenantStatus

    async def work(session: AsyncSession, _resources: Resources) -> list[dict[str, object]]:
        parent = aliased(Agency)
        query = (
            select(Province.code, Agency, parent.code)
            .join(Province, col(Province.id) == Agency.province_id)
            .outerjoin(
                parent,
                and_(
                    col(parent.province_id) == Agency.province_id,
                    col(parent.id) == Agency.parent_id,
                ),
            )
            .order_by(Province.code, Agency.code)
        )
        if province is not None:
            query = query.where(
                Agency.province_id == (await common.province_option(session, province)).id
            )
        return [
            {
                "province": province_code,
                "code": agency.code,
                "name": agency.name,
                "kind": AgencyKind(agency.kind).value,
                "parent": parent_code,
                "status": TenantStatus(agency.status).value,
            }
            for province_code, agency, parent_code in (await session.execute(query)).all()
        ]

    rows = common.run_as_nation(work)
    if json_output:
        common.echo_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("province", "code", "name", "kind", "parent", "status")
    for row in rows:
        table.add_row(*(str(row[key] or "") for key in row))
    Console().print(table)


# The help is one line of `eiso agencies --help`: longer than a line of code.
@app.command(
    "merge",
    help="Merge agencies into a new one (e.g. communes in 2025): their data moves,"
    " in one transaction.",
)
def merge(
    sources: list[str] = typer.Argument(..., help="codes of the agencies merged (two or more)"),
    province: str = typer.Option(..., "--province", help="the province's code"),
    code: str = typer.Option(..., "--code", help="code of the new agency"),
    name: str = typer.Option(..., "--name", help="name of the new agency"),
    kind: str = typer.Option("commune", "--kind", help="kind of the new agency"),
    parent: str | None = typer.Option(None, "--parent", help="code of the new agency's parent"),
) -> None:
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.reorganisation import merge_agencies

    if kind not in AgencyKind.__members__:
        common.fail(f"--kind {kind!r}: one of {', '.join(AgencyKind.__members__)}")

    async def work(session: AsyncSession, _resources: Resources) -> None:
        await merge_agencies(
            session,
            province,
            sources,
            code=code,
            name=name,
            kind=AgencyKind(kind),
            parent_code=parent,
            by=common.cli_actor(),
        )

    common.change_as_nation(work)
    typer.echo(f"eiso: {', '.join(sources)} merged into {code} {name}", err=True)


@app.command(
    "receiving-unit",
    help="Set the name of the unit that receives an agency's dossiers, as the slips print it"
    " (an empty NAME restores the default: the service centre of its commune or province).",
)
def receiving_unit(
    code: str = typer.Argument(..., help="the agency's code"),
    name: str = typer.Argument(..., help="e.g. 'Bộ phận Một cửa Sở Xây dựng'"),
) -> None:
    from eiso.tenants.services import get_agency_by_code

    if len(name) > 300:
        common.fail("NAME: at most 300 characters")

    async def work(session: AsyncSession, _resources: Resources) -> None:
        agency = await get_agency_by_code(session, code)
        if agency is None:
            common.fail(f"no agency with code {code!r}")
        agency.receiving_unit_name = name.strip() or None
        session.add(agency)

    common.change_as_nation(work)
    typer.echo(f"eiso: {code}: receiving unit {name.strip() or '(default)'}", err=True)
