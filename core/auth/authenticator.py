"""How a request becomes a Principal. The app factory takes any `Authenticator`; the default
accepts no credentials at all until the token issuer is configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection

from eiso.core.auth.principal import Principal

Authenticator = Callable[[HTTPConnection], Awaitable[Principal | None]]


async def anonymous(_connection: HTTPConnection) -> Principal | None:
    return None
