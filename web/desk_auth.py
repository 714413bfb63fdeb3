"""Sign-in for the officer's desk through eiso's own OAuth server.

The web room is a registered confidential client (`eiso-web-desk`) using the authorization
code flow with PKCE (S256), spoken with authlib's client. Its secret is derived from
EISO_SECRET_KEY, so every worker knows it and the database keeps only its argon2 hash. The
token requests go to this same app in-process (httpx's ASGI transport) at the issuer's
address (core/auth/issuer.py): a token is only valid where it was issued, so the desk asks
for it at the address the officer's browser uses.

The tokens never reach the browser: they are kept in Redis under a random id, and the signed
session cookie `eiso_web` holds only that id. Signing out revokes the refresh token and the
access token (RFC 7009) and forgets them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2 import OAuth2Error
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.auth.client_secrets import hash_client_secret, is_keyed, verify_client_secret
from eiso.core.auth.clients import create_frontend_client
from eiso.core.auth.issuer import issuer
from eiso.core.auth.models import Client
from eiso.core.resources import Resources
from eiso.tenants.scope import TenantScope
from eiso.web import csrf
from eiso.web.pages import render
from eiso.web.portal import failed, forbidden
from eiso.web.run import OperationFailed, not_allowed, run

CLIENT_ID = "eiso-web-desk"
SCOPE = "openid profile tenants:read dossiers:read dossiers:write"
DESK = "/ban-lam-viec"
SIGN_IN = DESK + "/dang-nhap"
CALLBACK = SIGN_IN + "/xong"
SIGN_OUT = DESK + "/dang-xuat"
CONSOLE = "/quan-tri"  # the province console (web/console.py) signs in here too
ISO = "/iso"  # and the agency's ISO workspace (web/iso_workspace.py)
_FLOW = "desk_flow"  # the pending sign-in: state, PKCE verifier, where to go after
_SID = "desk_sid"  # the id of the tokens kept in Redis
_LIFETIME = 7200  # as long as the page session (core/app.py, cookie eiso_web)
_REFRESH_MARGIN = 30  # seconds before expiry an access token is refreshed
# (database, redirect_uri, secret hash) known registered: no database round trip per sign-in.
_registered: set[tuple[str, str, str]] = set()


def client_secret(resources: Resources) -> str:
    """The desk client's secret: the same in every worker, never stored in clear."""
    key = resources.settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"eiso-web-desk client secret", hashlib.sha256).hexdigest()


async def ensure_client(resources: Resources, redirect_uri: str) -> None:
    """Register the desk's client, or add `redirect_uri` to it. The redirect is the issuer's
    callback: with EISO_ISSUER set (production) there is one; in dev and test the issuer is
    the address the request came to, so each address the desk is reached at is added."""
    secret = client_secret(resources)
    database = str(resources.settings.database_url)
    marker = (database, redirect_uri, hashlib.sha256(secret.encode()).hexdigest())
    if marker in _registered:
        return
    try:
        await _register(resources, redirect_uri, secret)
    except IntegrityError:  # another worker registered it at the same moment: add to theirs
        await _register(resources, redirect_uri, secret)
    _registered.add(marker)


async def _register(resources: Resources, redirect_uri: str, secret: str) -> None:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row = await session.get(Client, CLIENT_ID, with_for_update=True)
        if row is None:
            row, _ = await create_frontend_client(
                session,
                redirect_uris=[redirect_uri],
                scopes=SCOPE.split(),
                name="eiso – bàn làm việc / officer's desk",
                client_id=CLIENT_ID,
            )
        elif redirect_uri not in row.redirect_uris:
            row.redirect_uris = [*row.redirect_uris, redirect_uri]
        key = resources.settings.secret_key.get_secret_value()
        if not is_keyed(row.secret_hash) or not verify_client_secret(key, row.secret_hash, secret):
            # First run, EISO_SECRET_KEY changed, or an argon2 hash of an earlier version:
            # the desk's secret is its own, so it is rewritten without an argon2 check.
            row.secret_hash = hash_client_secret(key, secret)


def _oauth(request: Request, base: str, **kwargs: Any) -> AsyncOAuth2Client:
    """authlib's client, talking to this app in-process at the issuer's address."""
    resources: Resources = request.app.state.resources
    return AsyncOAuth2Client(
        client_id=CLIENT_ID,
        client_secret=client_secret(resources),
        token_endpoint_auth_method="client_secret_basic",
        scope=SCOPE,
        redirect_uri=base + CALLBACK,
        code_challenge_method="S256",
        # The token endpoint counts a sign-in per address: the officer's, not the desk's.
        transport=httpx.ASGITransport(app=request.app, client=_browser(request)),
        base_url=base,
        **kwargs,
    )


def _browser(request: Request) -> tuple[str, int]:
    """The officer's address (behind the proxy: uvicorn's forwarded one, core/cli/serve.py),
    given to the in-process token requests as theirs."""
    client = request.client
    return (client.host, client.port) if client else ("127.0.0.1", 123)


def _key(resources: Resources, sid: str) -> str:
    return resources.key("web", "desk", sid)


def _safe_next(target: str | None) -> str:
    """Only a path of the desk, the console or the ISO workspace (no open redirect)."""
    if not target or not target.startswith((DESK, CONSOLE, ISO)) or urlsplit(target).netloc:
        return DESK
    return target


