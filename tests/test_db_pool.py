"""The PostgreSQL pool pings a connection only after it sat idle (infra/db.py), a connection
the server closed is replaced at checkout, and a session's first statement on a connection that
died under the pool is retried once on a fresh one: reads survive `pg_terminate_backend`."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from eiso.infra import db
from eiso.infra.db import make_engine, make_sessionmaker
from eiso.tenants.scope import TenantScope, open_session
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


async def test_a_connection_that_died_while_idle_is_replaced(backend, database, pings, monkeypatch):
    monkeypatch.setattr(db, "_closed", lambda _connection: False)  # the ping alone
    engine = make_engine(database.app_url, pool_size=1, ping_after_idle=0.0)
    try:
        dead = await _backend_pid(engine)
        await _pg_admin(f"select pg_terminate_backend({dead})")
        await asyncio.sleep(0.1)  # the server closes the socket
        assert await _backend_pid(engine) != dead  # no error reached the caller
        assert pings
    finally:
        await engine.dispose()


async def test_a_connection_the_server_closed_is_replaced_without_a_ping(backend, database, pings):
    engine = make_engine(database.app_url, pool_size=1, ping_after_idle=3600)
    try:
        dead = await _backend_pid(engine)
        await _pg_admin(f"select pg_terminate_backend({dead})")
        await asyncio.sleep(0.1)  # the server closes the socket; asyncpg notices
        assert await _backend_pid(engine) != dead and pings == []
    finally:
        await engine.dispose()


async def test_without_the_checks_the_dead_connection_would_have_failed(
    backend, database, monkeypatch
):
    """The tests above prove something: the same kill, with neither the closed-socket check nor
    the idle ping, fails the next use of the connection."""
    monkeypatch.setattr(db, "_closed", lambda _connection: False)
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


POOL, READS = 4, 40


async def _read(sessionmaker) -> int:
    # A scoped session, as the app opens: on PostgreSQL its first statement hands the scope
    # to the server (tenants/scope.py), and that is where a dead connection shows.
    async with open_session(sessionmaker, TenantScope.nation()) as session:
        return (await session.execute(text("select pg_backend_pid()"))).scalar_one()


async def _read_on_its_connection(sessionmaker) -> int:
    # As the dossier pages read: Core statements on `session.connection()`, which begins the
    # transaction (and hands the scope over) itself.
    async with open_session(sessionmaker, TenantScope.nation()) as session:
        connection = await session.connection()
        return (await connection.execute(text("select pg_backend_pid()"))).scalar_one()


async def _terminate_every_backend_but_ours(database) -> int:
    """Every backend of the test database except this admin connection; how many."""
    import asyncpg

    admin = await asyncpg.connect(database.owner_url)
    try:
        return await admin.fetchval(
            "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()) killed"
        )
    finally:
        await admin.close()


async def _reads_after_killing_the_pool(database, session_class=None, read=_read) -> list:
    engine = make_engine(database.app_url, pool_size=POOL, ping_after_idle=3600)
    sessionmaker = make_sessionmaker(engine)
    if session_class is not None:
        sessionmaker.configure(sync_session_class=session_class)
    try:
        before = set(await asyncio.gather(*(_read(sessionmaker) for _ in range(POOL))))
        assert len(before) == POOL  # the pool holds POOL open connections
        assert await _terminate_every_backend_but_ours(database) >= POOL
        outcomes = []
        for _ in range(READS // POOL):  # in waves of POOL concurrent reads
            wave = [read(sessionmaker) for _ in range(POOL)]
            outcomes += await asyncio.gather(*wave, return_exceptions=True)
        assert not set(before) & {o for o in outcomes if isinstance(o, int)}  # new backends
        return outcomes
    finally:
        await engine.dispose()


@pytest.mark.parametrize("checkout_check", [True, False], ids=["closed-check", "retry-only"])
async def test_every_read_succeeds_after_the_pools_backends_are_terminated(
    backend, database, monkeypatch, caplog, checkout_check
):
    """40 reads right after every pooled backend was terminated: all succeed, whether the
    checkout sees the closed socket or (turned off here) the session's retry catches it."""
    if not checkout_check:
        monkeypatch.setattr(db, "_closed", lambda _connection: False)
    outcomes = await _reads_after_killing_the_pool(database)
    assert [o for o in outcomes if not isinstance(o, int)] == []
    assert len(outcomes) == READS
    if not checkout_check:
        assert any("retried once" in r.getMessage() for r in caplog.records)


async def test_reads_on_the_sessions_connection_are_retried_too(backend, database, monkeypatch):
    monkeypatch.setattr(db, "_closed", lambda _connection: False)
    outcomes = await _reads_after_killing_the_pool(database, read=_read_on_its_connection)
    assert [o for o in outcomes if not isinstance(o, int)] == [] and len(outcomes) == READS


async def test_without_the_retry_reads_on_killed_connections_fail(backend, database, monkeypatch):
    """The test above proves something: with a plain session and no checkout check, the
    first read on each killed connection fails."""
    from sqlalchemy.orm import Session

    monkeypatch.setattr(db, "_closed", lambda _connection: False)
    outcomes = await _reads_after_killing_the_pool(database, Session)
    assert any(not isinstance(o, int) for o in outcomes)


def test_asyncpgs_confusion_after_a_termination_counts_as_a_disconnect():
    """A backend terminated while idle: asyncpg read the FATAL message, not yet the close, and
    refuses the next query with this; the connection is unusable, so it is a disconnect
    (invalidated and retried) rather than an error that would leave it in the pool."""
    from types import SimpleNamespace

    class InternalClientError(Exception):  # the name SQLAlchemy's asyncpg adapter gives it
        pass

    confused = InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    for error, disconnect in [(confused, True), (InternalClientError("other"), False)]:
        context = SimpleNamespace(original_exception=error, is_disconnect=False)
        db._terminated_while_idle(context)
        assert context.is_disconnect is disconnect
