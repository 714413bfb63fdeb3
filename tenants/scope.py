"""The tenant scope: which agencies a request or command may read and write.

Every session carries a scope (`session.info["scope"]`). Two layers enforce it, so no query can
forget it: the ORM adds the scope to every SELECT, UPDATE and DELETE on a tenant-owned model
(`do_orm_execute` + `with_loader_criteria`) and checks every row it flushes; on PostgreSQL the
same scope is handed to row-level security through per-transaction settings. A session without
a scope refuses to run any ORM statement (fail closed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, cast

from sqlalchemy import Connection, and_, bindparam, event, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    with_loader_criteria,
)
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import col

from eiso.infra.pg_begin import (
    SCOPE_AT_ONCE,
    is_citus,
    scope_statement,
    send_with_begin,
    set_local_statements,
)
from eiso.infra.pg_read import NO_SCOPE, hold_scope, want_scope
from eiso.tenants.models import Agency, SharedRow, SharedTenantOwned, TenantOwned, TenantRow

ScopeKind = Literal["nation", "province", "agencies"]


class TenantScopeError(PermissionError):
    """A statement ran without a scope, or a row was written outside the caller's scope."""


@dataclasses.dataclass(frozen=True)
class TenantScope:
    kind: ScopeKind
    province_ids: frozenset[int] = frozenset()
    agency_ids: frozenset[int] = frozenset()

    @classmethod
    def nation(cls) -> TenantScope:
        return cls("nation")

    @classmethod
    def province(cls, *province_ids: int) -> TenantScope:
        return cls("province", province_ids=frozenset(province_ids))

    @classmethod
    def agencies(cls, agency_ids: Iterable[int], province_ids: Iterable[int] = ()) -> TenantScope:
        return cls("agencies", frozenset(province_ids), frozenset(agency_ids))

    def allows(self, province_id: int | None, agency_id: int | None) -> bool:
        if self.kind == "nation":
            return True
        if self.kind == "province":
            return province_id in self.province_ids
        return agency_id in self.agency_ids

    def settings(self) -> dict[str, str]:
        """The values row-level security reads (`eiso.scope`, `eiso.province_ids`, ...)."""
        return {
            "scope": self.kind,
            "province_ids": ",".join(str(i) for i in sorted(self.province_ids)),
            "agency_ids": ",".join(str(i) for i in sorted(self.agency_ids)),
        }


def shows(
    scope: TenantScope, province_id: int, agency_id: int, shared_with: Iterable[int] = ()
) -> bool:
    """Whether the session's criteria (`_criteria`) show a tenant row of `agency_id` in
    `province_id` under `scope`: for rows read without them (infra/pg_driver.py).
    `shared_with`: the other agencies a shared row (`SharedRow`) is shown to (a dossier's
    `handed_to`)."""
    if scope.kind == "nation":
        return True
    if scope.kind == "province":
        return province_id in scope.province_ids
    if scope.province_ids and province_id not in scope.province_ids:
        return False
    return agency_id in scope.agency_ids or not scope.agency_ids.isdisjoint(shared_with)


def scope_of(session: Session) -> TenantScope:
    scope: TenantScope | None = session.info.get("scope")
    if scope is None:
        raise TenantScopeError("no tenant scope is set for this session")
    return scope


def _shared_models() -> list[type[SharedRow]]:
    found: list[type[SharedRow]] = []
    stack: list[type[SharedRow]] = [SharedRow]
    while stack:
        for model in stack.pop().__subclasses__():
            stack.append(model)
            if getattr(model, "__table__", None) is not None:
                found.append(model)
    return found


# The criteria are built once per scope shape (`_criteria_of`), with the ids as expanding
# parameters that `_add_scope` binds to each statement: the options (and so SQLAlchemy's cache
# keys of them) are the same objects for every statement and every scope of that shape.
ScopeShape = tuple[ScopeKind, bool]


def _shape(scope: TenantScope) -> ScopeShape:
    return scope.kind, bool(scope.province_ids)


