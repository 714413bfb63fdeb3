from __future__ import annotations

import typer

from eiso.core.cli.common import echo_json, fail, run_with_resources

app = typer.Typer(help="OAuth2 integration clients.", no_args_is_help=True)


@app.command("create")
def create(
    scope: list[str] = typer.Option(..., "--scope", help="A scope the client may use (repeat)."),
    agency: str | None = typer.Option(None, "--agency", help="The agency's code."),
    province: str | None = typer.Option(None, "--province", help="The province's code."),
    name: str = typer.Option("", "--name", help="A label for the client."),
) -> None:
    """Create a client-credentials client; prints its id and secret once (only a hash is kept)."""
    from eiso.core.auth.clients import create_integration_client
    from eiso.core.errors import DomainError
    from eiso.tenants.scope import TenantScope

    async def work(resources):
        async with resources.session(TenantScope.nation()) as session, session.begin():
            row, secret = await create_integration_client(
                session, scopes=scope, agency_code=agency, province_code=province, name=name
            )
            return {"client_id": row.client_id, "client_secret": secret}

    try:
        echo_json(run_with_resources(work))
    except DomainError as error:
        fail(error.message)
