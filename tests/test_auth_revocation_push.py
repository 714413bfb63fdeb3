"""Verified bearer tokens are cached per process (issue 18); a revocation still reaches every
worker at its next request: pushed by Redis pub/sub while Redis is up, read from the database
while it is down, and from the database again when the subscription comes back."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap

import httpx
import pytest

from eiso.core.auth import jwt_authenticator, revocations
from eiso.core.auth.jwt_authenticator import VerifiedTokens
from tests.auth_helpers import app_fixtures, make_integration, make_tenant
from tests.test_redis_outage import outage_app, redis_server  # noqa: F401 - fixtures
from tests.worker_process import worker_process

ME = {"query": "{ me { subject } }"}
GRANT = {"grant_type": "client_credentials"}
STEPS = 100  # bounded waits: at most 100 x 0.1 s

jwt_app_fixture, http_fixture = app_fixtures()

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


async def test_a_revoked_token_is_refused_at_its_next_request_though_it_was_cached(
    http, jwt_app, resources, monkeypatch
):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    token, kept = await grant(http, client_id, secret), await grant(http, client_id, secret)
    for each in (token, kept):
        assert await subject(http, each) == client_id

    def not_again(*_args, **_kwargs):
        raise AssertionError("a cached token was verified again")

    with monkeypatch.context() as patched:
        patched.setattr(jwt_authenticator.tokens, "verify", not_again)
        assert await subject(http, token) == client_id  # from the cache
    await revoke(http, client_id, secret, token)
    assert await subject(http, token) is None
    assert await subject(http, kept) == client_id


async def test_with_the_channel_down_the_check_reads_redis_or_the_database(
    http, jwt_app, resources, monkeypatch
):
    """A watch that is not current (its subscription lost) is not asked: each request checks
    Redis, and the database when Redis fails."""
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    token, kept = await grant(http, client_id, secret), await grant(http, client_id, secret)
    assert await subject(http, token) == client_id  # cached
    watch = jwt_app.state.auth.authenticator.watch
    monkeypatch.setattr(watch, "current", lambda: False)
    monkeypatch.setattr(watch, "denied", lambda _jti: False)  # it heard nothing
    await revoke(http, client_id, secret, token)
    assert await subject(http, token) is None  # from Redis
    assert await subject(http, kept) == client_id

    async def no_redis(*_args, **_kwargs):
        raise revocations.RedisError("Redis is down")

    monkeypatch.setattr(type(resources.redis), "pipeline", broken_pipeline(no_redis))
    assert await subject(http, token) is None  # from the database
    assert await subject(http, kept) == client_id


def broken_pipeline(fail):
    """A `pipeline()` whose execution fails like a Redis outage."""

    def pipeline(self, *args, **kwargs):
        class Broken:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

            def __getattr__(self, _name):
                return lambda *a, **k: None

            execute = staticmethod(fail)

        return Broken()

    return pipeline


def test_a_cached_token_leaves_when_it_expires(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(jwt_authenticator.time, "time", lambda: now[0])
    cache = VerifiedTokens(size=4)
    claims = {"exp": now[0] + 60, "sub": "x"}
    cache.put("token", "issuer", claims)
    assert cache.get("token", "issuer")[0] == claims
    with pytest.raises(KeyError):
        cache.get("token", "another issuer")  # verified for one issuer only
    now[0] += 60  # its exp
    with pytest.raises(KeyError):
        cache.get("token", "issuer")
    assert len(cache) == 0


def test_the_cache_is_bounded_least_recently_used_out_first(monkeypatch):
    monkeypatch.setattr(jwt_authenticator.time, "time", lambda: 1_000_000.0)
    cache = VerifiedTokens(size=2)
    for name in ("a", "b"):
        cache.put(name, "issuer", {"exp": 1_000_060})
    cache.get("a", "issuer")  # used: "b" is now the oldest
    cache.put("c", "issuer", {"exp": 1_000_060})
    assert len(cache) == 2
    with pytest.raises(KeyError):
        cache.get("b", "issuer")
    assert cache.get("a", "issuer") and cache.get("c", "issuer")


async def test_while_redis_is_down_the_watch_backs_off_and_connects_once_per_attempt(
    monkeypatch,
):
    """Pitfall of an earlier version: a listener retrying at a fixed pace (and redis-py
    reconnecting inside it) kept connecting to a Redis that was down."""
    from redis.asyncio.connection import Connection

    from eiso.infra.redis_client import Breaker, make_redis

    connects, delays = [], []
    original = Connection._connect

    async def counted(self):
        # Only the down client's (port 1): the patch is process-wide, and another test's app
        # may reconnect its own listeners meanwhile (CI saw 11 for 10 attempts).
        if self.port == 1:
            connects.append(1)
        return await original(self)

    class Stop(Exception):
        pass

    real_sleep = revocations.asyncio.sleep

    async def no_wait(delay):
        # asyncio.sleep is patched for the whole loop: only the watch's own sleeps count.
        if sys._getframe(1).f_globals.get("__name__") != revocations.__name__:
            await real_sleep(delay)
            return
        delays.append(delay)
        if len(delays) == 10:
            raise Stop

    monkeypatch.setattr(Connection, "_connect", counted)
    monkeypatch.setattr(revocations.asyncio, "sleep", no_wait)
    # A breaker that never holds a connect back: the watch's own backoff is what is measured.
    client = make_redis("redis://127.0.0.1:1/0", breaker=Breaker(first_delay=0, max_delay=0))
    down = type("Down", (), {"redis": client, "key": staticmethod(lambda *parts: ":".join(parts))})
    watch = revocations.RevocationWatch()
    try:
        with pytest.raises(Stop):
            await watch.listen(down)  # type: ignore[arg-type]
    finally:
        await client.aclose()
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert len(connects) == len(delays)  # one connect per attempt, none between them
    assert not watch.listening
    assert watch not in revocations._watches.get("auth:revoked", set())


@pytest.mark.only_backend("sqlite+memory")
async def test_the_app_lifespan_starts_and_stops_the_watch(resources):
    from eiso.core.app import create_app

    app = create_app(resources.settings, resources)
    channel = revocations.revocations_channel(resources)
    async with app.router.lifespan_context(app):
        watch = app.state.auth.authenticator.watch
        for _ in range(STEPS):
            if watch.current():
                break
            await asyncio.sleep(0.1)
        assert watch.current() and watch in revocations._watches[channel]
    assert not watch.listening and watch not in revocations._watches[channel]
