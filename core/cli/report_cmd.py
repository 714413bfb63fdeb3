"""`eiso report annual`: the yearly report on ISO application, of a province or the nation."""

from __future__ import annotations

import pathlib
import sys

import typer

from eiso.core.cli.common import fail, run_with_resources

app = typer.Typer(help="Reports: the yearly report on ISO application.", no_args_is_help=True)


@app.command("annual")
def annual(
    year: int = typer.Option(..., "--year", help="The calendar year, e.g. 2026."),
    fmt: str = typer.Option("json", "--format", help="xlsx, csv or json."),
    province: str | None = typer.Option(
        None, "--province", help="A province's code; without it: the nation."
    ),
    output: pathlib.Path | None = typer.Option(
        None, "--output", help="Write here instead of standard output."
    ),
) -> None:
    """Figures per agency (or province), 766 points, conformity and nonconformities, objectives."""
    from eiso.core.qms import annual_report
    from eiso.tenants.scope import TenantScope

    if fmt not in annual_report.FORMATS:
        fail(f"--format: one of {', '.join(annual_report.FORMATS)}, not {fmt!r}")
    if not 1900 <= year <= 9999:
        fail(f"--year: {year} is not a calendar year")
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        fail("--output: an XLSX file is binary; give --output FILE")

    async def work(resources):
        async with resources.session(TenantScope.nation()) as session, session.begin():
            province_id = None
            if province is not None:
                found = await _province(session, province)
                if found is None:
                    return None
                province_id = found.id
            return await annual_report.build(session, TenantScope.nation(), year, province_id)

    report = run_with_resources(work)
    if report is None:
        fail(f"--province: no province with code {province!r}")
    body = annual_report.export(report, fmt)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        try:
            output.write_bytes(body)
        except OSError as error:
            fail(f"--output: cannot write {output}: {error.strerror}")
        typer.echo(
            f"{output}: {len(report['rows'])} rows, {len(report['objectives'])} objectives",
            err=True,
        )


async def _province(session, code: str):
    from sqlmodel import select

    from eiso.tenants.models import Province

    return (
        await session.execute(select(Province).where(Province.code == code))
    ).scalar_one_or_none()
