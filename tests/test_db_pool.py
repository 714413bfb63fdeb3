"""The PostgreSQL pool pings a connection only after it sat idle (infra/db.py), and a
connection that died while idle is replaced before the caller sees an error."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from eiso.infra.db import make_engine
from tests.conftest import _pg_admin

pytestmark = pytest.mark.only_backend("postgresql+redis")


@pytest.fixture
def pings(monkeypatch) -> list:
    seen: list = []
    original = AsyncAdapt_asyncpg_connection.ping
    monkeypatch.setattr(
        AsyncAdapt_asyncpg_connection, "ping", lambda self: seen.append(self) or original(self)
    )
    return seen


async def _backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("select pg_backend_pid()"))).scalar_one()


async def test_a_connection_in_steady_use_is_not_pinged(backend, database, pings):
    engine = make_engine(database.app_url, pool_size=1)
    try:
        pids = {await _backend_pid(engine) for _ in range(5)}
        assert len(pids) == 1 and pings == []  # one connection, reused, never pinged
    finally:
        await engine.dispose()


async def test_an_idle_connection_is_pinged_before_use(backend, database, pings):
    engine = make_engine(database.app_url, pool_size=1, ping_after_idle=0.2)
    try:
        first = await _backend_pid(engine)
        await asyncio.sleep(0.3)
        assert await _backend_pid(engine) == first and len(pings) == 1
    finally:
        await engine.dispose()


async def test_a_connection_that_died_while_idle_is_replaced(backend, database, pings):
    engine = make_engine(database.app_url, pool_size=1, ping_after_idle=0.0)
    try:
        dead = await _backend_pid(engine)
        await _pg_admin(f"select pg_terminate_backend({dead})")
        await asyncio.sleep(0.1)  # the server closes the socket
        assert await _backend_pid(engine) != dead  # no error reached the caller
        assert pings
    finally:
        await engine.dispose()


async def test_without_the_ping_the_dead_connection_would_have_failed(backend, database):
    """The test above proves something: the same kill, pinging only after an hour, fails."""
    engine = make_engine(database.app_url, pool_size=1, ping_after_idle=3600)
    try:
        dead = await _backend_pid(engine)
        await _pg_admin(f"select pg_terminate_backend({dead})")
        await asyncio.sleep(0.1)
        with pytest.raises(Exception, match=r"(?i)connection|closed|terminat"):
            await _backend_pid(engine)
        assert await _backend_pid(engine) != dead  # and the pool recovers on the next use
    finally:
        await engine.dispose()
