"""The app's default Authenticator: a Bearer JWT issued by this eiso, or no principal.

Accepts RS256 only, this issuer and this audience, `typ: at+jwt`, an unexpired token whose
`jti` was not revoked (core/auth/revocations.py: Redis, or the database while Redis is down).
Anything else (alg none, HS256 keyed with the public key, a foreign issuer, a tampered payload,
an expired token) yields no principal: the request is anonymous.
"""

from __future__ import annotations

import logging

from eiso.core.auth import revocations, tokens
from eiso.core.auth.authenticator import Caller
from eiso.core.auth.issuer import issuer
from eiso.core.auth.keys import KeyStore
from eiso.core.auth.principal import Principal
from eiso.core.resources import Resources

log = logging.getLogger("eiso.auth")


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class JWTAuthenticator:
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    @property
    def resources(self) -> Resources:
        return self.keys.resources

    async def claims(self, token: str) -> dict | None:
        settings = self.resources.settings
        keys = await self.keys.verification_keys(tokens.unverified_kid(token))
        try:
            claims = tokens.verify(token, keys, issuer=issuer(settings), audience=settings.audience)
        except tokens.InvalidToken as error:
            log.info("bearer token refused", extra={"reason": str(error)})
            return None
        if await revocations.is_revoked(self.resources, claims["jti"]):
            log.info("bearer token refused", extra={"reason": "revoked"})
            return None
        return claims

    async def __call__(self, caller: Caller) -> Principal | None:
        token = bearer_token(caller.headers.get("authorization", ""))
        if token is None:
            return None
        claims = await self.claims(token)
        if claims is None:
            return None
        try:
            return tokens.principal_from_claims(claims)
        except (tokens.InvalidToken, KeyError, ValueError):
            return None
