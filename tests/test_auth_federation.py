"""Federated login against a real OIDC provider started in the test: a second eiso instance
(its own issuer, sharing the database) acts as the provincial IdP; authlib's Starlette client
talks to it through httpx's ASGI transport."""

from __future__ import annotations

import dataclasses
import urllib.parse

import httpx
import pytest
import pytest_asyncio

from eiso.core.auth import federation
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import (
    PASSWORD,
    REDIRECT,
    authorize_query,
    login_form,
    make_frontend,
    make_tenant,
    make_user,
    pkce,
)

IDP = "http://idp.test"
ME = "{ me { subject roles tenant { kind agencyIds } } }"


@pytest_asyncio.fixture(scope="module")
async def rp_app(resources):
    from eiso.core.app import create_app

    application = create_app(resources.settings, resources)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="module")
async def idp_app(resources):
    from eiso.core.app import create_app

    settings = resources.settings.model_copy(update={"issuer": IDP})
    idp_resources = dataclasses.replace(resources, settings=settings)
    application = create_app(settings, idp_resources)
    async with application.router.lifespan_context(application):
        yield application


def query_of(location: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def path_of(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    return f"{parts.path}?{parts.query}"


async def _federated_login(rp, idp, province, web_client, username):
    verifier, challenge = pkce()
    start = await rp.get(
        f"/auth/login/{province.code}", params={"request": authorize_query(web_client, challenge)}
    )
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(IDP + "/oauth/authorize?")
    page = await idp.get(path_of(start.headers["location"]))
    assert page.status_code == 200, page.text
    back = await idp.post("/oauth/authorize", data=login_form(page.text, username, PASSWORD))
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(f"{rp_issuer(rp)}/auth/callback/{province.code}?")
    done = await rp.get(path_of(callback))
    assert done.status_code == 302, done.text
    assert done.headers["location"].startswith(REDIRECT)
    code = query_of(done.headers["location"])["code"]
    token = await rp.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": web_client,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    me = await rp.post(
        "/graphql",
        json={"query": ME},
        headers={"authorization": f"Bearer {token.json()['access_token']}"},
    )
    return me.json()["data"]["me"]


def rp_issuer(_rp) -> str:
    return RP_ISSUER


# The relying party has no EISO_ISSUER: its callback follows the address it is reached at.
RP_ISSUER = "http://testserver"


async def test_federated_login_maps_the_idp_user(rp_app, idp_app, resources, monkeypatch):
    from authlib.integrations.starlette_client import StarletteOAuth2App

    async def no_userinfo(*_args, **_kwargs):
        raise AssertionError("the IdP's ID token carries the claims: userinfo is not needed")

    monkeypatch.setattr(StarletteOAuth2App, "userinfo", no_userinfo)
    province, agency = await make_tenant(resources)
    # The provincial SSO's own account (lives at the IdP).
    sso_user = await make_user(resources, "officer", agency=agency)
    # eiso (the relying party) is a confidential client of the IdP.
    rp_client, rp_secret = await make_frontend(
        resources, redirect=f"{RP_ISSUER}/auth/callback/{province.code}", secret=True
    )
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await federation.configure(
            session,
            resources,
            province_code=province.code,
            issuer=IDP,
            client_id=rp_client,
            client_secret=rp_secret,
            claim_mapping={"role": "roles"},
        )
    rp_app.state.auth.federation_transport = httpx.ASGITransport(app=idp_app)
    web_client, _ = await make_frontend(resources)

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=rp_app), base_url="http://testserver"
        ) as rp,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=idp_app), base_url=IDP) as idp,
    ):
        first = await _federated_login(rp, idp, province, web_client, sso_user.username)
        assert first["roles"] == ["OFFICER"]
        assert first["tenant"] == {"kind": "AGENCIES", "agencyIds": [str(agency.id)]}
        assert first["subject"] != str(sso_user.id)  # a distinct eiso user, linked to the IdP's
        again = await _federated_login(rp, idp, province, web_client, sso_user.username)
        assert again["subject"] == first["subject"]


async def test_login_for_a_province_without_idp_is_404(rp_app, resources):
    province, _agency = await make_tenant(resources)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=rp_app), base_url="http://testserver"
    ) as rp:
        response = await rp.get(f"/auth/login/{province.code}")
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND" and "message_vi" in response.json()


async def test_claim_mapping_never_grants_more_than_the_province(resources):
    from eiso.core.auth.models import IdentityProvider
    from eiso.core.errors import DomainError

    province, agency = await make_tenant(resources)
    _other_province, other_agency = await make_tenant(resources)
    idp = IdentityProvider(
        province_id=province.id,
        issuer="https://sso.example",
        client_id="eiso",
        client_secret_encrypted="-",
        claim_mapping={**federation.DEFAULT_MAPPING, "role": "roles"},
        default_role="officer",
    )
    async with resources.session(TenantScope.nation()) as session, session.begin():
        user = await federation.map_user(
            session,
            province,
            idp,
            {
                "sub": "s-1",
                "preferred_username": "nguyễn.văn.a",
                "roles": ["national_admin"],
                "agency_code": agency.code,
            },
        )
        assert user.roles == ["officer"]  # an IdP cannot make national admins
        assert (user.province_id, user.agency_id) == (province.id, agency.id)
        with pytest.raises(DomainError):  # an agency of another province
            await federation.map_user(
                session, province, idp, {"sub": "s-2", "agency_code": other_agency.code}
            )
        with pytest.raises(DomainError):  # no subject
            await federation.map_user(session, province, idp, {"agency_code": agency.code})