def _ids(name: str) -> BindParameter[int]:
    return bindparam(name, expanding=True)


@functools.lru_cache(maxsize=64)
def _criteria_of(
    kind: ScopeKind, provinces: bool, shared_models: tuple[type[SharedRow], ...]
) -> tuple[LoaderCriteriaOption, ...]:
    """The options of every scope of this kind (`provinces`: whether it names provinces).
    Shared rows (`SharedRow`) get their own condition per model (`bound_scope`); the lambdas
    of `TenantRow` and `Agency` are analysed once (no closure: their parameters are named).
    `shared_models` is part of the key: a shared model imported later gets its criteria."""
    if kind == "nation":
        return ()
    shared = [
        with_loader_criteria(m, _shared_condition(m, kind, provinces), include_aliases=True)
        for m in shared_models
    ]
    if kind == "province":
        return (*shared, *_rows_and_agencies(_in_provinces, _in_provinces))
    if provinces:
        return (*shared, *_rows_and_agencies(_of_agencies_in_provinces, _is_agency_in_provinces))
    return (*shared, *_rows_and_agencies(_of_agencies, _is_agency))


def _in_provinces(cls: Any) -> ColumnElement[bool]:
    return cls.province_id.in_(_ids("scope_province_ids"))


def _of_agencies(cls: Any) -> ColumnElement[bool]:
    return cls.agency_id.in_(_ids("scope_agency_ids"))


def _is_agency(cls: Any) -> ColumnElement[bool]:
    return cls.id.in_(_ids("scope_agency_ids"))


# An agency scope that names its agencies' provinces puts them in every statement too: the
# same rows (an agency's rows are all in its province), and a sharded PostgreSQL (Citus,
# distributed by province_id) routes the statement to the province's shard instead of every
# shard. A scope without provinces (a token issued before they were claimed) keeps the agency
# condition alone.
def _of_agencies_in_provinces(cls: Any) -> ColumnElement[bool]:
    return and_(
        cls.province_id.in_(_ids("scope_province_ids")),
        cls.agency_id.in_(_ids("scope_agency_ids")),
    )


def _is_agency_in_provinces(cls: Any) -> ColumnElement[bool]:
    return and_(
        cls.province_id.in_(_ids("scope_province_ids")),
        cls.id.in_(_ids("scope_agency_ids")),
    )


def _rows_and_agencies(
    rows: Callable[[Any], ColumnElement[bool]], agencies: Callable[[Any], ColumnElement[bool]]
) -> tuple[LoaderCriteriaOption, LoaderCriteriaOption]:
    """The criteria of the tenants' rows and of the agencies (plain functions, no closure:
    SQLAlchemy analyses each once and binds the ids at each query)."""
    return (
        with_loader_criteria(TenantRow, rows, include_aliases=True),
        with_loader_criteria(Agency, agencies, include_aliases=True),
    )


def _shared_condition(
    model: type[SharedRow], kind: ScopeKind, provinces: bool
) -> ColumnElement[bool]:
    found = bound_scope(cast("type[SharedTenantOwned]", model), kind, provinces=provinces)
    assert found is not None  # not the nation
    return found


def _criteria(scope: TenantScope) -> Sequence[LoaderCriteriaOption]:
    return _criteria_of(*_shape(scope), tuple(_shared_models()))


