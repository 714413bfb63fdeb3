"""Read-only sessions on PostgreSQL in one round trip (issue 18).

A tenant session's transaction costs three round trips around its query: BEGIN with the
scope's `set_config` (infra/pg_begin.py), the query, ROLLBACK. A read needs no transaction:
at READ COMMITTED each statement takes its own snapshot either way. So a read-only session
runs on a pool of its own (`make_read_engine`) whose connections are in autocommit (no BEGIN,
no ROLLBACK) and read-only on the server (`default_transaction_read_only`, set at connect: a
write fails there, whatever the code). The scope is a session-level setting of the connection,
which remembers the scope it holds and sends `set_config` only when the next session's differs:
one round trip when it matches, two when it does not.

Why no scope can leak: only read-only sessions use these connections (writes, migrations,
the relay and the other sessions use the main pool; a statement from a checkout no session's
scope went to, `engine.connect()`, is refused: `sessions_only`), and each of them sets its
own scope before its first statement (`hold_scope`, from the session's
`after_begin`), an unscoped one included (empty values: row-level security shows no tenant
row). The remembered scope lives on the driver's connection object, so a connection replaced
(a dead one, invalidated and reopened) starts with none and is sent its scope; the memory is
cleared before `set_config` is sent and written after it succeeded, so a failed send can only
cost a resend. On Citus (where a session-level setting does not reach the workers) the reader
keeps transactions and sends the scope with its BEGIN as every other session does."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from eiso.infra.pg_begin import CITUS, BeginWithConnection

# The values of a session with no scope: row-level security shows no tenant row.
NO_SCOPE = {"scope": "", "province_ids": "", "agency_ids": ""}

_SET_SESSION_SCOPE = text(
    "select set_config('eiso.scope', :scope, false),"
    " set_config('eiso.province_ids', :province_ids, false),"
    " set_config('eiso.agency_ids', :agency_ids, false)"
)


class ScopedReader(BeginWithConnection):
    """A connection of the read pool: remembers the session-level scope it holds."""

    held_scope: tuple[tuple[str, str], ...] | None = None


ScopeKey = tuple[tuple[str, str], ...]

# The scope the current task's next read session will hold (`want_scope`): which pooled
# connection `ScopedReadPool` prefers. A preference only: whatever connection a session gets,
# `hold_scope` makes its scope the session's before its first statement.
_WANTED: ContextVar[ScopeKey | None] = ContextVar("eiso_read_scope", default=None)


def scope_key(settings: dict[str, str]) -> ScopeKey:
    return tuple(sorted(settings.items()))


def want_scope(settings: dict[str, str]) -> None:
    """Tell the read pool the scope of the session about to check a connection out (called
    when the session's transaction begins, before the checkout: no await in between)."""
    _WANTED.set(scope_key(settings))


class ScopedReadPool(AsyncAdaptedQueuePool):
    """The read pool, keeping its connections per scope: a checkout takes the idle connection
    that already holds the wanted scope (`want_scope`) when there is one, so that no
    `set_config` is sent; otherwise the next one as a queue pool does (FIFO). A province's page
    after an agency's no longer finds the agency's scope on its connection while another
    connection holds the province's (issue 18). At most `pool_size` idle connections looked at."""

    def _do_get(self) -> ConnectionPoolEntry:
        wanted = _WANTED.get()
        if wanted is not None:
            queue = getattr(self._pool, "_queue", None)  # the asyncio.Queue of idle records
            idle = getattr(queue, "_queue", None)  # its deque, oldest first
            if type(queue) is asyncio.Queue and idle:
                for at, entry in enumerate(idle):
                    driver = getattr(entry.dbapi_connection, "driver_connection", None)
                    if getattr(driver, "held_scope", None) == wanted:
                        if at:  # to the front, then taken as the queue takes its next
                            del idle[at]
                            idle.appendleft(entry)
                        return queue.get_nowait()
        return super()._do_get()


READ_PARALLEL_SETUP_COST = "10000"


def read_connect_args() -> dict[str, Any]:
    """The read pool's asyncpg arguments, sent in the startup message (no round trip): its
    connection class, read-only transactions, and generic plans for its prepared statements.
    Before migration 0930 a custom plan saw the agency and its province as two independent
    conditions (row-level security's filter on top): it expected ~60 of an agency's 23,000
    dossiers and sorted them all (57-82 ms on the 1M database) where the generic plan walks
    the agency's index backwards for 51 rows. With 0930's statistics object (the agency
    determines the province) the custom plan walks the index too (0.1 ms), but is planned
    again at each execution (0.3-1.4 ms) where a generic plan is planned once per connection
    (0.02 ms): generic plans stay (docs/benchmarks.md, issue 18).

    Parallel workers cost ten times PostgreSQL's default to set up (`parallel_setup_cost`
    10,000): a generic plan does not know the scope's values, expects row-level security to
    keep ~0.1% of a province's rows, and planned the province's page (51 rows, 0.1 ms walking
    its index) as a Gather Merge of two workers, whose start took 2-150 ms on a loaded
    machine; a scan large enough (a count over a province) still goes parallel."""
    return {
        "connection_class": ScopedReader,
        "server_settings": {
            "default_transaction_read_only": "on",
            "plan_cache_mode": "force_generic_plan",
            "parallel_setup_cost": READ_PARALLEL_SETUP_COST,
        },
    }


def autocommit_unless_citus(pool_events_target: object) -> None:
    """Put each new connection of the read pool in autocommit, unless its server runs Citus
    (`detect_citus` marks the record first: listen after it), where it keeps transactions and
    PostgreSQL's default plans."""

    def each(dbapi_connection: Any, record: Any) -> None:
        if not record.info.get(CITUS, False):
            # Ends what the first connection's checks began (`detect_citus`): a setting sent
            # inside a transaction left open would be undone at its end.
            dbapi_connection.set_isolation_level("autocommit")
            return
        # Citus cannot plan a generic plan whose parameters reach a distributed subquery
        # ("could not create distributed plan"): its read connections plan as PostgreSQL does
        # by default, committed so that the setting outlives this first transaction.
        cursor = dbapi_connection.cursor()
        cursor.execute("set plan_cache_mode = auto")
        cursor.close()
        dbapi_connection.commit()

    event.listen(pool_events_target, "connect", each)


# A pooled connection's `info` key: whether its current checkout is a session's, which set
# its scope (`hold_scope`); `sessions_only` refuses any other statement.
SESSION_SCOPED = "eiso_session_scoped"


class ReadPoolMisuse(PermissionError):
    """A statement on the read pool outside a session: it would run under the last scope."""


def sessions_only(engine: Any) -> None:
    """Refuse a statement on the read pool (`engine.sync_engine`) from a checkout that no
    session's scope went to (`engine.connect()`): the previous session's scope is still held
    by the connection. One dictionary look-up per statement."""

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        record.info[SESSION_SCOPED] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _before(connection: Connection, *_args: Any) -> None:
        if not connection.connection.info.get(SESSION_SCOPED):
            raise ReadPoolMisuse("the read pool serves tenant sessions only (infra/pg_read.py)")


def hold_scope(connection: Connection, settings: dict[str, str]) -> bool:
    """Make `settings` the session-level scope of a read-pool connection in autocommit,
    sending `set_config` only when it holds another; False for any other connection (the
    caller hands the scope over with the transaction, as on a read-pool one on Citus)."""
    adapted = connection.connection.dbapi_connection
    driver = getattr(adapted, "driver_connection", None)
    if not isinstance(driver, ScopedReader):
        return False
    connection.connection.info[SESSION_SCOPED] = True
    if not getattr(adapted, "autocommit", False):
        return False
    wanted = scope_key(settings)
    if driver.held_scope == wanted:
        return True
    driver.held_scope = None  # unknown until the server has it
    connection.execute(_SET_SESSION_SCOPE, settings)
    driver.held_scope = wanted
    return True
