"""The app's default authenticator: the JWT authenticator its lifespan built (core/auth)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from eiso.core.auth.principal import Principal


async def jwt_authenticator(connection: HTTPConnection) -> Principal | None:
    return await connection.app.state.auth.authenticator(connection)
