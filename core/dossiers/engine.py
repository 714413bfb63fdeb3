"""The dossier engine: every status change goes through `_move`, which checks the table of
allowed moves and the expected version, notes an overdue dossier as late (it never refuses a
move for it), keeps the clock stops of the procedure's counting rules, and in the same
transaction writes the timeline row, the audit entry and the outbox event.

The write path (issue 18), on PostgreSQL, one transaction of four round trips per move:
BEGIN with the tenant scope; `load` reads the dossier `FOR UPDATE` with its current step and
its procedure (and, when the move acts as the agency of the dossier's step, locks that
agency's audit head in the same statement); `_write_together` sends the dossier's UPDATE
(its changes, `version = version + 1` where the version is the one loaded), the timeline row,
the audit entry and the head's advance, the outbox event, the steps the move opened or
completed and the writes the listeners join to it (`listeners.on_batch`: the figures'
rollups) as one statement of data-modifying CTEs; COMMIT. (A dossier whose head `load` did not
lock: `_write_dossier` sends its UPDATE with the head's lock first.) Other transition
listeners add their own statements. A receipt (`receive_at`), one transaction of five round
trips: BEGIN with the scope; one statement that reads the agency and the catalogue, takes the
code's number from the agency's counter (checking the idempotency key), locks the audit head
and reads the names slip 01 prints; the dossier's INSERT with its unique keys (no savepoint:
a twin's unique key answers no row, a taken value no key) and its place in the tracking book,
read after the counter's lock; the batch with the first step, the rollups and the issued
slips 01 and 06 (`listeners.on_batch`, from what the receipt read: `receipt_read`); COMMIT.
SQLite (and Citus) get the same rows through ordinary flushes.

On PostgreSQL (not Citus) the move's own statements (`load`, the UPDATE, the batch, the
receipt's number and INSERT) run on the asyncpg connection of the session's transaction,
each compiled once per shape (infra/pg_driver.py): no ORM execution and no criteria added per
statement. Row-level security and the scope sent with the BEGIN apply as to every statement;
what the scope's criteria would hide from `load` is hidden by `tenants.scope.shows`; the rows
read become the model objects the session holds, with the ORM's `load` event fired."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    BigInteger,
    Executable,
    Insert,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    true,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, set_committed_value
from sqlmodel import SQLModel, col, select

from eiso.core import audit
from eiso.core.auth.models import User
from eiso.core.dossiers import applicant as applicant_form
from eiso.core.dossiers import catalogue, codes, listeners
from eiso.core.dossiers.clock import (
    SUPPLEMENT,
    accepted,
    appointment,
    cutoff_of,
    resume_stop,
    status_stops,
    stop_clock,
    stops,
)
from eiso.core.dossiers.clock import calendar_or_stored as _calendar
from eiso.core.dossiers.clock import merged as _merged
from eiso.core.dossiers.clock import time_limit as _time_limit
from eiso.core.dossiers.clock import utc as _utc
from eiso.core.dossiers.models import (
    Dossier,
    DossierEventRow,
    DossierKey,
    DossierStep,
    ProcedureAdoption,
    ProcedureRecord,
)
from eiso.core.dossiers.statuses import ALLOWED, CLOCK_RUNS, FINISHED, Status
from eiso.core.errors import (
    MODULE_DISABLED,
    STALE_VERSION,
    SUPPLEMENT_ALREADY_USED,
    Conflict,
    DomainError,
    NotFound,
)
from eiso.core.plugins.declarations import UniqueField
from eiso.core.validation_vi import message_vi
from eiso.core.workdays import WorkingCalendar, counting
from eiso.infra import outbox, pg_driver
from eiso.infra.clock import aware, utcnow
from eiso.infra.db import add_in_savepoint, find_one
from eiso.infra.outbox import OutboxEvent
from eiso.infra.tables import new_row, table_of
from eiso.infra.text import fold
from eiso.tenants.models import Agency, Province
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.reorganisation import on_agencies_merged
from eiso.tenants.scope import TenantScopeError, grant_handover, scope_of, shows

M = TypeVar("M", bound=SQLModel)

TOPIC = "dossier"
CITIZEN = "citizen"  # the actor of a move the citizen makes through the portal (no account)
MAX_IDEMPOTENCY_KEY = 128  # the column holds 200; a client key is a UUID or alike


@dataclasses.dataclass
class Received:
    dossier: Dossier
    lookup_key: str | None  # only on the first answer: eiso keeps only its hash
    replayed: bool = False


def _not_found(dossier_id: object) -> NotFound:
    return NotFound(f"dossier {dossier_id} not found", f"không tìm thấy hồ sơ {dossier_id}")


def is_overdue(dossier: Dossier, now: dt.datetime) -> bool:
    appointment_at = dossier.appointment_at
    return overdue(
        Status(dossier.status),
        aware(appointment_at) if appointment_at else None,
        now,
        stopped=dossier.paused_at is not None,
    )


def overdue(
    status: Status, appointment_at: dt.datetime | None, now: dt.datetime, *, stopped: bool = False
) -> bool:
    """The clock runs (not `stopped` by a clock stop) and the (aware) appointment has passed."""
    return (
        status in CLOCK_RUNS and not stopped and appointment_at is not None and now > appointment_at
    )


def validate_sector_data(
    model: type[BaseModel] | None, data: dict[str, Any], prefix: str = "sectorData"
) -> dict[str, Any]:
    if model is None:
        return data
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as error:
        problems = [
            {"field": ".".join([prefix, *(str(p) for p in e["loc"])]), "message": e["msg"]}
            for e in error.errors()
        ]
        first, why_vi = problems[0], message_vi(error.errors()[0])
        raise DomainError(
            f"{first['field']}: {first['message']}",
            f"{first['field']}: dữ liệu chuyên ngành không hợp lệ ({why_vi})",
            code="INVALID_SECTOR_DATA",
            field=first["field"],
            problems=problems,
        ) from None


def _input_hash(
    procedure_code: str, applicant: dict[str, Any], sector_data: dict[str, Any], online: bool
) -> str:
    body = orjson.dumps(
        [procedure_code, applicant, sector_data, online], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(body).hexdigest()


async def _record(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    action: str,
    from_status: int | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    agency_id: int | None = None,
    now: dt.datetime | None = None,
    created: bool = False,
) -> None:
    """The dossier's one UPDATE (its changes and the version's bump, checked against the
    version loaded: `_write_dossier`), then the timeline row, the audit entry and the outbox
    event of the transition, all three owned by the acting agency (`agency_id`: the holder of
    the step; default the owner), dated `now` (when the move happened; the audit entry keeps
    the moment it was written), written together (`_write_together`). Then its listeners
    hear of it, in the same transaction (core/dossiers/listeners.py). `created`: a receipt,
    whose INSERT is the dossier's write."""
    now = _utc(now) or utcnow()
    agency_id = agency_id or dossier.agency_id
    if not scope_of(session.sync_session).allows(dossier.province_id, agency_id):
        raise _not_your_step(dossier)  # the acting agency is the caller's (checked before)
    head, bump = await _write_dossier(session, dossier, agency_id, created=created)
    timeline = new_row(
        DossierEventRow,
        **dossier.stamp(agency_id),
        at=now,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        note=note,
    )
    facts = {
        "code": dossier.code,
        "procedure": dossier.procedure_code,
        "from": from_status,
        "to": dossier.status,
        "step": dossier.current_step,
        "version": dossier.version,
        **(data or {}),
    }
    entry = audit.entry_after(
        head,
        province_id=dossier.province_id,
        agency_id=agency_id,
        actor=actor,
        action=f"dossier.{action}",
        entity_type="dossier",
        entity_id=dossier.id,
        data=facts,
    )
    event = outbox.new_event(
        TOPIC,
        {
            **dossier.stamp(agency_id),
            "dossier_code": dossier.code,
            "procedure_code": dossier.procedure_code,
            "from_status": from_status,
            "to_status": dossier.status,
            "action": action,
            "actor": actor,
            "at": now.isoformat(),
        },
        province_id=dossier.province_id,
        agency_id=agency_id,
    )
    # Known before the batch: a listener that joins it reads the row (`recorded`).
    session.info.setdefault(_RECORDED, {})[dossier.id] = timeline
    await _write_together(session, timeline, entry, event, bump, dossier, from_status)
    audit.locked_heads(session)[dossier.province_id, agency_id] = (entry.seq, entry.hash)
    await listeners.transitioned(
        session, dossier, action=action, from_status=from_status, actor=actor
    )
    # What a listener changed after the write is flushed now; with nothing pending (the
    # batch wrote it all) the flush would return at once, after a greenlet hop of its own:
    # the session's own test for that (`Session.flush`'s first line) spares the hop.
    if not session.sync_session._is_clean():
        await session.flush()


# The timeline row each dossier's last move of the transaction wrote (for a listener that
# joins the move's batch, is writing): its listeners read it here (`recorded`) instead of
# reading the timeline back. Forgotten when the transaction ends.
_RECORDED = "eiso.dossiers.recorded"


@event.listens_for(Session, "after_transaction_end")
def _forget_recorded(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_RECORDED, None)
        session.info.pop(_RECEIPTS, None)


def recorded(session: AsyncSession, dossier_id: int) -> DossierEventRow | None:
    """The timeline row of the dossier's last move in this transaction, if it moved."""
    row: DossierEventRow | None = session.info.get(_RECORDED, {}).get(dossier_id)
    return row


async def _batches(session: AsyncSession) -> bool:
    """Whether the writes of a move go as data-modifying CTEs on the driver connection of the
    transaction (PostgreSQL, not Citus, whose router would need every table of the statement
    on one shard: infra/pg_driver.py)."""
    return await pg_driver.driver(session) is not None


