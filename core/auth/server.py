"""authlib's AuthorizationServer over plain request values.

authlib ships server integrations for Flask and Django only. This module implements the
framework hooks (`create_oauth2_request`, `create_json_request`, `handle_response`,
`send_signal`) over plain values: a request fully read into an `HttpInput`, an answer as an
`OAuthAnswer`; the HTTP edge (core/http/oauth_server.py) reads the Starlette request and turns
the answer into a response. authlib's grant logic is synchronous, so the grant runs in a
worker thread; when a grant needs the database or Redis, the thread hands the coroutine back
to the event loop and waits for it (`wait`). Grants: authorization_code (PKCE S256, required
for public clients), refresh_token (rotated on use), client_credentials; plus RFC 7009
revocation.

The token endpoint first loads the presenting client on the loop (`prepare_client`: one
primary-key read; an argon2 secret of before the keyed hashes is checked off the loop and
rewritten). A client-credentials grant then needs nothing else from the database or Redis, so
authlib runs it right on the loop, no thread hop (`token_response`); the other grants still
run in the worker thread, with the client already loaded.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar, TypeVar

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core import grants as grants_oidc
from joserfc.jwk import RSAKey
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlmodel import SQLModel, col

from eiso.core.auth import revocations, tokens
from eiso.core.auth.client_secrets import check_client_secret, is_keyed
from eiso.core.auth.clients import OAuthClient
from eiso.core.auth.issuer import issuer
from eiso.core.auth.keys import KeyStore
from eiso.core.auth.models import Client, RefreshToken, User
from eiso.core.auth.principal import SCOPES
from eiso.core.auth.throttle import token_rate_limited
from eiso.core.auth.users import tenant_of
from eiso.core.resources import Resources
from eiso.infra.clock import utcnow
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

log = logging.getLogger("eiso.auth")
T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)
CODE_LIFETIME = 300
OIDC_SCOPES = ("openid", "profile")


# The clients `prepare_client` loaded for the request being answered, by client id (None: no
# such client). A context variable: `asyncio.to_thread` carries it to authlib's thread.
_prepared: contextvars.ContextVar[dict[str, OAuthClient | None] | None] = contextvars.ContextVar(
    "eiso_prepared_clients", default=None
)


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- request conversion ------------------------------------------------------------------


@dataclasses.dataclass
class HttpInput:
    """A request, fully read (by the HTTP edge), so authlib can use it from another thread."""

    method: str
    url: str
    headers: Mapping[str, str]  # case-insensitive, as authlib expects ("Authorization")
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json: Any = None


def presented_client(http: HttpInput) -> tuple[str, str | None] | None:
    """The client id and secret a token request presents, read as authlib reads them
    (client_secret_basic: the Basic header, URL-encoded parts; else the form's client_id)."""
    scheme, _, encoded = http.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if ":" not in decoded:
            return None
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
    ids, secrets_ = http.form.get("client_id"), http.form.get("client_secret")
    if not ids:
        return None
    return ids[0], secrets_[0] if secrets_ else None


@dataclasses.dataclass(frozen=True)
class OAuthAnswer:
    """What authlib answers (`handle_response`): the HTTP edge makes it a response."""

    status: int
    payload: Any  # a dict is sent as JSON, anything else as the body
    headers: dict[str, str]


class _Payload(OAuth2Payload):
    def __init__(self, http: HttpInput) -> None:
        merged: dict[str, list[str]] = defaultdict(list)
        for source in (http.query, http.form):
            for key, values in source.items():
                merged[key].extend(values)
        self._datalist = merged
        self._data = {key: values[0] for key, values in merged.items() if values}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class HttpOAuth2Request(OAuth2Request):
    def __init__(self, http: HttpInput) -> None:
        super().__init__(method=http.method, uri=http.url, headers=http.headers)
        self.http = http
        self.payload = _Payload(http)

    @property
    def args(self) -> dict[str, str]:
        return {key: values[0] for key, values in self.http.query.items() if values}

    @property
    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in self.http.form.items() if values}


class _JsonPayload(JsonPayload):
    def __init__(self, http: HttpInput) -> None:
        self._http = http

    @property
    def data(self) -> Any:  # the JSON body, as sent
        return self._http.json


class HttpJsonRequest(JsonRequest):
    def __init__(self, http: HttpInput) -> None:
        super().__init__(http.method, http.url, http.headers)
        self.payload = _JsonPayload(http)


