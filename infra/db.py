"""Async engines and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Executable, Row, event, exc, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from eiso.infra.pg_begin import SCOPE_AT_ONCE, BeginWithConnection, detect_citus
from eiso.infra.pg_driver import begin_driver, read_rows
from eiso.infra.pg_read import (
    ScopedReadPool,
    autocommit_unless_citus,
    read_connect_args,
    sessions_only,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

log = logging.getLogger("eiso.db")
M = TypeVar("M")

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """`sqlite:///x` and `postgresql://...` become the async drivers' URLs."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    if "+" in parsed.drivername:
        return parsed
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; the busy timeout queues writers instead of
    # failing them at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_reader(url: str) -> sqlite3.Connection | None:
    """A plain sqlite3 connection to the file of a `sqlite:///` URL (None for any other
    database), in autocommit: for a read of a few microseconds made on the event loop, where a
    session would open an aiosqlite connection (a thread) per use. Under WAL a reader never
    waits for the writer."""
    parsed = async_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return sqlite3.connect(database, isolation_level=None, check_same_thread=False)


# A pooled connection idle longer than this is pinged before use. SQLAlchemy's
# `pool_pre_ping` pings on every checkout; asyncpg's ping is BEGIN, `;`, ROLLBACK: three
# round trips before each request's own, which cost a 50-dossier page a quarter of its time.
# A connection in steady use is known alive; one that sat idle (a database restart, a
# firewall's idle timeout) is checked.
PING_AFTER_IDLE = 5.0


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE
) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        database = target.database or ""
        if database and database != ":memory:":
            import pathlib

            pathlib.Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, echo=echo, poolclass=NullPool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        target,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # A tenant's `set_config` goes with its transaction's BEGIN (infra/pg_begin.py).
        connect_args={"connection_class": BeginWithConnection},
    )
    _ping_when_idle(engine, ping_after_idle)
    detect_citus(engine.sync_engine)  # on Citus the scope is sent with SET LOCAL
    event.listen(engine.sync_engine, "handle_error", _terminated_while_idle)
    return engine


