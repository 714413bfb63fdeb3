"""The OAuth2 / OIDC HTTP endpoints: authorize (with a minimal bilingual login page), token,
revoke, discovery, JWKS and userinfo."""

from __future__ import annotations

import secrets
import urllib.parse

import jinja2
from authlib.oauth2 import OAuth2Error
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from eiso.core.auth.issuer import issuer as issuer_of
from eiso.core.auth.jwt_authenticator import bearer_token
from eiso.core.auth.principal import SCOPES
from eiso.core.auth.server import (
    OIDC_SCOPES,
    AuthorizationCodeGrant,
    HttpInput,
    presented_client,
)
from eiso.core.auth.sign_in import SignIn, sign_in
from eiso.core.auth.throttle import token_rate_limited
from eiso.core.auth.userinfo import userinfo as userinfo_of
from eiso.core.http.oauth_server import (
    authorize_input,
    read_request,
    respond,
    server_of,
    to_response,
)

CSRF = "eiso_login_csrf"
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("eiso.core.http", "templates"), autoescape=True
)


def _login_page(
    request: Request,
    query: str,
    grant: AuthorizationCodeGrant,
    *,
    username: str = "",
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    # The form's CSRF token lives in the (SameSite=Lax) session cookie, so a form posted from
    # another site cannot sign the victim in to the attacker's account.
    csrf = request.session.setdefault(CSRF, secrets.token_urlsafe(24))
    html = _templates.get_template("login.html").render(
        action="/oauth/authorize",
        request_query=query,
        client_name=grant.client.row.name or grant.client.get_client_id(),
        csrf=csrf,
        username=username,
        error_en=error[0] if error else "",
        error_vi=error[1] if error else "",
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "cache-control": "no-store",
            "x-frame-options": "DENY",
            # form-action covers the redirect that follows the post too (Chromium blocks it
            # otherwise): the client's redirect_uri, already checked against its registration.
            "content-security-policy": (
                "default-src 'none'; style-src 'unsafe-inline'; "
                f"form-action 'self' {_origin(grant.redirect_uri)}"
            ),
        },
    )


def _refused(request: Request, error: OAuth2Error) -> Response:
    """An authorization request refused. Once the client and its `redirect_uri` are known
    good, authlib has put that URI on the error and the client hears it there: `error`,
    `error_description` and `state` in the query (RFC 6749 4.1.2.1). Before (an unknown
    client, a redirect_uri it did not register), redirecting would make eiso an open
    redirector: the user gets a page instead."""
    if error.redirect_uri:
        server = server_of(request)
        return to_response(server.handle_error_response(None, error))
    return _error_page(error)


def _origin(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _error_page(error: OAuth2Error) -> HTMLResponse:
    text = f"{error.error}: {error.description or ''}"
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><h1>Yêu cầu không hợp lệ / Invalid request</h1>"
        f"<p>{jinja2.utils.markupsafe.escape(text)}</p>",
        status_code=400,
    )


async def _consent_grant(request: Request, http: HttpInput) -> AuthorizationCodeGrant:
    server = server_of(request)
    return await server.run(server.get_consent_grant, http, None)