async def sign_in(request: Request) -> Response:
    """Start the flow: remember state and verifier in the session, go to /oauth/authorize."""
    resources: Resources = request.app.state.resources
    base = issuer(resources.settings)
    await ensure_client(resources, base + CALLBACK)
    verifier = secrets.token_urlsafe(48)
    async with _oauth(request, base) as client:
        url, state = client.create_authorization_url(
            base + "/oauth/authorize", code_verifier=verifier
        )
    request.session[_FLOW] = {
        "state": state,
        "verifier": verifier,
        "next": _safe_next(request.query_params.get("next")),
    }
    return RedirectResponse(url, status_code=303)


def refused(request: Request, why: str) -> Response:
    """The sign-in did not complete (a stale or forged state, a refused code, a cancel)."""
    error = OperationFailed(
        "UNAUTHENTICATED",
        f"Sign-in did not complete ({why}): please sign in again",
        f"Đăng nhập chưa hoàn tất ({why}): vui lòng đăng nhập lại",
    )
    return render(request, "error.html", {"error": error}, status=401)


async def callback(request: Request) -> Response:
    """The OAuth server sent the officer back with a code: redeem it with the verifier."""
    resources: Resources = request.app.state.resources
    flow = request.session.pop(_FLOW, None)
    params = request.query_params
    if not isinstance(flow, dict) or not secrets.compare_digest(
        str(flow.get("state", "")), params.get("state", "")
    ):
        return refused(request, "state")
    if "code" not in params:
        return refused(request, params.get("error", "access_denied"))
    base = issuer(resources.settings)
    try:
        async with _oauth(request, base) as client:
            token = await client.fetch_token(
                base + "/oauth/token",
                grant_type="authorization_code",
                code=params["code"],
                code_verifier=flow["verifier"],
            )
    except (OAuth2Error, httpx.HTTPError):
        return refused(request, "token")
    await _forget(request)
    sid = secrets.token_urlsafe(32)
    await _keep(resources, sid, dict(token))
    # A new session after sign-in: a fresh CSRF token (no fixation of the anonymous one).
    request.session.clear()
    request.session[_SID] = sid
    csrf.token(request)
    return RedirectResponse(_safe_next(flow.get("next")), status_code=303)


async def _keep(resources: Resources, sid: str, token: dict[str, Any]) -> None:
    kept = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(token.get("expires_at") or time.time() + int(token["expires_in"])),
    }
    await resources.redis.set(_key(resources, sid), json.dumps(kept), ex=_LIFETIME)


async def _kept(request: Request) -> tuple[str, dict[str, Any]] | None:
    sid = request.session.get(_SID)
    if not isinstance(sid, str):
        return None
    resources: Resources = request.app.state.resources
    raw = await resources.redis.get(_key(resources, sid))
    return (sid, json.loads(raw)) if raw else None


async def access_token(request: Request) -> str | None:
    """The signed-in officer's access token (refreshed when about to expire), or None."""
    found = await _kept(request)
    if found is None:
        return None
    sid, kept = found
    if kept["expires_at"] - _REFRESH_MARGIN > time.time():
        return str(kept["access_token"])
    if not kept.get("refresh_token"):
        return None
    resources: Resources = request.app.state.resources
    base = issuer(resources.settings)
    try:
        async with _oauth(request, base) as client:
            token = await client.refresh_token(
                base + "/oauth/token", refresh_token=kept["refresh_token"]
            )
    except (OAuth2Error, httpx.HTTPError):
        await resources.redis.delete(_key(resources, sid))
        return None
    await _keep(resources, sid, dict(token))
    return str(token["access_token"])


async def signed_in(request: Request) -> str | Response:
    """The signed-in user's access token, or the way to sign in (back to this page
    afterwards): what every desk and console page starts with."""
    token = await access_token(request)
    if token is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{SIGN_IN}?{urlencode({'next': back})}", status_code=303)
    return token


async def signed_in_as(request: Request, operation: str) -> tuple[str, dict[str, Any]] | Response:
    """The signed-in user's access token and who they are (the `me` of `operation`: `DeskMe`,
    `ConsoleMe`, `IsoMe`), or the page that refuses (the way to sign in, the API's refusal)."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    try:
        me = (await run(request, operation, token=token))["me"]
    except OperationFailed as error:
        return failed(request, error)
    return token, me


async def signed_in_for(
    request: Request,
    operation: str,
    allowed: Callable[[dict[str, Any]], bool],
    refusal: tuple[str, str],
) -> tuple[str, dict[str, Any]] | Response:
    """`signed_in_as` in a room for some users only (the desk's counter, the console, the ISO
    workspace): whom `allowed` does not let in by their `me` is refused with the 403 page of
    `refusal` (its English and Vietnamese texts)."""
    found = await signed_in_as(request, operation)
    if isinstance(found, Response):
        return found
    if not allowed(found[1]):
        return failed(request, not_allowed(*refusal))
    return found


async def _forget(request: Request) -> None:
    """Revoke the kept tokens at the OAuth server and drop them."""
    found = await _kept(request)
    if found is None:
        return
    sid, kept = found
    resources: Resources = request.app.state.resources
    base = issuer(resources.settings)
    async with _oauth(request, base) as client:
        for kind in ("refresh_token", "access_token"):
            if kept.get(kind):
                # A refused revocation still leaves the token unusable here: its id goes.
                with contextlib.suppress(OAuth2Error, httpx.HTTPError):
                    await client.revoke_token(
                        base + "/oauth/revoke", kept[kind], token_type_hint=kind
                    )
    await resources.redis.delete(_key(resources, sid))


async def sign_out(request: Request) -> Response:
    """POST only, with the form's CSRF token (a link could sign an officer out)."""
    form = await request.form()
    if not csrf.valid(request, form.get(csrf.FIELD)):
        return forbidden(request)
    await _forget(request)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
