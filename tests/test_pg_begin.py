"""A tenant's `set_config` goes to PostgreSQL with its transaction's BEGIN (infra/pg_begin.py):
a read-only session makes three round trips (BEGIN with the scope, its query, ROLLBACK), not
four, and a scope queued by a session that never ran a statement reaches no other session."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import event, text

from eiso.infra.db import make_engine, make_sessionmaker
from eiso.infra.pg_begin import CITUS, set_config_statement, set_local_statements
from eiso.tenants.scope import TenantScope, open_session

pytestmark = pytest.mark.only_backend("postgresql+redis")

SETTINGS = text(
    "select current_setting('eiso.scope', true), current_setting('eiso.province_ids', true)"
)


@pytest.fixture
async def engine(database):
    engine = make_engine(database.app_url, pool_size=1)  # one connection, reused
    async with engine.connect() as connection:  # opened (and SQLAlchemy's first-connect checks)
        await connection.execute(text("select 1"))
    try:
        yield engine
    finally:
        await engine.dispose()


class Wire:
    """What each session sends: simple queries (BEGIN, ROLLBACK) and SQLAlchemy statements."""

    def __init__(self, engine, monkeypatch) -> None:
        self.simple: list[str] = []
        self.statements: list[str] = []
        original = asyncpg.Connection.execute  # under BeginWithConnection's: what is sent

        async def execute(connection, query, *args, **kwargs):
            if not args:
                self.simple.append(query)
            return await original(connection, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "execute", execute)
        event.listen(
            engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_rest: self.statements.append(statement),
        )


async def test_a_read_makes_three_round_trips_with_the_scope_in_force(backend, engine, monkeypatch):
    wire = Wire(engine, monkeypatch)
    async with open_session(make_sessionmaker(engine), TenantScope.province(7)) as session:
        assert (await session.execute(SETTINGS)).one() == ("province", "7")
    assert len(wire.statements) == 1 and "set_config" not in wire.statements[0]
    [begin, end] = wire.simple
    assert begin.startswith("BEGIN") and "set_config('eiso.province_ids', '7', true)" in begin
    assert end.startswith("ROLLBACK")


async def test_a_write_keeps_its_scope_after_a_savepoint(backend, engine):
    sessions = make_sessionmaker(engine)
    async with open_session(sessions, TenantScope.nation()) as session, session.begin():
        async with session.begin_nested():
            assert (await session.execute(SETTINGS)).one()[0] == "nation"
        assert (await session.execute(SETTINGS)).one()[0] == "nation"


async def test_a_scope_queued_without_a_statement_reaches_no_one(backend, engine):
    sessions = make_sessionmaker(engine)
    async with open_session(sessions, TenantScope.nation()) as session:
        await session.connection()  # begun: the scope is queued, nothing is sent
    async with engine.connect() as connection:  # the same pooled connection, no scope
        assert set((await connection.execute(SETTINGS)).one()) <= {None, ""}
    async with open_session(sessions, TenantScope.province(3)) as session:
        assert (await session.execute(SETTINGS)).one() == ("province", "3")


async def test_each_session_sets_its_own_scope_on_a_shared_connection(backend, engine):
    sessions = make_sessionmaker(engine)
    for scope, expected in [
        (TenantScope.province(1), ("province", "1")),
        (TenantScope.nation(), ("nation", "")),
        (TenantScope.province(2), ("province", "2")),
    ]:
        async with open_session(sessions, scope) as session:
            assert (await session.execute(SETTINGS)).one() == expected


def test_only_plain_values_are_written_into_the_statement():
    assert set_config_statement({"scope": "province", "province_ids": "1,2"}) == (
        "select set_config('eiso.scope', 'province', true),"
        " set_config('eiso.province_ids', '1,2', true)"
    )
    assert set_config_statement({"scope": "x'); drop table t; --"}) is None


def test_on_citus_the_scope_is_set_local_with_the_propagation_first():
    """Citus sends SET LOCAL (not set_config) to the workers (tests/test_citus.py)."""
    assert set_local_statements({"scope": "province", "province_ids": "1,2"}) == [
        "SET LOCAL citus.propagate_set_commands = 'local'",
        "SET LOCAL eiso.scope = 'province'",
        "SET LOCAL eiso.province_ids = '1,2'",
    ]
    assert set_local_statements({"scope": "x'; reset all; --"}) is None


async def test_a_plain_postgresql_is_not_taken_for_citus(backend, engine):
    async with engine.connect() as connection:
        assert (await connection.get_raw_connection()).info[CITUS] is False


async def test_the_dossier_pages_core_read_sends_the_scope_with_its_begin(
    backend, engine, monkeypatch
):
    from eiso.infra.db import core_rows

    wire = Wire(engine, monkeypatch)
    async with open_session(make_sessionmaker(engine), TenantScope.province(5)) as session:
        assert list(await core_rows(session, SETTINGS, {})) == [("province", "5")]
    assert len(wire.statements) == 1 and "set_config" not in wire.statements[0]


async def test_session_connection_sends_the_scope_at_once(backend, engine, monkeypatch):
    """Core code on `session.connection()` gets its scope at once, inside the retried call."""
    wire = Wire(engine, monkeypatch)
    async with open_session(make_sessionmaker(engine), TenantScope.province(5)) as session:
        await session.connection()
        assert any("set_config" in statement for statement in wire.statements)
        connection = await session.connection()
        assert (await connection.execute(SETTINGS)).one() == ("province", "5")
