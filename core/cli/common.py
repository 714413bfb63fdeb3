"""What the sub-commands share: settings, an event loop around async work, clean failures."""

from __future__ import annotations

import asyncio
import getpass
import pathlib
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.resources import Resources
from eiso.core.settings import Settings, get_settings
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_agency_by_code, get_province

T = TypeVar("T")

# The options several commands declare with the same meaning and help.
ProvinceCode = Annotated[str, typer.Option("--province", help="The province's code.")]
# An account's or a client's place: an agency, or a province (`scoped_to`).
AgencyOfRow = Annotated[str | None, typer.Option("--agency", help="The agency's code.")]
ProvinceOfRow = Annotated[str | None, typer.Option("--province", help="The province's code.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Username = Annotated[str, typer.Option("--username", help="Login name.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Bad input: one line on stderr and exit status 1 (2 for usage errors)."""
    typer.echo(f"eiso: {message}", err=True)
    raise typer.Exit(code)


def _named(row: T | None, option: str, code: str) -> T:
    if row is None:
        fail(f"{option}: no {option.removeprefix('--')} with code {code!r}")
    return row


async def agency_option(session: AsyncSession, code: str) -> Agency:
    """The agency `--agency CODE` names; an unknown code fails the command."""
    return _named(await get_agency_by_code(session, code), "--agency", code)


async def province_option(session: AsyncSession, code: str) -> Province:
    """The province `--province CODE` names; an unknown code fails the command."""
    return _named(await get_province(session, code), "--province", code)


def settings() -> Settings:
    return get_settings()


def require_shared_redis(what: str) -> Settings:
    """The settings, refusing `memory://` for `what`: fakeredis lives inside this process, so
    another process would never read (or write) what this one sees."""
    current = settings()
    if current.is_memory_redis:
        fail(
            f"{what} need a shared Redis: set EISO_REDIS_URL=redis://... "
            "(memory:// lives inside one process)"
        )
    return current


def cli_actor() -> str:
    """Who the audit trail and the change records name for work done at the command line."""
    return f"cli:{getpass.getuser()}"


def run_with_resources(work: Callable[[Resources], Awaitable[T]]) -> T:
    async def _main() -> T:
        resources = Resources.open(settings())
        try:
            return await work(resources)
        finally:
            await resources.close()

    return asyncio.run(_main())


def run_as_nation(work: Callable[[AsyncSession, Resources], Awaitable[T]]) -> T:
    """`work(session, resources)` in one transaction of a nation-scope session: the operator
    at the command line sees every tenant."""

    async def in_transaction(resources: Resources) -> T:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            return await work(session, resources)

    return run_with_resources(in_transaction)


def change_as_nation(work: Callable[[AsyncSession, Resources], Awaitable[T]]) -> T:
    """`run_as_nation` for a change the domain may refuse (a `DomainError`, or a merge's
    `ReorganisationError`): a refusal is one line on stderr and exit status 1, nothing changed."""
    from eiso.core.errors import DomainError
    from eiso.tenants.reorganisation import ReorganisationError

    try:
        return run_as_nation(work)
    except (DomainError, ReorganisationError) as error:
        fail(error.message)


def read_stdin_line() -> str:
    """One line of standard input, without its line break: how a password or a secret reaches
    a command (an argument would show in the process list and the shell history)."""
    return sys.stdin.readline().rstrip("\r\n")


def read_stdin_secret(field: str) -> str:
    """`read_stdin_line`, failing with `field` named when standard input is empty."""
    secret = read_stdin_line()
    if not secret:
        fail(f"{field}: standard input is empty")
    return secret


def echo_json(data: object) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_output(body: bytes, output: pathlib.Path | None) -> None:
    """`body` to the `--output` file, or to standard output when there is none."""
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as error:
        fail(f"--output: cannot write {output}: {error.strerror}")
