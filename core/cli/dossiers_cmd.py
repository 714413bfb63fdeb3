"""`eiso dossiers`: print a dossier's one-stop slips and an agency's tracking book, as the
operator (nation scope) from the command line."""

from __future__ import annotations

import datetime as dt
import getpass
import pathlib
import sys
from typing import Annotated

import typer

from eiso.core.cli.common import fail, run_with_resources

Output = Annotated[
    pathlib.Path | None, typer.Option("--output", "-o", help="A file instead of standard output.")
]
# Who the audit trail names for prints made at the command line (as `eiso agencies import`).
CLI_ACTOR = f"cli:{getpass.getuser()}"
app = typer.Typer(
    help="Dossiers: printable slips (01-05) and the tracking book (06).", no_args_is_help=True
)


def _write(body: bytes, output: pathlib.Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(body)


@app.command("slip")
def slip(
    code: str = typer.Argument(..., help="The dossier code, e.g. H12.34-261201-0001."),
    number: int = typer.Option(..., "--number", "-n", min=1, max=5, help="The form: 1 to 5."),
    fmt: str = typer.Option("html", "--format", "-f", help="html or pdf."),
    output: Output = None,
) -> None:
    """Print slip NUMBER of dossier CODE (e.g. `eiso dossiers slip CODE --number 5 --format pdf > f.pdf`)."""
    from eiso.core.dossiers.slips import service
    from eiso.core.errors import DomainError
    from eiso.tenants.scope import TenantScope

    try:
        rendered = run_with_resources(
            lambda resources: service.render(
                resources, TenantScope.nation(), number, fmt, actor=CLI_ACTOR, code=code
            )
        )
    except DomainError as error:
        fail(f"{error.message} [{error.code}]")
    _write(rendered.body, output)


@app.command("tracking-book")
def tracking_book(
    agency: Annotated[str, typer.Option("--agency", help="The agency's code.")],
    start: Annotated[
        dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day, YYYY-MM-DD.")
    ],
    end: Annotated[
        dt.datetime,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (included), YYYY-MM-DD."),
    ],
    fmt: str = typer.Option("csv", "--format", "-f", help="csv or xlsx."),
    output: Output = None,
) -> None:
    """Form 06 of one agency over a period: one row per dossier received."""
    from eiso.core.dossiers.slips import book
    from eiso.core.errors import DomainError
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import get_agency_by_code

    async def work(resources):
        async with resources.session(TenantScope.nation()) as session:
            found = await get_agency_by_code(session, agency)
        if found is None:
            fail(f"--agency: no agency with code {agency!r}")
        first, last = book.period(start.date(), end.date())
        return book.export(
            await book.load(
                resources,
                TenantScope.nation(),
                found.province_id,
                found.id,
                first,
                last,
                actor=CLI_ACTOR,
            ),
            fmt,
        )

    try:
        body = run_with_resources(work)
    except DomainError as error:
        fail(f"{error.message} [{error.code}]")
    _write(body, output)