async def _write_dossier(
    session: AsyncSession, dossier: Dossier, agency_id: int, *, created: bool
) -> tuple[tuple[int, str], _Bump | None]:
    """The dossier's changes in one UPDATE, `version = version + 1` where the version is still
    the one loaded (else CONFLICT), and the agency's audit head locked and read (`audit.head_lock`)
    by the same statement on PostgreSQL, after the dossier's row lock, as every move takes
    them: the (seq, hash) of the head. A receipt's INSERT is its write. When `load` locked
    both the dossier's row and the head (`load(lock_head=True)`), the UPDATE is left to the
    move's batch (`_write_together`): the second of the pair, returned with the head."""
    heads = audit.locked_heads(session)
    held = heads.get((dossier.province_id, agency_id))
    if created:
        if not await _batches(session):  # else `receive` wrote it (`_insert_dossier`)
            await session.flush()
        if held is None:
            with session.no_autoflush:  # the first step goes in the batch (`_write_together`)
                held = heads[dossier.province_id, agency_id] = await audit.lock_head(
                    session, dossier.province_id, agency_id
                )
        return held, None
    values = _changes(dossier)
    values.pop("version", None)
    values.setdefault("updated_at", utcnow())
    loaded = inspect(dossier).committed_state.get("version", dossier.version)
    key = {"d_key_province_id": dossier.province_id, "d_key_id": dossier.id, "d_loaded": loaded}
    parameters = {**key, **{f"d_{name}": value for name, value in values.items()}}
    if held is not None and (dossier.province_id, dossier.id) in session.info.get(_LOCKED, ()):
        # The row is locked since `load` read this version: the UPDATE goes in the batch,
        # which checks the version all the same (`_write_together`).
        _settle(dossier, {**values, "version": loaded + 1})
        return held, _Bump(tuple(values), parameters, dossier, loaded)
    with session.no_autoflush:
        if await _batches(session):
            if held is None:
                parameters.update(head_province_id=dossier.province_id, head_agency_id=agency_id)
                rows = await pg_driver.run(session, _bump_locking(tuple(values)), parameters)
                if rows:
                    held = heads[dossier.province_id, agency_id] = (int(rows[0][0]), rows[0][1])
                version = rows[0][2] if rows else None
            else:
                rows = await pg_driver.run(session, _bump(tuple(values)), parameters)
                version = rows[0][0] if rows else None
        else:
            version = (await session.execute(_bump(tuple(values)), parameters)).scalar_one_or_none()
    if version is None:
        raise await _stale(session, dossier, loaded)
    _settle(dossier, {**values, "version": int(version)})
    if held is None:
        held = heads[dossier.province_id, agency_id] = await audit.lock_head(
            session, dossier.province_id, agency_id
        )
    return held, None


@dataclasses.dataclass(frozen=True)
class _Bump:
    """The dossier's UPDATE left to the move's batch: its columns, its parameters (`_bump`'s
    names), the dossier and the version loaded."""

    columns: tuple[str, ...]
    parameters: dict[str, Any]
    dossier: Dossier
    loaded: int


@functools.lru_cache(maxsize=256)
def _bump(columns: tuple[str, ...]) -> Update:
    """The dossier's UPDATE of `columns` (bound as `d_<column>`) and its version's bump, where
    the version is still the one loaded (`d_loaded`): built once per set of columns."""
    table = table_of(Dossier)
    return (
        update(table)
        .where(
            table.c.province_id == bindparam("d_key_province_id"),
            table.c.id == bindparam("d_key_id"),
            table.c.version == bindparam("d_loaded"),
        )
        .values(
            {
                **{c: bindparam(f"d_{c}", type_=table.c[c].type) for c in columns},
                "version": table.c.version + 1,
            }
        )
        .returning(table.c.version)
    )


@functools.lru_cache(maxsize=256)
def _bump_locking(columns: tuple[str, ...]) -> Executable:
    """`_bump` and, after it, the audit head's lock (PostgreSQL), in one statement."""
    return audit.bound_head_lock(after=_bump(columns).cte("moved"))


async def _write_together(
    session: AsyncSession,
    timeline: DossierEventRow,
    entry: audit.AuditEntry,
    event: OutboxEvent,
    bump: _Bump | None,
    dossier: Dossier,
    from_status: int | None,
) -> None:
    """The timeline row, the audit entry with its head's advance, and the outbox event: one
    statement on PostgreSQL (data-modifying CTEs), else flushed together. `bump`: the
    dossier's version-checked UPDATE, in the same statement (PostgreSQL), whose new version
    the statement answers: not the one expected, CONFLICT (the transaction's writes, this
    statement's included, are rolled back with it). On PostgreSQL the listeners' writes that
    join a move's batch (`listeners.on_batch`: the figures' rollups) are CTEs of it too."""
    if not await _batches(session):
        session.add_all([timeline, entry, event])
        await session.flush()
        await session.execute(audit.advance(entry))
        return
    parts: list[_Part] = [
        _part("insert", name, table_of(type(row)), _columns(row))
        for name, row in (("timeline", timeline), ("audit", entry))
    ]
    parts.append(_advance_part(entry))
    with session.no_autoflush:  # the steps go in this statement, not in a flush before it
        steps, settle = _step_writes(session)
        outbox = _part("insert", "outbox", table_of(OutboxEvent), _columns(event))
        parts = [outbox, *parts, *steps]
        shape = tuple((kind, name, table, tuple(values)) for kind, name, table, values in parts)
        parameters = {
            f"{name}_{key}": value for _, name, _, values in parts for key, value in values.items()
        }
        joined = listeners.batched(session, dossier, from_status=from_status)
        for write in joined:
            parameters.update(write.parameters)
        extra = tuple(named for write in joined for named in write.statements)
        if bump is None:
            await pg_driver.run(session, _joined(_batch(shape), extra), parameters)
        else:
            parameters.update(bump.parameters)
            statement = _joined(_bumped_batch(shape, bump.columns), extra)
            rows = await pg_driver.run(session, statement, parameters)
            if not rows or rows[0][0] != bump.loaded + 1:
                raise await _stale(session, bump.dossier, bump.loaded)
    settle()
    for write in joined:
        write.done()


@functools.lru_cache(maxsize=512)
def _joined(statement: Executable, extra: tuple[tuple[str, Executable], ...]) -> Executable:
    """`statement` (a batch) with the listeners' statements (`listeners.Batched`) among its
    CTEs: built once per batch and set of joined statements."""
    if not extra:
        return statement
    return cast(Insert, statement).add_cte(*(cast(Insert, o).cte(name) for name, o in extra))


# One part of a move's batch: (kind, name, table, its values); "insert" a row, "update" a row
# by its key (`province_id`, `id` bound as `key_province_id`, `key_id`) with the other values.
_Part = tuple[str, str, Table, dict[str, Any]]
_Shape = tuple[tuple[str, str, Table, tuple[str, ...]], ...]


def _part(kind: str, name: str, table: Table, values: dict[str, Any]) -> _Part:
    return kind, name, table, values


def _advance_part(entry: audit.AuditEntry) -> _Part:
    """`audit.advance(entry)` as a part: the head's move to the entry."""
    values = {"key_province_id": entry.province_id, "key_id": entry.agency_id}
    return _part(
        "update",
        "head",
        table_of(audit.AuditHead),
        {**values, "seq": entry.seq, "hash": entry.hash},
    )


