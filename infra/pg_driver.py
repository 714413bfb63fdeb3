"""Statements run on the asyncpg connection of a session's transaction (issue 18: the write
path's CPU). A dossier move's few statements are Core statements built once per shape; sent
through the session (`session.execute`) each one still went through SQLAlchemy's execution
machinery and its asyncpg adapter at every move (parameters, contexts, results: most of a
move's CPU, bench/moves_profile.py). Here a statement is compiled ONCE into asyncpg's `$n`
form (`Prepared`: its SQL, its parameters' order, their bind and result conversions) and run
on the driver connection of the session's transaction, through asyncpg's own cache of
prepared statements.

The transaction is the session's: begun by SQLAlchemy (the tenant scope goes with its BEGIN,
infra/pg_begin.py; row-level security applies to every statement as to any other), committed
or rolled back by it. PostgreSQL only, and not Citus (whose router would need the
data-modifying CTEs' tables on one shard): `driver` answers None there, and the caller takes
the ORM's path."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Executable, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import ClauseElement, sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.type_api import TypeDecorator, TypeEngine
from sqlalchemy.util import await_only
from sqlmodel.sql.sqltypes import UTCDateTime

from eiso.infra.pg_begin import is_citus

# A session's `info` key: the driver connection of its transaction (None: SQLite or Citus).
_DRIVER = "eiso.pg_driver"


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DRIVER, None)


async def driver(session: AsyncSession) -> asyncpg.Connection | None:
    """The asyncpg connection of the session's transaction, begun (with the scope), or None
    when the statements must go through the ORM (SQLite, Citus). Asked once per transaction."""
    info = session.sync_session.info
    if _DRIVER in info:
        found: asyncpg.Connection | None = info[_DRIVER]
        return found
    found = None
    if session.get_bind().dialect.name == "postgresql":
        found = await session.run_sync(_begun)
    info[_DRIVER] = found
    return found


def _begun(sync: Session) -> asyncpg.Connection | None:
    begin = getattr(sync, "begin_on_driver", None)  # infra/db.py: retried on a dead connection
    return begin() if begin is not None else begin_driver(sync.connection())


def begin_driver(connection: Connection) -> asyncpg.Connection | None:
    """`connection`'s asyncpg connection with its transaction begun (run inside SQLAlchemy's
    greenlet), or None on Citus. The BEGIN carries the scope that the session's `after_begin`
    queued (one round trip); a failure is SQLAlchemy's (a dead connection is invalidated)."""
    if is_citus(connection):
        return None
    adapted = connection.connection.dbapi_connection
    if adapted is None:  # pragma: no cover - a connection of the session's transaction has one
        return None
    # SQLAlchemy's adapter begins at the first statement (in autocommit: never)
    if adapted._transaction is None and not adapted.autocommit:
        try:
            await_only(adapted._start_transaction())
        except Exception as error:  # noqa: BLE001 - SQLAlchemy wraps and raises it
            connection._handle_dbapi_exception(error, "BEGIN", {}, None, None)
    return adapted.driver_connection


