"""`eiso dossiers`: print a dossier's one-stop slips and an agency's tracking book, as the
operator (nation scope) from the command line."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import TYPE_CHECKING, Annotated

import typer

from eiso.core.cli.common import agency_option, cli_actor, fail, run_with_resources, write_output

if TYPE_CHECKING:
    from eiso.core.resources import Resources

Output = Annotated[
    pathlib.Path | None, typer.Option("--output", "-o", help="A file instead of standard output.")
]
app = typer.Typer(
    help="Dossiers: printable slips (01-06) and the tracking book (07).", no_args_is_help=True
)


# The help is one line of `eiso dossiers --help`: longer than a line of code.
@app.command(
    "slip",
    help="Print slip NUMBER of dossier CODE"
    " (e.g. `eiso dossiers slip CODE --number 6 --format pdf > f.pdf`).",
)
def slip(
    code: str = typer.Argument(..., help="The dossier code, e.g. H12.34-261201-0001."),
    number: int = typer.Option(..., "--number", "-n", min=1, max=6, help="The form: 1 to 6."),
    fmt: str = typer.Option("html", "--format", "-f", help="html or pdf."),
    output: Output = None,
) -> None:
    from eiso.core.dossiers.slips import service
    from eiso.core.errors import DomainError
    from eiso.tenants.scope import TenantScope

    try:
        rendered = run_with_resources(
            lambda resources: service.render(
                resources, TenantScope.nation(), number, fmt, actor=cli_actor(), code=code
            )
        )
    except DomainError as error:
        fail(f"{error.message} [{error.code}]")
    write_output(rendered.body, output)


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

    async def work(resources: Resources) -> bytes:
        async with resources.session(TenantScope.nation()) as session:
            found = await agency_option(session, agency)
        first, last = book.period(start.date(), end.date())
        return book.export(
            await book.load(
                resources,
                TenantScope.nation(),
                found.province_id,
                found.id,
                first,
                last,
                actor=cli_actor(),
            ),
            fmt,
        )

    try:
        body = run_with_resources(work)
    except DomainError as error:
        fail(f"{error.message} [{error.code}]")
    write_output(body, output)