@functools.lru_cache(maxsize=512)
def _batch(shape: _Shape) -> Insert:
    """The batch's statement for a shape (which rows, which columns), built once with a bound
    parameter per value (`<name>_<column>`): building the INSERTs with their values and
    computing their cache key again for every move was a large share of a move's CPU
    (bench/moves_profile.py); the first part is the outer INSERT, the others its CTEs."""

    def bound(name: str, table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
        return {
            c: bindparam(f"{name}_{c}", type_=table.c[c].type)
            for c in columns
            if not c.startswith("key_")
        }

    statements: list[Insert | Update] = []
    for kind, name, table, columns in shape:
        if kind == "insert":
            statements.append(insert(table).values(bound(name, table, columns)))
        else:
            key = (
                table.c.province_id == bindparam(f"{name}_key_province_id"),
                table.c.id == bindparam(f"{name}_key_id"),
            )
            statements.append(update(table).where(*key).values(bound(name, table, columns)))
    outer, *ctes = statements
    assert isinstance(outer, Insert)  # the outbox event's (`_write_together`)
    return outer.add_cte(*(s.cte(name) for s, (_, name, _, _) in zip(ctes, shape[1:], strict=True)))


@functools.lru_cache(maxsize=512)
def _bumped_batch(shape: _Shape, columns: tuple[str, ...]) -> Executable:
    """`_batch` with the dossier's `_bump` of `columns` among its CTEs, the outer INSERT
    answering the dossier's new version (none: the version check failed)."""
    moved = _bump(columns).cte("moved")
    return _batch(shape).add_cte(moved).returning(sa_select(moved.c.version).scalar_subquery())


def _changes(row: SQLModel) -> dict[str, Any]:
    """The columns of a loaded row the move changed, with their new values."""
    state = inspect(row)
    # Only an attribute set since the load has a history (its value then is in
    # `committed_state`); asking every column for its history cost a move ~0.1 ms (issue 18),
    # and so did `state.attrs` (an AttributeState for each of the 36 attributes): the history
    # is asked of the changed ones alone. The columns' order is kept: it is the UPDATE's
    # (`_bump`, built once per set of columns).
    order = _column_order(type(row))
    values = {}
    for key in sorted((k for k in state.committed_state if k in order), key=order.__getitem__):
        added = state.get_history(key, PASSIVE_NO_INITIALIZE).added
        if added:
            values[key] = added[0]
    return values


@functools.cache
def _column_order(model: type[SQLModel]) -> dict[str, int]:
    """The column attributes of `model`, with their place in the mapper's order."""
    return {attribute.key: n for n, attribute in enumerate(inspect(model).column_attrs)}


def _settle(row: SQLModel, written: dict[str, Any]) -> None:
    """`written` is what the database now holds: the session has nothing left to flush. The
    row is then clean, as a flush leaves it (`_register_persistent`: the session's transaction
    notes it, and a rollback of it or of a savepoint expires the row), so that the flush at the
    end of the move skips it: with nothing else pending, the flush does nothing (the session's
    flush of a settled row was 3-5% of a move's CPU, issue 18)."""
    for key, value in written.items():
        set_committed_value(row, key, value)
    state = inspect(row)
    # An attribute set to the value it had (a step completed: in progress to in progress)
    # is not written, but stays in `committed_state`, and the session would flush the row
    # for it: the database holds that value, the row is settled for it too.
    for key in [k for k in state.committed_state if k not in written and k in state.dict]:
        if not state.get_history(key, PASSIVE_NO_INITIALIZE).added:
            set_committed_value(row, key, state.dict[key])
    sync = state.session
    if sync is not None and state.key is not None and state.modified and not state.committed_state:
        sync._register_persistent({state})


def _step_writes(session: AsyncSession) -> tuple[list[_Part], Callable[[], None]]:
    """The steps the move opened (INSERTs) and completed (UPDATEs), as CTEs of the move's
    batch, each checked as the session checks what it flushes (tenants/scope.py: the caller's
    agency, or a step handed over to another); and what makes the session hold them as
    written."""
    sync = session.sync_session
    scope = scope_of(sync)
    granted = sync.info.get("handover", ())
    table = table_of(DossierStep)
    parts: list[_Part] = []
    opened = [row for row in sync.new if isinstance(row, DossierStep)]
    for n, row in enumerate(opened):
        if not scope.allows(row.province_id, row.agency_id) and not any(row is g for g in granted):
            raise TenantScopeError(
                f"DossierStep of agency {row.agency_id} is outside the caller's scope"
            )
        parts.append(_part("insert", f"opened_{n}", table, _columns(row)))
    changed = [(row, _changes(row)) for row in sync.dirty if isinstance(row, DossierStep)]
    for n, (row, values) in enumerate(changed):
        if values:  # a step the scope showed (loaded through its criteria), same owner
            key = {"key_province_id": row.province_id, "key_id": row.id}
            parts.append(_part("update", f"step_{n}", table, {**key, **values}))

    def settle() -> None:
        for row in opened:
            sync.expunge(row)
            make_transient_to_detached(row)
            sync.add(row)
        for row, values in changed:
            _settle(row, values)

    return parts, settle


async def insert_rows(session: AsyncSession, rows: Sequence[SQLModel]) -> bool:
    """`rows` (new, of one model, owned within the caller's scope) written in one INSERT on
    the driver connection of the transaction instead of the session's flush; False (nothing
    written) on SQLite or Citus, where the caller adds them to the session. The session does
    not hold them: for rows the transaction does not read back."""
    if not rows or not await _batches(session):
        return False
    statement, parameters = _rows_written(session, rows, "r")
    await pg_driver.run(session, statement, parameters)
    return True


def batched_rows(
    session: AsyncSession, rows: Sequence[SQLModel], name: str
) -> tuple[tuple[str, Executable], dict[str, Any]]:
    """`insert_rows`' INSERT as a write a listener joins to the move's batch
    (`listeners.Batched`): the statement named `name` (its parameters `<name><n>_<column>`)
    and its parameters. For the driver path only (`listeners.on_batch`)."""
    statement, parameters = _rows_written(session, rows, name)
    return (name, statement), parameters


def _rows_written(
    session: AsyncSession, rows: Sequence[SQLModel], prefix: str
) -> tuple[Executable, dict[str, Any]]:
    """The INSERT of `rows` (new, of one model, checked against the caller's scope as a flush
    would check them) and its parameters (`<prefix><n>_<column>`)."""
    scope = scope_of(session.sync_session)
    for row in rows:
        owner = (getattr(row, "province_id", None), getattr(row, "agency_id", None))
        if not scope.allows(*owner):
            raise TenantScopeError(
                f"{type(row).__name__} of agency {owner[1]} is outside the scope"
            )
    values = [_columns(row) for row in rows]
    columns = tuple(values[0])
    parameters = {
        f"{prefix}{n}_{c}": v for n, row_values in enumerate(values) for c, v in row_values.items()
    }
    return _rows_insert(type(rows[0]), columns, len(rows), prefix), parameters


@functools.lru_cache(maxsize=32)
def _rows_insert(
    model: type[SQLModel], columns: tuple[str, ...], count: int, prefix: str
) -> Executable:
    """The INSERT of `count` rows of `model`'s `columns` (bound as `<prefix><n>_<column>`),
    built once per shape."""
    table = table_of(model)
    return insert(table).values(
        [
            {c: bindparam(f"{prefix}{n}_{c}", type_=table.c[c].type) for c in columns}
            for n in range(count)
        ]
    )


def _columns(row: SQLModel) -> dict[str, Any]:
    """A row's column values for a Core INSERT (an id or a column the database computes left
    out), read from the row's dict (a new row holds every column: `new_row`) rather than
    through each attribute's descriptor (this was the top leaf of a move's profile, issue 18)."""
    held = row.__dict__
    values = {}
    for name, key, primary in _inserted_columns(type(row)):
        value = held[key] if key in held else getattr(row, key)
        if value is None and primary:
            continue
        values[name] = value
    return values


@functools.cache
def _inserted_columns(model: type[SQLModel]) -> tuple[tuple[str, str, bool], ...]:
    """`model`'s table columns an INSERT names (not those the database computes), in the
    table's order: (column, attribute, whether of the primary key)."""
    mapper = inspect(model)
    return tuple(
        (column.name, mapper.get_property_by_column(column).key, bool(column.primary_key))
        for column in table_of(model).columns
        if column.computed is None
    )


# -- receipt --------------------------------------------------------------------------------


async def receive(
    session: AsyncSession,
    *,
    agency: Agency,
    procedure_code: str,
    applicant: dict[str, Any],
    sector_data: dict[str, Any],
    actor: str,
    calendar: WorkingCalendar,
    data_model: type[BaseModel] | None = None,
    unique_fields: tuple[UniqueField, ...] = (),
    idempotency_key: str | None = None,
    online: bool = False,
    refusal_reason: str | None = None,
    now: dt.datetime | None = None,
    catalogue_read: tuple[ProcedureRecord, ProcedureAdoption, bool] | None = None,
    taken: _Taken | None = None,
) -> Received:
    """Receive a dossier at the counter (status received, with its appointment) or register
    one filed online (status new, to be accepted or refused). With `refusal_reason`, the
    counter refuses it at once (outside the agency's competence, ...): it is recorded straight
    into `not_received`, with its refusal slip (03) and no appointment. `taken`: the number
    `receive_at` took with its read (PostgreSQL's driver path)."""
    refused = None if refusal_reason is None else _reason(refusal_reason)
    _check_key(idempotency_key)
    now = _utc(now) or utcnow()
    batched = await _batches(session)
    enabled: bool | None = None  # read with the catalogue (batched), else checked on its own
    if catalogue_read is not None:  # `receive_at` read it with the agency
        procedure, adoption, enabled = catalogue_read
    elif batched:
        procedure, adoption, enabled = await catalogue.receipt_read(
            session, agency.province_id, agency.id, procedure_code
        )
    else:  # Citus would not plan the one read (reference and distributed tables joined)
        procedure = await catalogue.get_procedure(session, procedure_code)
        adoption = await catalogue.adoption_of(session, agency.id, procedure_code)
    # The rules in force at receipt (sdk.RuleChange); an online dossier gets them at acceptance.
    in_force = catalogue.rules_at(procedure, now)
    amount = catalogue.amount_in_force(procedure, in_force, adoption.time_limit_amount)
    if not isinstance(applicant, dict) or not applicant:
        raise DomainError(
            "applicant: required", "applicant: bắt buộc", code="BAD_INPUT", field="applicant"
        )
    applicant = applicant_form.clean(applicant)
    clean = validate_sector_data(data_model, sector_data)
    digest = _input_hash(procedure_code, applicant, clean, online or refused is not None)
    if batched:  # the counter's lock, the idempotency check, the number, the audit head's lock
        day, number = (
            (taken.day, taken.number)
            if taken is not None
            else await _take_number(session, agency, now, idempotency_key)
        )
        if number is None and idempotency_key:
            earlier = await _by_key(session, agency.id, idempotency_key)
            if earlier is not None:
                return _replay(earlier, digest)  # a retry of a receipt made: still its dossier
    else:
        day = await codes.lock_counter(session, agency.province_id, agency.id, now)
        if idempotency_key:
            earlier = await _by_key(session, agency.id, idempotency_key)
            if earlier is not None:
                return _replay(earlier, digest)  # a retry of a receipt made: still its dossier
    if enabled is None:
        await catalogue.require_module_enabled(session, procedure, agency.province_id)
    elif not enabled:
        raise MODULE_DISABLED(procedure=procedure)
    if batched:
        assert number is not None
        code = codes.code_of(agency.code, day, number)
    else:
        code = await codes.next_code(session, agency.province_id, agency.id, agency.code, day)
    key = codes.new_lookup_key()
    dossier = new_row(
        Dossier,
        province_id=agency.province_id,
        agency_id=agency.id,
        code=code,
        lookup_hash=codes.hash_key(key),
        procedure_code=procedure_code,
        applicant=applicant,
        sector_data=clean,
        status=Status.not_received if refused else Status.new if online else Status.received,
        received_at=now,
        appointment_at=None
        if online or refused
        else appointment(calendar, in_force, amount, now, cutoff=adoption.cutoff),
        finished_at=now if refused else None,
        idempotency_key=idempotency_key,
        input_hash=digest if idempotency_key else None,
        step_agencies=dict(adoption.step_agencies or {}),
        time_limit_amount=adoption.time_limit_amount if online or refused else amount,
        cutoff=adoption.cutoff,
        supplements_per_stage=adoption.supplements_per_stage,
    )
    keys = () if refused else _keys(dossier, unique_fields)  # a refused dossier holds none
    if batched:
        book = taken is not None and dossier.appointment_at is not None
        inserted = await _insert_dossier(session, dossier, keys, book=book)
        conflict: Exception | None = None if inserted is not None else _twin(dossier)
        if inserted is not None:
            dossier = inserted.dossier
            _check_held(keys, inserted.held)
            if taken is not None:
                read = ReceiptRead(agency, procedure, taken.province, taken.officer, inserted.book)
                session.info.setdefault(_RECEIPTS, {})[dossier.id] = read
    else:
        conflict = await add_in_savepoint(session, dossier)
        if conflict is None:
            await _hold_keys(session, keys)
    if conflict is not None:
        # A concurrent identical request won the unique (agency, key) race: answer with its dossier.
        earlier = await _by_key(session, agency.id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise conflict
        return _replay(earlier, digest)
    await _open_step(session, dossier, procedure, 0, from_agency_id=None, at=now)
    await _record(
        session,
        dossier,
        actor=actor,
        action="refused" if refused else "registered" if online else "received",
        from_status=None,
        note=refused or "",
        data={"at_counter": True} if refused else None,
        now=now,
        created=True,
    )
    return Received(dossier, key)


def _check_key(idempotency_key: str | None) -> None:
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise DomainError(
            f"idempotencyKey: at most {MAX_IDEMPOTENCY_KEY} characters",
            f"idempotencyKey: tối đa {MAX_IDEMPOTENCY_KEY} ký tự",
            code="BAD_INPUT",
            field="idempotencyKey",
        )


@dataclasses.dataclass(frozen=True)
class _Taken:
    """What `receive_at`'s one statement answered besides the catalogue: the code's day and
    number (None: a retry), the province's name and the officer's (slip 01's facts)."""

    day: str
    number: int | None
    province: str | None
    officer: str | None


@dataclasses.dataclass(frozen=True)
class ReceiptRead:
    """What a receipt on the driver path read for the listeners of its transaction (slip 01's
    facts, core/dossiers/slips/facts.py): the agency, the procedure, the province's and the
    officer's names, and how many of the agency's dossiers precede it in its year's tracking
    book (read after the counter's lock, so no concurrent receipt shares its place; None: a
    dossier without an appointment, which the book does not count)."""

    agency: Agency
    procedure: ProcedureRecord
    province: str | None
    officer: str | None
    earlier_in_book: int | None


# The receipts of the transaction (`ReceiptRead`, by dossier id): forgotten when it ends.
_RECEIPTS = "eiso.dossiers.receipts"


def receipt_read(session: AsyncSession, dossier_id: int) -> ReceiptRead | None:
    """What the receipt of the dossier read in this transaction (driver path), if it did."""
    read: ReceiptRead | None = session.info.get(_RECEIPTS, {}).get(dossier_id)
    return read


async def receive_at(
    session: AsyncSession, province_id: int, agency_id: int, **receipt: Any
) -> Received:
    """`receive` at the agency (`province_id`, `agency_id`: the caller's), read by the receipt
    itself: on the driver connection one statement reads the catalogue with the agency, takes
    the code's number from the agency's counter (checking the idempotency key), locks the
    agency's audit head and reads the names slip 01 prints (`_receipt_statement`); else
    (SQLite, Citus) through the ORM, the catalogue apart."""
    if not await _batches(session):
        agency = (
            await session.execute(
                select(Agency).where(
                    col(Agency.province_id) == province_id, col(Agency.id) == agency_id
                )
            )
        ).scalar_one()
        return await receive(session, agency=agency, **receipt)
    code, key, actor = receipt["procedure_code"], receipt.get("idempotency_key"), receipt["actor"]
    _check_key(key)
    now = _utc(receipt.pop("now", None)) or utcnow()
    day = codes.local_day(now)
    parameters = {
        "r_province_id": province_id,
        "r_agency_id": agency_id,
        "r_code": code,
        # The officer's name (a user id; a citizen or the CLI has none).
        "r_user_id": int(actor) if actor.isdigit() and len(actor) < 19 else None,
        "head_province_id": province_id,
        "head_agency_id": agency_id,
        **codes.number_parameters(province_id, agency_id, day, key),
    }
    rows = await pg_driver.run(session, _receipt_statement(key is not None), parameters)
    if not rows:  # the counter's and the head's writes roll back with the transaction
        raise NoResultFound("the receiving agency is not in the caller's scope")
    *row, enabled, seq, hash_, number, province, officer = rows[0]
    audit.locked_heads(session)[province_id, agency_id] = (int(seq), str(hash_))
    agency_values, procedure_values, adoption_values = _split(tuple(row), _RECEIPT_MODELS)
    assert agency_values is not None  # the outer joins' left side
    sync = session.sync_session
    agency = _held(sync, Agency, agency_values)
    procedure = None if procedure_values is None else _held(sync, ProcedureRecord, procedure_values)
    adoption = None if adoption_values is None else _held(sync, ProcedureAdoption, adoption_values)
    read = catalogue.checked_receipt(session, code, procedure, adoption, enabled=bool(enabled))
    taken = _Taken(day, None if number is None else int(number), province, officer)
    return await receive(
        session, agency=agency, catalogue_read=read, now=now, taken=taken, **receipt
    )


_RECEIPT_MODELS: tuple[type[SQLModel], ...] = (Agency, ProcedureRecord, ProcedureAdoption)


@functools.lru_cache(maxsize=2)
def _receipt_statement(keyed: bool) -> Executable:
    """The receiving agency, the procedure, the agency's adoption of it and whether its
    module is switched on in the province (`catalogue.receipt_read`); the counter's number
    (`codes.take_number(keyed)`) and the agency's audit head (seq, hash) it locks after the
    counter, as `_number_locking`; the province's name and the officer's (`r_user_id`), in
    one Core statement for the driver, built once: `r_province_id`, `r_agency_id`, `r_code`,
    `r_user_id`, `number_parameters`' and `head_*`. Row-level security applies; the agency is
    the caller's and the adoption the agency's (what the criteria would show)."""
    agencies, procedures, adoptions = (table_of(m) for m in _RECEIPT_MODELS)
    activations, provinces, users = (table_of(m) for m in (ModuleActivation, Province, User))
    enabled = (
        exists()
        .where(
            activations.c.province_id == agencies.c.province_id,
            activations.c.module == procedures.c.module,
            activations.c.enabled.is_(True),
        )
        .label("enabled")
    )
    joined = agencies.outerjoin(
        procedures, procedures.c.code == bindparam("r_code", type_=procedures.c.code.type)
    ).outerjoin(
        adoptions,
        and_(
            adoptions.c.province_id == agencies.c.province_id,
            adoptions.c.agency_id == agencies.c.id,
            adoptions.c.procedure_code == procedures.c.code,
        ),
    )
    counter = codes.take_number(keyed).cte("counter")
    head = cast(Insert, audit.bound_head_lock(after=counter)).cte("head")
    province = sa_select(provinces.c.name).where(provinces.c.id == agencies.c.province_id)
    officer = sa_select(
        func.coalesce(func.nullif(users.c.display_name, ""), users.c.username)
    ).where(users.c.id == bindparam("r_user_id", type_=BigInteger))
    return (
        sa_select(
            agencies,
            procedures,
            adoptions,
            enabled,
            head.c.seq,
            head.c.hash,
            sa_select(counter.c.number).scalar_subquery(),
            province.scalar_subquery(),
            officer.scalar_subquery(),
        )
        .select_from(joined.join(head, true()))
        .where(
            agencies.c.province_id == bindparam("r_province_id", type_=BigInteger),
            agencies.c.id == bindparam("r_agency_id", type_=BigInteger),
        )
        .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    )


async def _take_number(
    session: AsyncSession, agency: Agency, now: dt.datetime, idempotency_key: str | None
) -> tuple[str, int | None]:
    """The receipt's code number (None: a retry, `codes.take_number`) and the agency's audit
    head locked by the same statement (a receipt locks the counter, then the head): on the
    driver connection, built once."""
    day = codes.local_day(now)
    parameters = codes.number_parameters(agency.province_id, agency.id, day, idempotency_key)
    parameters.update(head_province_id=agency.province_id, head_agency_id=agency.id)
    statement = _number_locking(idempotency_key is not None)
    seq, hash_, number = (await pg_driver.run(session, statement, parameters))[0]
    audit.locked_heads(session)[agency.province_id, agency.id] = (int(seq), str(hash_))
    return day, None if number is None else int(number)


@functools.lru_cache(maxsize=2)
def _number_locking(keyed: bool) -> Executable:
    """`codes.take_number` and, after it, the audit head's lock, in one statement."""
    return audit.bound_head_lock(after=codes.take_number(keyed).cte("counter"))


@dataclasses.dataclass(frozen=True)
class _Inserted:
    """The dossier as written (the session holds it), the ids of its unique keys written
    (the others a live dossier holds already) and, when asked, its earlier dossiers in the
    tracking book."""

    dossier: Dossier
    held: frozenset[int]
    book: int | None


async def _insert_dossier(
    session: AsyncSession,
    dossier: Dossier,
    keys: Sequence[tuple[UniqueField, DossierKey]],
    *,
    book: bool,
) -> _Inserted | None:
    """The new dossier's INSERT with its unique keys' (`_keys`) and (`book`) the count of the
    agency's dossiers before it in its year's tracking book (`ReceiptRead`), one statement
    without a savepoint (PostgreSQL): None when a unique key of the dossier (the twin of an
    idempotent request) refused it; a key a live dossier holds is not written (`_check_held`
    answers its error). Checked against the scope as a flush would check it."""
    if not scope_of(session.sync_session).allows(dossier.province_id, dossier.agency_id):
        raise TenantScopeError(f"Dossier of agency {dossier.agency_id} is outside the scope")
    values = _columns(dossier)
    parameters = {f"i_{name}": value for name, value in values.items()}
    rows_of_keys = [_columns(key) for _, key in keys]
    for n, key_values in enumerate(rows_of_keys):
        parameters.update({f"k{n}_{name}": value for name, value in key_values.items()})
    if book:
        parameters["b_start"] = codes.book_start(dossier.received_at)
    key_columns = tuple(rows_of_keys[0]) if rows_of_keys else ()
    statement = _insert_returning(tuple(values), key_columns, len(keys), book)
    rows = await pg_driver.run(session, statement, parameters)
    if not rows:
        return None
    names = _column_keys(Dossier)
    row = rows[0]
    written = _held(session.sync_session, Dossier, dict(zip(names, row, strict=False)))
    extra = row[len(names) :]
    held = frozenset(extra[0] or ()) if keys else frozenset()
    return _Inserted(written, held, int(extra[-1]) if book else None)


@functools.lru_cache(maxsize=32)
def _insert_returning(
    columns: tuple[str, ...], key_columns: tuple[str, ...], keys: int, book: bool
) -> Executable:
    """The dossier's INSERT of `columns` (bound as `i_<column>`), no row when a unique key
    refuses it, every column read back (in the table's order); then, with the dossier written,
    its `keys` unique keys' INSERT (`k<n>_<column>`), answering the ids written, and (`book`)
    the count of its earlier dossiers in the tracking book (`b_start`: the volume's start).
    Built once per shape."""
    table = table_of(Dossier)
    values = {c: bindparam(f"i_{c}", type_=table.c[c].type) for c in columns}
    written = postgresql.insert(table).values(values).on_conflict_do_nothing()
    if not keys and not book:
        return written.returning(*table.columns)
    dossier = written.returning(*table.columns).cte("written")
    answered: list[Any] = list(dossier.c)
    if keys:
        held_table = table_of(DossierKey)
        chosen = [
            sa_select(
                *(bindparam(f"k{n}_{c}", type_=held_table.c[c].type) for c in key_columns)
            ).select_from(dossier)
            for n in range(keys)
        ]
        held = (
            postgresql.insert(held_table)
            .from_select(list(key_columns), chosen[0] if keys == 1 else union_all(*chosen))
            .on_conflict_do_nothing()
            .returning(held_table.c.id)
            .cte("held_keys")
        )
        answered.append(sa_select(func.array_agg(held.c.id)).scalar_subquery())
    if book:
        answered.append(codes.earlier_in_book("i_", "b_start"))
    return sa_select(*answered).select_from(dossier)


def _twin(dossier: Dossier) -> Conflict:
    return Conflict(
        f"dossier {dossier.code}: a concurrent receipt holds its keys",
        f"hồ sơ {dossier.code}: một lượt tiếp nhận đồng thời đang giữ khóa của hồ sơ",
    )


def _keys(
    dossier: Dossier, unique_fields: tuple[UniqueField, ...]
) -> list[tuple[UniqueField, DossierKey]]:
    """The dossier's unique values (`sdk.UniqueField`), folded (case, diacritics, spaces), as
    the rows that hold them (an empty value holds none)."""
    found = []
    for unique in unique_fields:
        value = dossier.sector_data.get(unique.field)
        if value in (None, ""):
            continue
        key = new_row(
            DossierKey, **dossier.stamp(), namespace=unique.namespace, value=fold(str(value))[:500]
        )
        found.append((unique, key))
    return found


def _taken_key(unique: UniqueField) -> DomainError:
    field = f"sectorData.{unique.field}"
    return DomainError(
        f"{field}: {unique.message.en}",
        f"{field}: {unique.message.vi}",
        code=unique.error_code,
        field=field,
    )


def _check_held(keys: Sequence[tuple[UniqueField, DossierKey]], held: frozenset[int]) -> None:
    """A value a live dossier of the agency already holds (its key not written) answers the
    field's error code; the transaction rolls back with it."""
    for unique, key in keys:
        if key.id not in held:
            raise _taken_key(unique)


async def _hold_keys(session: AsyncSession, keys: Sequence[tuple[UniqueField, DossierKey]]) -> None:
    """The dossier's unique keys, each in a savepoint (SQLite, Citus): a value a live dossier
    of the agency already holds answers the field's error code. The unique index decides, so
    two receipts racing for one name cannot both win."""
    for unique, key in keys:
        if await add_in_savepoint(session, key) is not None:
            raise _taken_key(unique) from None


# Finished without a result: the dossier's unique values are free again.
_RELEASING = frozenset({Status.not_received, Status.withdrawn, Status.stopped})


async def _release_keys(session: AsyncSession, dossier: Dossier) -> None:
    await session.execute(
        delete(DossierKey).where(
            col(DossierKey.province_id) == dossier.province_id,
            col(DossierKey.dossier_id) == dossier.id,
        )
    )


# -- steps and the agencies holding them -------------------------------------------------------


async def _open_step(
    session: AsyncSession,
    dossier: Dossier,
    procedure: ProcedureRecord,
    index: int,
    *,
    from_agency_id: int | None,
    to_agency_id: int | None = None,
    at: dt.datetime | None = None,
) -> DossierStep:
    """The dossier reaches step `index`: its row, owned by the agency that holds the step (the
    first step: the receiving agency; later ones: the adoption's map, else the agency the
    handover names, else the receiving agency)."""
    code = procedure.steps[index]["code"]
    # The first step is always the receiving agency's (the adoption cannot map it elsewhere).
    agency_id = (
        dossier.agency_id
        if index == 0
        else int(dossier.step_agencies.get(code) or to_agency_id or dossier.agency_id)
    )
    step = new_row(
        DossierStep,
        **dossier.stamp(agency_id),
        step_index=index,
        step_code=code,
        from_agency_id=from_agency_id,
        started_at=at or utcnow(),
    )
    if not scope_of(session.sync_session).allows(step.province_id, agency_id):
        grant_handover(session, step)  # the sender creates the receiver's step, cannot read it back
    if from_agency_id is not None and agency_id != from_agency_id:  # the step's `handed_over`
        dossier.handed_to = handed_to_of(dossier.handed_to, agency_id)
    session.add(step)  # flushed with the move, after the dossier's UPDATE (`_record`)
    return step


def handed_to_of(handed_to: list[int] | None, agency_id: int) -> list[int]:
    """`Dossier.handed_to` with `agency_id` (a new list: the ORM sees the change)."""
    return sorted({*(handed_to or ()), agency_id})


async def _handed_to_after_merge(
    session: AsyncSession, province_id: int, new_id: int, _old_ids: list[int], _by: str
) -> None:
    """After a merge of agencies (tenants/reorganisation.py), the steps handed over to the
    old agencies are the new one's: the `handed_to` of their dossiers says so (the dossiers
    policy reads it on Citus). Read from the steps, as migration 0899 fills it."""
    steps = table_of(DossierStep)
    handed = steps.c.handed_over  # `handed_over = 1` on SQLite
    moved = select(steps.c.dossier_id).where(
        steps.c.province_id == province_id, steps.c.agency_id == new_id, handed
    )
    rows = await session.execute(
        select(steps.c.dossier_id, steps.c.agency_id).where(
            steps.c.province_id == province_id, steps.c.dossier_id.in_(moved), handed
        )
    )
    found: dict[int, set[int]] = {}
    for dossier_id, agency_id in rows:
        found.setdefault(dossier_id, set()).add(agency_id)
    if not found:
        return
    dossiers = table_of(Dossier)
    await session.execute(
        update(dossiers)
        .where(dossiers.c.province_id == province_id, dossiers.c.id == bindparam("dossier"))
        .values(handed_to=bindparam("agencies")),
        [{"dossier": d, "agencies": sorted(a)} for d, a in found.items()],
    )


on_agencies_merged(_handed_to_after_merge)


def _not_your_step(dossier: Dossier) -> DomainError:
    return DomainError(
        f"dossier {dossier.code} is at a step another agency holds: only that agency acts on it",
        f"hồ sơ {dossier.code} đang ở bước do cơ quan khác xử lý: chỉ cơ quan đó được thao tác",
        code="NOT_YOUR_STEP",
    )


async def _step_in_scope(session: AsyncSession, dossier: Dossier) -> DossierStep | None:
    """The row of the step the dossier is at, when the caller's agency holds it (the scope
    hides other agencies' steps)."""
    loaded = _loaded_steps(session)
    key = (dossier.province_id, dossier.id, dossier.current_step)
    if key in loaded:
        return loaded.pop(key)
    return await find_one(
        session,
        DossierStep,
        province_id=dossier.province_id,
        dossier_id=dossier.id,
        step_index=dossier.current_step,
    )


async def current_step_row(session: AsyncSession, dossier: Dossier) -> DossierStep:
    """The row of the step the dossier is at, when the caller's agency holds it: anyone else
    gets NOT_YOUR_STEP."""
    step = await _step_in_scope(session, dossier)
    if step is None:
        raise _not_your_step(dossier)
    return step


async def _acting_agency(session: AsyncSession, dossier: Dossier, owner_move: bool) -> int:
    if owner_move:  # the receiving agency returns the result (one-stop shop)
        if not scope_of(session.sync_session).allows(dossier.province_id, dossier.agency_id):
            raise _not_your_step(dossier)
        return dossier.agency_id
    return (await current_step_row(session, dossier)).agency_id


async def _by_key(session: AsyncSession, agency_id: int, key: str) -> Dossier | None:
    return await find_one(session, Dossier, agency_id=agency_id, idempotency_key=key)


def _replay(earlier: Dossier, digest: str) -> Received:
    if earlier.input_hash != digest:
        raise DomainError(
            "idempotencyKey: already used for a different dossier",
            "idempotencyKey: khóa đã dùng cho một hồ sơ khác",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
    return Received(earlier, None, replayed=True)


# -- moves ------------------------------------------------------------------------------------


async def load(
    session: AsyncSession,
    dossier_id: int,
    expected_version: int | None = None,
    province_id: int | None = None,
    *,
    lock_head: bool = False,
) -> Dossier:
    """The dossier, its row locked for the move (`FOR UPDATE`), with the row of its current
    step when the caller's agency holds it and its procedure, in one statement. A stale
    `expected_version` (another officer acted first) is a CONFLICT and changes nothing; the
    move's one UPDATE bumps the version (`_write_dossier`). `lock_head` (a move follows; on
    the driver connection): the same statement also locks the audit head of the dossier's
    agency, after the dossier's row, when its current step is that agency's own (the agency
    any move of it then acts as), and the move's UPDATE goes in its batch."""
    # Of two officers acting at once, the second waits for the first's row lock, then reads
    # its new version: one wins.
    if await _batches(session):
        found = await _load_on_driver(session, dossier_id, province_id, lock_head)
    else:
        found = await _load_through_orm(session, dossier_id, province_id)
    if found is None:
        raise _not_found(dossier_id)
    dossier, step, procedure = found
    if expected_version is not None and dossier.version != expected_version:
        raise STALE_VERSION(dossier=dossier, version=dossier.version, expected=expected_version)
    _loaded_steps(session)[dossier.province_id, dossier.id, dossier.current_step] = step
    if procedure is not None:
        catalogue.remember(session, procedure)
    return dossier


_Loaded = tuple[Dossier, DossierStep | None, ProcedureRecord | None]


async def _load_through_orm(
    session: AsyncSession, dossier_id: int, province_id: int | None
) -> _Loaded | None:
    """`load`'s statement through the ORM (SQLite, Citus), the scope's criteria added to it."""
    key = [col(Dossier.id) == dossier_id]
    if province_id is not None:  # from a global id: the whole primary key
        key.append(col(Dossier.province_id) == province_id)
    statement = (
        select(Dossier, DossierStep, ProcedureRecord)
        .outerjoin(
            DossierStep,
            and_(
                col(DossierStep.province_id) == col(Dossier.province_id),
                col(DossierStep.dossier_id) == col(Dossier.id),
                col(DossierStep.step_index) == col(Dossier.current_step),
            ),
        )
        .outerjoin(ProcedureRecord, col(ProcedureRecord.code) == col(Dossier.procedure_code))
        .where(*key)
        .with_for_update(of=Dossier)
        .execution_options(populate_existing=True)
    )
    found = (await session.execute(statement)).first()
    return None if found is None else (found[0], found[1], found[2])


_LOADED_MODELS: tuple[type[SQLModel], ...] = (Dossier, DossierStep, ProcedureRecord)


@functools.lru_cache(maxsize=4)
def _load_statement(by_province: bool, lock_head: bool = False) -> Executable:
    """`load`'s statement as Core (for the driver: no ORM, no criteria; `_load_on_driver`
    checks the scope as the criteria would), built once: `d_id`, and `d_province_id` when
    the whole key is known. `lock_head`: the rows, then the audit head's (seq, hash, agency)
    of the dossier's agency when its current step is the agency's (else NULLs), locked after
    the dossier's row (`audit.head_lock_from`)."""
    dossiers, steps, procedures = (table_of(m) for m in _LOADED_MODELS)
    key = [dossiers.c.id == bindparam("d_id", type_=BigInteger)]
    if by_province:
        key.append(dossiers.c.province_id == bindparam("d_province_id", type_=BigInteger))
    joined = dossiers.outerjoin(
        steps,
        and_(
            steps.c.province_id == dossiers.c.province_id,
            steps.c.dossier_id == dossiers.c.id,
            steps.c.step_index == dossiers.c.current_step,
        ),
    ).outerjoin(procedures, procedures.c.code == dossiers.c.procedure_code)
    rows = (
        sa_select(dossiers, steps, procedures)
        .select_from(joined)
        .where(*key)
        .with_for_update(of=dossiers)
        .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    )
    if not lock_head:
        return rows
    loaded = rows.cte("loaded")
    province_id, agency_id = (
        loaded.c[f"{dossiers.name}_{c}"] for c in ("province_id", "agency_id")
    )
    owners = sa_select(province_id, agency_id).where(
        loaded.c[f"{steps.name}_agency_id"] == agency_id
    )
    head = audit.head_lock_from(owners).cte("head")
    return sa_select(loaded, head.c.seq, head.c.hash, head.c.agency_id).select_from(
        loaded.outerjoin(head, true())
    )


async def _load_on_driver(
    session: AsyncSession, dossier_id: int, province_id: int | None, lock_head: bool = False
) -> _Loaded | None:
    """`load`'s one SELECT on the driver connection (PostgreSQL): plain rows made into the
    model objects the move needs, held by the session as if it had loaded them (the dossier
    and its step; one it held already is refreshed, as `populate_existing` does). Row-level
    security applies as to every statement; the rows the scope's criteria would hide are
    hidden here (`tenants.scope.shows`)."""
    parameters = {"d_id": dossier_id}
    if province_id is not None:
        parameters["d_province_id"] = province_id
    statement = _load_statement(province_id is not None, lock_head)
    rows = await pg_driver.run(session, statement, parameters)
    if not rows:
        return None
    values = _split(rows[0])
    if lock_head and rows[0][-1] is not None:  # the head `_write_dossier` will use
        seq, hash_, agency_id = rows[0][-3:]
        held = values[0] or {}
        audit.locked_heads(session)[held["province_id"], int(agency_id)] = (int(seq), hash_)
        session.info.setdefault(_LOCKED, set()).add((held["province_id"], held["id"]))
    sync = session.sync_session
    scope = None if sync.info.get("scope_exempt") else scope_of(sync)
    dossier_values, step_values, procedure_values = values
    assert dossier_values is not None  # the outer joins' left side
    if scope is not None and not shows(
        scope,
        dossier_values["province_id"],
        dossier_values["agency_id"],
        shared_with=dossier_values["handed_to"] or (),
    ):
        return None
    if step_values is not None and not (
        scope is None or shows(scope, step_values["province_id"], step_values["agency_id"])
    ):
        step_values = None  # another agency's step: the criteria would not show it
    dossier = _held(sync, Dossier, dossier_values)
    step = None if step_values is None else _held(sync, DossierStep, step_values)
    procedure = None
    if procedure_values is not None:
        procedure = _detached(ProcedureRecord, procedure_values)
    return dossier, step, procedure


@functools.cache
def _column_keys(model: type[SQLModel]) -> tuple[str, ...]:
    """The attributes of `model`'s table columns, in the table's order."""
    mapper = inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in table_of(model).columns)


def _split(
    row: tuple[Any, ...], models: tuple[type[SQLModel], ...] = _LOADED_MODELS
) -> list[dict[str, Any] | None]:
    """A row of `_load_statement` (or of another join of `models`' tables) as the values of
    each model (None: no row joined)."""
    found: list[dict[str, Any] | None] = []
    start = 0
    for model in models:
        keys = _column_keys(model)
        values = dict(zip(keys, row[start : start + len(keys)], strict=True))
        start += len(keys)
        found.append(None if all(values[k] is None for k in _primary_key(model)) else values)
    return found


@functools.cache
def _primary_key(model: type[SQLModel]) -> tuple[str, ...]:
    mapper = inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)


def _detached(model: type[M], values: dict[str, Any]) -> M:
    """An instance of `model` holding `values` as loaded (detached, no pending change)."""
    row: M = inspect(model).class_manager.new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)
    return row


