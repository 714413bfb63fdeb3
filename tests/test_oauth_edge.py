"""The OAuth/HTTP edge a browser frontend meets: errors redirected to a validated client
(RFC 6749 4.1.2.1), the issuer following the address eiso is served at when EISO_ISSUER is
unset, and the request id readable through CORS."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest

from tests.auth_helpers import (
    REDIRECT,
    app_fixtures,
    authorize_query,
    login_form,
    make_frontend,
    make_integration,
    make_tenant,
    make_user,
    pkce,
)
from tests.ws_client import served

jwt_app_fixture, http_fixture = app_fixtures()
ME = "{ me { subject clientId } }"


def redirected_error(response: httpx.Response) -> dict[str, str]:
    """The error parameters of a redirect to the client's registered redirect_uri."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"scope": "qms:read no-such-scope"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": None}, "invalid_request"),  # a public client without PKCE
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
    ids=["invalid-scope", "unsupported-response-type", "missing-pkce", "plain-pkce"],
)
async def test_errors_after_a_valid_redirect_uri_go_back_to_the_client(
    http, resources, change, error
):
    client_id, _ = await make_frontend(resources)
    params = dict(urllib.parse.parse_qsl(authorize_query(client_id, pkce()[1], state="s-42")))
    params.update(change)
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    answer = redirected_error(await http.get("/oauth/authorize?" + query))
    assert answer["error"] == error
    assert answer["state"] == "s-42"
    assert answer.get("error_description")
    assert "code" not in answer


async def test_the_user_declining_sends_access_denied(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
    assert "Hủy / Cancel" in page.text
    form = {**login_form(page.text, user.username, ""), "cancel": "1"}
    answer = redirected_error(await http.post("/oauth/authorize", data=form))
    assert answer["error"] == "access_denied" and answer["state"] == "st-1"
    # Declining needs the form's CSRF token like signing in does.
    forged = await http.post("/oauth/authorize", data={**form, "csrf": "forged"})
    assert forged.status_code == 400 and "location" not in forged.headers


async def test_errors_before_the_redirect_uri_is_trusted_stay_on_a_page(http, resources):
    client_id, _ = await make_frontend(resources)
    for query in (
        authorize_query("no-such-client", pkce()[1]),
        authorize_query(client_id, pkce()[1], redirect="http://evil.test/cb"),
        authorize_query(client_id, pkce()[1], redirect="http://evil.test/cb", scope="nope"),
    ):
        response = await http.get("/oauth/authorize?" + query)
        assert response.status_code == 400 and "location" not in response.headers
        assert "Invalid request" in response.text and "evil.test" not in response.headers.get(
            "location", ""
        )


async def test_the_issuer_follows_the_address_served_at(jwt_app, resources):
    """EISO_ISSUER unset (as in the suite): discovery, the token's `iss` and verification all
    use the scheme, host and port the server was reached at, here a free port."""
    assert resources.settings.issuer is None
    province, _agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["tenants:read"], province=province)
    async with served(jwt_app) as ws_url:
        base = ws_url.removeprefix("ws://").removesuffix("/graphql")
        issuer = f"http://{base}"
        assert not issuer.endswith(":8000")
        async with httpx.AsyncClient(base_url=issuer) as http:
            config = (await http.get("/.well-known/openid-configuration")).json()
            assert config["issuer"] == issuer
            assert config["token_endpoint"] == f"{issuer}/oauth/token"
            assert config["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
            token = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "tenants:read"},
                auth=(client_id, secret),
            )
            assert token.status_code == 200, token.text
            access = token.json()["access_token"]
            me = await http.post(
                "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {access}"}
            )
            assert me.json()["data"]["me"]["clientId"] == client_id
    # The same token at another address is one of another issuer: refused.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=jwt_app), base_url="http://testserver"
    ) as elsewhere:
        me = await elsewhere.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {access}"}
        )
    assert me.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_configured_issuer_wins_over_the_request(resources):
    from eiso.core.app import create_app

    settings = resources.settings.model_copy(update={"issuer": "https://iso.example.gov.vn"})
    app = create_app(settings, resources)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8301"
        ) as http,
    ):
        config = (await http.get("/.well-known/openid-configuration")).json()
    assert config["issuer"] == "https://iso.example.gov.vn"
    assert config["authorization_endpoint"] == "https://iso.example.gov.vn/oauth/authorize"


async def test_cors_exposes_the_request_id(resources):
    from eiso.core.app import create_app

    origin = "https://portal.example"
    settings = resources.settings.model_copy(update={"cors_origins": [origin]})
    app = create_app(settings, resources)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        response = await http.post(
            "/graphql", json={"query": "{ version }"}, headers={"origin": origin}
        )
    assert response.headers["access-control-allow-origin"] == origin
    exposed = response.headers["access-control-expose-headers"].lower().split(",")
    assert "x-request-id" in [name.strip() for name in exposed]
    assert response.headers["x-request-id"]