def make_read_engine(
    url: str, *, pool_size: int = 10, ping_after_idle: float = PING_AFTER_IDLE
) -> AsyncEngine | None:
    """The pool of read-only sessions on PostgreSQL (infra/pg_read.py): connections in
    autocommit, read-only on the server, holding a session-level scope. None for SQLite."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        return None
    engine = create_async_engine(
        target,
        poolclass=ScopedReadPool,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=read_connect_args(),
    )
    _ping_when_idle(engine, ping_after_idle)
    detect_citus(engine.sync_engine)
    autocommit_unless_citus(engine.sync_engine)  # after `detect_citus`, which marks the record
    sessions_only(engine.sync_engine)
    event.listen(engine.sync_engine, "handle_error", _terminated_while_idle)
    return engine


def _terminated_while_idle(context: ExceptionContext) -> None:
    """A backend terminated while its connection sat idle sends a FATAL message that asyncpg
    reads before it sees the socket close; the next query then fails with "cannot switch to
    state …; another operation … is in progress" instead of a closed-connection error. The
    connection is unusable either way: call it a disconnect, so SQLAlchemy invalidates it and
    ReconnectingSession may retry (tests/test_resilience.py found it under load)."""
    error = context.original_exception
    if type(error).__name__ == "InternalClientError" and "another operation" in str(error):
        context.is_disconnect = True


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """SQLAlchemy's recipe for pessimistic disconnect handling, for idle connections only: a
    ping that fails raises `DisconnectionError`, and the pool replaces the connection and
    checks out again (up to three times) before the caller sees an error. A connection whose
    socket asyncpg already saw closed is replaced the same way, at no cost."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["eiso_checked_in"] = time.monotonic()
        driver = getattr(dbapi_connection, "driver_connection", None)
        if isinstance(driver, BeginWithConnection):
            driver.drop_queued()  # a scope queued by a session that never ran a statement

    @event.listens_for(pool, "checkout")
    def _checked_out(
        dbapi_connection: AsyncAdapt_asyncpg_connection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        if _closed(dbapi_connection):  # free: asyncpg saw the server close the socket
            raise exc.DisconnectionError("the server closed this pooled connection")
        since = record.info.get("eiso_checked_in")  # a new connection has none: just opened
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError(f"an idle pooled connection is gone: {error}") from error


def _closed(dbapi_connection: AsyncAdapt_asyncpg_connection) -> bool:
    driver = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    return bool(is_closed and is_closed())


# A session's `info` keys: the read pool's engine of a read-only session (`read_only`), and
# whether the session began a transaction itself.
READ_BIND = "eiso_read_bind"
_BEGUN = "eiso_begun"


def read_only(session: AsyncSession, read_engine: AsyncEngine | None) -> AsyncSession:
    """`session`, whose reads go to `read_engine`'s pool (none: stays as it is) until it
    begins a transaction itself (`ReconnectingSession.get_bind`)."""
    if read_engine is not None:
        session.sync_session.info[READ_BIND] = read_engine.sync_engine
    return session


class ReconnectingSession(Session):
    """A session whose first statement is retried once on a fresh connection when its pooled
    connection turns out dead (a `pg_terminate_backend`, a database restart the checkout could
    not see yet). SQLAlchemy's "optimistic" disconnect handling: the failure invalidates the
    connection and the pool's older ones; the retry checks out a new one. Only the statement
    that begins the transaction is retried, so nothing done before it is lost; a statement
    inside an explicit `begin()` block fails as before (its caller decides)."""

    # A read-only session (`read_only`) runs on the read pool (infra/pg_read.py) unless it
    # begins a transaction itself: `session.begin()` is how code that writes starts (a query's
    # audit entry of a personal-data read, graphql/dossiers/dataloaders.py), and the read pool
    # refuses writes.
    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Any:
        reader = self.info.get(READ_BIND)
        if reader is not None and not self.info.get(_BEGUN):
            return reader
        return super().get_bind(mapper, **kwargs)

    def begin(self, nested: bool = False) -> Any:
        self.info[_BEGUN] = True
        return super().begin(nested)

    # `_execute_internal` is where `execute`, `scalars`, `scalar` and `get` meet (SQLAlchemy
    # 2.x); tests/test_db_pool.py fails if a version moves it.
    def _execute_internal(self, *args: Any, **kwargs: Any) -> Any:
        return self._retried_once(super()._execute_internal, *args, **kwargs)

    # `connection()` begins the transaction too, for code that runs Core statements on it:
    # the scope is sent at once (not with the next BEGIN, infra/pg_begin.py), so that a dead
    # connection fails here, inside the retry, and not at the caller's first statement.
    def connection(self, *args: Any, **kwargs: Any) -> Any:
        self.info[SCOPE_AT_ONCE] = True
        try:
            return self._retried_once(super().connection, *args, **kwargs)
        finally:
            self.info.pop(SCOPE_AT_ONCE, None)

    def begin_on_driver(self) -> Any:
        """The asyncpg connection of this session's transaction, begun with the scope in one
        round trip (infra/pg_driver.py; None on Citus), retried like a first statement."""
        connection = super().connection
        return self._retried_once(lambda: begin_driver(connection()))

    def core_rows(self, statement: Executable, params: dict[str, Any]) -> Sequence[Row[Any]]:
        """The rows of a Core statement run on the session's connection (no ORM criteria),
        retried like an ORM statement; the scope goes with the BEGIN."""

        def run() -> Sequence[Row[Any]]:
            return super(ReconnectingSession, self).connection().execute(statement, params).all()

        return self._retried_once(run)

    def driver_rows(self, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
        """`core_rows` on the asyncpg connection (infra/pg_driver.py's `read_rows`: compiled
        once per statement and lengths of its lists; rows as named tuples), retried the same
        way; through SQLAlchemy on Citus."""

        def run() -> Sequence[Any]:
            connection = super(ReconnectingSession, self).connection()
            found = read_rows(connection, statement, params)
            return connection.execute(statement, params).all() if found is None else found

        return self._retried_once(run)

    def _retried_once(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        # On the read pool every statement is its own transaction (autocommit): any of them
        # may run again on a fresh connection, nothing done before it is lost. Between two
        # statements such a connection is idle to the server, as one waiting in the pool.
        first = not self.in_transaction() or self._reads_only()
        try:
            return call(*args, **kwargs)
        except exc.DBAPIError as error:
            if not (first and error.connection_invalidated):
                raise
            log.warning("database connection lost, statement retried once: %s", error.orig)
            self.rollback()
            return call(*args, **kwargs)

    def _reads_only(self) -> bool:
        return READ_BIND in self.info and not self.info.get(_BEGUN)


async def core_rows(
    session: AsyncSession, statement: Executable, params: dict[str, Any]
) -> Sequence[Row[Any]]:
    """`ReconnectingSession.core_rows` from async code (any other session: the plain way)."""

    def run(sync: Session) -> Sequence[Row[Any]]:
        if isinstance(sync, ReconnectingSession):
            return sync.core_rows(statement, params)
        return sync.connection().execute(statement, params).all()

    return await session.run_sync(run)


async def driver_rows(
    session: AsyncSession, statement: Executable, params: dict[str, Any]
) -> Sequence[Any]:
    """The rows of a Core statement built once per shape (the dossier page's), read as
    `core_rows` reads them but on PostgreSQL's driver connection, without SQLAlchemy's
    execution (infra/pg_driver.py's `read_rows`); `core_rows` on SQLite, and on Citus
    through SQLAlchemy. Rows by attribute and position, as a `Row`."""
    if session.get_bind().dialect.name != "postgresql":
        return await core_rows(session, statement, params)

    def run(sync: Session) -> Sequence[Any]:
        if isinstance(sync, ReconnectingSession):
            return sync.driver_rows(statement, params)
        found = read_rows(sync.connection(), statement, params)
        return sync.connection().execute(statement, params).all() if found is None else found

    return await session.run_sync(run)


def make_sessionmaker(
    engine: AsyncEngine, session_class: type[AsyncSession] = AsyncSession
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine,
        class_=session_class,
        sync_session_class=ReconnectingSession,
        expire_on_commit=False,
    )


async def ping(engine: AsyncEngine) -> None:
    from sqlalchemy import text

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def find_one(session: AsyncSession, model: type[M], **equal: object) -> M | None:
    """The row of `model` whose columns equal `equal` (`code=...`), None when there is none;
    more than one is an error. The session's tenant scope applies as to any query."""
    return (await session.execute(select(model).filter_by(**equal))).scalar_one_or_none()


async def added(session: AsyncSession, row: M) -> M:
    """`row` added to the session and flushed (its generated columns set): a new row for the
    caller to return."""
    session.add(row)
    await session.flush()
    return row


async def add_in_savepoint(session: AsyncSession, row: object) -> exc.IntegrityError | None:
    """Add and flush `row` in a savepoint: the error when a constraint (a unique key that a
    concurrent twin won) refused it, None when it went in. The transaction goes on either way."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except exc.IntegrityError as error:
        return error
    return None
