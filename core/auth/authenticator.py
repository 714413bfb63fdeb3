"""How a caller becomes a Principal. The app factory takes any `Authenticator`; the default
accepts no credentials at all until the token issuer is configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from eiso.core.auth.principal import Principal


class Caller(Protocol):
    """What an authenticator reads of a request or a WebSocket: its headers, a case-insensitive
    mapping (the HTTP edge passes Starlette's connection, which is one)."""

    @property
    def headers(self) -> Mapping[str, str]: ...


Authenticator = Callable[[Caller], Awaitable[Principal | None]]


async def anonymous(_caller: Caller) -> Principal | None:
    return None