async def authorize(request: Request) -> Response:
    """GET shows the login page for a valid authorization request; POST checks the password
    and redirects back to the client with a code."""
    server = server_of(request)
    if request.method == "GET":
        http = await read_request(request)
        query = request.url.query
    else:
        async with request.form() as form:
            query = str(form.get("request", ""))
            username = str(form.get("username", "")).strip()
            password = str(form.get("password", ""))
            csrf = str(form.get("csrf", ""))
            cancelled = bool(form.get("cancel"))
        http = authorize_input(str(request.url.replace(query=query)), request.headers, query)
    try:
        grant = await _consent_grant(request, http)
    except OAuth2Error as error:
        return _refused(request, error)
    if request.method == "GET":
        return _login_page(request, query, grant)

    expected = request.session.get(CSRF, "")
    if not expected or not secrets.compare_digest(csrf, expected):
        return _login_page(
            request,
            query,
            grant,
            username=username,
            status=400,
            error=(
                "The form expired; please sign in again.",
                "Biểu mẫu đã hết hạn, vui lòng đăng nhập lại.",
            ),
        )
    if cancelled:  # the user declined: authlib answers access_denied to the client
        return await respond(server, server.create_authorization_response, http, None, grant)
    wait = await token_rate_limited(request.app.state.resources, "sign-in:" + _address(request))
    if wait:
        return _too_many(request, query, grant, username, wait)
    outcome = await sign_in(request.app.state.resources, username, password)
    if outcome.user is None or outcome.locked_for:
        status, message = _refusal(outcome)
        return _login_page(request, query, grant, username=username, status=status, error=message)
    return await respond(server, server.create_authorization_response, http, outcome.user, grant)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(
    request: Request, query: str, grant: AuthorizationCodeGrant, username: str, wait: int
) -> HTMLResponse:
    """The password form's per-address limit (`token_rate_limit` a minute, like the token
    endpoint's): the per-username lockout alone lets one address try a password on every
    account. Counted before the password is checked, so argon2 is not run past it."""
    page = _login_page(
        request,
        query,
        grant,
        username=username,
        status=429,
        error=(
            f"Too many sign-ins from this address. Try again in {wait} s.",
            f"Có quá nhiều lượt đăng nhập từ địa chỉ này. Thử lại sau {wait} giây.",
        ),
    )
    page.headers["retry-after"] = str(wait)
    return page


def _refusal(outcome: SignIn) -> tuple[int, tuple[str, str]]:
    """Why a sign-in failed, for the login page: its status, the English and the Vietnamese
    message."""
    if outcome.locked_for:
        minutes = (outcome.locked_for + 59) // 60
        return 423, (
            f"This account is locked after too many failed sign-ins. Try again in {minutes} min.",
            f"Tài khoản đang bị khóa do đăng nhập sai quá nhiều lần. Thử lại sau {minutes} phút.",
        )
    if outcome.locked_now:
        return 423, (
            "Too many failed sign-ins: this account is now locked.",
            "Đăng nhập sai quá nhiều lần: tài khoản đã bị khóa.",
        )
    return 401, ("Wrong username or password.", "Sai tên đăng nhập hoặc mật khẩu.")


def _caller(request: Request, http: HttpInput) -> str:
    """Whose count a token request goes to: an integration client's client-credentials grant
    counts per client; a person's sign-in (authorization code) and refresh count per address
    (the officer's own: the desk asks in-process with the browser's address, web/desk_auth.py),
    and per person once the grant knows who (core/auth/server.py, `AuthorizationCodeGrant`).
    Per client they would share one count among every officer of the desk's one client."""
    presented = presented_client(http)
    if presented is not None and http.form.get("grant_type") == ["client_credentials"]:
        return "client:" + presented[0]
    return "addr:" + _address(request)


async def token(request: Request) -> Response:
    server = server_of(request)
    http = await read_request(request)
    wait = await token_rate_limited(request.app.state.resources, _caller(request, http))
    if wait:
        return JSONResponse(
            {"error": "slow_down", "error_description": "Too many token requests"},
            status_code=429,
            headers={"retry-after": str(wait), "cache-control": "no-store"},
        )
    return to_response(await server.token_response(http))


async def revoke(request: Request) -> Response:
    server = server_of(request)
    http = await read_request(request)
    return await respond(server, server.create_endpoint_response, "revocation", http)


async def openid_configuration(request: Request) -> Response:
    issuer = issuer_of(request.app.state.settings)
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "userinfo_endpoint": f"{issuer}/oauth/userinfo",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "scopes_supported": list(OIDC_SCOPES) + list(SCOPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": [
                "sub",
                "preferred_username",
                "name",
                "roles",
                "tenant",
                "agency_code",
            ],
        }
    )


async def jwks(request: Request) -> Response:
    return JSONResponse(
        await request.app.state.auth.keys.jwks(), headers={"cache-control": "public, max-age=60"}
    )


async def userinfo(request: Request) -> Response:
    raw = bearer_token(request.headers.get("authorization", ""))
    claims = await request.app.state.auth.authenticator.claims(raw) if raw else None
    if claims is None:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"www-authenticate": 'Bearer error="invalid_token"'},
        )
    info = await userinfo_of(request.app.state.resources, claims)
    return JSONResponse(info, headers={"cache-control": "no-store"})


routes = [
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/.well-known/openid-configuration", openid_configuration),
    Route("/.well-known/jwks.json", jwks),
]
