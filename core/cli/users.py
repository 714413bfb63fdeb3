from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli import common

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(help="Local user accounts.", no_args_is_help=True)


@app.command("create")
def create(
    username: common.Username,
    role: str = typer.Option(
        ...,
        "--role",
        help="national_admin, province_admin, iso_secretary, leader, officer or auditor.",
    ),
    agency: common.AgencyOfRow = None,
    province: common.ProvinceOfRow = None,
    nation: bool = typer.Option(False, "--nation", help="A national account."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    name: str = typer.Option("", "--name", help="Display name."),
) -> None:
    """Create a local account in an agency, a province or the nation."""
    from eiso.core.auth.users import create_user

    if sum((bool(agency), bool(province), nation)) != 1:
        common.fail("tenant: give exactly one of --agency CODE, --province CODE or --nation")
    password = common.read_stdin_secret("password") if password_stdin else None

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, object]:
        user = await create_user(
            session,
            username=username,
            role=role,
            password=password,
            agency_code=agency,
            province_code=province,
            display_name=name,
        )
        return {"id": str(user.id), "username": user.username, "roles": user.roles}

    common.echo_json(common.change_as_nation(work))


@app.command("set-password")
def set_password(
    username: common.Username,
) -> None:
    """Set an account's password from standard input (takes up an invitation, or resets)."""
    from eiso.core.auth.passwords import hash_password
    from eiso.core.auth.users import MIN_PASSWORD, get_by_username

    password = common.read_stdin_line()
    if len(password) < MIN_PASSWORD:
        common.fail(f"password: at least {MIN_PASSWORD} characters on standard input")

    async def work(session: AsyncSession, _resources: Resources) -> bool:
        user = await get_by_username(session, username)
        if user is None:
            return False
        user.password_hash = hash_password(password)
        return True

    if not common.run_as_nation(work):
        common.fail(f"--username {username!r}: no such account")
    typer.echo(f"eiso: password set for {username}", err=True)
