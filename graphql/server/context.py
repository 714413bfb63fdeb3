"""What every resolver receives as `info.context`."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from eiso.core.auth.principal import Principal
from eiso.core.resources import Resources


@dataclasses.dataclass
class Context:
    request: Request | WebSocket
    resources: Resources
    principal: Principal | None = None
    response: Any = None
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The graphql-transport-ws `connection_init` payload (Strawberry fills it in).
    connection_params: dict[str, Any] | None = None
