"""Verified bearer tokens are cached per process (issue 18); a revocation still reaches every
worker at its next request: pushed by Redis pub/sub while Redis is up, read from the database
while it is down, and from the database again when the subscription comes back."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap

import httpx
import pytest

from eiso.core.auth import revocations
from tests.auth_helpers import make_integration, make_tenant
from tests.test_redis_outage import outage_app, redis_server  # noqa: F401 - fixtures
from tests.worker_process import worker_process

ME = {"query": "{ me { subject } }"}
GRANT = {"grant_type": "client_credentials"}
STEPS = 100  # bounded waits: at most 100 x 0.1 s

WORKER = textwrap.dedent("""
    from eiso.core.app import create_app
    from eiso.core.settings import get_settings

    def app():
        return create_app(get_settings())
""")


async def subject(http: httpx.AsyncClient, token: str) -> str | None:
    response = await http.post("/graphql", json=ME, headers={"authorization": f"Bearer {token}"})
    body = response.json()
    return (body.get("data") or {}).get("me", {}) and body["data"]["me"]["subject"]


async def grant(http: httpx.AsyncClient, client_id: str, secret: str) -> str:
    answer = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def revoke(http: httpx.AsyncClient, client_id: str, secret: str, token: str) -> None:
    answer = await http.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(client_id, secret),
    )
    assert answer.status_code == 200


@pytest.mark.only_backend("sqlite+memory")
async def test_the_watch_hears_a_published_revocation_and_drops_nothing_it_was_told(resources):
    watch = revocations.RevocationWatch()
    task = asyncio.create_task(watch.listen(resources))
    try:
        for _ in range(STEPS):
            if watch.current():
                break
            await asyncio.sleep(0.1)
        assert watch.current()
        channel = revocations.revocations_channel(resources)
        await resources.redis.publish(channel, "from-elsewhere 9999999999")
        for _ in range(STEPS):
            if watch.denied("from-elsewhere"):
                break
            await asyncio.sleep(0.1)
        assert watch.denied("from-elsewhere")
        await revocations.revoke(resources, "made-here", 60)
        assert watch.denied("made-here")  # this process's own revocation, at once
        assert not watch.denied("never-revoked")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.slow
@pytest.mark.only_backend("postgresql+redis")
async def test_a_revocation_reaches_another_worker_through_and_after_a_redis_outage(
    backend,
    outage_app,  # noqa: F811 - the app on the test's own Redis (tests/test_redis_outage.py)
    redis_server,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    app, resources = outage_app
    monkeypatch.setenv("EISO_ISSUER", resources.settings.issuer)  # the worker expects it too
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as here:
        _province, agency = await make_tenant(resources)
        client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
        first, second, kept = [await grant(here, client_id, secret) for _ in range(3)]
        async with (
            worker_process(
                tmp_path, "revoke_worker", WORKER, resources.settings, plugins=""
            ) as url,
            httpx.AsyncClient(base_url=url) as there,
        ):
            for token in (first, second, kept, first, second, kept):  # now cached there
                assert await subject(there, token) == client_id

            await revoke(here, client_id, secret, first)  # Redis up: pushed
            assert await subject(there, first) is None

            redis_server.kill()
            await revoke(here, client_id, secret, second)  # the database only
            assert await subject(there, second) is None
            assert await subject(there, kept) == client_id

            await redis_server.start()  # empty: the revocation never reached it
            for _ in range(30):  # through the worker's resubscription, every answer
                assert await subject(there, second) is None
                assert await subject(there, first) is None
                await asyncio.sleep(0.1)
            assert await subject(there, kept) == client_id
