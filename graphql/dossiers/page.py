"""One page of the `dossiers` list, kept cheap on a million rows: the latest received first,
keyset-paged on (received_at, id) so each filter walks an index of migration
0520_dossier_indexes backwards and stops after `first + 1` rows (only leakproof operators
can use an index under row-level security: =, <, row comparisons); only the columns a
`DossierNode` shows are read; the total is counted only when the query asks for it. The
statements are built once per shape of filter and run with parameters."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    func,
    inspect,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import CLOCK_RUNS
from eiso.core.errors import DomainError
from eiso.graphql.shared.connections import Page, bad_cursor, decode_cursor
from eiso.infra.clock import aware
from eiso.infra.db import driver_rows
from eiso.infra.index_conditions import prefix_match, prefix_values
from eiso.infra.text import fold
from eiso.tenants.scope import ScopeKind, TenantScope, bound_scope, scope_params

if TYPE_CHECKING:
    from eiso.graphql.dossiers.queries import DossierFilter

# What DossierNode reads; the personal data (applicant) and the JSON columns stay in the table.
COLUMNS = (
    col(Dossier.province_id),
    col(Dossier.id),
    col(Dossier.agency_id),
    col(Dossier.code),
    col(Dossier.procedure_code),
    col(Dossier.status),
    col(Dossier.current_step),
    col(Dossier.assignee),
    col(Dossier.received_at),
    col(Dossier.appointment_at),
    col(Dossier.paused_at),
    col(Dossier.was_late),
    col(Dossier.supplement_count),
    col(Dossier.version),
)
_TABLE = inspect(Dossier).columns  # the table's columns (their types for the parameters)
# Statuses whose clock runs (engine.is_overdue): past the appointment, such a dossier is late.
RUNNING = tuple(sorted(int(s) for s in CLOCK_RUNS))


def search_key(search: str | None) -> str:
    """What the search compares: folded, without NUL (no text in PostgreSQL holds one)."""
    return fold(search or "").replace("\x00", "")


class Shape(NamedTuple):
    """Which parts a page's statement has: the filters given, `late`, whether paged on (from
    a cursor), whether read backwards (`last`: the index walked forwards), and the caller's
    kind of scope (and whether it names its provinces)."""

    given: frozenset[str]
    late: bool | None
    after: bool
    scope: ScopeKind
    provinces: bool
    backward: bool = False


def _zoned(moment: dt.datetime, field: str) -> dt.datetime:
    """A bound must name its time zone: a naive one would be read in the server's."""
    if moment.utcoffset() is None:
        raise DomainError(
            f"{field}: give a time zone (2026-01-31T00:00:00+07:00)",
            f"{field}: cần ghi múi giờ (ví dụ 2026-01-31T00:00:00+07:00)",
            code="BAD_INPUT",
            field=field,
        )
    return moment


def statement(
    f: DossierFilter, page: Page, now: dt.datetime, scope: TenantScope
) -> tuple[Select, Select, dict[str, Any]]:
    """The page's statement and its total's, built once per shape (building a statement cost
    as much as running it), and the values of their parameters."""
    params: dict[str, Any] = {"limit": page.size + 1}
    if f.status is not None:
        params["status"] = int(f.status.value)
    if f.procedure_code:
        params["procedure_code"] = f.procedure_code
    if f.received_from:
        params["received_from"] = _zoned(f.received_from, "receivedFrom")
    if f.received_to:
        params["received_to"] = _zoned(f.received_to, "receivedTo")
    if f.assignee:
        params["assignee"] = f.assignee
    if f.due_before:
        params["due_before"] = _zoned(f.due_before, "dueBefore")
    if search_key(f.search):
        params.update(prefix_values("search", search_key(f.search)))
    if f.late is not None:
        params["now"] = now
    if page.cursor is not None:
        params["after_received"], params["after_id"] = _after(page.cursor, page.cursor_field)
    shape = Shape(
        frozenset(params),
        f.late,
        page.cursor is not None,
        scope.kind,
        bool(scope.province_ids),
        page.backward,
    )
    total = _total(shape._replace(after=False, backward=False))
    return _page(shape), total, {**params, **scope_params(scope)}


@functools.lru_cache(maxsize=4608)  # finite: 2^7 filters x 3 late x 2 after x 3 scopes x 2 x 2
def _page(shape: Shape) -> Select:
    """Walks an index backwards and stops after the page. An agency's own dossiers and those
    handed over to it in a UNION ALL, each arm on its own index: one condition with both (an
    OR) would have to sort every dossier of the agency first."""
    back = shape.backward
    if shape.scope != "agencies":
        return _latest(_filtered(shape, bound_scope(Dossier, shape.scope)), back)
    own = _latest(
        _filtered(shape, bound_scope(Dossier, "agencies", "own", provinces=shape.provinces)), back
    ).subquery()
    shared = _latest(
        _filtered(shape, bound_scope(Dossier, "agencies", "shared", provinces=shape.provinces)),
        back,
    ).subquery()
    both = union_all(select(own), select(shared)).subquery()
    order = (both.c.received_at, both.c.id)
    return (
        select(both)
        .order_by(*(order if back else (c.desc() for c in order)))
        .limit(bindparam("limit", type_=Integer))
    )


