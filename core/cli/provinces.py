"""`eiso provinces`: register provinces."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import change_as_nation, cli_actor, fail, run_as_nation

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(help="Provinces (tenant groups).", no_args_is_help=True)


@app.command("create")
def create(
    code: str = typer.Option(..., "--code", help="official province code, e.g. 22"),
    name: str = typer.Option(..., "--name", help="Vietnamese name, e.g. 'Tỉnh Quảng Ninh'"),
) -> None:
    """Register a province; running it again with the same name changes nothing."""
    from eiso.tenants.services import ensure_province, get_province

    code, name = code.strip(), name.strip()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        fail(f"--code {code!r}: 1-16 letters or digits")
    if not name or len(name) > 200:
        fail("--name: 1-200 characters")

    async def work(session: AsyncSession, _resources: Resources) -> str:
        existing = await get_province(session, code)
        if existing is not None:
            if existing.name != name:
                return f"province {code} already exists as {existing.name!r}"
            return ""
        await ensure_province(session, code, name)
        return ""

    problem = run_as_nation(work)
    if problem:
        fail(problem)
    typer.echo(f"eiso: province {code} {name} ready", err=True)


@app.command("merge")
def merge(
    into: str = typer.Option(..., "--into", help="the province that remains (A)"),
    source: str = typer.Option(..., "--from", help="the province merged into it (B)"),
) -> None:
    """Merge province B into A: B's agencies and all their data move to A, in one transaction."""
    from eiso.tenants.reorganisation import merge_provinces

    async def work(session: AsyncSession, _resources: Resources) -> None:
        await merge_provinces(session, into, source, by=cli_actor())

    change_as_nation(work)
    typer.echo(f"eiso: province {source} merged into {into}", err=True)
