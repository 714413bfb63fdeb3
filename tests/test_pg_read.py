"""Read-only sessions on PostgreSQL (infra/pg_read.py): a read whose connection already holds
its scope is one round trip on the wire (no BEGIN, `set_config` or ROLLBACK), a new scope adds
one, and no scope ever reaches the next session: scope A, scope B, the nation, an unscoped
session, each sees its own; writes go to the main pool, and the read pool refuses them."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Integer, bindparam, event, exc, func, literal, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from eiso.infra.db import core_rows, driver_rows, make_engine, make_read_engine, make_sessionmaker
from eiso.infra.pg_driver import expanded
from eiso.infra.pg_read import READ_PARALLEL_SETUP_COST, ReadPoolMisuse
from eiso.tenants.scope import TenantScope, open_session, scope_params
from tests.conftest import _pg_admin
from tests.test_dossier_graphql import PROC, Caller, app, officer_of

__all__ = ["app"]  # a fixture: the app with the test module's procedures
pytestmark = pytest.mark.only_backend("postgresql+redis")

SETTINGS = text(
    "select current_setting('eiso.scope', true), current_setting('eiso.province_ids', true)"
)
# A session with no scope may still run Core statements: it must see none.
NOTHING = {None, ""}


class Wire:
    """A TCP relay in front of PostgreSQL that reads the client's protocol messages: a round
    trip is a message the client then waits on, Sync (extended protocol) or Query (simple)."""

    def __init__(self) -> None:
        self.sent: list[str] = []  # message types after the startup, in order

    def round_trips(self) -> int:
        return sum(kind in "SQ" for kind in self.sent)

    async def serve(self, target: tuple[str, int]) -> asyncio.Server:
        async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
            server_r, server_w = await asyncio.open_connection(*target)
            back = asyncio.create_task(_pipe(server_r, client_w))
            try:
                await self._read_client(client_r, server_w)
            finally:
                server_w.close()
                await back

        return await asyncio.start_server(relay, "127.0.0.1", 0)

    async def _read_client(self, reader: asyncio.StreamReader, out: asyncio.StreamWriter) -> None:
        started = False
        while True:
            try:
                kind = b"" if not started else await reader.readexactly(1)
                head = await reader.readexactly(4)
                body = await reader.readexactly(struct.unpack("!i", head)[0] - 4)
            except asyncio.IncompleteReadError:
                return
            if not started:  # the SSL request or the startup message: no type byte
                started = not body.startswith(b"\x04\xd2\x16/")  # SSLRequest's code
            else:
                self.sent.append(kind.decode())
            out.write(kind + head + body)
            await out.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def wire(database) -> AsyncIterator[tuple[Wire, str]]:
    """The relay, and the app's URL through it."""
    spy = Wire()
    parts = urlsplit(database.app_url)
    server = await spy.serve((parts.hostname or "127.0.0.1", parts.port or 5432))
    port = server.sockets[0].getsockname()[1]
    netloc = f"{parts.username}@127.0.0.1:{port}"
    try:
        yield spy, parts._replace(netloc=netloc).geturl()
    finally:
        server.close()


@pytest.fixture
async def reader(wire) -> AsyncIterator[AsyncEngine]:
    engine = make_read_engine(wire[1], pool_size=1)  # one connection, reused
    assert engine is not None
    try:
        yield engine
    finally:
        await engine.dispose()


async def _read(engine: AsyncEngine, scope: TenantScope | None) -> tuple[str, str]:
    session = make_sessionmaker(engine)()
    session.info["scope"] = scope
    async with session:
        [row] = await core_rows(session, SETTINGS, {})
        return row[0], row[1]


async def _pid(engine: AsyncEngine) -> int:
    async with open_session(make_sessionmaker(engine), TenantScope.nation()) as session:
        return (await session.execute(text("select pg_backend_pid()"))).scalar_one()


