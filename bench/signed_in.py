"""Real bearer tokens for the benchmarks (issue 18, "benchmarks honest by construction"): every
GraphQL benchmark authenticates through the production authenticator
(core/auth/jwt_authenticator.py: RS256 signature, issuer, audience, expiry, revocation), never
through a header that the bench makes up and a stand-in authenticator believes.

- `user_token`: a user made by `create_user` (an officer of an agency, a province
  administrator...) and the access token the authorization server issues at the end of the
  desk's sign-in (core/auth/server.py `_access_token`: the user's id, tenant and roles, the
  desk client's id and scopes, `preferred_username`), signed with the deployment's current
  key from the key store (made if there is none, as the app's start-up does). The sign-in
  itself (a browser's authorization-code flow, argon2) is not what these benchmarks measure:
  bench/desk_bench.py runs it whole, bench/auth_tokens.py times issuing and verifying.
- `client_credentials`: an integration client (`create_integration_client`); its token comes
  from the real grant, POST /oauth/token with HTTP Basic (`grant`), as bench/token_bench.py
  does. A province-wide caller of `dossiers` is such a client: no user role reads every
  dossier of a province.

The app that checks the tokens must run with the same `EISO_SECRET_KEY` (the private key is
sealed with it) and `EISO_ISSUER` as the `Resources` given here.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bench.common import ISSUER, SECRET_KEY

LIFETIME = 4 * 3600  # seconds: longer than any benchmark run


async def user_token(
    resources: Any,
    *,
    username: str,
    role: str,
    agency_code: str | None = None,
    province_code: str | None = None,
) -> str:
    """A new user and its access token, as a desk sign-in ends."""
    from eiso.core.auth import tokens
    from eiso.core.auth.issuer import issuer
    from eiso.core.auth.keys import KeyStore
    from eiso.core.auth.users import create_user, tenant_of
    from eiso.tenants.scope import TenantScope
    from eiso.web.desk_auth import CLIENT_ID, SCOPE

    async with resources.session(TenantScope.nation()) as session, session.begin():
        user = await create_user(
            session,
            username=username,
            role=role,
            password=None,
            agency_code=agency_code,
            province_code=province_code,
        )
        subject, tenant, roles = str(user.id), tenant_of(user), list(user.roles)
    settings = resources.settings
    return tokens.issue(
        await KeyStore(resources).signing_key(),
        issuer=issuer(settings),
        audience=settings.audience,
        lifetime=LIFETIME,
        subject=subject,
        client_id=CLIENT_ID,
        tenant=tenant,
        roles=roles,
        scope=SCOPE,
        extra={"preferred_username": username},
    )


async def client_credentials(
    resources: Any,
    scopes: list[str],
    *,
    agency_code: str | None = None,
    province_code: str | None = None,
) -> str:
    """A new integration client: the HTTP Basic header of its id and secret."""
    from eiso.core.auth.clients import create_integration_client
    from eiso.tenants.scope import TenantScope

    async with resources.session(TenantScope.nation()) as session, session.begin():
        row, secret = await create_integration_client(
            session,
            secret_key=resources.settings.secret_key.get_secret_value(),
            scopes=scopes,
            agency_code=agency_code,
            province_code=province_code,
        )
    return "Basic " + base64.b64encode(f"{row.client_id}:{secret}".encode()).decode()


async def grant(http: Any, base_url: str, basic: str) -> str:
    """The client's access token from the app's token endpoint (`http`: an httpx client)."""
    answer = await http.post(
        f"{base_url}/oauth/token",
        content=b"grant_type=client_credentials",
        headers={"authorization": basic, "content-type": "application/x-www-form-urlencoded"},
    )
    if answer.status_code != 200:
        raise SystemExit(f"the grant failed: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["access_token"])


def settings(database_url: str, owner_url: str | None = None, **overrides: Any) -> Any:
    """Settings for a bench process that makes users and tokens (or serves the app) on
    `database_url`: the run's secret key and issuer, memory Redis unless told otherwise."""
    from eiso.core.settings import load_settings

    values = {
        "env": "test",
        "database_url": database_url,
        "migration_database_url": owner_url or database_url,
        "redis_url": "memory://bench:",
        "log_json": False,
        "plugins": [],
        "secret_key": SECRET_KEY,
        "issuer": ISSUER,
    }
    return load_settings(**(values | overrides))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def client_of(app: Any, token: str) -> AsyncIterator[Any]:
    """The in-process `app` started (its lifespan) and an HTTP client of it that carries the
    bearer `token` (an httpx.AsyncClient, no socket)."""
    import httpx

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=bearer(token)
        ) as http,
    ):
        yield http