def bound_scope(
    model: type[TenantOwned | SharedTenantOwned],
    kind: ScopeKind,
    part: Literal["own", "shared"] | None = None,
    *,
    provinces: bool = True,
) -> ColumnElement[bool] | None:
    """The condition `_criteria` adds for `model` (a tenant row: `TenantRow` or `SharedRow`)
    under a scope of this kind, with the ids as expanding parameters (`scope_params`): for a
    statement built once and run on the session's Core connection (`session.connection()`),
    where the ORM adds nothing.
    `provinces`: whether the scope names its provinces; under an agency scope that does, the
    condition names them too (`province_id IN ...`: on Citus, routed to their shards). None
    for the nation. PostgreSQL's row-level security applies as on every statement.

    A shared model's rows under an agency scope may be asked for in parts, each narrower
    than the whole: `part="own"` (the agencies' own rows) or `"shared"` (only those other
    agencies share with them). One condition with both is an OR that no index walks in
    order; a UNION ALL of the parts walks one index each."""
    if kind == "nation":
        return None
    province_ids = _ids("scope_province_ids")
    if kind == "province":
        return col(model.province_id).in_(province_ids)
    agency_ids = _ids("scope_agency_ids")
    if not issubclass(model, SharedRow) or part == "own":
        own = col(model.agency_id).in_(agency_ids)
        return and_(col(model.province_id).in_(province_ids), own) if provinces else own
    shown = province_ids if provinces else ()
    if part == "shared":
        return model.shared_with(agency_ids, shown)
    found = model.visible_to(agency_ids, shown)
    # The provinces around both arms of `visible_to`'s OR: the statement names them.
    return and_(col(model.province_id).in_(province_ids), found) if provinces else found


def bound_agencies(kind: ScopeKind, *, provinces: bool = True) -> ColumnElement[bool] | None:
    """`bound_scope` for the agencies themselves (`Agency`: its `id` is the agency id): the
    condition the session's criteria add on `Agency` under a scope of this kind, with the same
    parameters (`scope_params`). None for the nation."""
    if kind == "nation":
        return None
    if kind == "province":
        return _in_provinces(Agency)
    return (_is_agency_in_provinces if provinces else _is_agency)(Agency)


def scope_params(scope: TenantScope) -> dict[str, list[int]]:
    """The values of `bound_scope`'s parameters (and of the session's criteria)."""
    return dict(_params(scope))


@functools.lru_cache(maxsize=4096)
def _params(scope: TenantScope) -> Mapping[str, list[int]]:
    return MappingProxyType(
        {
            "scope_province_ids": sorted(scope.province_ids),
            "scope_agency_ids": sorted(scope.agency_ids),
        }
    )


def _bind(parameters: object, values: Mapping[str, list[int]]) -> object:
    """The statement's parameters with the scope's ids (for each row of an executemany)."""
    if isinstance(parameters, list):
        return [{**row, **values} for row in parameters]
    return {**(parameters or {}), **values}  # type: ignore[dict-item]


@event.listens_for(Session, "do_orm_execute")
def _add_scope(state: ORMExecuteState) -> None:
    if state.session.info.get("scope_exempt"):
        return
    scope = scope_of(state.session)
    if state.is_select or state.is_update or state.is_delete:
        options = _criteria(scope)
        if options:
            state.statement = state.statement.options(*options)
            state.parameters = _bind(state.parameters, _params(scope))  # type: ignore[assignment]


@event.listens_for(Session, "before_flush")
def _check_writes(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if session.info.get("scope_exempt"):
        return
    scope = scope_of(session)
    granted = session.info.get("handover", ())
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, (TenantOwned, SharedTenantOwned, Agency)):
            continue
        shared_seen = isinstance(obj, SharedTenantOwned) and obj not in session.new
        if shared_seen and _owner_changed(obj) and not scope.allows(*_original_owner(obj)):
            raise TenantScopeError(
                f"{type(obj).__name__}: an agency it is shared with cannot take it over"
            )
        if scope.allows(obj.province_id, obj.agency_id):
            continue
        if any(obj is g for g in granted) and obj in session.new:
            continue
        if shared_seen and not _owner_changed(obj):
            continue  # a shared row the scope showed (loaded through its criteria), same owner
        raise TenantScopeError(
            f"{type(obj).__name__} of agency {obj.agency_id} is outside the caller's scope"
        )


def _original_owner(obj: TenantOwned | SharedTenantOwned | Agency) -> tuple[int, int]:
    attrs = inspect(obj).attrs

    def before(name: str) -> int:
        history = getattr(attrs, name).history
        return history.deleted[0] if history.deleted else getattr(obj, name)

    return before("province_id"), before("agency_id")


