from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import (
    ProvinceCode,
    change_as_nation,
    echo_json,
    fail,
    read_stdin_secret,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(
    help="Federated login: a province's own OIDC identity provider.", no_args_is_help=True
)


@app.command("set")
def set_provider(
    province: ProvinceCode,
    issuer: str = typer.Option(..., "--issuer", help="The IdP's issuer URL."),
    client_id: str = typer.Option(..., "--client-id", help="eiso's client id at the IdP."),
    claim: list[str] = typer.Option([], "--map", help="field=claim, e.g. role=roles (repeat)."),
    default_role: str = typer.Option("officer", "--default-role"),
    scope: str = typer.Option("openid profile", "--scope"),
    metadata_url: str | None = typer.Option(
        None, "--metadata-url", help="Discovery URL if not under the issuer."
    ),
) -> None:
    """Set a province's IdP; reads eiso's client secret at the IdP from standard input."""
    from eiso.core.auth.federation import configure
    from eiso.core.auth.issuer import issuer as issuer_of

    if not issuer.startswith(("https://", "http://")):
        fail("issuer: must be an http(s) URL")
    mapping = {}
    for item in claim:
        field, sep, name = item.partition("=")
        if not sep or not field or not name:
            fail(f"map: expected field=claim, got {item!r}")
        mapping[field] = name
    secret = read_stdin_secret("client_secret")

    async def work(session: AsyncSession, resources: Resources) -> dict[str, object]:
        row = await configure(
            session,
            resources,
            province_code=province,
            issuer=issuer,
            client_id=client_id,
            client_secret=secret,
            claim_mapping=mapping,
            scope=scope,
            default_role=default_role,
            metadata_url=metadata_url,
        )
        return {
            "province": province,
            "issuer": row.issuer,
            "claim_mapping": row.claim_mapping,
            "redirect_uri": f"{issuer_of(resources.settings)}/auth/callback/{province}",
        }

    echo_json(change_as_nation(work))
