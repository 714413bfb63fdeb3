"""The resource side accepts only eiso's own, unexpired, untampered RS256 tokens; keys rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from eiso.core.auth import keys as signing_keys
from eiso.core.auth import tokens
from eiso.core.global_ids import encode_id
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import app_fixtures, make_integration, make_tenant

jwt_app_fixture, http_fixture = app_fixtures()
ME = "{ me { subject } }"


async def subject_of(http, token: str):
    response = await http.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
    )
    body = response.json()
    if body["data"] is None or body["data"]["me"] is None:
        return body["errors"][0]["extensions"]["code"]
    return body["data"]["me"]["subject"]


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def good_claims(jwt_app, resources) -> tuple[RSAKey, dict]:
    key = await jwt_app.state.auth.keys.signing_key()
    now = int(time.time())
    settings = resources.settings
    return key, {
        "iss": settings.issuer or "http://testserver",  # unset: the address the app is reached at
        "aud": settings.audience,
        "sub": "cli_test",
        "client_id": "cli_test",
        "iat": now,
        "exp": now + 300,
        "jti": "j" + str(now),
        "scope": "qms:read",
        "roles": [],
        "tenant": tokens.tenant_claim(TenantScope.province(1)),
    }


def sign(key, claims, **header) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt", **header}, claims, key)


async def test_a_good_token_is_accepted(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    assert await subject_of(http, sign(key, claims)) == "cli_test"


async def test_the_tenant_claim_carries_global_ids_and_old_raw_ids_still_read(
    http, jwt_app, resources
):
    """The claim's ids are what GraphQL's ID arguments take; a token issued before global ids
    (raw decimal ids) keeps working until it expires; a claim naming another type of id is
    refused (the request is anonymous)."""
    key, claims = await good_claims(jwt_app, resources)
    scope = TenantScope.agencies([7], [3])
    claim = tokens.tenant_claim(scope)
    assert claim == {
        "kind": "agencies",
        "province_ids": [encode_id("Province", 3, 3)],
        "agency_ids": [encode_id("Agency", 3, 7)],
    }
    assert tokens.tenant_from_claim(claim) == scope
    raw = {"kind": "agencies", "province_ids": ["3"], "agency_ids": ["7"]}
    assert tokens.tenant_from_claim(raw) == scope
    assert await subject_of(http, sign(key, {**claims, "tenant": raw})) == "cli_test"
    wrong = {**claim, "agency_ids": [encode_id("Dossier", 3, 7)]}
    assert await subject_of(http, sign(key, {**claims, "tenant": wrong})) == "UNAUTHENTICATED"


async def test_alg_none_is_rejected(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    token = f"{b64({'alg': 'none', 'typ': 'at+jwt', 'kid': key.kid})}.{b64(claims)}."
    assert await subject_of(http, token) == "UNAUTHENTICATED"


async def test_hs256_signed_with_the_public_key_is_rejected(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    # Forged by hand: joserfc itself refuses to use a public key as an HMAC secret.
    signing_input = f"{b64({'alg': 'HS256', 'kid': key.kid, 'typ': 'at+jwt'})}.{b64(claims)}"
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    assert await subject_of(http, token) == "UNAUTHENTICATED"


async def test_expired_token_is_rejected(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 600)
    assert await subject_of(http, sign(key, claims)) == "UNAUTHENTICATED"


@pytest.mark.parametrize("claim,value", [("iss", "https://evil.example"), ("aud", "other-api")])
async def test_other_issuer_or_audience_is_rejected(http, jwt_app, resources, claim, value):
    key, claims = await good_claims(jwt_app, resources)
    claims[claim] = value
    assert await subject_of(http, sign(key, claims)) == "UNAUTHENTICATED"


async def test_token_signed_by_an_unknown_key_is_rejected(http, jwt_app, resources):
    _key, claims = await good_claims(jwt_app, resources)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"}, private=True)
    assert await subject_of(http, sign(stranger, claims)) == "UNAUTHENTICATED"


async def test_tampered_payload_is_rejected(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    header, _payload, signature = sign(key, claims).split(".")
    nation = tokens.tenant_claim(TenantScope.nation())
    forged = f"{header}.{b64({**claims, 'tenant': nation})}.{signature}"
    assert await subject_of(http, forged) == "UNAUTHENTICATED"


async def test_id_token_type_is_not_an_access_token(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    assert await subject_of(http, sign(key, claims, typ="JWT")) == "UNAUTHENTICATED"


async def test_rotation_keeps_old_tokens_valid_while_published(http, jwt_app, resources):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    grant = {"grant_type": "client_credentials"}
    old = (await http.post("/oauth/token", data=grant, auth=(client_id, secret))).json()
    old_kid = tokens.unverified_kid(old["access_token"])
    new_key = await signing_keys.rotate(resources)
    await jwt_app.state.auth.keys.reload()
    kids = {key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_key.kid} <= kids
    new = (await http.post("/oauth/token", data=grant, auth=(client_id, secret))).json()
    assert tokens.unverified_kid(new["access_token"]) == new_key.kid
    assert await subject_of(http, old["access_token"]) == client_id
    assert await subject_of(http, new["access_token"]) == client_id


async def test_embedded_jwk_header_is_not_trusted(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    attacker = RSAKey.generate_key(2048, parameters={"kid": key.kid}, private=True)
    token = sign(attacker, claims, jwk=attacker.as_dict(private=False))  # same kid, own key
    assert await subject_of(http, token) == "UNAUTHENTICATED"


async def test_oversized_token_is_refused_before_parsing(http, jwt_app, resources):
    key, claims = await good_claims(jwt_app, resources)
    claims["padding"] = "x" * 20_000
    assert await subject_of(http, sign(key, claims)) == "UNAUTHENTICATED"


async def test_userinfo_needs_a_valid_token(http):
    response = await http.get("/oauth/userinfo", headers={"authorization": "Bearer nope"})
    assert response.status_code == 401 and "invalid_token" in response.headers["www-authenticate"]
    assert (await http.get("/oauth/userinfo")).status_code == 401