class TemporarilyUnavailable(OAuth2Error):
    """RFC 6749's `temporarily_unavailable`: the one-time codes live in Redis (any worker may
    redeem them), so the authorization code flow waits while Redis is down."""

    error = "temporarily_unavailable"
    description = "Sign-in is temporarily unavailable; try again in a moment."
    status_code = 503


class SlowDown(OAuth2Error):
    """Too many token requests of one person this minute (core/auth/throttle.py): 429 with
    Retry-After, as the token endpoint's per-address limit answers."""

    error = "slow_down"
    description = "Too many token requests"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


# --- authlib models ----------------------------------------------------------------------


@dataclasses.dataclass
class AuthCode(AuthorizationCodeMixin):
    client_id: str
    user_id: int
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int | None:
        return None

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class StoredRefreshToken(TokenMixin):
    def __init__(self, row: RefreshToken) -> None:
        self.row = row

    def check_client(self, client: OAuthClient) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - utcnow()).total_seconds())

    def is_expired(self) -> bool:
        expires = self.row.expires_at
        if expires.tzinfo is None:  # SQLite returns naive datetimes
            expires = expires.replace(tzinfo=utcnow().tzinfo)
        return expires <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


class AccessTokenClaims(TokenMixin):
    """A verified access token presented for revocation."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def check_client(self, client: OAuthClient) -> bool:
        return self.claims.get("client_id") == client.get_client_id()

    def get_scope(self) -> str:
        return self.claims.get("scope", "")

    def get_expires_in(self) -> int:
        return max(int(self.claims["exp"] - time.time()), 0)

    def is_expired(self) -> bool:
        return self.get_expires_in() <= 0

    def is_revoked(self) -> bool:
        return False


# --- grants ------------------------------------------------------------------------------


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; public clients must send a challenge."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(
        self, grant: grants.AuthorizationCodeGrant, redirect_uri: str | None
    ) -> None:
        data = grant.request.payload.data
        client = grant.request.client
        if client is not None and client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("code_challenge (S256) is required for public clients")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDCode(grants_oidc.OpenIDCode):
    """OpenID Connect: an ID token (RS256, same keys, `typ: JWT`, audience = the client) when
    the client asks for the `openid` scope. It can never pass as an access token (`typ`)."""

    server: EisoAuthorizationServer

    def __init__(self, server: EisoAuthorizationServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def resolve_client_private_key(self, client: OAuthClient) -> RSAKey:
        return self.server.current_signing_key

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return tokens.ALGORITHM

    def get_encode_header(self, client: OAuthClient) -> dict[str, str | None]:
        return {"alg": tokens.ALGORITHM, "kid": self.server.current_signing_key.kid, "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        settings = self.server.resources.settings
        return {
            "iss": issuer(settings),
            "aud": [client.get_client_id()],
            "exp": int(time.time()) + settings.access_token_lifetime,
        }

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # codes are single-use (GETDEL), so a nonce cannot be replayed through one

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        info = UserInfo(
            sub=str(user.id),
            preferred_username=user.username,
            name=user.display_name,
            roles=list(user.roles),
        )
        if user.agency_id is not None:
            info["agency_code"] = self.server.wait(self.server.agency_code(user))
        return info


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    server: EisoAuthorizationServer

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        record = AuthCode(
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.payload.scope or "",
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=data.get("nonce"),
        )
        self.server.wait(self.server.save_code(code, record))

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthCode | None:
        record = self.server.wait(self.server.take_code(code))
        return record if record is not None and record.client_id == client.get_client_id() else None

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        pass  # already deleted by query_authorization_code

    def authenticate_user(self, authorization_code: AuthCode) -> User | None:
        return self.server.counted(self.server.load_user(authorization_code.user_id))


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: EisoAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        token = self.server.load_refresh_token(refresh_token)
        if token is not None and token.is_revoked():
            # A rotated-out token came back: it was stolen or replayed (RFC 9700 4.14.2).
            # Revoke the whole family of this user at this client.
            self.server.wait(self.server.revoke_family(token.row.client_id, token.row.user_id))
            return None
        if token and not token.is_expired():
            return token
        return None

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> User | None:
        return self.server.counted(self.server.load_user(refresh_token.row.user_id))

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        self.server.wait(self.server.revoke_refresh(refresh_token.row.token_hash))


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]
    server: EisoAuthorizationServer

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenClaims | StoredRefreshToken | None:
        if token_string.count(".") == 2 and token_type_hint != "refresh_token":
            claims = self.server.wait(self.server.verify_access_token(token_string))
            if claims is not None:
                return AccessTokenClaims(claims)
        if token_type_hint == "access_token":
            return None
        return self.server.load_refresh_token(token_string)

    def revoke_token(
        self, token: AccessTokenClaims | StoredRefreshToken, request: OAuth2Request
    ) -> None:
        if isinstance(token, AccessTokenClaims):
            self.server.wait(self.server.deny_jti(token.claims["jti"], token.get_expires_in()))
        else:
            self.server.wait(self.server.revoke_refresh(token.row.token_hash))


# --- the server --------------------------------------------------------------------------


class EisoAuthorizationServer(AuthorizationServer):
    def __init__(self, resources: Resources, keys: KeyStore) -> None:
        super().__init__(scopes_supported=list(SCOPES) + list(OIDC_SCOPES))
        self.resources = resources
        self.keys = keys
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signing_key: RSAKey | None = None
        settings = resources.settings
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=self._access_token,
                refresh_token_generator=lambda *_args, **_kwargs: generate_token(48),
                expires_generator=lambda _client, _grant_type: settings.access_token_lifetime,
            ),
        )
        self.register_grant(
            AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(self)]
        )
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)

    # Bridging: authlib runs in a worker thread; database and Redis calls run on the loop.
    def wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        if _on_a_loop():  # the inline path must never get here: it would deadlock
            coroutine.close()
            raise RuntimeError("authlib asked for storage while running on the event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def current_signing_key(self) -> RSAKey:
        assert self._signing_key is not None  # `run` loads it before authlib runs
        return self._signing_key

    async def run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._loop = asyncio.get_running_loop()
        self._signing_key = await self.keys.signing_key()
        return await asyncio.to_thread(method, *args, **kwargs)

    async def token_response(self, http: HttpInput) -> OAuthAnswer:
        """The token endpoint: the presenting client loaded first; a client-credentials grant
        then answered on the loop (signing is all it does), the other grants in the thread."""
        presented = presented_client(http)
        if presented is None:
            return await self.run(self.create_token_response, http)
        client_id, secret = presented
        reset = _prepared.set({client_id: await self.prepare_client(client_id, secret)})
        try:
            if http.form.get("grant_type") == ["client_credentials"]:
                self._signing_key = await self.keys.signing_key()
                return self.create_token_response(http)
            return await self.run(self.create_token_response, http)
        finally:
            _prepared.reset(reset)

    async def prepare_client(self, client_id: str, secret: str | None) -> OAuthClient | None:
        """The client `client_id`, read on the loop. A secret still stored as argon2id is
        checked here, off the loop, and on success rewritten in the keyed form."""
        row = await self._get(Client, client_id)
        if row is None or not row.active:  # a disabled client is as unknown
            return None
        secret_key = self.resources.settings.secret_key.get_secret_value()
        stored = row.secret_hash
        if stored is None or is_keyed(stored) or secret is None:
            return OAuthClient(row, secret_key)
        ok, rehashed = await check_client_secret(secret_key, stored, secret)
        if rehashed is not None:
            row.secret_hash = rehashed
            await self._rehash(client_id, stored, rehashed)
        return OAuthClient(row, secret_key, legacy_secret_ok=ok)

    async def _rehash(self, client_id: str, old: str, new: str) -> None:
        async with self.resources.session(TenantScope.nation()) as session, session.begin():
            await session.execute(
                update(Client)
                .where(col(Client.client_id) == client_id, col(Client.secret_hash) == old)
                .values(secret_hash=new)
            )
        log.info("client secret rehashed", extra={"client_id": client_id})

    # The hooks authlib asks every framework integration to provide.
    def query_client(self, client_id: str) -> OAuthClient | None:
        prepared = _prepared.get()
        if prepared is not None and client_id in prepared:
            return prepared[client_id]
        if _on_a_loop():  # inline grant, another client id than the one presented
            return None
        row = self.wait(self._get(Client, client_id))
        secret_key = self.resources.settings.secret_key.get_secret_value()
        return OAuthClient(row, secret_key) if row is not None and row.active else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        if "refresh_token" not in token:
            return
        user = request.user
        row = RefreshToken(
            token_hash=_sha256(token["refresh_token"]),
            client_id=request.client.get_client_id(),
            user_id=user.id if user is not None else None,
            scope=token.get("scope", ""),
            expires_at=utcnow()
            + dt.timedelta(seconds=self.resources.settings.refresh_token_lifetime),
        )
        self.wait(self._add(row))

    def create_oauth2_request(self, request: HttpInput | OAuth2Request) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else HttpOAuth2Request(request)

    def create_json_request(self, request: HttpInput) -> HttpJsonRequest:
        return HttpJsonRequest(request)

    def handle_response(
        self, status_code: int, payload: Any, headers: list[tuple[str, str]]
    ) -> OAuthAnswer:
        return OAuthAnswer(status_code, payload, dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "after_revoke_token":
            log.info("token revoked", extra={"client_id": kwargs["client"].get_client_id()})
        elif name == "after_authenticate_client":
            log.debug("client authenticated")

    # Token contents.
    def _access_token(
        self, client: OAuthClient, grant_type: str, user: User | None, scope: str
    ) -> str:
        settings = self.resources.settings
        tenant: TenantScope | None
        if user is not None:
            subject, tenant, roles = str(user.id), tenant_of(user), list(user.roles)
            extra = {"preferred_username": user.username}
        else:
            subject, tenant, roles, extra = client.get_client_id(), client.tenant, [], {}
            if tenant is None:
                raise InvalidRequestError("client has no tenant")
        return tokens.issue(
            self.current_signing_key,
            issuer=issuer(settings),
            audience=settings.audience,
            lifetime=settings.access_token_lifetime,
            subject=subject,
            client_id=client.get_client_id(),
            tenant=tenant,
            roles=roles,
            scope=scope or "",
            extra=extra,
        )

    # Storage used by the grants (coroutines, run on the loop through `wait`).
    async def _get(self, model: type[M], key: object) -> M | None:
        async with self.resources.session(TenantScope.nation()) as session:
            row = await session.get(model, key)
            if row is not None:
                session.expunge(row)
            return row

    async def _add(self, row: SQLModel) -> None:
        async with self.resources.session(TenantScope.nation()) as session, session.begin():
            session.add(row)

    def _code_key(self, code: str) -> str:
        return self.resources.key("auth", "code", _sha256(code))

    async def save_code(self, code: str, record: AuthCode) -> None:
        try:
            await self.resources.redis.set(
                self._code_key(code), json.dumps(dataclasses.asdict(record)), ex=CODE_LIFETIME
            )
        except RedisError as error:
            raise TemporarilyUnavailable() from error

    async def take_code(self, code: str) -> AuthCode | None:
        # GETDEL: a code is single-use even when two redemptions race.
        try:
            raw = await self.resources.redis.getdel(self._code_key(code))
        except RedisError as error:
            raise TemporarilyUnavailable() from error
        return AuthCode(**json.loads(raw)) if raw else None

    async def agency_code(self, user: User) -> str | None:
        async with self.resources.session(TenantScope.nation()) as session:
            agency = await session.get(Agency, (user.province_id, user.agency_id))
            return agency.code if agency else None

    def load_user(self, user_id: int | None) -> User | None:
        if user_id is None:  # a token of no user (none is refreshed: client credentials)
            return None
        user = self.wait(self._get(User, user_id))
        return user if user is not None and user.active else None

    def counted(self, user: User | None) -> User | None:
        """`user`, once their token request is counted in their own per-minute window (by
        username; the endpoint counted the request's address already): SlowDown beyond it."""
        if user is not None:
            who = "user:" + user.username.lower()
            wait = self.wait(token_rate_limited(self.resources, who))
            if wait:
                raise SlowDown(wait)
        return user

    def load_refresh_token(self, token: str) -> StoredRefreshToken | None:
        row = self.wait(self._get(RefreshToken, _sha256(token)))
        return StoredRefreshToken(row) if row is not None else None

    async def revoke_refresh(self, token_hash: str) -> None:
        async with self.resources.session(TenantScope.nation()) as session, session.begin():
            row = await session.get(RefreshToken, token_hash)
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()

    async def revoke_family(self, client_id: str, user_id: int | None) -> None:
        async with self.resources.session(TenantScope.nation()) as session, session.begin():
            await session.execute(
                update(RefreshToken)
                .where(
                    col(RefreshToken.client_id) == client_id,
                    col(RefreshToken.user_id) == user_id,
                    col(RefreshToken.revoked_at).is_(None),
                )
                .values(revoked_at=utcnow())
            )

    async def verify_access_token(self, token: str) -> dict[str, Any] | None:
        settings = self.resources.settings
        keys = await self.keys.verification_keys(tokens.unverified_kid(token))
        try:
            return tokens.verify(token, keys, issuer=issuer(settings), audience=settings.audience)
        except tokens.InvalidToken:
            return None

    async def deny_jti(self, jti: str, seconds: int) -> None:
        await revocations.revoke(self.resources, jti, seconds)
