"""`eiso report annual`: the yearly report on ISO application, of a province or the nation."""

from __future__ import annotations

import pathlib
import sys
from typing import TYPE_CHECKING, Any

import typer

from eiso.core.cli.common import fail, province_option, run_as_nation, write_output

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

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

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = None if province is None else (await province_option(session, province)).id
        return await annual_report.build(session, TenantScope.nation(), year, province_id)

    report = run_as_nation(work)
    write_output(annual_report.export(report, fmt), output)
    if output is not None:
        typer.echo(
            f"{output}: {len(report['rows'])} rows, {len(report['objectives'])} objectives",
            err=True,
        )
