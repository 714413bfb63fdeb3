"""Module storage: a key-value and counter store per module and per province, kept in the
database (`module_store`, migration 0730_module_store), the one copy.

Why the database alone: a value a module keeps (a counter of certificates issued, "this
notification was sent") must survive a restart, be the same for every worker and outlive a
Redis outage; the database gives all three and the atomic operations (`incr`, `add_once`) in
one statement on SQLite and PostgreSQL alike (INSERT ... ON CONFLICT). Redis is not involved,
so the store works while Redis is down.

Isolation: a store is bound to one province (the caller's, or the province of the hook's
event); every statement names it, and on PostgreSQL row-level security (the province's own
rows, as `module_activations`) refuses any other province's rows to the store's session.

Vendors reach it through `eiso.core.sdk.module_store` (the SDK turns a resolver's caller or a
hook's event into the province and the process's resources).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from eiso.core.errors import Conflict, DomainError
from eiso.core.plugins.declarations import MODULE_NAME, MODULE_NAME_RULE
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope

if TYPE_CHECKING:
    from eiso.core.resources import Resources

# A value the store keeps: anything JSON can say.
JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

KEY_MAX = 200  # characters
VALUE_MAX = 65_536  # bytes of the value's JSON
KEYS_MAX = 1000  # keys one `keys()` call returns at most

module_store_table = Table(
    "module_store",
    SQLModel.metadata,  # with the models: tests/test_schema_files.py compares it with 0730
    Column("province_id", BigInteger, ForeignKey("provinces.id"), primary_key=True),
    Column("module", String(64), primary_key=True),
    Column("key", String(KEY_MAX), primary_key=True),
    # A counter (an int set or incremented) lives in `counter`, any other value as JSON text.
    Column("value", Text, nullable=True),
    Column("counter", BigInteger, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
_T = module_store_table
_PRIMARY = ["province_id", "module", "key"]

# The resources of the hook delivery under way: a hook's `module_store(event, ...)` reads them
# (set by core/dossiers/hooks.py around each call; tasks the hook starts inherit it).
hook_resources: contextvars.ContextVar[Resources | None] = contextvars.ContextVar(
    "eiso_hook_resources", default=None
)


@contextlib.contextmanager
def delivering_with(resources: Resources) -> Iterator[None]:
    """While a hook runs: its `module_store(event, ...)` uses these resources."""
    token = hook_resources.set(resources)
    try:
        yield
    finally:
        hook_resources.reset(token)


class ModuleStoreError(DomainError):
    """A key or value the store cannot keep (BAD_INPUT)."""


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not 0 < len(key) <= KEY_MAX:
        raise ModuleStoreError(
            f"a store key is a string of 1-{KEY_MAX} characters",
            f"Khóa lưu trữ phải là chuỗi từ 1 đến {KEY_MAX} ký tự",
            field="key",
        )
    return key


def _is_counter(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _encode(value: JSONValue) -> str:
    try:
        encoded = orjson.dumps(value)
    except TypeError as error:
        raise ModuleStoreError(
            f"a stored value must be JSON: {error}",
            "Giá trị lưu trữ phải biểu diễn được bằng JSON",
            field="value",
        ) from error
    if len(encoded) > VALUE_MAX:
        raise ModuleStoreError(
            f"a stored value is at most {VALUE_MAX} bytes of JSON",
            f"Giá trị lưu trữ tối đa {VALUE_MAX} byte JSON",
            field="value",
        )
    return encoded.decode()


def _columns(value: JSONValue) -> dict[str, object]:
    if _is_counter(value):
        return {"value": None, "counter": value}
    return {"value": _encode(value), "counter": None}


def _decode(value: str | None, counter: int | None) -> JSONValue:
    if counter is not None:
        return int(counter)
    return None if value is None else orjson.loads(value)


class ModuleStore:
    """One module's keys in one province. Every call is its own transaction, committed when it
    returns. Values are JSON (an `int` is kept as a counter: `incr` adds to it)."""

    def __init__(self, resources: Resources, province_id: int, module: str) -> None:
        if not MODULE_NAME.match(module):
            raise ModuleStoreError(MODULE_NAME_RULE, "Tên mô-đun không hợp lệ", field="module")
        self._resources = resources
        self.province_id = province_id
        self.module = module

    def __repr__(self) -> str:
        return f"ModuleStore(module={self.module!r}, province_id={self.province_id})"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on the database in the province's scope, for a module's own tables
        (`ModuleInfo.migrations`): committed when the block ends, rolled back if it raises.
        On PostgreSQL row-level security shows and takes the province's rows only; name
        `province_id` (this store's) in your statements all the same (SQLite has no RLS)."""
        scope = TenantScope.province(self.province_id)
        async with self._resources.session(scope) as session, session.begin():
            yield await session.connection()

    def _where(self, key: str) -> ColumnElement[bool]:
        return and_(
            _T.c.province_id == self.province_id, _T.c.module == self.module, _T.c.key == key
        )

    def _insert(
        self, connection: AsyncConnection, key: str, **columns: object
    ) -> postgresql.Insert | sqlite.Insert:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        return dialect.insert(_T).values(
            province_id=self.province_id,
            module=self.module,
            key=key,
            updated_at=utcnow(),
            **columns,
        )

    async def get(self, key: str, default: JSONValue = None) -> JSONValue:
        """The value at `key`, or `default` when there is none."""
        _check_key(key)
        async with self.transaction() as connection:
            row = (
                await connection.execute(select(_T.c.value, _T.c.counter).where(self._where(key)))
            ).first()
        return default if row is None else _decode(row.value, row.counter)

    async def set(self, key: str, value: JSONValue) -> None:
        """Keep `value` at `key`, replacing what was there."""
        columns = _columns(value)
        _check_key(key)
        async with self.transaction() as connection:
            statement = self._insert(connection, key, **columns)
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=_PRIMARY, set_={**columns, "updated_at": utcnow()}
                )
            )

    async def incr(self, key: str, by: int = 1) -> int:
        """Add `by` to the counter at `key` (a missing key counts from 0) and return the new
        value, atomically: two workers incrementing at once each get their own number.
        A key holding a value that is not an integer answers CONFLICT."""
        _check_key(key)
        if not _is_counter(by):
            raise ModuleStoreError("incr takes an int", "Bước tăng phải là số nguyên", field="by")
        async with self.transaction() as connection:
            statement = self._insert(connection, key, value=None, counter=by)
            upsert = statement.on_conflict_do_update(
                index_elements=_PRIMARY,
                set_={"counter": _T.c.counter + by, "updated_at": utcnow()},
            ).returning(_T.c.counter)
            counter = (await connection.execute(upsert)).scalar_one()
            if counter is None:  # the key held JSON: rolled back with this transaction
                raise Conflict(
                    f"the value at {key!r} is not a counter",
                    "Giá trị tại khóa này không phải bộ đếm",
                    field="key",
                )
        return int(counter)

    async def add_once(self, key: str, value: JSONValue = True) -> bool:
        """Keep `value` at `key` only if the key is free; True if this call kept it, False if
        the key was already there (left as it was). Atomic: of any number of concurrent calls
        for one key exactly one gets True ("send this notification once")."""
        columns = _columns(value)
        _check_key(key)
        async with self.transaction() as connection:
            statement = (
                self._insert(connection, key, **columns)
                .on_conflict_do_nothing(index_elements=_PRIMARY)
                .returning(_T.c.key)
            )
            return (await connection.execute(statement)).first() is not None

    async def delete(self, key: str) -> bool:
        """Remove `key`; True if it was there."""
        _check_key(key)
        async with self.transaction() as connection:
            done = await connection.execute(delete(_T).where(self._where(key)))
        return bool(done.rowcount)

    async def keys(self, prefix: str = "", *, limit: int = KEYS_MAX) -> list[str]:
        """The keys starting with `prefix` (case-sensitive), sorted, at most `limit`
        (1-1000)."""
        limit = max(1, min(limit, KEYS_MAX))
        where = [_T.c.province_id == self.province_id, _T.c.module == self.module]
        if prefix:
            where.append(func.substr(_T.c.key, 1, len(prefix)) == prefix)
        async with self.transaction() as connection:
            rows = await connection.execute(
                select(_T.c.key).where(*where).order_by(_T.c.key).limit(limit)
            )
            return sorted(rows.scalars())  # the same order on both backends

    async def get_many(self, keys: Sequence[str]) -> dict[str, JSONValue]:
        """The values of those of `keys` that are there, in one read."""
        wanted = [_check_key(key) for key in keys]
        if not wanted:
            return {}
        where = [
            _T.c.province_id == self.province_id,
            _T.c.module == self.module,
            _T.c.key.in_(wanted),
        ]
        async with self.transaction() as connection:
            rows = await connection.execute(
                select(_T.c.key, _T.c.value, _T.c.counter).where(*where)
            )
            return {row.key: _decode(row.value, row.counter) for row in rows}