async def test_a_read_is_one_round_trip_once_its_connection_holds_the_scope(backend, wire, reader):
    spy, _ = wire
    assert await _read(reader, TenantScope.province(7)) == ("province", "7")  # opens, prepares
    before = len(spy.sent)
    assert await _read(reader, TenantScope.province(7)) == ("province", "7")
    assert spy.sent[before:] == ["B", "E", "S"]  # the query alone: bind, execute, sync
    before = len(spy.sent)
    assert await _read(reader, TenantScope.province(8)) == ("province", "8")
    assert spy.sent[before:] == ["B", "E", "S"] * 2  # a new scope: its set_config, the query


async def test_a_read_takes_the_pooled_connection_that_holds_its_scope(backend, wire):
    """Two idle connections, one holding each scope: a read takes the one holding its own
    (no `set_config`), whichever the queue would hand out next."""
    spy, url = wire
    engine = make_read_engine(url, pool_size=2)
    assert engine is not None
    one, two = TenantScope.province(1), TenantScope.agencies([2], [5])
    try:
        first, second = make_sessionmaker(engine)(), make_sessionmaker(engine)()
        first.info["scope"], second.info["scope"] = one, two
        async with first, second:  # both checked out at once: two connections
            await core_rows(first, SETTINGS, {})
            await core_rows(second, SETTINGS, {})
        shown = {one: ("province", "1"), two: ("agencies", "5")}
        for scope in [one, one, two, two, one]:
            before = len(spy.sent)
            assert await _read(engine, scope) == shown[scope]
            assert spy.sent[before:] == ["B", "E", "S"]  # the query alone
        assert engine.sync_engine.pool.checkedin() == 2
    finally:
        await engine.dispose()


async def test_the_dossier_page_read_is_one_round_trip(backend, wire, reader):
    """driver_rows, as the dossier page reads (graphql/dossiers/page.py), on a warm
    connection: the statement alone, from asyncpg's cache of prepared statements."""
    spy, _ = wire
    scope = TenantScope.agencies([3], [1])
    assert await _driver_read(reader, scope) == [("agencies", "1", 1)]
    before = len(spy.sent)
    assert await _driver_read(reader, scope) == [("agencies", "1", 1)]
    assert spy.sent[before:] == ["B", "E", "S"]


# The scope's ids as the page's statement holds them: expanding parameters (`IN (...)`).
SCOPED = select(
    literal_column("current_setting('eiso.scope', true)").label("scope"),
    literal_column("current_setting('eiso.province_ids', true)").label("provinces"),
    func.count().label("n"),
).where(
    literal_column("1").in_(bindparam("scope_province_ids", expanding=True)),
    literal_column("2").in_([literal(2, literal_execute=True), literal(5, literal_execute=True)]),
)


async def _driver_read(engine: AsyncEngine, scope: TenantScope) -> list[tuple[Any, ...]]:
    async with open_session(make_sessionmaker(engine), scope) as session:
        return [tuple(row) for row in await driver_rows(session, SCOPED, scope_params(scope))]


