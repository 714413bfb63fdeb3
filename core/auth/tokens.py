"""JWT access tokens (RFC 9068 profile) signed and verified with joserfc.

Claims: iss, aud, sub, exp, iat, jti, client_id, scope (space-separated), roles, and
`tenant` = {"kind": "nation"|"province"|"agencies", "province_ids": [...], "agency_ids": [...]}
with the provinces' and agencies' global ids (core/global_ids.py): what a frontend passes
back to GraphQL's `ID` arguments (`agencyId`, `provinceId`) as it finds them here.
Tokens issued before carried raw database ids (decimal strings): they are still read, for
the minutes they stay valid.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from eiso.core.auth.keys import ALGORITHM
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import NotFound
from eiso.core.global_ids import decode_id, encode_id
from eiso.tenants.scope import TenantScope

TOKEN_TYPE = "at+jwt"
# Tokens larger than this are refused before any parsing (oversized-token advisories).
MAX_TOKEN_BYTES = 8192


class InvalidToken(Exception):
    """The bearer token is not one eiso accepts; the message says why (for logs, not users)."""


def tenant_claim(scope: TenantScope) -> dict[str, Any]:
    """The scope with global ids. An agency's id names its province: an agencies scope has
    its one province (an account's or client's agency, core/auth/tenancy.py)."""
    provinces = sorted(scope.province_ids)
    if scope.agency_ids and len(provinces) != 1:
        raise ValueError("an agencies scope names the one province of its agencies")
    return {
        "kind": scope.kind,
        "province_ids": [encode_id("Province", p, p) for p in provinces],
        "agency_ids": [encode_id("Agency", provinces[0], a) for a in sorted(scope.agency_ids)],
    }


def _claimed_ids(values: list[Any], type_name: str) -> list[int]:
    """The row ids in a claim's list: global ids of `type_name`, or raw ids (decimal
    strings) of a token issued before global ids."""
    found = []
    for value in values:
        text = str(value)
        if text.isdecimal():
            found.append(int(text))
            continue
        try:
            found.append(decode_id(text, type_name)[1])
        except NotFound:
            raise InvalidToken("bad tenant claim") from None
    return found


def tenant_from_claim(claim: dict[str, Any]) -> TenantScope:
    kind = claim.get("kind")
    provinces = _claimed_ids(claim.get("province_ids", []), "Province")
    agencies = _claimed_ids(claim.get("agency_ids", []), "Agency")
    if kind == "nation":
        return TenantScope.nation()
    if kind == "province" and provinces:
        return TenantScope.province(*provinces)
    if kind == "agencies" and agencies:
        return TenantScope.agencies(agencies, provinces)
    raise InvalidToken("bad tenant claim")


def issue(
    key: RSAKey,
    *,
    issuer: str,
    audience: str,
    lifetime: int,
    subject: str,
    client_id: str,
    tenant: TenantScope,
    roles: list[str],
    scope: str,
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "roles": sorted(roles),
        "tenant": tenant_claim(tenant),
        **(extra or {}),
    }
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": TOKEN_TYPE}, claims, key)


def unverified_kid(token: str) -> str | None:
    from joserfc.jws import extract_compact

    try:
        return extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError):
        return None


def verify(token: str, keys: KeySet, *, issuer: str, audience: str) -> dict[str, Any]:
    """The verified claims, or InvalidToken. Only RS256 is accepted: `alg: none`, HMAC with
    the public key as secret and any other algorithm fail before the signature is checked."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("token too large")
    try:
        decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("not an access token")
        JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            leeway=30,
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"{type(error).__name__}: {error}") from None
    return decoded.claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    tenant = tenant_from_claim(claims.get("tenant") or {})
    roles = frozenset(Role(r) for r in claims.get("roles", []) if r in Role.__members__)
    provinces, agencies = sorted(tenant.province_ids), sorted(tenant.agency_ids)
    return Principal(
        subject=str(claims["sub"]),
        tenant=tenant,
        roles=roles,
        scopes=frozenset(str(claims.get("scope", "")).split()),
        client_id=claims.get("client_id"),
        province_id=provinces[0] if len(provinces) == 1 else None,
        agency_id=agencies[0] if len(agencies) == 1 else None,
    )
