"""OAuth2 flows over real HTTP against the app (authlib server, JWT authenticator)."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest

from eiso.core.global_ids import encode_id
from tests.auth_helpers import (
    REDIRECT,
    app_fixtures,
    authorize_query,
    login_code,
    login_form,
    make_frontend,
    make_integration,
    make_tenant,
    make_user,
    pkce,
    user_token,
)

jwt_app_fixture, http_fixture = app_fixtures()
ME = (
    "{ me { subject roles scopes tenant { kind provinceIds agencyIds } clientId "
    "agencies { id code } provinces { id } } }"
)


async def me(http, token):
    response = await http.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_authorization_code_with_pkce(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    token = await user_token(http, client_id, user.username)
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == resources.settings.access_token_lifetime
    assert set(token["scope"].split()) == {"tenants:read", "qms:read"}
    assert token["refresh_token"]
    body = await me(http, token["access_token"])
    assert body["data"]["me"]["subject"] == str(user.id)
    assert body["data"]["me"]["roles"] == ["OFFICER"]
    # The raw ids stay (deprecated); the objects carry the global ids ID arguments take.
    assert body["data"]["me"]["tenant"] == {
        "kind": "AGENCIES",
        "provinceIds": [str(agency.province_id)],
        "agencyIds": [str(agency.id)],
    }
    agency_gid = encode_id("Agency", agency.province_id, agency.id)
    province_gid = encode_id("Province", agency.province_id, agency.province_id)
    assert body["data"]["me"]["agencies"] == [{"id": agency_gid, "code": agency.code}]
    assert body["data"]["me"]["provinces"] == [{"id": province_gid}]
    info = await http.get(
        "/oauth/userinfo", headers={"authorization": f"Bearer {token['access_token']}"}
    )
    assert info.json()["preferred_username"] == user.username
    # The token's tenant claim and userinfo carry the same global ids.
    assert info.json()["tenant"] == {
        "kind": "agencies",
        "province_ids": [province_gid],
        "agency_ids": [agency_gid],
    }
    found = await http.post(
        "/graphql",
        json={
            "query": "query($a: ID!) { agency(id: $a) { code } }",
            "variables": {"a": agency_gid},
        },
        headers={"authorization": f"Bearer {token['access_token']}"},
    )
    assert found.json() == {"data": {"agency": {"code": agency.code}}}


async def test_code_is_single_use_and_needs_the_verifier(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "leader", agency=agency)
    client_id, _ = await make_frontend(resources)
    auth_code, verifier = await login_code(http, client_id, user.username)
    base = {
        "grant_type": "authorization_code",
        "code": auth_code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
    }
    wrong = await http.post("/oauth/token", data={**base, "code_verifier": pkce()[0]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The failed attempt consumed the code: a code is never redeemable twice.
    again = await http.post("/oauth/token", data={**base, "code_verifier": verifier})
    assert again.status_code == 400


async def test_public_client_must_send_an_s256_challenge(http, resources):
    client_id, _ = await make_frontend(resources)
    # The client and its redirect_uri are valid: the client hears the error (RFC 6749 4.1.2.1).
    no_pkce = await http.get("/oauth/authorize?" + authorize_query(client_id, None))
    assert no_pkce.status_code == 302 and no_pkce.headers["location"].startswith(REDIRECT)
    assert "invalid_request" in no_pkce.headers["location"]
    assert "code_challenge" in urllib.parse.unquote_plus(no_pkce.headers["location"])
    plain = (
        authorize_query(client_id, None)
        + "&code_challenge="
        + "a" * 43
        + "&code_challenge_method=plain"
    )
    refused = await http.get("/oauth/authorize?" + plain)
    assert refused.status_code == 302 and "error=invalid_request" in refused.headers["location"]
    bad_redirect = authorize_query(client_id, pkce()[1], redirect="http://evil.test/cb")
    assert (await http.get("/oauth/authorize?" + bad_redirect)).status_code == 400


async def test_wrong_password_is_refused_in_both_languages(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
    assert "Đăng nhập" in page.text and "Sign in" in page.text
    response = await http.post(
        "/oauth/authorize", data=login_form(page.text, user.username, "sai-mật-khẩu")
    )
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text and "Wrong username" in response.text


@pytest.mark.parametrize("how", ["basic", "form"])
async def test_client_credentials(http, resources, how):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(
        resources, ["dossiers:read", "dossiers:write"], agency=agency
    )
    data = {"grant_type": "client_credentials", "scope": "dossiers:read reports:read"}
    if how == "basic":
        response = await http.post("/oauth/token", data=data, auth=(client_id, secret))
    else:
        response = await http.post(
            "/oauth/token", data={**data, "client_id": client_id, "client_secret": secret}
        )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["scope"] == "dossiers:read"  # only what the client holds
    assert "refresh_token" not in token
    body = await me(http, token["access_token"])
    assert body["data"]["me"]["clientId"] == client_id
    assert body["data"]["me"]["roles"] == []
    assert body["data"]["me"]["tenant"]["agencyIds"] == [str(agency.id)]
    assert body["data"]["me"]["agencies"] == [
        {"id": encode_id("Agency", agency.province_id, agency.id), "code": agency.code}
    ]
    bad = await http.post("/oauth/token", data=data, auth=(client_id, secret + "x"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


async def test_refresh_rotates_the_refresh_token(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "auditor", agency=agency)
    client_id, _ = await make_frontend(resources)
    first = await user_token(http, client_id, user.username)
    refreshed = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await me(http, second["access_token"]))["data"]["me"]["subject"] == str(user.id)
    reused = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": client_id,
        },
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # Reuse of a rotated-out token revokes the family: the latest refresh token dies too.
    latest = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": second["refresh_token"],
            "client_id": client_id,
        },
    )
    assert latest.status_code == 400


async def test_revoke_access_and_refresh_tokens(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    token = await user_token(http, client_id, user.username)
    assert (await me(http, token["access_token"]))["data"]["me"] is not None
    response = await http.post(
        "/oauth/revoke",
        data={
            "token": token["access_token"],
            "token_type_hint": "access_token",
            "client_id": client_id,
        },
    )
    assert response.status_code == 200, response.text
    assert (await me(http, token["access_token"]))["data"]["me"] is None
    response = await http.post(
        "/oauth/revoke", data={"token": token["refresh_token"], "client_id": client_id}
    )
    assert response.status_code == 200
    refreshed = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 400


async def test_discovery_and_jwks(http, resources):
    config = (await http.get("/.well-known/openid-configuration")).json()
    issuer = resources.settings.issuer or "http://testserver"  # unset: where it is reached
    assert config["issuer"] == issuer
    assert config["token_endpoint"] == issuer + "/oauth/token"
    assert config["code_challenge_methods_supported"] == ["S256"]
    keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and all(key["kty"] == "RSA" and "d" not in key for key in keys)


async def test_openid_scope_adds_an_id_token(http, resources):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.auth_helpers import PASSWORD, login_form, pkce

    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "leader", agency=agency)
    client_id, _ = await make_frontend(resources)
    verifier, challenge = pkce()
    page = await http.get(
        "/oauth/authorize?"
        + authorize_query(client_id, challenge, scope="openid qms:read")
        + "&nonce=n-123"
    )
    response = await http.post(
        "/oauth/authorize", data=login_form(page.text, user.username, PASSWORD)
    )
    import urllib.parse

    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))[
        "code"
    ]
    token = (
        await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
    ).json()
    keys = KeySet.import_key_set((await http.get("/.well-known/jwks.json")).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert id_token.claims["aud"] == [client_id] and id_token.claims["nonce"] == "n-123"
    assert id_token.claims["sub"] == str(user.id) and id_token.claims["agency_code"] == agency.code
    # An ID token is not an access token.
    assert (await me(http, token["id_token"]))["data"]["me"] is None


async def test_login_form_needs_its_csrf_token(http, jwt_app, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
    fields = login_form(page.text, user.username)
    # A form posted from another site carries neither the session cookie nor the token.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=jwt_app), base_url="http://testserver"
    ) as stranger:
        forged = await stranger.post("/oauth/authorize", data=fields)
    assert forged.status_code == 400 and "hết hạn" in forged.text
    assert (await http.post("/oauth/authorize", data={**fields, "csrf": "x"})).status_code == 400
    assert (await http.post("/oauth/authorize", data=fields)).status_code == 302