async def test_driver_rows_read_as_core_rows_and_send_sqlalchemy_s_sql(backend, wire, reader):
    """The same rows and the same SQL as SQLAlchemy's execution, for each length of the
    scope's lists (compiled once per length); the rows by attribute and position."""
    sent: list[str] = []
    event.listen(reader.sync_engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    for scope in (TenantScope.province(1), TenantScope.agencies([3, 4], [1, 2])):
        async with open_session(make_sessionmaker(reader), scope) as session:
            through_sqlalchemy = list(await core_rows(session, SCOPED, scope_params(scope)))
            rows = await driver_rows(session, SCOPED, scope_params(scope))
        assert [tuple(r) for r in rows] == [tuple(r) for r in through_sqlalchemy]
        assert rows[0]._fields == through_sqlalchemy[0]._fields == ("scope", "provinces", "n")
        assert rows[0].n == rows[0][2] == 1
        key = scope_params(scope)
        assert expanded(SCOPED, reader.sync_engine.dialect, key).sql == sent[-1]
    one = expanded(SCOPED, reader.sync_engine.dialect, {"scope_province_ids": [1]})
    two = expanded(SCOPED, reader.sync_engine.dialect, {"scope_province_ids": [1, 2]})
    assert "IN ($1)" in one.sql and "IN ($1, $2)" in two.sql and "IN (2, 5)" in one.sql
    assert one is expanded(SCOPED, reader.sync_engine.dialect, {"scope_province_ids": [7]})
    assert one.args({"scope_province_ids": [7]}) == [7]


async def test_driver_rows_on_a_dead_reader_are_read_again_and_errors_are_sqlalchemy_s(
    backend, wire, reader
):
    """A connection killed while idle (no checkout ping: it sat idle less than the ping's
    delay) fails the statement, which is read again on a fresh connection given its scope;
    any other error is SQLAlchemy's, as from `execute`."""
    scope = TenantScope.province(4)
    assert await _driver_read(reader, scope) == [("province", "4", 0)]
    pid = await _pid(reader)
    await _pg_admin(f"select pg_terminate_backend({pid})")
    await asyncio.sleep(0.1)
    assert await _driver_read(reader, scope) == [("province", "4", 0)]
    assert await _pid(reader) != pid
    # A statement whose connection dies under it: invalidated, run once more on a new one
    # (which dies too), then SQLAlchemy's disconnect error; the pool goes on.
    dying = select(func.pg_terminate_backend(func.pg_backend_pid()))
    async with open_session(make_sessionmaker(reader), scope) as session:
        with pytest.raises(exc.DBAPIError) as raised:
            await driver_rows(session, dying, {})
    assert raised.value.connection_invalidated
    assert await _driver_read(reader, scope) == [("province", "4", 0)]
    failing = select(literal_column("1") / bindparam("zero", type_=Integer))
    async with open_session(make_sessionmaker(reader), scope) as session:
        with pytest.raises(exc.DBAPIError, match="division by zero"):
            await driver_rows(session, failing, {"zero": 0})


async def test_no_scope_reaches_the_next_checkout(backend, database, wire, reader):
    """Scope A, scope B, the nation, no scope: each session sees its own on the one pooled
    connection; then a write (the main pool) sees its own, and the read pool refuses one."""
    seen = [
        await _read(reader, scope)
        for scope in [TenantScope.province(1), TenantScope.province(2), TenantScope.nation()]
    ]
    assert seen == [("province", "1"), ("province", "2"), ("nation", "")]
    assert set(await _read(reader, None)) <= NOTHING
    pid = await _pid(reader)
    async with reader.connect() as connection:  # a checkout no session's scope went to
        with pytest.raises(ReadPoolMisuse):
            await connection.execute(SETTINGS)
    writer = make_engine(database.app_url, pool_size=1)
    try:
        sessions = make_sessionmaker(writer)
        async with open_session(sessions, TenantScope.province(3)) as session, session.begin():
            assert (await session.execute(SETTINGS)).one() == ("province", "3")
            assert (await session.execute(text("select pg_backend_pid()"))).scalar() != pid
        async with writer.connect() as connection:  # after it, the main pool holds no scope
            assert set((await connection.execute(SETTINGS)).one()) <= NOTHING
    finally:
        await writer.dispose()
    async with open_session(make_sessionmaker(reader), TenantScope.nation()) as session:
        with pytest.raises(exc.DBAPIError, match="read-only transaction"):
            await session.execute(text("create temporary table t (x int)"))


async def test_a_reader_that_died_is_replaced_and_given_its_scope(backend, wire, reader):
    """The memory of the scope dies with its connection: the fresh one is sent the scope."""
    assert await _read(reader, TenantScope.province(4)) == ("province", "4")
    pid = await _pid(reader)
    await _pg_admin(f"select pg_terminate_backend({pid})")
    await asyncio.sleep(0.1)
    assert await _read(reader, TenantScope.province(4)) == ("province", "4")
    assert await _pid(reader) != pid


async def test_a_query_reads_on_the_read_pool_and_a_mutation_on_the_main_one(
    app, resources, callers
):
    """Through the app: a GraphQL query's sessions are read-only ones (core/resources.py), as
    is the request's look-up of its province's modules (core/plugins/activation.py); a
    mutation's are not."""
    gql = Caller(app, callers.issue(await officer_of(resources)))
    used: list[str] = []
    listeners = {
        name: (engine.sync_engine.pool, lambda *_args, name=name: used.append(name))
        for name, engine in [("read", resources.read_engine), ("main", resources.engine)]
    }
    for pool, listener in listeners.values():
        event.listen(pool, "checkout", listener)
    try:
        body = await gql("{ dossiers(first: 5) { edges { node { id } } } }")
        assert "errors" not in body and used and set(used) == {"read"}
        used.clear()
        body = await gql(
            f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code }} }}'
        )
        # its own sessions on the main pool (the module set before it is read on the other)
        assert body["data"]["adoptProcedure"]["code"] == PROC and "main" in used
    finally:
        for pool, listener in listeners.values():
            event.remove(pool, "checkout", listener)


