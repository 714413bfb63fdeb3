"""authlib's OAuth 2 client, as an integrator's backend or a SPA's library would use it, against
eiso on a non-default port with EISO_ISSUER unset: discovery, authorization code with PKCE,
token, userinfo, refresh, revocation."""

from __future__ import annotations

import secrets
import urllib.parse

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.auth_helpers import REDIRECT, login_form, make_frontend, make_tenant, make_user

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


async def test_authlib_drives_the_whole_authorization_code_flow(resources, live):
    assert not live.http.endswith(":8000")
    _, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(live.http + "/.well-known/openid-configuration")).json()
    # With EISO_ISSUER unset the issuer is where eiso answers (dev and test).
    assert metadata["issuer"] == live.http
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        assert metadata[endpoint].startswith(live.http + "/"), metadata[endpoint]
    assert "S256" in metadata["code_challenge_methods_supported"]

    oauth = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT,
        scope="openid profile dossiers:read",
        code_challenge_method="S256",
    )
    async with oauth:
        verifier = secrets.token_urlsafe(48)
        url, state = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        async with httpx.AsyncClient() as browser:  # the user signs in on eiso's page
            page = await browser.get(url)
            assert page.status_code == 200, page.text
            answer = await browser.post(
                metadata["authorization_endpoint"], data=login_form(page.text, user.username)
            )
        assert answer.status_code == 302, answer.text
        callback = answer.headers["location"]
        assert callback.startswith(REDIRECT)
        assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["state"] == state

        token = await oauth.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        assert token["access_token"] and token["refresh_token"]

        me = (await oauth.get(metadata["userinfo_endpoint"])).json()
        assert me["sub"]
        assert me.get("preferred_username", user.username) == user.username

        refreshed = await oauth.refresh_token(metadata["token_endpoint"])
        assert refreshed["access_token"] != token["access_token"]
        assert (await oauth.get(metadata["userinfo_endpoint"])).json()["sub"] == me["sub"]

        revoked = await oauth.revoke_token(
            metadata["revocation_endpoint"], token=refreshed["refresh_token"]
        )
        assert revoked.status_code == 200
        async with httpx.AsyncClient() as http:
            again = await http.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refreshed["refresh_token"],
                    "client_id": client_id,
                },
            )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
