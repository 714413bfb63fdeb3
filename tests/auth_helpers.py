"""Shared arrangements for the auth tests: tenants, users, clients, PKCE, a JWT-authenticated
app."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import urllib.parse

import httpx
import pytest_asyncio

from eiso.core.auth.clients import create_frontend_client, create_integration_client
from eiso.core.auth.users import create_user
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province

PASSWORD = "mật-khẩu-đủ-dài-1"
REDIRECT = "http://frontend.test/callback"


def code(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4).upper()}"


async def make_tenant(resources):
    """A fresh province with one agency; returns (province, agency)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, code("P"), "Tỉnh Thử Nghiệm")
        agency = await ensure_agency(
            session, province, code("A"), "Sở Xây dựng", AgencyKind.department
        )
    return province, agency


async def make_user(
    resources, role: str, *, agency=None, province=None, username=None, password: str = PASSWORD
):
    username = username or code("u").lower()
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await create_user(
            session,
            username=username,
            role=role,
            password=password,
            agency_code=agency.code if agency else None,
            province_code=province.code if province else None,
        )


async def make_integration(resources, scopes, *, agency=None, province=None):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row, secret = await create_integration_client(
            session,
            secret_key=resources.settings.secret_key.get_secret_value(),
            scopes=scopes,
            agency_code=agency.code if agency else None,
            province_code=province.code if province else None,
        )
    return row.client_id, secret


async def make_frontend(resources, redirect=REDIRECT, *, secret=False, client_id=None):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row, plain = await create_frontend_client(
            session,
            redirect_uris=[redirect],
            name="Cổng eiso",
            secret=secret,
            client_id=client_id,
            secret_key=resources.settings.secret_key.get_secret_value(),
        )
    return row.client_id, plain


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def authorize_query(
    client_id: str,
    challenge: str | None,
    scope="tenants:read qms:read",
    redirect=REDIRECT,
    state="st-1",
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "scope": scope,
        "state": state,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return urllib.parse.urlencode(params)


def form_request(page: str) -> str:
    return _hidden(page, "request")


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, page
    return html.unescape(match.group(1))


def login_form(page: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The login form's fields as the browser posts them (request, CSRF token, credentials)."""
    return {
        "request": _hidden(page, "request"),
        "csrf": _hidden(page, "csrf"),
        "username": username,
        "password": password,
    }


async def login_code(
    http: httpx.AsyncClient, client_id: str, username: str, password: str = PASSWORD
) -> tuple[str, str]:
    """Drive authorize → login form → redirect; returns (code, verifier)."""
    verifier, challenge = pkce()
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, challenge))
    assert page.status_code == 200, page.text
    response = await http.post("/oauth/authorize", data=login_form(page.text, username, password))
    assert response.status_code == 302, response.text
    location = urllib.parse.urlsplit(response.headers["location"])
    params = dict(urllib.parse.parse_qsl(location.query))
    assert params["state"] == "st-1"
    return params["code"], verifier


async def user_token(http, client_id, username, password=PASSWORD) -> dict:
    auth_code, verifier = await login_code(http, client_id, username, password)
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": auth_code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _jwt_app(resources):
    from eiso.core.app import create_app

    application = create_app(resources.settings, resources)  # default: the JWT authenticator
    async with application.router.lifespan_context(application):
        yield application


async def _http(jwt_app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=jwt_app), base_url="http://testserver"
    ) as client:
        yield client


def app_fixtures():
    """`jwt_app, http = app_fixtures()` in a test module: the app with its default (JWT)
    authenticator, and an HTTP client on it. The app lasts the module: its lifespan's end
    stops its Redis listeners (tests/test_app_fixtures.py)."""
    return (
        pytest_asyncio.fixture(scope="module", name="jwt_app")(_jwt_app),
        pytest_asyncio.fixture(name="http")(_http),
    )
