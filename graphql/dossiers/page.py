"""One page of the `dossiers` list, kept cheap on a million rows: the latest received first,
keyset-paged on (received_at, id) so each filter walks an index of migration
0520_dossier_indexes backwards and stops after `first + 1` rows (only leakproof operators
can use an index under row-level security: =, <, row comparisons); only the columns a
`DossierNode` shows are read; the total is counted only when the query asks for it."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import and_, func, literal, or_, select, tuple_
from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

from eiso.core.dossiers.engine import _aware
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import CLOCK_RUNS
from eiso.core.errors import DomainError
from eiso.graphql.connections import decode_cursor
from eiso.infra.index_conditions import prefix_match
from eiso.infra.text import fold
from eiso.tenants.scope import OWN_ROWS, SHARED_ONLY, scope_of

# What DossierNode reads; the personal data (applicant) and the JSON columns stay in the table.
COLUMNS = (Dossier.province_id, Dossier.id, Dossier.code, Dossier.procedure_code, Dossier.status,
           Dossier.current_step, Dossier.assignee, Dossier.received_at, Dossier.appointment_at,
           Dossier.was_late, Dossier.supplement_count, Dossier.version)
# Statuses whose clock runs (engine.is_overdue): past the appointment, such a dossier is late.
RUNNING = tuple(sorted(int(s) for s in CLOCK_RUNS))


def late_condition(now: dt.datetime):
    # The statuses are rendered as literals so PostgreSQL can match the partial index
    # `ix_dossiers_agency_late` (its predicate: was_late OR status IN RUNNING).
    running = Dossier.status.in_([literal(s, literal_execute=True) for s in RUNNING])
    overdue = and_(Dossier.appointment_at.is_not(None), Dossier.appointment_at < now, running)
    return or_(Dossier.was_late, overdue)


def search_condition(search: str):
    """A code or its beginning, ignoring case and diacritics ("bn00.001-2611" finds
    "BN00.001-261120-0001"): a prefix of the computed `code_folded`, compared so that an
    index serves it under row-level security (infra/index_conditions.py)."""
    return prefix_match(Dossier.code_folded, search_key(search))


def search_key(search: str | None) -> str:
    """What the search compares: folded, without NUL (no text in PostgreSQL holds one)."""
    return fold(search or "").replace("\x00", "")


def conditions(f, now: dt.datetime) -> list:
    found = []
    if f.status is not None:
        found.append(Dossier.status == int(f.status))
    if f.procedure_code:
        found.append(Dossier.procedure_code == f.procedure_code)
    if f.received_from:
        found.append(Dossier.received_at >= f.received_from)
    if f.received_to:
        found.append(Dossier.received_at < f.received_to)
    if search_key(f.search):
        found.append(search_condition(f.search))
    if f.late is not None:
        late = late_condition(now)
        found.append(late if f.late else ~late)
    return found


def cursor_key(row) -> list:
    return [_aware(row.received_at).isoformat(), row.id]


def _after(cursor: str) -> tuple[dt.datetime, int]:
    received, dossier_id = decode_cursor(cursor, 2)
    try:
        return _aware(dt.datetime.fromisoformat(received)), int(dossier_id)
    except (TypeError, ValueError):
        raise DomainError("`after` is not a cursor from this list",
                          "`after` không phải con trỏ của danh sách này") from None


async def fetch(session, statement, first: int, after: str | None):
    if after is not None:
        received, dossier_id = _after(after)
        statement = statement.where(tuple_(Dossier.received_at, Dossier.id) < tuple_(received, dossier_id))
    statement = statement.order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(first + 1)
    scope = scope_of(session)
    if scope.kind != "agencies":
        rows = list((await session.execute(statement)).all())
    else:
        rows = await _agency_rows(session, statement)
    return rows[:first], len(rows) > first


async def _agency_rows(session, statement) -> list:
    """An agency's own dossiers walk its index in order and stop after the page; the dossiers
    handed over to it are few and come in a second query. One query with both (an OR) would
    have to sort every dossier of the agency first."""
    own = (await session.execute(statement.execution_options(**OWN_ROWS))).all()
    handed = (await session.execute(statement.execution_options(**SHARED_ONLY))).all()
    if not handed:
        return list(own)
    return sorted([*own, *handed], key=lambda row: (_aware(row.received_at), row.id), reverse=True)


async def count(session, statement) -> int:
    return (await session.execute(select(func.count()).select_from(statement.subquery()))).scalar_one()


def _names(selections: list[Selection]):
    for selection in selections:
        if isinstance(selection, (InlineFragment, FragmentSpread)):
            yield from _names(selection.selections)
        else:
            yield selection.name


def wants_total(info: strawberry.Info) -> bool:
    """Whether this `dossiers` field asks for totalCount (a COUNT over the filter)."""
    return any("totalCount" in _names(field.selections) for field in info.selected_fields)
