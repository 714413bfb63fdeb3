"""Which issuer (`iss`) this eiso is: `EISO_ISSUER`, or, when it is unset (dev and test only:
production requires it, core/settings.py), the base URL of the request being served.

`make run PORT=8301` or a test server on a free port then advertises and signs for the
address it is really reached at, with no setting to keep in step. The HTTP edge
(core/http/edge.py) sets the request's base URL for the duration of each request and
websocket; the token grants, the discovery document and token verification all read it
through `issuer()`, so the three always agree. A token is accepted where it was issued: the
same scheme, host and port (a token from `localhost:8301` is refused at `127.0.0.1:8301`,
as one of another issuer would be).
"""

from __future__ import annotations

import contextvars

from eiso.core.settings import Settings

# Where the request was addressed (scheme://host[:port]) while the edge serves it.
served_at: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eiso_served_at", default=None
)
# Outside any request (the command line), with no EISO_ISSUER: `eiso serve`'s default address.
DEFAULT = "http://127.0.0.1:8000"


def issuer(settings: Settings) -> str:
    """The configured issuer, else the base URL of the request being served."""
    if settings.issuer is not None:
        return settings.issuer
    return served_at.get() or DEFAULT