async def run(
    session: AsyncSession, statement: Executable, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of `statement` (built once per shape: `prepared` keeps it compiled) run with
    `parameters` on the driver connection of the session's transaction; the caller checked
    that there is one (`driver`)."""
    connection = await driver(session)
    if connection is None:
        raise RuntimeError("no driver connection: SQLite and Citus take the ORM's path")
    return await prepared(statement, session.get_bind().dialect).fetch(connection, parameters)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A statement compiled once for asyncpg: its SQL (`$n` parameters), the names of its
    parameters in that order with their conversions (SQLAlchemy's bind processors: JSON to
    text, ...) and the fixed values of those the statement holds (literals), and the
    conversions of its result columns (JSON text to objects, ...)."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]
    results: tuple[Callable[[Any], Any] | None, ...]
    _pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _converted: tuple[tuple[int, Callable[[Any], Any]], ...] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _read: tuple[tuple[int, Callable[[Any], Any]], ...] = dataclasses.field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # What `args` does per call, worked out once (issue 18: `args` was ~3.5% of a move's
        # server CPU): the values picked in C (`itemgetter`), then only the positions that
        # have a conversion converted.
        object.__setattr__(self, "_pick", _picker(self.names))
        converted = tuple((at, b) for at, b in enumerate(self.binds) if b is not None)
        object.__setattr__(self, "_converted", converted)
        read = tuple((at, p) for at, p in enumerate(self.results) if p is not None)
        object.__setattr__(self, "_read", read)

    def args(self, parameters: Mapping[str, Any]) -> list[Any]:
        fixed = self.fixed
        values = list(self._pick({**fixed, **parameters} if fixed else parameters))
        for at, bind in self._converted:
            values[at] = bind(values[at])
        return values

    def row(self, record: Sequence[Any]) -> tuple[Any, ...]:
        if len(record) != len(self.results):
            raise ValueError(f"a row of {len(record)} columns, {len(self.results)} expected")
        if not self._read:
            return tuple(record)
        values = list(record)  # the dossier's read has ~90 columns, a few of them converted
        for at, process in self._read:
            values[at] = process(values[at])
        return tuple(values)

    async def fetch(
        self, connection: asyncpg.Connection, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        return [self.row(r) for r in await connection.fetch(self.sql, *self.args(parameters))]

    async def execute(self, connection: asyncpg.Connection, parameters: Mapping[str, Any]) -> None:
        await connection.execute(self.sql, *self.args(parameters))


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `names` from a mapping, in order, as a tuple (a missing one: KeyError)."""
    if len(names) > 1:
        return operator.itemgetter(*names)
    if names:
        (name,) = names
        return lambda parameters: (parameters[name],)
    return lambda _parameters: ()


@functools.lru_cache(maxsize=1024)
def prepared(statement: Executable, dialect: Dialect) -> Prepared:
    """`prepare`, kept per statement object: for statements their callers build once per
    shape (and so hand over as the same object)."""
    return prepare(statement, dialect)


def prepare(statement: Executable, dialect: Dialect) -> Prepared:
    """`statement` compiled for asyncpg (`dialect`: the engine's), once: callers keep the
    result per statement shape. No expanding (`IN`) parameter: PostgreSQL's `= ANY($n)` takes
    a list as one."""
    compiled = cast("SQLCompiler", cast("ClauseElement", statement).compile(dialect=dialect))
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    if any(binds[n].expanding for n in names):
        raise ValueError("an expanding parameter cannot be prepared once")
    processors = compiled._bind_processors
    results = tuple(
        _result_processor(entry.type, dialect) for entry in compiled._result_columns or ()
    )
    return Prepared(
        sql=compiled.string,
        names=names,
        binds=tuple(_bind_processor(binds[n].type, dialect, processors.get(n)) for n in names),
        fixed={n: binds[n].effective_value for n in names if not binds[n].required},
        results=results,
    )


def _bind_processor(
    type_: TypeEngine[Any], dialect: Dialect, process: Any
) -> Callable[[Any], Any] | None:
    """SQLAlchemy's conversion of a bound value, but for an ARRAY of items that need none: a
    flat list goes to asyncpg as it is (SQLAlchemy's processor copies it twice, item by item,
    to make a list of it: ~1.2% of a move's server CPU with the figures' `unnest` arrays);
    anything else (a tuple, nested lists, None) goes through SQLAlchemy's processor."""
    if process is None:
        return None
    impl = type_.dialect_impl(dialect)
    if not isinstance(impl, sqltypes.ARRAY) or impl.item_type.dialect_impl(dialect).bind_processor(
        dialect
    ):
        return cast("Callable[[Any], Any]", process)

    def flat_list(value: Any) -> Any:
        if type(value) is list and not (value and isinstance(value[0], (list, tuple))):
            return value
        return process(value)

    return flat_list


# The type of a result column, as asyncpg reports it (`attribute.type.oid`), for the types whose
# conversion depends on it: a `Float` column is PostgreSQL's float8, any other `Numeric` numeric.
_FLOAT8, _NUMERIC = 701, 1700


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    numeric = isinstance(base, (sqltypes.Numeric, sqltypes.Float))
    coltype = (_FLOAT8 if isinstance(base, sqltypes.Float) else _NUMERIC) if numeric else None
    found: Callable[[Any], Any] | None = type_._cached_result_processor(dialect, coltype)
    return found


# A read on the driver connection (issue 18: the dossier page's CPU). `prepared` refuses an
# expanding parameter (`IN` with a list given at execution), because its SQL depends on the
# list's length. The tenant scope's ids are such lists (tenants/scope.py's `bound_scope`), and
# PostgreSQL's `= ANY($n)` is not the same statement to its planner: with the read pool's
# generic plans, `province_id = ANY($1)` expects several provinces, gives up the index's order
# and sorts the whole province (a parallel scan and a sort: 130 ms on the 1M database, where
# `province_id IN ($1)` walks the index for 51 rows in 0.3 ms). So `Expanded` keeps the SQL
# SQLAlchemy would send, compiled once per statement and length of each list: its expanding
# parameters numbered out (`IN ($1, $2)`), its `literal_execute` values written in, as
# SQLAlchemy's execution renders them (`construct_expanded_state`).
@dataclasses.dataclass(frozen=True)
class Expanded:
    """A statement compiled for asyncpg with its lists' lengths fixed: its SQL, for each
    `$n` the parameter it reads (and the position in its list, for an expanding one) with its
    bind conversion and the statement's own value (a parameter the caller does not give), the
    conversions of its result columns, and a named tuple of its result columns (a row read as
    a SQLAlchemy `Row` is: by attribute, by position, `_fields`)."""

    sql: str
    sources: tuple[tuple[str, int | None], ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]
    results: tuple[Callable[[Any], Any] | None, ...]
    row: Callable[[Sequence[Any]], tuple[Any, ...]]

    def args(self, parameters: Mapping[str, Any]) -> list[Any]:
        fixed, found = self.fixed, []
        for (name, at), bind in zip(self.sources, self.binds, strict=True):
            value = parameters[name] if name in parameters else fixed[name]
            if at is not None:
                value = value[at]
            found.append(value if bind is None else bind(value))
        return found

    def rows(self, records: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        make = self.row
        converted = [(at, p) for at, p in enumerate(self.results) if p is not None]
        if not converted:
            return [make(r) for r in records]
        found = []
        for record in records:
            values = list(record)
            for at, process in converted:
                values[at] = process(values[at])
            found.append(make(values))
        return found


@dataclasses.dataclass(frozen=True)
class _Compiled:
    compiled: SQLCompiler
    expanding: tuple[str, ...]  # the names of its expanding parameters
    values: Mapping[str, Any]  # the statement's own values of its parameters


@functools.lru_cache(maxsize=1024)
def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = cast("SQLCompiler", cast("ClauseElement", statement).compile(dialect=dialect))
    binds = compiled.binds
    return _Compiled(
        compiled,
        tuple(sorted(n for n, b in binds.items() if b.expanding)),
        {n: b.effective_value for n, b in binds.items() if not b.required},
    )


_EXPANDED: dict[tuple[Any, ...], Expanded] = {}
_EXPANDED_MAX = 4096


def expanded(statement: Executable, dialect: Dialect, parameters: Mapping[str, Any]) -> Expanded:
    """`statement` (built once per shape, as for `prepared`) compiled for asyncpg with the
    lengths of the lists `parameters` gives its expanding parameters; kept per statement,
    dialect and lengths. A `literal_execute` value must be the statement's own (it is written
    into the SQL kept)."""
    base = _compiled(statement, dialect)
    values = base.values
    lengths = tuple(len(parameters[n] if n in parameters else values[n]) for n in base.expanding)
    key = (statement, dialect, lengths)
    found = _EXPANDED.get(key)
    if found is None:
        found = _expand(base, parameters)
        if len(_EXPANDED) >= _EXPANDED_MAX:
            _EXPANDED.clear()
        _EXPANDED[key] = found
    return found


def _expand(base: _Compiled, parameters: Mapping[str, Any]) -> Expanded:
    compiled = base.compiled
    if any(b.key in parameters for b in compiled.literal_execute_params):
        raise ValueError("a literal_execute value given at execution cannot be kept")
    state = compiled.construct_expanded_state(dict(parameters))
    of = {
        e: (name, at)
        for name, names in state.parameter_expansion.items()
        for at, e in enumerate(names)
    }
    names = tuple(state.positiontup or ())
    sources = tuple(of.get(n, (n, None)) for n in names)
    columns = compiled._result_columns or ()
    dialect = compiled.dialect
    keys = [c.keyname for c in columns]
    row_type: Any = collections.namedtuple("Row", keys, rename=True)  # type: ignore[misc]
    return Expanded(
        sql=state.statement,
        sources=sources,
        binds=tuple(cast("Callable[[Any], Any] | None", state.processors.get(n)) for n in names),
        fixed={s: base.values[s] for s, _ in sources if s in base.values},
        results=tuple(
            _as_is_in_utc(c.type, dialect, _result_processor(c.type, dialect)) for c in columns
        ),
        row=row_type._make,
    )


def _as_is_in_utc(
    type_: TypeEngine[Any], dialect: Dialect, process: Callable[[Any], Any] | None
) -> Callable[[Any], Any] | None:
    """SQLModel's `UTCDateTime` reads a value as `value.astimezone(UTC)`, which is the value
    itself when it is in UTC already, as asyncpg's `timestamptz` always is: that case without
    the TypeDecorator's calls (a page has 150 such values). Only for that class's own
    conversion over a driver type that converts nothing; any other value goes through it."""
    if (
        process is None
        or not isinstance(type_, UTCDateTime)
        or type(type_).process_result_value is not UTCDateTime.process_result_value
        or type_.impl_instance.dialect_impl(dialect).result_processor(dialect, None) is not None
    ):
        return process

    def read(value: Any) -> Any:
        return value if value is None or value.tzinfo is dt.UTC else process(value)

    return read


def read_rows(
    connection: Connection, statement: Executable, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """The rows of `statement` (built once per shape) run on `connection`'s asyncpg
    connection (inside SQLAlchemy's greenlet, as `begin_driver`), or None on Citus (the caller
    runs it through SQLAlchemy). The connection is a session's: its scope is held (the read
    pool) or goes with the BEGIN, and row-level security applies as to any statement. An
    error is SQLAlchemy's, as from `Connection.execute` (a dead connection is invalidated, so
    the session's retry may run it again on a new one)."""
    driver_connection = begin_driver(connection)
    if driver_connection is None:
        return None
    prepared = expanded(statement, connection.dialect, parameters)
    args = prepared.args(parameters)
    try:
        try:
            records = await_only(driver_connection.fetch(prepared.sql, *args))
        except Exception as error:  # noqa: BLE001 - the adapter's translation raises
            connection.connection.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]
    except Exception as error:  # noqa: BLE001 - SQLAlchemy wraps and raises it
        connection._handle_dbapi_exception(error, prepared.sql, tuple(args), None, None)
    return prepared.rows(records)
