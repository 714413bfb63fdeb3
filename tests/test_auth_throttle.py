"""Login throttling with lockout, and the token endpoint's rate limit (both in Redis)."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from tests.auth_helpers import (
    PASSWORD,
    REDIRECT,
    app_fixtures,
    authorize_query,
    login_form,
    make_frontend,
    make_tenant,
    make_user,
    pkce,
)

jwt_app_fixture, http_fixture = app_fixtures()


async def _attempt(http, client_id, username, password):
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
    return await http.post("/oauth/authorize", data=login_form(page.text, username, password))


async def test_account_locks_after_repeated_failures_and_says_so(http, resources):
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    limit = resources.settings.login_max_failures
    for _ in range(limit - 1):
        assert (await _attempt(http, client_id, user.username, "wrong-password")).status_code == 401
    locking = await _attempt(http, client_id, user.username, "wrong-password")
    assert locking.status_code == 423 and "đã bị khóa" in locking.text
    # Even the right password is refused while locked, and the page says why.
    locked = await _attempt(http, client_id, user.username, PASSWORD)
    assert locked.status_code == 423
    assert "bị khóa" in locked.text and "locked" in locked.text
    # Unlocking (an operator, or time passing) lets the user in again.
    await resources.redis.delete(resources.key("auth", "locked", user.username.lower()))
    assert (await _attempt(http, client_id, user.username, PASSWORD)).status_code == 302


async def test_the_password_form_counts_per_address(jwt_app, resources, monkeypatch):
    """One address trying a password on many accounts (each under its own lockout) is held to
    `token_rate_limit` tries a minute; another address is not held back by it."""
    limit = 4
    monkeypatch.setattr(resources.settings, "token_rate_limit", limit)
    if time.time() % 60 > 50:  # one clock minute for the whole test
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    client_id, _ = await make_frontend(resources)
    net = secrets.randbelow(200) + 1

    async def tries(host: int, count: int) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=jwt_app, client=(f"198.51.{net}.{host}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return [
                await _attempt(http, client_id, f"nobody-{secrets.token_hex(4)}", "wrong")
                for _ in range(count)
            ]

    answers = await tries(1, limit + 1)
    assert [a.status_code for a in answers] == [401] * limit + [429]
    assert "quá nhiều lượt đăng nhập" in answers[-1].text
    assert int(answers[-1].headers["retry-after"]) > 0
    assert [a.status_code for a in await tries(2, 1)] == [401]


async def test_token_endpoint_rate_limit(http, resources):
    # The window is one clock minute: start early in a minute so the test never straddles two.
    if time.time() % 60 > 45:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    client_id = "ratelimit-" + secrets.token_hex(4)
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"}
    statuses = [
        (await http.post("/oauth/token", data=data)).status_code
        for _ in range(resources.settings.token_rate_limit)
    ]
    assert 429 not in statuses
    limited = await http.post("/oauth/token", data=data)
    assert limited.status_code == 429
    assert limited.json()["error"] == "slow_down" and int(limited.headers["retry-after"]) > 0
    other = await http.post("/oauth/token", data={**data, "client_id": client_id + "-other"})
    assert other.status_code != 429


async def _redeem(jwt_app, address: str, client_id: str, secret: str, code: str, verifier=""):
    """A token request for `code`, from `address`, presented by the confidential client."""
    transport = httpx.ASGITransport(app=jwt_app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier or "v" * 50,
            },
        )


async def test_sign_ins_through_one_client_count_per_address_and_per_person(
    jwt_app, resources, monkeypatch
):
    """The officer's desk is one confidential client serving every officer of the nation: the
    code redemptions it makes count per officer's address and per person, never per client
    (which would hold the whole nation to `token_rate_limit` sign-ins a minute)."""
    from eiso.core.auth.server import AuthCode

    limit = 4
    monkeypatch.setattr(resources.settings, "token_rate_limit", limit)
    if time.time() % 60 > 50:  # one clock minute for the whole test
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    _province, agency = await make_tenant(resources)
    user = await make_user(resources, "officer", agency=agency)
    client_id, secret = await make_frontend(resources, secret=True)
    net = secrets.randbelow(200) + 1

    # Many officers (bad or spent codes here) through the one client: none is held back.
    for host in range(1, 3 * limit):
        refused = await _redeem(jwt_app, f"198.51.{net}.{host}", client_id, secret, "spent")
        assert refused.status_code == 400, refused.text  # invalid_grant, not slow_down
    # One address is held to the limit, whichever person it signs in.
    address = f"198.51.{net}.250"
    statuses = [
        (await _redeem(jwt_app, address, client_id, secret, "spent")).status_code
        for _ in range(limit + 1)
    ]
    assert statuses == [400] * limit + [429]

    # One person is held to the limit, from whichever address.
    server = jwt_app.state.auth.server

    async def code_of_user() -> tuple[str, str]:
        verifier, challenge = pkce()
        code = secrets.token_urlsafe(24)
        record = AuthCode(client_id, user.id, REDIRECT, "tenants:read", challenge, "S256")
        await server.save_code(code, record)
        return code, verifier

    answers = []
    for host in range(limit + 1):
        code, verifier = await code_of_user()
        answers.append(
            await _redeem(jwt_app, f"198.51.{net}.{100 + host}", client_id, secret, code, verifier)
        )
    assert [a.status_code for a in answers] == [200] * limit + [429]
    assert answers[-1].json()["error"] == "slow_down"
    assert int(answers[-1].headers["retry-after"]) > 0
    # The client's own grant (client credentials) still counts per client: tested above.
