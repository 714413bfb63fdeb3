from __future__ import annotations

import sys

import typer

from eiso.core.cli.common import echo_json, fail, run_with_resources

app = typer.Typer(help="Local user accounts.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Option(..., "--username", help="Login name."),
    role: str = typer.Option(
        ...,
        "--role",
        help="national_admin, province_admin, iso_secretary, leader, officer or auditor.",
    ),
    agency: str | None = typer.Option(None, "--agency", help="The agency's code."),
    province: str | None = typer.Option(None, "--province", help="The province's code."),
    nation: bool = typer.Option(False, "--nation", help="A national account."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    name: str = typer.Option("", "--name", help="Display name."),
) -> None:
    """Create a local account in an agency, a province or the nation."""
    from eiso.core.auth.users import create_user
    from eiso.core.errors import DomainError
    from eiso.tenants.scope import TenantScope

    if sum((bool(agency), bool(province), nation)) != 1:
        fail("tenant: give exactly one of --agency CODE, --province CODE or --nation")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("password: standard input is empty")

    async def work(resources):
        async with resources.session(TenantScope.nation()) as session, session.begin():
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

    try:
        echo_json(run_with_resources(work))
    except DomainError as error:
        fail(error.message)


@app.command("set-password")
def set_password(
    username: str = typer.Option(..., "--username", help="Login name."),
) -> None:
    """Set an account's password from standard input (takes up an invitation, or resets)."""
    from eiso.core.auth.passwords import hash_password
    from eiso.core.auth.users import MIN_PASSWORD, get_by_username
    from eiso.tenants.scope import TenantScope

    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        fail(f"password: at least {MIN_PASSWORD} characters on standard input")

    async def work(resources) -> bool:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            user = await get_by_username(session, username)
            if user is None:
                return False
            user.password_hash = hash_password(password)
            return True

    if not run_with_resources(work):
        fail(f"--username {username!r}: no such account")
    typer.echo(f"eiso: password set for {username}", err=True)
