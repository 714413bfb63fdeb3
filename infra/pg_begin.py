"""Statements sent with a transaction's BEGIN, in the same round trip.

A tenant session's transaction starts with the scope's `set_config` (tenants/scope.py). Sent
as a statement of its own it costs a round trip of every transaction: a read-only page made
four (BEGIN, `set_config`, its query, ROLLBACK). asyncpg sends BEGIN as a simple query, which
may hold several statements: the connection class below appends the queued statement to it,
so the scope reaches PostgreSQL with the BEGIN. The statement is built from the scope's
values, which are checked to be plain words and numbers (no quoting to get wrong)."""

from __future__ import annotations

import re
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import Connection

# A session's `info` key: set while `session.connection()` begins a transaction, whose scope
# is then sent at once (infra/db.py says why).
SCOPE_AT_ONCE = "eiso_scope_at_once"

# A pooled connection's `info` key: whether its server runs Citus (`detect_citus`), whose
# workers see a scope only when it is set with SET LOCAL (`set_local_statements`).
CITUS = "eiso_citus"

# The values a scope sets: a kind ("nation", "province", "agencies") and lists of ids.
_PLAIN = re.compile(r"[a-z0-9_,]*")


class BeginWithConnection(asyncpg.Connection):
    """An asyncpg connection that sends the statement queued by `send_with_begin` together
    with the next BEGIN. Any other command first drops it: a queued scope never outlives the
    transaction it was meant for, and a transaction without it sees no tenant row."""

    _with_begin: str | None = None

    # asyncpg's own signature, `timeout` included.
    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109
        queued, self._with_begin = self._with_begin, None
        if queued is not None and not args and query.startswith("BEGIN"):
            query = f"{query} {queued};"
        return await super().execute(query, *args, timeout=timeout)

    def drop_queued(self) -> None:
        self._with_begin = None


def set_config_statement(settings: dict[str, str]) -> str | None:
    """`select set_config(name, value, true), …` for `settings` (names under `eiso.`), or None
    when a value is not a plain word or number list (the caller then binds them instead)."""
    pairs = settings.items()
    if not all(_PLAIN.fullmatch(name) and _PLAIN.fullmatch(value) for name, value in pairs):
        return None
    calls = ", ".join(f"set_config('eiso.{name}', '{value}', true)" for name, value in pairs)
    return f"select {calls}"


def set_local_statements(settings: dict[str, str]) -> list[str] | None:
    """`SET LOCAL eiso.<name> = '<value>'` for `settings`, after the one that makes Citus send
    them to the workers with each remote transaction's BEGIN (Citus does not propagate
    `set_config()`: a worker's row-level security would see no scope). None when a value is
    not a plain word or number list (SET takes no bound parameters)."""
    pairs = settings.items()
    if not all(_PLAIN.fullmatch(name) and _PLAIN.fullmatch(value) for name, value in pairs):
        return None
    return [CITUS_PROPAGATION] + [f"SET LOCAL eiso.{name} = '{value}'" for name, value in pairs]


CITUS_PROPAGATION = "SET LOCAL citus.propagate_set_commands = 'local'"


def scope_statement(connection: Connection, settings: dict[str, str]) -> str | None:
    """The statement that hands `settings` to this connection's server in one simple query:
    SET LOCALs on Citus, `set_config` elsewhere."""
    if not is_citus(connection):
        return set_config_statement(settings)
    statements = set_local_statements(settings)
    return None if statements is None else "; ".join(statements)


def is_citus(connection: Connection) -> bool:
    """Whether `connection`'s server runs Citus (`detect_citus` marked its pool's records)."""
    return bool(connection.connection.info.get(CITUS, False))


def detect_citus(pool_events_target: object) -> None:
    """Mark every connection of an engine (`engine.sync_engine`) with whether its server has
    Citus loaded: asked once, on the engine's first connection (one query per engine, none
    per connection or transaction)."""
    found: dict[str, bool] = {}

    def first(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("select current_setting('citus.version', true)")
        found[CITUS] = cursor.fetchone()[0] is not None
        cursor.close()

    def each(_dbapi_connection: Any, record: Any) -> None:
        record.info[CITUS] = found.get(CITUS, False)

    event.listen(pool_events_target, "first_connect", first)
    event.listen(pool_events_target, "connect", each)


def send_with_begin(connection: Connection, statement: str) -> bool:
    """Queue `statement` for the BEGIN of `connection`'s transaction, which asyncpg has not
    sent yet (it begins at the first statement); False when that cannot be done (another
    driver, or a transaction already under way), and the caller runs it itself."""
    adapted = connection.connection.dbapi_connection
    driver = getattr(adapted, "driver_connection", None)
    started = getattr(adapted, "_transaction", 0) is not None
    if started or not isinstance(driver, BeginWithConnection):
        return False
    driver._with_begin = statement
    return True
