from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import AgencyOfRow, ProvinceOfRow, change_as_nation, echo_json

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(help="OAuth2 integration clients.", no_args_is_help=True)


@app.command("create")
def create(
    scope: list[str] = typer.Option(..., "--scope", help="A scope the client may use (repeat)."),
    agency: AgencyOfRow = None,
    province: ProvinceOfRow = None,
    name: str = typer.Option("", "--name", help="A label for the client."),
) -> None:
    """Create a client-credentials client; prints its id and secret once (only a hash is kept)."""
    from eiso.core.auth.clients import create_integration_client

    async def work(session: AsyncSession, resources: Resources) -> dict[str, str]:
        row, secret = await create_integration_client(
            session,
            secret_key=resources.settings.secret_key.get_secret_value(),
            scopes=scope,
            agency_code=agency,
            province_code=province,
            name=name,
        )
        return {"client_id": row.client_id, "client_secret": secret}

    echo_json(change_as_nation(work))
