"""Login throttling with lockout, and the token endpoint's rate limit (both in Redis)."""

from __future__ import annotations

import asyncio
import secrets
import time

from tests.auth_helpers import (
    PASSWORD,
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
