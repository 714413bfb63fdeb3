"""The federated staff login over HTTP, with authlib's Starlette client (core/auth/federation.py
knows the province's IdP and maps its claims).

`/auth/login/{province}` redirects to the IdP (authorization code + PKCE, state and nonce in
the signed session cookie); `/auth/callback/{province}` exchanges the code, reads the user's
claims (the ID token's when the IdP sends one, else its userinfo endpoint) and maps them to an
eiso user of that province, creating it on first login. When the login started from eiso's
own authorization page (`?request=<the /oauth/authorize query>`), the callback finishes that
authorization and redirects to the client with an eiso code; otherwise it answers the mapped
user as JSON.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from authlib.oauth2 import OAuth2Error
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eiso.core.auth import federation
from eiso.core.auth.issuer import issuer as issuer_of
from eiso.core.auth.models import IdentityProvider, User
from eiso.core.errors import DomainError, NotFound
from eiso.core.http.oauth_server import authorize_input, respond, server_of
from eiso.core.resources import Resources
from eiso.tenants.models import Province

PENDING = "eiso_pending_authorize"


def _client(request: Request, province: Province, idp: IdentityProvider) -> StarletteOAuth2App:
    """authlib's Starlette OAuth client for this province's IdP."""
    resources: Resources = request.app.state.resources
    client_kwargs: dict[str, Any] = {"scope": idp.scope, "code_challenge_method": "S256"}
    transport = request.app.state.auth.federation_transport
    if transport is not None:
        client_kwargs["transport"] = transport
    oauth = OAuth()
    return oauth.register(
        name=f"province_{province.code}",
        client_id=idp.client_id,
        client_secret=federation.client_secret(resources, idp),
        server_metadata_url=idp.metadata_url or f"{idp.issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )


def _error(status: int, en: str, vi: str, code: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": en, "message_vi": vi}, status_code=status)


async def login(request: Request) -> Response:
    code = request.path_params["province"]
    try:
        province, idp = await federation.identity_provider(request.app.state.resources, code)
    except NotFound as error:
        return _error(404, error.message, error.message_vi, error.code)
    pending = request.query_params.get("request")
    if pending:
        request.session[PENDING] = pending
    issuer = issuer_of(request.app.state.settings)
    return await _client(request, province, idp).authorize_redirect(
        request, f"{issuer}/auth/callback/{province.code}"
    )


async def callback(request: Request) -> Response:
    code = request.path_params["province"]
    resources: Resources = request.app.state.resources
    try:
        province, idp = await federation.identity_provider(resources, code)
    except NotFound as error:
        return _error(404, error.message, error.message_vi, error.code)
    client = _client(request, province, idp)
    try:
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo") or await client.userinfo(token=token)
    except OAuthError as error:
        return _error(
            400,
            f"identity provider login failed: {error.error}",
            f"đăng nhập qua nhà cung cấp định danh thất bại: {error.error}",
            "IDP_ERROR",
        )
    try:
        user = await federation.sign_in(resources, province, idp, dict(claims))
    except DomainError as error:
        return _error(403, error.message, error.message_vi, error.code)
    pending = request.session.pop(PENDING, None)
    if pending:
        return await _finish_authorization(request, pending, user)
    return JSONResponse(
        {
            "user": {
                "id": str(user.id),
                "username": user.username,
                "roles": user.roles,
                "province": province.code,
            }
        }
    )


async def _finish_authorization(request: Request, query: str, user: User) -> Response:
    server = server_of(request)
    issuer = issuer_of(request.app.state.settings)
    http = authorize_input(f"{issuer}/oauth/authorize?{query}", request.headers, query)
    try:
        grant = await server.run(server.get_consent_grant, http, None)
    except OAuth2Error as error:
        return _error(
            400,
            f"{error.error}: {error.description}",
            f"{error.error}: {error.description}",
            "INVALID_REQUEST",
        )
    return await respond(server, server.create_authorization_response, http, user, grant)


routes = [
    Route("/auth/login/{province}", login),
    Route("/auth/callback/{province}", callback),
]