@functools.lru_cache(maxsize=256)
def _total(shape: Shape) -> Select:
    scope = bound_scope(Dossier, shape.scope, provinces=shape.provinces)
    return select(func.count()).select_from(_filtered(shape, scope).subquery())


def _latest(statement: Select, backward: bool = False) -> Select:
    """The latest first; the oldest first when read backwards (the page turned round after)."""
    order = (col(Dossier.received_at), col(Dossier.id))
    ordered = statement.order_by(*(order if backward else (c.desc() for c in order)))
    return ordered.limit(bindparam("limit", type_=Integer))


def _filtered(shape: Shape, scope: ColumnElement[bool] | None) -> Select:
    given = shape.given
    found: list[ColumnElement[bool]] = [] if scope is None else [scope]
    received_at = col(Dossier.received_at)
    if "status" in given:
        found.append(col(Dossier.status) == bindparam("status"))
    if "procedure_code" in given:
        found.append(col(Dossier.procedure_code) == bindparam("procedure_code"))
    if "received_from" in given:
        found.append(received_at >= bindparam("received_from"))
    if "received_to" in given:
        found.append(received_at < bindparam("received_to"))
    if "assignee" in given:
        found.append(col(Dossier.assignee) == bindparam("assignee"))
    if "due_before" in given:
        found.append(col(Dossier.appointment_at) < bindparam("due_before"))
        found.append(_running())
    if "search_low" in given:
        # "bn00.001-2611" finds "BN00.001-261120-0001": a prefix of the computed `code_folded`,
        # compared so that an index serves it under row-level security
        # The computed column is NULL only before the database fills it.
        folded = cast("ColumnElement[str]", Dossier.code_folded)
        found.append(prefix_match(folded, "search"))
    if shape.late is not None:
        found.append(_late() if shape.late else ~_late())
    if shape.after:
        after = tuple_(
            bindparam("after_received", type_=_TABLE.received_at.type),
            bindparam("after_id"),
        )
        key = tuple_(received_at, col(Dossier.id))
        found.append(key > after if shape.backward else key < after)
    return select(*COLUMNS).where(*found)


def _running() -> ColumnElement[bool]:
    """The clock runs (its statuses as literals, which PostgreSQL's partial index matches)."""
    return col(Dossier.status).in_([literal(s, literal_execute=True) for s in RUNNING])


def _late() -> ColumnElement[bool]:
    # The statuses are rendered as literals so PostgreSQL can match the partial index
    # `ix_dossiers_agency_late` (its predicate: was_late OR status IN RUNNING).
    running = _running()
    appointment_at = col(Dossier.appointment_at)
    now = bindparam("now", type_=_TABLE.appointment_at.type)
    # a clock stop (paused_at) keeps a dossier of a stopping status (6 for land) on time
    stopped = col(Dossier.paused_at).is_not(None)
    overdue = and_(appointment_at.is_not(None), appointment_at < now, running, ~stopped)
    return or_(col(Dossier.was_late), overdue)


def cursor_key(row: Row[Any]) -> list[Any]:
    """The sort key of a page's row: (received_at, id)."""
    return [aware(row.received_at).isoformat(), row.id]


def _after(cursor: str, field: str) -> tuple[dt.datetime, int]:
    received, dossier_id = decode_cursor(cursor, (str, int), field)
    try:
        # In UTC as the database compares it: a moment out of its range is refused here.
        return aware(dt.datetime.fromisoformat(received)).astimezone(dt.UTC), dossier_id
    except (OverflowError, ValueError):
        raise bad_cursor(field) from None


async def fetch(
    session: AsyncSession, statement: Select, params: dict[str, Any], page: Page
) -> tuple[Sequence[Row[Any]], bool]:
    """The page's rows (the latest first) on the session's connection, and whether more lie
    in the direction read: the statement carries the caller's scope (`bound_scope`), so the
    ORM's per-statement criteria (half the time of a page) are not added again. On PostgreSQL
    it runs on the driver connection, compiled once per shape and length of the scope's id
    lists (`driver_rows`: SQLAlchemy's execution was a tenth of the page's CPU)."""
    rows = await driver_rows(session, statement, params)
    taken = rows[: page.size]
    return (taken[::-1] if page.backward else taken), len(rows) > page.size


async def count(session: AsyncSession, statement: Select, params: dict[str, Any]) -> int:
    """The page's total, on the session's connection as `fetch`."""
    [(total,)] = await driver_rows(session, statement, params)
    return int(total)
