"""CSRF tokens of the pages' forms (synchronizer token): one random token per browser
session, kept in the signed session cookie, printed in every form as `csrf_token`; a POST
whose field does not equal it is refused with 403 before anything runs."""

from __future__ import annotations

import secrets

from starlette.requests import Request

FIELD = "csrf_token"
_KEY = "csrf"


def token(request: Request) -> str:
    """The session's token (created on first use: the page that shows a form)."""
    found = request.session.get(_KEY)
    if not isinstance(found, str):
        found = secrets.token_urlsafe(32)
        request.session[_KEY] = found
    return found


def valid(request: Request, sent: object) -> bool:
    expected = request.session.get(_KEY)
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and secrets.compare_digest(expected.encode(), sent.encode())
    )
