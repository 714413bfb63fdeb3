"""A SPA's sign-in in headless Chromium: eiso's login page posts to itself and redirects to
the client's redirect_uri on another origin with the code, which the page's Content Security
Policy must allow (Chromium applies form-action to that redirect)."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.auth_helpers import (
    PASSWORD,
    authorize_query,
    make_frontend,
    make_tenant,
    make_user,
    pkce,
)
from tests.clients.conftest import run_node

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

SPA = "http://127.0.0.1:5173"  # the demo client's origin; the test only sees the browser sent there


async def test_a_browser_signs_in_and_lands_on_the_spa_with_a_code(node, chromium, resources, live):
    _, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    redirect = SPA + "/callback"
    client_id, _ = await make_frontend(resources, redirect)
    query = authorize_query(client_id, pkce()[1], redirect=redirect, state="spa-1")
    got = await run_node(
        node,
        "login.mjs",
        f"{live.http}/oauth/authorize?{query}",
        SPA,
        user.username,
        PASSWORD,
        chromium,
    )
    assert got["errors"] == [] and got["blocked"] == []
    landed = urllib.parse.urlsplit(got["landed"])
    params = dict(urllib.parse.parse_qsl(landed.query))
    assert landed.path == "/callback" and params["state"] == "spa-1" and params["code"]
