"""OAuth2 clients. Integration clients are confidential and bound to one agency or province;
their secret is shown once and stored as a keyed hash (core/auth/client_secrets.py).
Frontends are public clients that must use PKCE (S256)."""

from __future__ import annotations

import secrets

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.client_secrets import hash_client_secret, is_keyed, verify_client_secret
from eiso.core.auth.models import Client
from eiso.core.auth.principal import SCOPES
from eiso.core.auth.tenancy import agency_by_code, province_by_code, scope_of_ids
from eiso.core.errors import DomainError
from eiso.infra.db import added
from eiso.tenants.scope import TenantScope


class OAuthClient(ClientMixin):
    """authlib's view of a Client row (detached: no database access from authlib's thread).

    `legacy_secret_ok`: for a secret still stored as argon2id, the outcome of checking the
    presented secret before authlib ran (off the event loop); None when not checked."""

    def __init__(self, row: Client, secret_key: str, legacy_secret_ok: bool | None = None) -> None:
        self.row = row
        self.client_id = row.client_id
        self._secret_key = secret_key
        self.legacy_secret_ok = legacy_secret_ok

    @property
    def is_public(self) -> bool:
        return self.row.secret_hash is None

    @property
    def tenant(self) -> TenantScope | None:
        return scope_of_ids(self.row.province_id, self.row.agency_id)

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.row.redirect_uris[0] if self.row.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scopes)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.row.secret_hash
        if not is_keyed(stored) and self.legacy_secret_ok is not None:
            return self.legacy_secret_ok
        # The keyed form takes microseconds; an argon2 hash not checked beforehand only comes
        # here on authlib's worker thread (the grants other than client credentials).
        return verify_client_secret(self._secret_key, stored, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types


def _check_scopes(scopes: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    if not scopes:
        raise DomainError(
            "scope: at least one --scope is required", "scope: cần ít nhất một --scope"
        )
    for scope in scopes:
        if scope not in SCOPES and scope not in extra:
            raise DomainError(
                f"scope: unknown scope {scope!r} (one of {', '.join(SCOPES)})",
                f"scope: phạm vi không hợp lệ {scope!r}",
            )
    return sorted(set(scopes))


async def create_integration_client(
    session: AsyncSession,
    *,
    secret_key: str,
    scopes: list[str],
    agency_code: str | None = None,
    province_code: str | None = None,
    name: str = "",
) -> tuple[Client, str]:
    """A confidential client-credentials client; returns the row and the plain secret."""
    if bool(agency_code) == bool(province_code):
        raise DomainError(
            "tenant: give exactly one of --agency or --province",
            "tenant: chọn đúng một trong --agency hoặc --province",
        )
    scopes = _check_scopes(scopes)
    province_id: int | None
    agency_id: int | None
    if agency_code:
        agency = await agency_by_code(session, agency_code)
        province_id, agency_id = agency.province_id, agency.id
    else:
        assert province_code  # exactly one of the two, checked above
        province_id, agency_id = (await province_by_code(session, province_code)).id, None
    secret = secrets.token_urlsafe(32)
    row = Client(
        client_id="cli_" + secrets.token_hex(12),
        name=name,
        secret_hash=hash_client_secret(secret_key, secret),
        scopes=scopes,
        grant_types=["client_credentials"],
        redirect_uris=[],
        province_id=province_id,
        agency_id=agency_id,
    )
    return await added(session, row), secret


async def create_frontend_client(
    session: AsyncSession,
    *,
    redirect_uris: list[str],
    scopes: list[str] | None = None,
    name: str = "",
    client_id: str | None = None,
    secret: bool = False,
    secret_key: str | None = None,
) -> tuple[Client, str | None]:
    """A client for the authorization code flow (public unless `secret`, which needs the
    deployment's `secret_key`), e.g. the web app, or another eiso acting as a relying party."""
    if secret and secret_key is None:
        raise ValueError("a confidential client needs the secret key to hash its secret")
    if not redirect_uris:
        raise DomainError("redirect_uri: at least one is required", "redirect_uri: cần ít nhất một")
    plain = secrets.token_urlsafe(32) if secret else None
    row = Client(
        client_id=client_id or "web_" + secrets.token_hex(12),
        name=name,
        secret_hash=hash_client_secret(secret_key, plain) if plain and secret_key else None,
        scopes=_check_scopes(scopes or [*SCOPES, "openid", "profile"], extra=("openid", "profile")),
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=redirect_uris,
    )
    return await added(session, row), plain
