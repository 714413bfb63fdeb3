"""The app's default Authenticator: a Bearer JWT issued by this eiso, or no principal.

Accepts RS256 only, this issuer and this audience, `typ: at+jwt`, an unexpired token whose
`jti` was not revoked (core/auth/revocations.py: Redis, or the database while Redis is down).
Anything else (alg none, HS256 keyed with the public key, a foreign issuer, a tampered payload,
an expired token) yields no principal: the request is anonymous.

A verified token is kept per process until it expires (`VerifiedTokens`): its next requests
cost a dictionary lookup instead of an RS256 check. Revocation is still asked every time: of
the process's `RevocationWatch` (pushed by pub/sub, no round trip) while its subscription is
current, else of Redis or the database as before. A signing key deleted outright (not retired)
leaves the tokens it signed cached until they expire, at most one access-token lifetime.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from eiso.core.auth import revocations, tokens
from eiso.core.auth.authenticator import Caller
from eiso.core.auth.issuer import issuer
from eiso.core.auth.keys import KeyStore
from eiso.core.auth.principal import Principal
from eiso.core.resources import Resources

log = logging.getLogger("eiso.auth")
# At most this many tokens kept per process (a few hundred bytes each with their principal).
MAX_CACHED = 8192


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class VerifiedTokens:
    """Tokens whose signature and claims were checked, by (issuer expected, token): their exp,
    claims and principal, least recently used first. Only good tokens enter; an entry leaves
    when its token expires, or when `size` newer ones pushed it out."""

    def __init__(self, size: int = MAX_CACHED) -> None:
        self.size = size
        self._entries: OrderedDict[
            tuple[str, str], tuple[float, dict[str, Any], Principal | None]
        ] = OrderedDict()

    def get(self, token: str, expected_issuer: str) -> tuple[dict[str, Any], Principal | None]:
        key = (expected_issuer, token)
        exp, claims, principal = self._entries[key]
        if exp <= time.time():
            del self._entries[key]
            raise KeyError(token)
        self._entries.move_to_end(key)
        return claims, principal

    def put(self, token: str, expected_issuer: str, claims: dict[str, Any]) -> Principal | None:
        try:
            principal: Principal | None = tokens.principal_from_claims(claims)
        except (tokens.InvalidToken, KeyError, ValueError):
            principal = None
        key = (expected_issuer, token)
        self._entries[key] = (float(claims["exp"]), claims, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return principal

    def __len__(self) -> int:
        return len(self._entries)


class JWTAuthenticator:
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.verified = VerifiedTokens()
        # Started by the app's lifespan (`watch.listen`); until then every check asks Redis.
        self.watch = revocations.RevocationWatch()

    @property
    def resources(self) -> Resources:
        return self.keys.resources

    async def _checked(self, token: str) -> tuple[dict[str, Any], Principal | None] | None:
        settings = self.resources.settings
        expected = issuer(settings)
        try:
            claims, principal = self.verified.get(token, expected)
        except KeyError:
            keys = await self.keys.verification_keys(tokens.unverified_kid(token))
            try:
                claims = tokens.verify(token, keys, issuer=expected, audience=settings.audience)
            except tokens.InvalidToken as error:
                log.info("bearer token refused", extra={"reason": str(error)})
                return None
            principal = self.verified.put(token, expected, claims)
        if self.watch.current():
            revoked = self.watch.denied(claims["jti"])
        else:
            revoked = await revocations.is_revoked(self.resources, claims["jti"])
        if revoked:
            log.info("bearer token refused", extra={"reason": "revoked"})
            return None
        return claims, principal

    async def claims(self, token: str) -> dict | None:
        checked = await self._checked(token)
        return checked[0] if checked is not None else None

    async def __call__(self, caller: Caller) -> Principal | None:
        token = bearer_token(caller.headers.get("authorization", ""))
        if token is None:
            return None
        checked = await self._checked(token)
        return checked[1] if checked is not None else None
