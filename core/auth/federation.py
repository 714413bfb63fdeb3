"""Federated staff login: a province may send its staff to its own OIDC identity provider.

eiso is then the relying party, through authlib's Starlette client:
`/auth/login/{province}` redirects to the IdP (authorization code + PKCE, state and nonce in
the signed session cookie); `/auth/callback/{province}` exchanges the code, reads the user's
claims (the ID token's when the IdP sends one, else its userinfo endpoint) and maps them to an
eiso user of that province, creating it on first login. When the login started from eiso's
own authorization page (`?request=<the /oauth/authorize query>`), the callback finishes that
authorization and redirects to the client with an eiso code; otherwise it answers the mapped
user as JSON.
"""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eiso.core.auth.models import IdentityProvider, User
from eiso.core.auth.principal import Role
from eiso.core.auth.sealing import seal, unseal
from eiso.core.auth.server import HttpInput
from eiso.core.errors import DomainError, NotFound
from eiso.core.resources import Resources
from eiso.tenants.models import Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_agency_by_code, get_province

DEFAULT_MAPPING = {
    "subject": "sub",
    "username": "preferred_username",
    "name": "name",
    "agency": "agency_code",
    "role": "eiso_role",
}
PENDING = "eiso_pending_authorize"


async def configure(
    session: AsyncSession,
    resources: Resources,
    *,
    province_code: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    claim_mapping: dict[str, str] | None = None,
    scope: str = "openid profile",
    default_role: str = Role.officer.value,
    metadata_url: str | None = None,
) -> IdentityProvider:
    """Set (or replace) a province's IdP. The client secret is stored sealed."""
    province = await get_province(session, province_code)
    if province is None:
        raise NotFound(
            f"province: no province with code {province_code!r}",
            f"province: không có tỉnh mã {province_code!r}",
        )
    if default_role not in Role.__members__ or default_role == Role.national_admin.value:
        raise DomainError(
            f"default_role: not allowed: {default_role!r}",
            f"default_role: không hợp lệ: {default_role!r}",
        )
    unknown = set(claim_mapping or {}) - set(DEFAULT_MAPPING)
    if unknown:
        raise DomainError(
            f"claim_mapping: unknown field(s) {sorted(unknown)}",
            f"claim_mapping: trường không hợp lệ {sorted(unknown)}",
        )
    row = await session.get(IdentityProvider, province.id) or IdentityProvider(
        province_id=province.id, issuer=issuer, client_id=client_id, client_secret_encrypted=""
    )
    row.issuer, row.client_id, row.scope = issuer.rstrip("/"), client_id, scope
    row.metadata_url = metadata_url
    row.client_secret_encrypted = seal(
        resources.settings.secret_key.get_secret_value(), client_secret
    )
    row.claim_mapping = {**DEFAULT_MAPPING, **(claim_mapping or {})}
    row.default_role = default_role
    session.add(row)
    await session.flush()
    return row


async def _provider(request: Request, code: str) -> tuple[Province, IdentityProvider]:
    resources: Resources = request.app.state.resources
    async with resources.session(TenantScope.nation()) as session:
        province = await get_province(session, code)
        idp = await session.get(IdentityProvider, province.id) if province else None
    if province is None or idp is None:
        raise NotFound(
            f"province {code!r} has no identity provider",
            f"tỉnh {code!r} chưa cấu hình nhà cung cấp định danh",
        )
    return province, idp


def _client(request: Request, province: Province, idp: IdentityProvider):
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
        client_secret=unseal(
            resources.settings.secret_key.get_secret_value(), idp.client_secret_encrypted
        ),
        server_metadata_url=idp.metadata_url or f"{idp.issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )


def _error(status: int, en: str, vi: str, code: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": en, "message_vi": vi}, status_code=status)


async def login(request: Request) -> Response:
    code = request.path_params["province"]
    try:
        province, idp = await _provider(request, code)
    except NotFound as error:
        return _error(404, error.message, error.message_vi, error.code)
    pending = request.query_params.get("request")
    if pending:
        request.session[PENDING] = pending
    issuer = request.app.state.settings.issuer.rstrip("/")
    return await _client(request, province, idp).authorize_redirect(
        request, f"{issuer}/auth/callback/{province.code}"
    )


async def callback(request: Request) -> Response:
    code = request.path_params["province"]
    try:
        province, idp = await _provider(request, code)
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
    resources: Resources = request.app.state.resources
    try:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            user = await map_user(session, province, idp, dict(claims))
            session.expunge(user)
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


async def map_user(
    session: AsyncSession, province: Province, idp: IdentityProvider, claims: dict[str, Any]
) -> User:
    """Find the eiso user for these IdP claims, or create it in this province."""
    mapping = {**DEFAULT_MAPPING, **idp.claim_mapping}
    subject = claims.get(mapping["subject"])
    if not subject:
        raise DomainError("the identity provider sent no subject", "thiếu định danh người dùng")
    existing = (
        await session.execute(
            select(User).where(User.idp_issuer == idp.issuer, User.idp_subject == str(subject))
        )
    ).scalar_one_or_none()
    if existing is not None:
        if not existing.active:
            raise DomainError(
                "this account is disabled", "tài khoản đã bị vô hiệu hóa", code="FORBIDDEN"
            )
        return existing
    agency = None
    agency_code = claims.get(mapping["agency"])
    if agency_code:
        agency = await get_agency_by_code(session, str(agency_code))
        if agency is None or agency.province_id != province.id:
            raise DomainError(
                f"agency {agency_code!r} is not an agency of this province",
                f"cơ quan {agency_code!r} không thuộc tỉnh này",
                code="FORBIDDEN",
            )
    role = claims.get(mapping["role"]) or idp.default_role
    if isinstance(role, list):  # e.g. a `roles` claim: the first one eiso knows
        role = next((r for r in role if r in Role.__members__), idp.default_role)
    role = str(role)
    if role not in Role.__members__ or role == Role.national_admin.value:
        role = idp.default_role  # an IdP can never grant national rights
    if agency is None and role not in (Role.province_admin.value, Role.auditor.value):
        raise DomainError(
            "no agency claim for an agency role",
            "thiếu mã cơ quan cho vai trò này",
            code="FORBIDDEN",
        )
    name = str(claims.get(mapping["username"]) or subject)
    user = User(
        username=f"{province.code}.{name}"[:150],
        display_name=str(claims.get(mapping["name"]) or name),
        roles=[role],
        province_id=province.id,
        agency_id=agency.id if agency else None,
        idp_issuer=idp.issuer,
        idp_subject=str(subject),
    )
    session.add(user)
    await session.flush()
    return user


async def _finish_authorization(request: Request, query: str, user: User) -> Response:
    server = request.app.state.auth.server
    parsed: dict[str, list[str]] = defaultdict(list)
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parsed[key].append(value)
    issuer = request.app.state.settings.issuer.rstrip("/")
    http = HttpInput("GET", f"{issuer}/oauth/authorize?{query}", request.headers, dict(parsed), {})
    from authlib.oauth2 import OAuth2Error

    try:
        grant = await server.run(server.get_consent_grant, http, None)
    except OAuth2Error as error:
        return _error(
            400,
            f"{error.error}: {error.description}",
            f"{error.error}: {error.description}",
            "INVALID_REQUEST",
        )
    return await server.run(server.create_authorization_response, http, user, grant)


routes = [
    Route("/auth/login/{province}", login),
    Route("/auth/callback/{province}", callback),
]