def _owner_changed(obj: TenantOwned | SharedTenantOwned | Agency) -> bool:
    attrs = inspect(obj).attrs
    return attrs.agency_id.history.has_changes() or attrs.province_id.history.has_changes()


@event.listens_for(Session, "after_flush")
def _forget_grants(session: Session, _context: UOWTransaction) -> None:
    session.info.pop("handover", None)


def grant_handover(session: Session | AsyncSession, row: TenantOwned | SharedTenantOwned) -> None:
    """Let this session insert `row` for another agency: a step handed over to the agency
    that holds it. Inserts only; the session still cannot read the row back from the database
    (PostgreSQL checks the same hand-over in the table's policy)."""
    sync = getattr(session, "sync_session", session)
    sync.info.setdefault("handover", []).append(row)


_SET_SCOPE = text(
    "select set_config('eiso.scope', :scope, true),"
    " set_config('eiso.province_ids', :province_ids, true),"
    " set_config('eiso.agency_ids', :agency_ids, true)"
)


@event.listens_for(Session, "after_transaction_create")
def _want_scope(session: Session, transaction: SessionTransaction) -> None:
    # A session tells the read pool its scope before it checks a connection out, so that one
    # already holding it is taken (infra/pg_read.py's `ScopedReadPool`; the other pools do not
    # look).
    if transaction.parent is None:
        scope = session.info.get("scope")
        want_scope(NO_SCOPE if scope is None else scope.settings())


@event.listens_for(Session, "after_begin")
def _hand_scope_to_postgres(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name != "postgresql":
        return
    scope = session.info.get("scope")
    # A connection of the read pool holds a session-level scope: every session sets its own,
    # none included (infra/pg_read.py).
    if hold_scope(connection, NO_SCOPE if scope is None else scope.settings()):
        return
    if scope is None:
        return  # nothing set: row-level security shows no tenant row
    settings = scope.settings()
    statement = scope_statement(connection, settings)
    # With the transaction's BEGIN when the driver allows (one round trip fewer per
    # transaction, infra/pg_begin.py); as a statement of its own otherwise.
    at_once = session.info.get(SCOPE_AT_ONCE, False)
    if statement is None or at_once or not send_with_begin(connection, statement):
        _set_scope_now(connection, settings)


def _set_scope_now(connection: Connection, settings: dict[str, str]) -> None:
    """The scope as statements of their own: `set_config` with bound values, or on Citus the
    SET LOCALs that reach the workers (one each: SET takes no parameters, and a prepared
    statement holds one command)."""
    if not is_citus(connection):
        connection.execute(_SET_SCOPE, settings)
        return
    statements = set_local_statements(settings)
    if statements is None:  # cannot happen: a scope's values are plain words and ids
        raise TenantScopeError("a tenant scope value is not a plain word or id list")
    for statement in statements:
        connection.exec_driver_sql(statement)


@contextlib.asynccontextmanager
async def owed_to_province(session: AsyncSession, province_id: int) -> AsyncIterator[None]:
    """PostgreSQL's row-level security sees `province_id` for the statements inside, then the
    session's own scope again. Only for a write the caller's move owes the dossier's owner: an
    agency moving a dossier handed over to it keeps the owner agency's figures (its rollup row,
    core/qms/rollups.py), which its own scope does not show. Two round trips on PostgreSQL under
    an agency scope; nothing elsewhere."""
    scope = scope_of(session.sync_session)
    connection = await session.connection()
    if connection.dialect.name != "postgresql" or scope.kind != "agencies":
        yield
        return
    wide = TenantScope.province(province_id).settings()
    await connection.run_sync(_set_scope_now, wide)
    try:
        yield
    finally:
        await connection.run_sync(_set_scope_now, scope.settings())


def open_session(
    sessionmaker: async_sessionmaker[AsyncSession], scope: TenantScope
) -> AsyncSession:
    """A new session bound to `scope` for its whole life."""
    session = sessionmaker()
    session.info["scope"] = scope
    return session