@dataclasses.dataclass(frozen=True)
class _LoadContext:
    """What the ORM's `load` and `refresh` events are told of the load (its session)."""

    session: Session


def _held(sync: Session, model: type[M], values: dict[str, Any]) -> M:
    """`values` loaded for `model`: the instance the session holds for its key, refreshed, or a
    new one it now holds; with the ORM's `load` (`refresh`) event, as the ORM would fire it
    (the figures' rollups keep the row as read, core/qms/rollups.py)."""
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key([values[k] for k in _primary_key(model)])
    held = sync.identity_map.get(key)
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)
        mapper.class_manager.dispatch.refresh(inspect(held), _LoadContext(sync), None)
        return held
    row = _detached(model, values)
    sync.add(row)
    mapper.class_manager.dispatch.load(inspect(row), _LoadContext(sync))
    return row


async def _stale(session: AsyncSession, dossier: Dossier, loaded: int) -> Conflict:
    """The CONFLICT of a move whose UPDATE found the version moved since it was loaded."""
    version = await session.scalar(
        select(col(Dossier.version)).where(
            col(Dossier.province_id) == dossier.province_id, col(Dossier.id) == dossier.id
        )
    )
    return STALE_VERSION(dossier=dossier, version=int(version or loaded), expected=loaded)


