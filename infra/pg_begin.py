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
from sqlalchemy.engine import Connection

# A session's `info` key: set while `session.connection()` begins a transaction, whose scope
# is then sent at once (infra/db.py says why).
SCOPE_AT_ONCE = "eiso_scope_at_once"

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