async def test_a_read_session_that_begins_a_transaction_runs_on_the_main_pool(resources):
    """Code that writes begins its transaction (a query's audit entry of a personal-data read,
    graphql/dossiers/dataloaders.py): that session leaves the read pool, which refuses writes."""
    async with resources.read_session(TenantScope.nation()) as session:
        assert (await session.connection()).engine.pool is resources.read_engine.sync_engine.pool
        with pytest.raises(exc.DBAPIError, match="read-only transaction"):
            await session.execute(text("create temporary table t (x int)"))
    async with resources.read_session(TenantScope.nation()) as session, session.begin():
        await session.execute(text("create temporary table t (x int)"))
        assert (await session.execute(SETTINGS)).one()[0] == "nation"


async def test_the_read_pool_sets_parallel_workers_up_at_a_higher_cost(resources):
    """A province's page planned generically went parallel (infra/pg_read.py): the read
    pool's connections price a worker's start higher; the main pool keeps the default."""
    show = text("show parallel_setup_cost")
    async with resources.read_session(TenantScope.nation()) as session:
        assert (await session.execute(show)).scalar() == READ_PARALLEL_SETUP_COST
    async with resources.read_session(TenantScope.nation()) as session, session.begin():
        assert (await session.execute(show)).scalar() == "1000"


async def test_the_planner_knows_an_agency_lies_in_one_province(resources):
    """0930's statistics object: the dependency agency_id → province_id on `dossiers`, so that
    a plan of an agency's page (which names both) does not multiply their selectivities."""
    async with resources.read_session(TenantScope.nation()) as session:
        found = (
            await session.execute(
                text(
                    "select stxkind::text, array(select a.attname::text from pg_attribute a"
                    " where a.attrelid = s.stxrelid and a.attnum = any(s.stxkeys) order by 1)"
                    " from pg_statistic_ext s where s.stxrelid = 'dossiers'::regclass"
                )
            )
        ).all()
    assert [tuple(row) for row in found] == [("{f}", ["agency_id", "province_id"])]


def test_utc_datetimes_read_as_sqlmodel_reads_them():
    """The page's datetime columns (SQLModel's `UTCDateTime`) skip the TypeDecorator only for
    a value in UTC already, which its conversion returns as it is; same values otherwise."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    from eiso.core.dossiers.models import Dossier
    from eiso.infra.pg_driver import _as_is_in_utc, _result_processor

    on, column = dialect(), Dossier.__table__.c.received_at  # type: ignore[attr-defined]
    process = _result_processor(column.type, on)
    assert process is not None
    shortcut = _as_is_in_utc(column.type, on, process)
    assert shortcut is not process
    utc = dt.datetime(2026, 12, 7, 1, 2, 3, tzinfo=dt.UTC)
    hanoi = dt.datetime(2026, 12, 7, 8, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    for value in (utc, hanoi, dt.datetime(2026, 12, 7), None):
        assert shortcut(value) == process(value)
        assert getattr(shortcut(value), "tzinfo", None) is getattr(process(value), "tzinfo", None)
    assert shortcut(utc) is utc
    assert _as_is_in_utc(Dossier.__table__.c.code.type, on, None) is None  # type: ignore[attr-defined]