# The dossiers whose row `load` locked together with their agency's audit head, in this
# transaction: their move's UPDATE goes in its batch (`_write_dossier`). Forgotten with it.
_LOCKED = "eiso.dossiers.locked"


@event.listens_for(Session, "after_transaction_end")
def _forget_locked(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # as the locked heads are
        session.info.pop(_LOCKED, None)


# The current step's row `load` read with the dossier (None: not the caller's agency's), until
# the move asks for it; forgotten with the transaction.
_LOADED_STEPS = "eiso.dossiers.loaded_steps"


def _loaded_steps(session: AsyncSession) -> dict[tuple[int, int, int], DossierStep | None]:
    steps: dict[tuple[int, int, int], DossierStep | None]
    steps = session.info.setdefault(_LOADED_STEPS, {})
    return steps


@event.listens_for(Session, "after_transaction_end")
def _forget_loaded_steps(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LOADED_STEPS, None)


def _invalid(current: Status, to: Status) -> DomainError:
    return DomainError(
        f"a dossier cannot move from {current.name} to {to.name}",
        f"hồ sơ không thể chuyển từ trạng thái {current.name} sang {to.name}",
        code="INVALID_TRANSITION",
        **{"from": current.name, "to": to.name},
    )


def handling_supplements(dossier: Dossier) -> int:
    """Supplements asked after acceptance: each stopped the clock (a stop, closed or open)."""
    return sum(1 for r in stops(dossier) if r[2] == SUPPLEMENT)


# Processing goes on (assigned, a step completed) only from these: a dossier waiting for a
# supplement or the fee resumes through supplementReceived or feePaid, which close the stop
# of its clock, although the transition table leads from those statuses to in progress too.
PROCESSING = frozenset({Status.received, Status.in_progress})


def _check_move(
    dossier: Dossier,
    to: Status,
    now: dt.datetime,
    only_from: Status | frozenset[Status] | None = None,
) -> None:
    """`only_from`: a move that makes sense from one status (or those of a set) only (a
    supplement arrives only when one was requested) even where the table allows that target
    from elsewhere."""
    current = Status(dossier.status)
    starts = {only_from} if isinstance(only_from, Status) else only_from
    if to not in ALLOWED[current] or (starts is not None and current not in starts):
        raise _invalid(current, to)


def _note_overdue(dossier: Dossier, now: dt.datetime) -> None:
    """An overdue dossier is late in every figure from now on (its nonconformity is raised by
    the QMS listener, core/qms/dossier_ncs.py); no move is refused for it (issue 17: a late
    agency must not hold the citizen's dossier hostage, APOLOGY_REQUIRED is no longer raised)."""
    if is_overdue(dossier, now):
        dossier.was_late = True
        if dossier.late_since is None:
            dossier.late_since = dossier.appointment_at


async def _move(
    session: AsyncSession,
    dossier: Dossier,
    to: Status,
    *,
    actor: str,
    action: str,
    note: str = "",
    now: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    agency_id: int | None = None,
    owner_move: bool = False,
    calendar: WorkingCalendar | None = None,
) -> Dossier:
    """`agency_id`: the acting agency when the caller already checked it; else the holder of
    the current step (or the receiving agency for an `owner_move`) must be in the scope."""
    now = _utc(now) or utcnow()
    agency_id = agency_id or await _acting_agency(session, dossier, owner_move)
    _check_move(dossier, to, now)
    _note_overdue(dossier, now)
    before = dossier.status
    dossier.status = int(to)
    dossier.updated_at = now
    await status_stops(session, dossier, Status(before), to, now, calendar)
    if to in FINISHED and dossier.finished_at is None:
        await _stamp_finished(session, dossier, to, now, calendar)
    if dossier not in session:  # `load` put it there (the dossier has no relationship to cascade)
        session.add(dossier)
    if to in _RELEASING:
        await _release_keys(session, dossier)
    await _record(
        session,
        dossier,
        actor=actor,
        action=action,
        from_status=before,
        note=note,
        data=data,
        agency_id=agency_id,
        now=now,
    )
    return dossier


async def _stamp_finished(
    session: AsyncSession,
    dossier: Dossier,
    to: Status,
    now: dt.datetime,
    calendar: WorkingCalendar | None,
) -> None:
    """What the figures aggregate, fixed once when the dossier first finishes: the moment, and
    for a resolved dossier (processed) its handling time in working days without the time the
    clock stood still, and whether it met its appointment."""
    dossier.finished_at = now.astimezone(dt.UTC)  # SQLite keeps the wall time without its offset
    if to != Status.processed:
        return  # refused, withdrawn or stopped: closed, but not resolved
    calendar = await _calendar(session, calendar)
    procedure = await catalogue.procedure_in_force(
        session, dossier.procedure_code, aware(dossier.received_at)
    )
    start = calendar.counting_start(
        aware(dossier.received_at), cutoff_of(procedure, dossier.cutoff)
    )
    worked = calendar.working_time_between(start, now)
    for paused, resumed in _merged(stops(dossier)):
        if resumed:
            worked -= calendar.working_time_between(paused, resumed)
    per_day = calendar.office_hours.per_day
    dossier.handling_days = round(max(worked, dt.timedelta()) / per_day, 4)
    dossier.on_time = (
        not dossier.was_late
        and dossier.appointment_at is not None
        and now <= aware(dossier.appointment_at)
    )


def _reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            f"{field}: a reason is required",
            f"{field}: bắt buộc ghi lý do",
            code="BAD_INPUT",
            field=field,
        )
    return reason


Schedule = Callable[[AsyncSession, Dossier, WorkingCalendar, dt.datetime], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class ClockMove:
    """A move to `to` (timeline action `action`) that sets the appointment on the working
    `calendar`: `schedule` checks the move and stamps the dossier (receipt starts the clock, a
    supplement received resumes it). `to`: a status, or where the dossier goes as it stands
    before the move."""

    to: Status | Callable[[Dossier], Status]
    action: str
    schedule: Schedule

    def target(self, dossier: Dossier) -> Status:
        return self.to if isinstance(self.to, Status) else self.to(dossier)

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        calendar: WorkingCalendar,
        now: dt.datetime | None = None,
    ) -> Dossier:
        now = _utc(now) or utcnow()
        to = self.target(dossier)
        await self.schedule(session, dossier, calendar, now)
        return await Move(to, self.action).made(session, dossier, actor, "", now)


async def _start_clock(
    session: AsyncSession, dossier: Dossier, calendar: WorkingCalendar, now: dt.datetime
) -> None:
    """An online dossier (new) is received: its clock starts now, and it has its receipt slip
    (01) and process control slip (05) from now on."""
    base = await catalogue.get_procedure(session, dossier.procedure_code)
    procedure = catalogue.rules_at(base, now)  # the rules in force at its acceptance
    amount = catalogue.amount_in_force(base, procedure, await _time_limit(session, dossier))
    _check_move(dossier, Status.received, now)
    dossier.received_at, dossier.time_limit_amount = now, amount
    dossier.appointment_at = appointment(calendar, procedure, amount, now, cutoff=dossier.cutoff)


accept = ClockMove(Status.received, "received", _start_clock)


@dataclasses.dataclass(frozen=True)
class Move:
    """A move to `to`, its timeline row's action `action`, that needs nothing but the
    transition table and, where set, the status (or one of the statuses) `only_from` (see
    `_check_move`). `owner_move`: the receiving agency acts, not the holder of the current
    step. Every move reaches `_move` through `made`: a move function declares its kind (or
    kinds) as a `Move` and passes only what the call adds."""

    to: Status
    action: str
    only_from: Status | frozenset[Status] | None = None
    owner_move: bool = False

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        note: str = "",
        now: dt.datetime | None = None,
    ) -> Dossier:
        self.check(dossier, now)
        return await self.made(session, dossier, actor, note, now)

    def check(self, dossier: Dossier, now: dt.datetime | None) -> None:
        """The status the move starts from, where set (`_move` checks the table itself)."""
        if self.only_from is not None:
            _check_move(dossier, self.to, now or utcnow(), only_from=self.only_from)

    async def made(
        self,
        session: AsyncSession,
        dossier: Dossier,
        actor: str,
        note: str,
        now: dt.datetime | None,
        agency_id: int | None = None,
        *,
        data: dict[str, Any] | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> Dossier:
        """The move once checked; `agency_id`: the acting agency when already known; `data`:
        the timeline row's; `calendar`: the one the clock's stops and the handling time are
        measured on (the stored one is loaded where needed when none is given)."""
        return await _move(
            session,
            dossier,
            self.to,
            actor=actor,
            action=self.action,
            note=note,
            now=now,
            owner_move=self.owner_move,
            agency_id=agency_id,
            data=data,
            calendar=calendar,
        )


Stamp = Callable[[AsyncSession, Dossier, int, dt.datetime], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class ReasonedMove:
    """A move to `to` that the officer must give a reason for (refuse, withdraw, request a
    supplement): the reason is the timeline row's note, `action` its action. `stamp` checks
    and stamps what the move needs beyond the transition table, after the reason, for the
    acting agency (the move and the agency are checked first, before the reason)."""

    to: Status
    action: str
    stamp: Stamp | None = None

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        reason: str,
        now: dt.datetime | None = None,
    ) -> Dossier:
        now = _utc(now) or utcnow()
        move = Move(self.to, self.action)
        if self.stamp is None:
            return await move.made(session, dossier, actor, _reason(reason), now)
        _check_move(dossier, self.to, now)
        agency_id = await _acting_agency(session, dossier, owner_move=False)
        note = _reason(reason)
        await self.stamp(session, dossier, agency_id, now)
        return await move.made(session, dossier, actor, note, now, agency_id=agency_id)


refuse = ReasonedMove(Status.not_received, "refused")


# The kinds of the moves the functions below make, each what `_move` is told besides the
# call's own values (actor, note, moment, acting agency, timeline data).
_ASSIGNED = Move(Status.in_progress, "assigned", only_from=PROCESSING)
# Completing a step: processed after the last one, else on to the next, handed over where
# another agency holds it.
_PROCESSED = Move(Status.processed, "processed")
_STEP_COMPLETED = Move(Status.in_progress, "step_completed")
_HANDED_OVER = Move(Status.in_progress, "handed_over")
# The citizen's own withdrawal (`withdraw_online`): the receiving agency's dossier.
_WITHDRAWN_ONLINE = Move(Status.withdrawn, "withdrawn", owner_move=True)
# A stop by the agency's decision, or on the applicant's request.
_STOPPED = Move(Status.stopped, "stopped")
_STOPPED_ON_REQUEST = Move(Status.stopped, "stopped_on_request")


async def assign(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    assignee: str,
    now: dt.datetime | None = None,
) -> Dossier:
    if not (assignee or "").strip():
        raise DomainError(
            "assignee: required", "assignee: bắt buộc", code="BAD_INPUT", field="assignee"
        )
    _ASSIGNED.check(dossier, now)
    dossier.assignee = assignee.strip()
    return await _ASSIGNED.made(session, dossier, actor, "", now)


async def complete_step(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    note: str = "",
    now: dt.datetime | None = None,
    step_data: dict[str, Any] | None = None,
    step_models: dict[str, type[BaseModel]] | None = None,
    to_agency_id: int | None = None,
    calendar: WorkingCalendar | None = None,
) -> Dossier:
    """The current step is done, with the step's own data (validated by the step's model and
    kept on the step's row): on to the next step, handed over to the agency that holds it, or
    processed after the last. Only the agency holding the current step completes it. The
    calendar measures the handling time at the end (the stored one is loaded when none is
    given)."""
    now = now or utcnow()
    procedure = await catalogue.procedure_in_force(
        session, dossier.procedure_code, aware(dossier.received_at)
    )
    step = await current_step_row(session, dossier)
    target = _step_target(dossier, procedure)
    _check_move(dossier, target, now, only_from=PROCESSING)
    model = (step_models or {}).get(step.step_code)
    if step_data is not None or model is not None:
        step.sector_data = validate_sector_data(model, step_data or {}, prefix="stepData")
    step.status, step.completed_at, step.completed_by = "done", now, actor
    session.add(step)
    # A step the procedure names as a clock stop (public posting, expert assessment) is done:
    # the clock runs again (`CountingRules.stop_steps`).
    stop_steps = set((procedure.counting or {}).get("stop_steps", ()))
    await resume_stop(session, dossier, f"step:{step.step_code}", _utc(now) or now, calendar)
    if target is Status.processed:
        return await _PROCESSED.made(
            session, dossier, actor, note, now, step.agency_id, calendar=calendar
        )
    dossier.current_step += 1
    following = await _open_step(
        session,
        dossier,
        procedure,
        dossier.current_step,
        from_agency_id=step.agency_id,
        to_agency_id=to_agency_id,
        at=now,
    )
    if following.step_code in stop_steps and accepted(dossier):
        stop_clock(dossier, _utc(now) or now, f"step:{following.step_code}", following.agency_id)
    if following.agency_id == step.agency_id:
        return await _STEP_COMPLETED.made(session, dossier, actor, note, now, step.agency_id)
    dossier.assignee = None  # the receiving agency assigns its own officer
    data = {"to_agency": following.agency_id}
    return await _HANDED_OVER.made(session, dossier, actor, note, now, step.agency_id, data=data)


def _step_target(dossier: Dossier, procedure: ProcedureRecord) -> Status:
    """Where completing the current step leads: processed after the last step."""
    last = len(procedure.steps) - 1
    return Status.processed if dossier.current_step >= last else Status.in_progress


async def _stamp_supplement(
    session: AsyncSession, dossier: Dossier, agency_id: int, now: dt.datetime
) -> None:
    """Slip 02. Before acceptance (an online dossier checked at intake, no clock runs yet):
    once. After it: as many times as the procedure allows each agency's stage of the dossier
    (`CountingRules.supplements_per_stage`: 1, the Construction Law's second notice: 2), and
    the clock stops from now until the supplement arrives."""
    _check_supplement_limit(
        dossier,
        await catalogue.procedure_in_force(
            session, dossier.procedure_code, aware(dossier.received_at)
        ),
        agency_id,
    )
    if accepted(dossier):
        _note_overdue(dossier, now)
        stop_clock(dossier, now, SUPPLEMENT, agency_id)
    dossier.supplement_count += 1


request_supplement = ReasonedMove(
    Status.supplement_requested, "supplement_requested", _stamp_supplement
)


def _check_supplement_limit(dossier: Dossier, procedure: ProcedureRecord, agency_id: int) -> None:
    """Before acceptance: once. After it: the stage of `agency_id` (the acting agency) may ask
    as many times as the adoption's tightened limit (kept on the dossier), else the
    procedure's, allows."""
    if accepted(dossier):
        limit = dossier.supplements_per_stage or catalogue.supplements_per_stage(procedure)
        used = sum(
            1
            for r in stops(dossier)
            if r[2] == SUPPLEMENT and (r[3] or dossier.agency_id) == agency_id
        )
        if used >= limit:
            raise SUPPLEMENT_ALREADY_USED(dossier=dossier, limit=limit, used=used)
    elif dossier.supplement_count - handling_supplements(dossier) >= 1:
        raise SUPPLEMENT_ALREADY_USED(dossier=dossier, limit=1, used=1)


def _supplement_target(dossier: Dossier) -> Status:
    """Where a supplement received leads: processing again, or (not yet accepted) back to
    `new`, to be checked again."""
    return Status.in_progress if accepted(dossier) else Status.new


async def _resume_clock(
    session: AsyncSession, dossier: Dossier, calendar: WorkingCalendar, now: dt.datetime
) -> None:
    """The clock of an accepted dossier resumes: the appointment moves by the working time the
    clock stood still. (One not yet accepted has no clock running.)"""
    _check_move(dossier, _supplement_target(dossier), now, only_from=Status.supplement_requested)
    if accepted(dossier):
        await resume_stop(session, dossier, SUPPLEMENT, now, calendar)


# The supplement arrived: the clock resumes (`_resume_clock`); a dossier not yet accepted goes
# back to `new`, to be checked again (accepted or refused).
supplement_received = ClockMove(_supplement_target, "supplement_received", _resume_clock)


request_fee = Move(Status.financial_obligation_requested, "fee_requested")
fee_paid = Move(Status.in_progress, "fee_paid", only_from=Status.financial_obligation_requested)


withdraw = ReasonedMove(Status.withdrawn, "withdrawn")


def _only_accepted(dossier: Dossier, now: dt.datetime) -> None:
    """Only an accepted dossier is processed, so only it can be stopped (one not yet accepted
    is refused or withdrawn instead)."""
    if not accepted(dossier):
        raise _invalid(Status(dossier.status), Status.stopped)


async def withdraw_online(
    session: AsyncSession,
    dossier: Dossier,
    *,
    reason: str,
    now: dt.datetime | None = None,
) -> Dossier:
    """The citizen withdraws a dossier filed online before the agency accepted it (through
    the portal, with the dossier code and lookup key). Once accepted, the agency records a
    withdrawal on the citizen's request (`withdraw`)."""
    if accepted(dossier):
        raise DomainError(
            f"dossier {dossier.code} is already accepted: ask the agency to withdraw it",
            f"hồ sơ {dossier.code} đã được tiếp nhận: đề nghị cơ quan tiếp nhận rút hồ sơ",
            code="ALREADY_ACCEPTED",
        )
    now = _utc(now) or utcnow()
    return await _WITHDRAWN_ONLINE.made(session, dossier, CITIZEN, _reason(reason), now)


async def stop(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    reason: str,
    on_request: bool = False,
    now: dt.datetime | None = None,
) -> Dossier:
    """Stop processing (status 8) with a reason: the agency's decision (a nonconformity,
    "refused after acceptance"), or `on_request` of the applicant (timeline action
    `stopped_on_request`, its stop notice; no nonconformity)."""
    now = _utc(now) or utcnow()
    _only_accepted(dossier, now)
    move = _STOPPED_ON_REQUEST if on_request else _STOPPED
    data = {"on_request": on_request}
    return await move.made(session, dossier, actor, _reason(reason), now, data=data)


# The receiving agency returns the result (one-stop shop), whoever holds the last step.
return_result = Move(Status.returned, "returned", owner_move=True)


# An apology is recorded while the dossier is open and before its result is returned.
_APOLOGY_CLOSED = frozenset(
    {Status.not_received, Status.withdrawn, Status.stopped, Status.returned}
)


def _check_apology(dossier: Dossier) -> dt.datetime:
    """An apology is possible (once, for an accepted dossier whose result is not returned):
    the appointment it replaces."""
    before = dossier.appointment_at
    if before is None or Status(dossier.status) in _APOLOGY_CLOSED:
        raise DomainError(
            f"dossier {dossier.code}: an apology is recorded only for an accepted dossier "
            "whose result is not returned",
            f"hồ sơ {dossier.code}: chỉ lập phiếu xin lỗi cho hồ sơ đã tiếp nhận, chưa trả kết quả",
            code="APOLOGY_NOT_NEEDED",
        )
    if dossier.apology_at is not None:
        raise DomainError(
            f"dossier {dossier.code}: the new appointment may be given only once",
            f"hồ sơ {dossier.code}: việc hẹn lại ngày trả kết quả chỉ được thực hiện một lần",
            code="APOLOGY_ALREADY_RECORDED",
        )
    return before


async def record_apology(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    reason: str,
    new_appointment: dt.datetime,
    calendar: WorkingCalendar | None = None,
    now: dt.datetime | None = None,
) -> Dossier:
    """Slip 04 (Decree 61/2018/NĐ-CP art. 19): the agency that will miss the deadline apologises
    with the reason and one new appointment, a working time after the old deadline; once per
    dossier, while it is open and before the result is returned. Due at the latest by the
    close of the working day before the deadline's day: later (or after the deadline), it is
    recorded as late (`apology_late`) and the QMS opens a nonconformity for it. The dossier
    is late in every figure from its old deadline on."""
    now = _utc(now) or utcnow()
    agency_id = await _acting_agency(session, dossier, owner_move=False)
    before = _check_apology(dossier)
    calendar = await _calendar(session, calendar)
    deadline = aware(before)
    if (
        new_appointment.tzinfo is None
        or new_appointment <= deadline
        or not calendar.is_working_time(new_appointment)
    ):
        raise DomainError(
            "newAppointment: a time-zone-aware moment in office hours of a working day, after "
            f"the old appointment {deadline.isoformat()}",
            "newAppointment: phải là thời điểm trong giờ làm việc của ngày làm việc (có múi giờ), "
            f"sau ngày hẹn cũ {deadline.isoformat()}",
            code="BAD_INPUT",
            field="newAppointment",
        )
    note = _reason(reason)
    late = now > counting.latest_apology(calendar, deadline)
    dossier.was_late = True
    dossier.late_since = dossier.late_since or before
    dossier.apology_at, dossier.apology_late = now, late
    dossier.appointment_at = _utc(new_appointment)
    session.add(dossier)
    await _record(
        session,
        dossier,
        actor=actor,
        action="apology",
        from_status=dossier.status,
        note=note,
        data={
            "old_appointment": deadline.isoformat(),
            "new_appointment": new_appointment.isoformat(),
            "late": late,
        },
        agency_id=agency_id,
        now=now,
    )
    return dossier


def _declared_extensions(procedure: ProcedureRecord) -> dict[str, dict[str, Any]]:
    return {e["code"]: e for e in (procedure.counting or {}).get("extensions", [])}


def _check_extension(
    dossier: Dossier, procedure: ProcedureRecord, code: str, now: dt.datetime
) -> dict[str, Any]:
    """The procedure's extension `code`, when the dossier may have it now."""
    extension = _declared_extensions(procedure).get(code)
    problem = None
    if extension is None:
        problem = (
            "the procedure declares no such extension",
            "thủ tục không có trường hợp gia hạn này",
        )
    elif not accepted(dossier) or Status(dossier.status) in FINISHED:
        problem = (
            "only an accepted dossier still open",
            "chỉ gia hạn hồ sơ đã tiếp nhận, đang giải quyết",
        )
    elif any(e["code"] == code for e in dossier.extensions):
        problem = ("this extension is already recorded", "đã gia hạn theo trường hợp này")
    elif dossier.apology_at is not None or is_overdue(dossier, now):
        problem = (
            "too late: the deadline has passed or an apology was recorded",
            "quá muộn: đã quá hạn hoặc đã lập phiếu xin lỗi",
        )
    if problem is not None:
        raise DomainError(
            f"code: {problem[0]}", f"code: {problem[1]}", code="EXTENSION_NOT_ALLOWED", field="code"
        )
    assert extension is not None  # checked above
    return extension


async def record_extension(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    code: str,
    reason: str,
    calendar: WorkingCalendar | None = None,
    now: dt.datetime | None = None,
) -> Dossier:
    """An extension the procedure declares (`CountingRules.extensions`, e.g. +5 working days
    when the birth facts must be verified): once per extension, on an accepted dossier still
    open, before its deadline and before any apology. The appointment moves by its length."""
    now = _utc(now) or utcnow()
    agency_id = await _acting_agency(session, dossier, owner_move=False)
    procedure = await catalogue.procedure_in_force(
        session, dossier.procedure_code, aware(dossier.received_at)
    )
    extension = _check_extension(dossier, procedure, code, now)
    row = {
        "code": code,
        "amount": extension["amount"],
        "unit": extension["unit"],
        "reason": _reason(reason),
        "at": now.isoformat(),
    }
    dossier.extensions = [*dossier.extensions, row]
    if dossier.paused_at is None:  # else the appointment is recomputed when the clock resumes
        dossier.appointment_at = appointment(
            await _calendar(session, calendar),
            procedure,
            await _time_limit(session, dossier),
            aware(dossier.received_at),
            dossier.pauses,
            dossier.extensions,
            dossier.cutoff,
        )
    session.add(dossier)
    await _record(
        session,
        dossier,
        actor=actor,
        action="extended",
        from_status=dossier.status,
        note=row["reason"],
        data={"extension": code, "amount": row["amount"], "unit": row["unit"]},
        agency_id=agency_id,
        now=now,
    )
    return dossier


# -- the moves possible now ---------------------------------------------------------------------


def _check_any_extension(dossier: Dossier, procedure: ProcedureRecord, now: dt.datetime) -> None:
    """One of the procedure's extensions may be recorded now (else the first's refusal)."""
    refusals = []
    for code in _declared_extensions(procedure) or [""]:
        try:
            _check_extension(dossier, procedure, code, now)
            return
        except DomainError as refusal:
            refusals.append(refusal)
    raise refusals[0]


def _can_request_supplement(
    dossier: Dossier, procedure: ProcedureRecord, agency_id: int, now: dt.datetime
) -> None:
    _check_move(dossier, Status.supplement_requested, now)
    _check_supplement_limit(dossier, procedure, agency_id)


def _can_stop(
    dossier: Dossier, procedure: ProcedureRecord, agency_id: int, now: dt.datetime
) -> None:
    _only_accepted(dossier, now)
    _check_move(dossier, Status.stopped, now)


# Each move's own checks as the move runs them, without its inputs (a reason, a new
# appointment, an assignee are checked when given): the dossier, its procedure, the acting
# agency and the moment. Keyed by the move's name in this module.
_Check = Callable[[Dossier, ProcedureRecord, int, dt.datetime], object]
_CHECKS: dict[str, _Check] = {
    "accept": lambda d, p, a, now: _check_move(d, accept.target(d), now),
    "refuse": lambda d, p, a, now: _check_move(d, refuse.to, now),
    "assign": lambda d, p, a, now: _ASSIGNED.check(d, now),
    "complete_step": lambda d, p, a, now: _check_move(
        d, _step_target(d, p), now, only_from=PROCESSING
    ),
    "request_supplement": _can_request_supplement,
    "supplement_received": lambda d, p, a, now: _check_move(
        d, _supplement_target(d), now, only_from=Status.supplement_requested
    ),
    "request_fee": lambda d, p, a, now: _check_move(d, request_fee.to, now),
    "fee_paid": lambda d, p, a, now: _check_move(d, fee_paid.to, now, only_from=fee_paid.only_from),
    "withdraw": lambda d, p, a, now: _check_move(d, withdraw.to, now),
    "stop": _can_stop,
    "return_result": lambda d, p, a, now: _check_move(d, return_result.to, now),
    "record_apology": lambda d, p, a, now: _check_apology(d),
    "record_extension": lambda d, p, a, now: _check_any_extension(d, p, now),
}
# The receiving agency acts (one-stop shop), not the holder of the current step.
OWNER_MOVES = frozenset({"return_result"})
MOVE_NAMES = tuple(_CHECKS)


async def allowed_moves(
    session: AsyncSession, dossier: Dossier, now: dt.datetime | None = None
) -> list[str]:
    """The officer's moves the engine would take now on `dossier` from the session's scope,
    in `MOVE_NAMES`' order: each move's own checks (the transition table, the status a move
    starts from, acceptance, the supplement limits, the apology and extension rules) and
    the acting agency (the holder of the current step, or the receiving agency for
    `OWNER_MOVES`). What the caller's role allows is the GraphQL layer's rule."""
    now = _utc(now) or utcnow()
    step = await _step_in_scope(session, dossier)
    owner = scope_of(session.sync_session).allows(dossier.province_id, dossier.agency_id)
    try:
        procedure = await catalogue.procedure_in_force(
            session, dossier.procedure_code, aware(dossier.received_at)
        )
    except NotFound:  # no loaded module provides it any more: the moves need its steps
        return []
    found = []
    for name, check in _CHECKS.items():
        if name in OWNER_MOVES:
            acting = dossier.agency_id if owner else None
        else:
            acting = step.agency_id if step is not None else None
        if acting is None:
            continue
        try:
            check(dossier, procedure, acting, now)
        except DomainError:
            continue
        found.append(name)
    return found
