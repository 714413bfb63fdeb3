"""Figures from rollups (issue 23): the dossier counters the figures add up, kept per agency,
procedure and local day (and month and year, so a year is 12 or 1 rows, not 365), maintained
in the transaction of every move, read by `figures.figures` instead of the dossier rows.

Two tables (migration 0910): `figure_counters`, one row per (province, grain, day, agency,
procedure) with every counter, and `figure_histograms`, the handling times of the finished
dossiers per the same key and bucket (count and sum), read only for the p90. Both keys lead
with the province and the period: a province's read is one index range per piece of it. Their
sums over the agencies, `province_counters` and `province_histograms` (migration 0925), are
kept by the same statements and read by the groupings above an agency (`read_tables`).

What a dossier adds to the rollups is a pure function of its row (`contribution`):

- at its receipt day (local, Vietnam), if it was accepted (`figures._accepted`): `received`,
  `received_online` (its timeline starts with "registered"), and +1 to `backlog_delta`;
- at its finishing day (`finished_at`), if accepted: -1 to `backlog_delta`; so the backlog at
  a period's end E is the sum of `backlog_delta` over every day before E;
- the days E at whose midnight it is in the backlog *and* late (`figures._late_at_end`): at
  most two ranges of days, written as +1/-1 in `late_delta` the day before each range starts
  and ends, summed like the backlog;
- at its finishing day, if resolved (processed or returned): `finished`, `on_time`, `handled`
  (a handling time is known), `handling_sum` (in 1/10000 working day, what the engine keeps:
  exact), `rated`, `rating_sum`, `satisfied`; and its handling time in the histogram row of
  its `bucket` (`TIERS`). The in-memory counters (`Counters`) keep 0905's key with the bucket
  (-1: not about a handling time); `rows` splits them into the two tables.

A move changes some of the row's columns: the listener adds the contribution of the row after
the move and subtracts the one before it (what the ORM loaded: the first flush of the
transaction records it, `_capture`), with one INSERT … ON CONFLICT DO UPDATE of the rows that
changed (`apply`; on PostgreSQL the histogram's upsert rides in the same statement's WITH).
On PostgreSQL's driver path the move's upserts are CTEs of the move's own batch instead
(`batched`, registered with `listeners.on_batch`): no round trip of their own.
A rating (core/dossiers/service.py) is announced the same way (`listeners.on_update`), merges
of agencies and provinces re-key the rows (tenants/reorganisation.py). `rebuild` recomputes a
province from its dossier rows (on SQLite with the same function, on PostgreSQL with the same
arithmetic in SQL: `rebuild_sql`), which `eiso qms rollups rebuild` runs; the data migration
0905 fills its own layout with the same day rows (`days_sql`), 0910 converts them.

The 90th percentile of the handling time is read from the histogram of the buckets (only the
one or two buckets holding the ranks, found in SQL: `p90_statement`): the
values at the two ranks around 0.9 × (n - 1) are estimated by the mean of their bucket
(exact when a bucket holds one value), then interpolated like percentile_cont. The error is
below the width of the buckets involved: 0.25 working day up to 10 days, 1 day up to 30,
5 days up to 100; above 100 days (one open bucket) it is not bounded (docs/qms.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import operator
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    and_,
    bindparam,
    cast,
    delete,
    event,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.base import NO_VALUE
from sqlmodel import Field, SQLModel

from eiso.core.dossiers import listeners
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.qms import figures
from eiso.core.workdays import VN_TZ
from eiso.infra import pg_driver
from eiso.infra.clock import aware
from eiso.infra.tables import table_of
from eiso.tenants.models import agency_fk
from eiso.tenants.scope import TenantScope, owed_to_province

DAY, MONTH, YEAR = 0, 1, 2  # grains: a row adds up one day, one month or one year
NO_BUCKET = -1
UNITS = 10_000  # handling_sum unit: 1/10000 working day (the engine rounds to 4 decimals)
# (upper bound in units, width in units): the buckets of the handling-time histogram.
TIERS = ((10 * UNITS, UNITS // 4), (30 * UNITS, UNITS), (100 * UNITS, 5 * UNITS))
COUNTERS = (
    "received",
    "received_online",
    "backlog_delta",
    "late_delta",
    "finished",
    "on_time",
    "handled",
    "handling_sum",
    "rated",
    "rating_sum",
    "satisfied",
)
INDEX = {name: i for i, name in enumerate(COUNTERS)}
BINS = ("handled", "handling_sum")  # a histogram row's counters: its handling times, their sum
# Led by the province and the period: a province's read of a period is one index range per
# piece (`pieces`); the nation's reads use ix_figure_*_grain_day.
KEY = ("province_id", "grain", "day", "agency_id", "procedure_code")
BIN_KEY = (*KEY, "bucket")


class ProvinceKey(SQLModel):
    """The key of the province tables' rows: a province's procedure over one day, month or
    year, all its agencies together."""

    province_id: int = Field(sa_type=BigInteger, primary_key=True)
    grain: int = Field(sa_type=SmallInteger, primary_key=True)
    day: dt.date = Field(sa_type=Date, primary_key=True)
    procedure_code: str = Field(sa_type=String(32), primary_key=True)
    handled: int = Field(default=0, sa_type=Integer)
    handling_sum: int = Field(default=0, sa_type=BigInteger)


class RollupKey(ProvinceKey):
    """The key of the agency tables' rows: an agency's procedure over one day, month or year."""

    agency_id: int = Field(sa_type=BigInteger, primary_key=True)


class CounterColumns(SQLModel):
    """The counters besides the handling times (`COUNTERS`)."""

    received: int = Field(default=0, sa_type=Integer)
    received_online: int = Field(default=0, sa_type=Integer)
    backlog_delta: int = Field(default=0, sa_type=Integer)
    late_delta: int = Field(default=0, sa_type=Integer)
    finished: int = Field(default=0, sa_type=Integer)
    on_time: int = Field(default=0, sa_type=Integer)
    rated: int = Field(default=0, sa_type=Integer)
    rating_sum: int = Field(default=0, sa_type=Integer)
    satisfied: int = Field(default=0, sa_type=Integer)


class FigureRollup(CounterColumns, RollupKey, table=True):
    """The counters of one agency's procedure over one day, month or year (`grain`, `day` its
    first day): one row, whatever the handling times (their histogram: `FigureHistogram`)."""

    __tablename__ = "figure_counters"
    __table_args__ = (
        agency_fk("figure_counters"),
        Index("ix_figure_counters_grain_day", "grain", "day", "province_id"),
    )


class FigureHistogram(RollupKey, table=True):
    """The handling times of the dossiers an agency's procedure finished over one day, month
    or year, in one bucket (`TIERS`): how many, and their sum (for the p90 only)."""

    __tablename__ = "figure_histograms"
    __table_args__ = (
        agency_fk("figure_histograms"),
        Index("ix_figure_histograms_grain_day", "grain", "day", "province_id"),
    )

    bucket: int = Field(sa_type=SmallInteger, primary_key=True)


def _province_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["province_id"], ["provinces.id"], name=f"fk_{table}_province")


class ProvinceRollup(CounterColumns, ProvinceKey, table=True):
    """`FigureRollup` summed over the province's agencies (migration 0925): what the groupings
    above an agency read (the province's months, its procedures, the nation's report), a
    250th of the rows for a province of 250 agencies."""

    __tablename__ = "province_counters"
    __table_args__ = (
        _province_fk("province_counters"),
        Index("ix_province_counters_grain_day", "grain", "day", "province_id"),
    )


class ProvinceHistogram(ProvinceKey, table=True):
    """`FigureHistogram` summed over the province's agencies."""

    __tablename__ = "province_histograms"
    __table_args__ = (
        _province_fk("province_histograms"),
        Index("ix_province_histograms_grain_day", "grain", "day", "province_id"),
    )

    bucket: int = Field(sa_type=SmallInteger, primary_key=True)


ROLLUPS = table_of(FigureRollup)
R = ROLLUPS.c
HISTOGRAMS = table_of(FigureHistogram)
H = HISTOGRAMS.c
PROVINCE_ROLLUPS = table_of(ProvinceRollup)
PROVINCE_HISTOGRAMS = table_of(ProvinceHistogram)
TABLES = (ROLLUPS, HISTOGRAMS, PROVINCE_ROLLUPS, PROVINCE_HISTOGRAMS)
PROVINCE_KEY = tuple(k for k in KEY if k != "agency_id")
PROVINCE_BIN_KEY = (*PROVINCE_KEY, "bucket")
# Each table's key and counters; the province tables' rows are the agency tables' summed
# without the agency (`province_rows`, `province_rows_sql`).
LAYOUT: dict[Any, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ROLLUPS: (KEY, COUNTERS),
    HISTOGRAMS: (BIN_KEY, BINS),
    PROVINCE_ROLLUPS: (PROVINCE_KEY, COUNTERS),
    PROVINCE_HISTOGRAMS: (PROVINCE_BIN_KEY, BINS),
}
OF_PROVINCE = {ROLLUPS: PROVINCE_ROLLUPS, HISTOGRAMS: PROVINCE_HISTOGRAMS}


# -- buckets ------------------------------------------------------------------------------------


def bucket_of(units: int) -> int:
    """The bucket of a handling time in 1/10000 working day."""
    first, low = 0, 0
    for high, width in TIERS:
        if units < high:
            return first + (max(units, 0) - low) // width
        first, low = first + (high - low) // width, high
    return first  # the open bucket: 100 days and more


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """[low, high) of a bucket in working days (high is infinite for the open bucket)."""
    first, low = 0, 0
    for high, width in TIERS:
        count = (high - low) // width
        if bucket < first + count:
            start = low + (bucket - first) * width
            return start / UNITS, (start + width) / UNITS
        first, low = first + count, high
    return low / UNITS, math.inf


def p90(histogram: Iterable[tuple[int, int, int]]) -> float | None:
    """percentile_cont(0.9) estimated from (bucket, count, sum in units) rows."""
    rows = sorted((b, n, s) for b, n, s in histogram if n > 0)
    total, seen, around = sum(n for _, n, _ in rows), 0, []
    for _, n, s in rows:
        seen += n
        around.append((n, s, seen))
    return p90_around(around, total)


def p90_around(around: Iterable[tuple[int, int, int]], total: int) -> float | None:
    """percentile_cont(0.9) from the buckets holding the two ranks around 0.9 × (total - 1)
    (or more of them): (count, sum in units, cumulative count up to and with this bucket),
    each bucket's values estimated by their mean. `read` fetches only those buckets."""
    if not total:
        return None
    found = sorted(around, key=lambda r: r[2])

    def value(rank: int) -> float:
        for n, s, upto in found:
            if upto - n <= rank < upto:
                return s / n / UNITS
        raise AssertionError("rank out of range")  # pragma: no cover

    position = figures.P90 * (total - 1)
    low = int(position)
    fraction = position - low
    got = value(low)
    if fraction and low + 1 < total:
        got += fraction * (value(low + 1) - got)
    return got


# -- what one dossier adds ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class State:
    """The columns of a dossier row the figures read."""

    agency_id: int
    procedure_code: str
    status: int
    received_at: dt.datetime | None
    appointment_at: dt.datetime | None
    finished_at: dt.datetime | None
    late_since: dt.datetime | None
    paused_at: dt.datetime | None
    handling_days: float | None
    on_time: bool | None
    rating: int | None

    @classmethod
    def of(cls, row: Any) -> State:
        """From a Dossier or a result row with these columns."""
        return cls(**{name: getattr(row, name) for name in STATE_FIELDS})

    @classmethod
    def before(cls, dossier: Dossier) -> State:
        """The row as the database had it before the changes not yet flushed."""
        committed = inspect(dossier).committed_state
        values = {}
        for name in STATE_FIELDS:
            old = committed.get(name, NO_VALUE)
            values[name] = getattr(dossier, name) if old is NO_VALUE else old
        return cls(**values)


STATE_FIELDS = tuple(field.name for field in dataclasses.fields(State))
Counters = dict[tuple[int, str, dt.date, int], list[int]]  # (agency, procedure, day, bucket)
ONE_DAY = dt.timedelta(days=1)
Range = tuple[dt.date, dt.date | None]  # [first, end) of period ends; None: no end


def local_day(moment: dt.datetime) -> dt.date:
    return aware(moment).astimezone(VN_TZ).date()


def _first_end_at_or_after(moment: dt.datetime) -> dt.date:
    """The first day E whose local midnight is at or after `moment`."""
    local = aware(moment).astimezone(VN_TZ)
    return local.date() if local.time() == dt.time() else local.date() + ONE_DAY


def _union(ranges: list[Range]) -> list[Range]:
    merged: list[Range] = []
    for first, end in sorted(ranges, key=lambda r: r[0]):
        if merged and (merged[-1][1] is None or first <= merged[-1][1]):
            last_first, last_end = merged[-1]
            joined = None if end is None or last_end is None else max(end, last_end)
            merged[-1] = (last_first, joined)
        else:
            merged.append((first, end))
    return merged


def _clip(ranges: list[Range], first: dt.date, end: dt.date | None) -> list[Range]:
    clipped: list[Range] = []
    for lo, hi in ranges:
        lo = max(lo, first)
        hi = end if hi is None else hi if end is None else min(hi, end)
        if hi is None or lo < hi:
            clipped.append((lo, hi))
    return clipped


def contribution(state: State | None, online: bool, into: Counters, sign: int = 1) -> None:
    """Add (`sign` 1) or take away (-1) what the dossier in `state` counts, by day."""
    if state is None:
        return
    agency, procedure = state.agency_id, state.procedure_code

    def add(day: dt.date, bucket: int, counter: str, amount: int = 1) -> None:
        counters = into.setdefault((agency, procedure, day, bucket), [0] * len(COUNTERS))
        counters[INDEX[counter]] += sign * amount

    def ranges(counter: str, found: list[Range]) -> None:
        # the period ends E in [first, end) count it: from the day before `first` on
        for first, end in found:
            add(first - ONE_DAY, NO_BUCKET, counter)
            if end is not None:
                add(end - ONE_DAY, NO_BUCKET, counter, -1)

    finished = None if state.finished_at is None else local_day(state.finished_at)
    if state.status not in figures.NEVER_RECEIVED and state.appointment_at is not None:
        assert state.received_at is not None
        received = local_day(state.received_at)
        add(received, NO_BUCKET, "received")
        if online:
            add(received, NO_BUCKET, "received_online")
        backlog = (received + ONE_DAY, None if finished is None else finished + ONE_DAY)
        ranges("backlog_delta", _clip([(received + ONE_DAY, None)], *backlog))
        late: list[Range] = []
        if state.late_since is not None:
            late.append((local_day(state.late_since) + ONE_DAY, None))
        resumes = None if state.paused_at is None else _first_end_at_or_after(state.paused_at)
        late.append((local_day(state.appointment_at) + ONE_DAY, resumes))
        late = [(lo, hi) for lo, hi in late if hi is None or lo < hi]
        ranges("late_delta", _clip(_union(late), *backlog))
    if finished is not None and state.status in figures.RESOLVED:
        units = None if state.handling_days is None else round(state.handling_days * UNITS)
        bucket = NO_BUCKET if units is None else bucket_of(units)
        add(finished, bucket, "finished")
        if state.on_time is True:
            add(finished, bucket, "on_time")
        if units is not None:
            add(finished, bucket, "handled")
            add(finished, bucket, "handling_sum", units)
        if state.rating is not None:
            add(finished, bucket, "rated")
            add(finished, bucket, "rating_sum", state.rating)
            if state.rating >= figures.SATISFIED_FROM:
                add(finished, bucket, "satisfied")


def starts(day: dt.date) -> tuple[tuple[int, dt.date], ...]:
    return (DAY, day), (MONTH, day.replace(day=1)), (YEAR, dt.date(day.year, 1, 1))


Rows = list[dict[str, Any]]


def by_grain(by_day: Counters) -> dict[tuple[int, dt.date, int, str, int], list[int]]:
    """Counters by day as counters by (grain, first day, agency, procedure, bucket)."""
    rolled: dict[tuple[int, dt.date, int, str, int], list[int]] = {}
    for (agency, procedure, day, bucket), counters in by_day.items():
        if not any(counters):
            continue
        for grain, first in starts(day):
            key = (grain, first, agency, procedure, bucket)
            into = rolled.setdefault(key, [0] * len(COUNTERS))
            for i, amount in enumerate(counters):
                into[i] += amount
    return rolled


def rows(province_id: int, by_day: Counters) -> tuple[Rows, Rows]:
    """The counter rows and the histogram rows (day, month and year) of counters by day and
    bucket, without the empty ones: a counter row adds up every bucket."""
    rolled: dict[tuple[Any, ...], list[int]] = {}
    binned: dict[tuple[Any, ...], list[int]] = {}
    handled, handling_sum = INDEX["handled"], INDEX["handling_sum"]
    for (*key, bucket), counters in by_grain(by_day).items():
        into = rolled.setdefault(tuple(key), [0] * len(COUNTERS))
        for i, amount in enumerate(counters):
            into[i] += amount
        if bucket != NO_BUCKET:
            binned[(*key, bucket)] = [counters[handled], counters[handling_sum]]

    def named(found: dict[tuple[Any, ...], list[int]], names: tuple[str, ...]) -> Rows:
        keys = BIN_KEY[1:] if names is BINS else KEY[1:]
        return [
            {
                "province_id": province_id,
                **dict(zip(keys, key, strict=True)),
                **dict(zip(names, values, strict=True)),
            }
            for key, values in found.items()
            if any(values)
        ]

    return named(rolled, COUNTERS), named(binned, BINS)


def province_rows(values: Rows, table: Any) -> Rows:
    """Rows of an agency table (`ROLLUPS`, `HISTOGRAMS`) summed over the agencies: the rows of
    its province table, without those that add up to nothing."""
    key, names = LAYOUT[OF_PROVINCE[table]]
    summed: dict[tuple[Any, ...], list[int]] = {}
    for row in values:
        into = summed.setdefault(tuple(row[k] for k in key), [0] * len(names))
        for i, name in enumerate(names):
            into[i] += row[name]
    return [
        {**dict(zip(key, k, strict=True)), **dict(zip(names, v, strict=True))}
        for k, v in summed.items()
        if any(v)
    ]


def upsert(dialect: str, values: Rows, table: Any = ROLLUPS) -> Any:
    """One INSERT … ON CONFLICT DO UPDATE that adds `values` to the rows of `table` (any of
    `TABLES`; PostgreSQL, SQLite)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(values)
    return _adding(statement, table)


def _adding(statement: Any, table: Any) -> Any:
    """`statement` (an INSERT) adding its values to the rows already there."""
    key, names = LAYOUT[table]
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in names},
    )


def written(counters: Rows, bins: Rows) -> list[tuple[Any, Rows]]:
    """A move's rows for each of `TABLES`, in that order: the agency rows and their sums over
    the agencies (empty where they add up to nothing)."""
    return [
        (ROLLUPS, counters),
        (HISTOGRAMS, bins),
        (PROVINCE_ROLLUPS, province_rows(counters, ROLLUPS)),
        (PROVINCE_HISTOGRAMS, province_rows(bins, HISTOGRAMS)),
    ]


def _together(statements: list[Any], tables: list[Any]) -> Any:
    """PostgreSQL: the upserts as one statement (the others in the first one's WITH), so a
    move keeps its round trips."""
    first, *others = statements
    for table, other in zip(tables[1:], others, strict=True):
        first = first.add_cte(other.cte(f"{table.name}_added"))
    return first


def upserts(dialect: str, counters: Rows, bins: Rows) -> list[Any]:
    """The statements that add the rows to the agency tables and their sums to the province
    tables, with the rows as VALUES: on PostgreSQL one, on SQLite one per table."""
    wanted = [(table, values) for table, values in written(counters, bins) if values]
    statements = [upsert(dialect, values, table) for table, values in wanted]
    if dialect != "postgresql" or len(statements) < 2:
        return statements
    return [_together(statements, [table for table, _ in wanted])]


def _columns_of(table: Any) -> tuple[str, ...]:
    key, names = LAYOUT[table]
    return (*key, *names)


def _unnested(table: Any) -> Any:
    """PostgreSQL: the upsert of `table` reading its rows from one array per column
    (`unnest`), bound as `<table>_<column>`. A multi-row VALUES has no SQLAlchemy cache key
    and was compiled again for every move; this statement is one for any number of rows."""
    names = _columns_of(table)
    arrays = [
        bindparam(f"{table.name}_{name}", type_=postgresql.ARRAY(table.c[name].type))
        for name in names
    ]
    rows = func.unnest(*arrays).table_valued(*names).render_derived()
    statement = postgresql.insert(table).from_select(list(names), select(*rows.c))
    return _adding(statement, table)


@functools.cache
def _unnested_together(present: tuple[bool, ...]) -> Any:
    """PostgreSQL's one statement of a move's rows, for the `TABLES` that have rows (`present`,
    in their order): built and compiled once per shape."""
    tables = [table for table, there in zip(TABLES, present, strict=True) if there]
    return _together([_unnested(table) for table in tables], tables)


def _arrays(table: Any, values: Rows) -> dict[str, list[Any]]:
    # Rows to columns in C (`itemgetter`, `zip`): a comprehension per column was a top leaf
    # of a move's profile (issue 18).
    names = _columns_of(table)
    if not values:
        return {f"{table.name}_{n}": [] for n in names}
    pick = operator.itemgetter(*names)
    rows = [pick(row) for row in values] if len(names) > 1 else [(pick(row),) for row in values]
    columns = zip(*rows, strict=True)  # every row has every column
    return {f"{table.name}_{n}": list(c) for n, c in zip(names, columns, strict=True)}


@functools.cache
def _unnested_apart(present: tuple[bool, ...]) -> tuple[tuple[str, Any], ...]:
    """`_unnested_together`'s upserts apart, named, to join a move's batch as its CTEs
    (`batched`; PostgreSQL allows a data-modifying WITH only at the top level)."""
    tables = [table for table, there in zip(TABLES, present, strict=True) if there]
    return tuple((f"{table.name}_added", _unnested(table)) for table in tables)


def _unnested_values(counters: Rows, bins: Rows) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """PostgreSQL: which of `TABLES` the rows write, and their arrays (`_unnested`'s names)."""
    tables = written(counters, bins)
    parameters = {k: v for t, values in tables if values for k, v in _arrays(t, values).items()}
    return tuple(bool(values) for _, values in tables), parameters


def _allowed(session: AsyncSession, province_id: int, written: Rows) -> bool:
    scope: TenantScope | None = session.sync_session.info.get("scope")
    return scope is None or all(scope.allows(province_id, r["agency_id"]) for r in written)


async def apply(session: AsyncSession, province_id: int, by_day: Counters) -> None:
    counters, bins = rows(province_id, by_day)
    if not counters and not bins:
        return
    if session.get_bind().dialect.name == "postgresql":
        present, parameters = _unnested_values(counters, bins)
        statements = [_unnested_together(present)]
    else:
        statements, parameters = upserts("sqlite", counters, bins), {}
    if _allowed(session, province_id, counters + bins):
        await _execute(session, statements, parameters)
        return
    # A dossier handed over to the caller's agency: its figures stay its owner's.
    async with owed_to_province(session, province_id):
        await _execute(session, statements, parameters)


async def _execute(
    session: AsyncSession, statements: list[Any], parameters: dict[str, Any]
) -> None:
    """The statements on the driver connection of the transaction where there is one
    (PostgreSQL, not Citus: infra/pg_driver.py; the statement is built once), else through the
    session."""
    on_driver = bool(parameters) and await pg_driver.driver(session) is not None
    for statement in statements:
        if on_driver:
            await pg_driver.run(session, statement, parameters)
        else:
            await session.execute(statement, parameters)


# -- maintained with the moves ------------------------------------------------------------------

_SEEN = "figure_rollups.seen"  # session.info: (province_id, id) → the State the rollups hold
# session.info: the dossiers whose change a move's batch wrote (`batched`): a receipt's listener
# then starts from the state held, not from nothing.
_JOINED = "figure_rollups.joined"


def _seen(session: Session) -> dict[tuple[int, int], State]:
    return session.info.setdefault(_SEEN, {})


@event.listens_for(Session, "before_flush")
def _capture(session: Session, flush_context: Any, instances: Any) -> None:
    """The first flush of a dossier's changes in a transaction: its row before them."""
    seen = None
    for obj in session.dirty:
        if isinstance(obj, Dossier) and obj.id is not None:
            seen = _seen(session) if seen is None else seen
            seen.setdefault((obj.province_id, obj.id), State.before(obj))


def _remember(session: Session | None, dossier: Dossier) -> None:
    """The row as read from the database, before the transaction changes it: a move writes its
    changes with a Core UPDATE (core/dossiers/engine.py `_write_dossier`), which no flush sees.
    Only a row read whole (a page's partial rows are not moved)."""
    loaded = inspect(dossier).dict
    if session is None or dossier.id is None or any(n not in loaded for n in STATE_FIELDS):
        return
    key = (loaded["province_id"], dossier.id) if "province_id" in loaded else None
    if key is not None:
        _seen(session).setdefault(key, State(**{n: loaded[n] for n in STATE_FIELDS}))


@event.listens_for(Dossier, "load")
def _loaded(dossier: Dossier, context: Any) -> None:
    _remember(context.session, dossier)


@event.listens_for(Dossier, "refresh")
def _refreshed(dossier: Dossier, context: Any, attrs: Any) -> None:
    if attrs is None:
        _remember(context.session, dossier)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only the real transaction: a savepoint's end (a nonconformity added in one) keeps them.
    if transaction.parent is None:
        session.info.pop(_SEEN, None)
        session.info.pop(_JOINED, None)


def _delta(
    session: AsyncSession, dossier: Dossier, created: bool, online: bool
) -> tuple[State, Counters | None]:
    """The row as it is now, and what the rollups must add for the change since the state
    they hold (None: nothing changed)."""
    key = (dossier.province_id, dossier.id)
    before = None if created else _seen(session.sync_session).get(key) or State.before(dossier)
    after = State.of(dossier)
    if before == after:
        return after, None
    by_day: Counters = {}
    contribution(before, online, by_day, -1)
    contribution(after, online, by_day)
    return after, by_day


async def _changed(session: AsyncSession, dossier: Dossier, created: bool, online: bool) -> None:
    if created and (dossier.province_id, dossier.id) in session.info.get(_JOINED, ()):
        created = False  # its receipt's contribution went with the batch (`batched`)
    after, by_day = _delta(session, dossier, created, online)
    _seen(session.sync_session)[dossier.province_id, dossier.id] = after
    if by_day is not None:
        await apply(session, dossier.province_id, by_day)


async def after_transition(
    session: AsyncSession, dossier: Dossier, *, action: str, from_status: int | None, actor: str
) -> None:
    """Listener of every move (core/dossiers/listeners.py). Only the acceptance of a dossier
    filed online (from `new`) makes an online dossier count as received: the flag matters
    only when the dossier starts counting, and cancels out on every other move. After
    `batched` wrote the move's change, it finds nothing left (a listener before it that
    changed the row: the difference)."""
    await _changed(session, dossier, from_status is None, from_status == Status.new)


def batched(
    session: AsyncSession, dossier: Dossier, *, from_status: int | None
) -> listeners.Batched | None:
    """The move's upserts joined to its batch (PostgreSQL's driver path: the engine asks only
    there), the four tables' as four CTEs, instead of a statement of their own: the change
    since the state held, as `after_transition` computes it, held once the batch succeeded.
    None (the listener's path) where nothing changed, and for the figures a handed-over
    dossier's move owes its owner (`owed_to_province` needs statements of its own)."""
    created, online = from_status is None, from_status == Status.new
    after, by_day = _delta(session, dossier, created, online)
    if by_day is None:
        return None
    province_id = dossier.province_id
    counters, bins = rows(province_id, by_day)
    if not (counters or bins) or not _allowed(session, province_id, counters + bins):
        return None
    present, parameters = _unnested_values(counters, bins)

    def done() -> None:
        _seen(session.sync_session)[province_id, dossier.id] = after
        session.info.setdefault(_JOINED, set()).add((province_id, dossier.id))

    return listeners.Batched(_unnested_apart(present), parameters, done)


async def after_update(session: AsyncSession, dossier: Dossier, *, action: str) -> None:
    """Listener of the changes that are not moves (a rating)."""
    await _changed(session, dossier, False, False)


async def after_agencies_merged(
    session: AsyncSession, province_id: int, into_id: int, merged: list[int], by: str
) -> None:
    """The merged agencies' rows are added to the new agency's (in SQL), then deleted; the
    province's rows stay as they are."""
    for table in (ROLLUPS, HISTOGRAMS):
        c = table.c
        await _moved(
            session,
            table,
            [c.province_id == province_id, c.agency_id.in_(merged)],
            "agency_id",
            into_id,
        )


async def after_provinces_merged(session: AsyncSession, into_id: int, from_id: int) -> None:
    """The agencies keep their ids: their rows only change province; the province rows are
    added to those of the province merged into."""
    for table in (ROLLUPS, HISTOGRAMS):
        await session.execute(
            update(table).where(table.c.province_id == from_id).values(province_id=into_id)
        )
    for table in (PROVINCE_ROLLUPS, PROVINCE_HISTOGRAMS):
        await _moved(session, table, [table.c.province_id == from_id], "province_id", into_id)


async def _moved(
    session: AsyncSession, table: Any, where: list[Any], column: str, value: int
) -> None:
    """The rows `where` names added to those with `column` = `value` instead (summed per key in
    SQL), then deleted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key, names = LAYOUT[table]
    c = table.c
    others = [c[name] for name in key if name != column]
    summed = (
        select(
            literal(value, BigInteger).label(column),
            *others,
            *(func.sum(c[name]).label(name) for name in names),
        )
        .where(*where)
        .group_by(*others)
    )
    columns = [column, *(o.name for o in others), *names]
    await session.execute(_adding(insert(table).from_select(columns, summed), table))
    await session.execute(delete(table).where(*where))


# -- rebuilt from the rows ----------------------------------------------------------------------


def rows_statement(province_id: int) -> Any:
    """The state of every dossier of the province, and whether it was filed online."""
    events = figures.EVENTS
    online = select(events.c.province_id, events.c.dossier_id).where(
        events.c.province_id == province_id, events.c.action == figures.ONLINE_ACTION
    )
    t = figures.T
    return select(
        *(t[name] for name in STATE_FIELDS),
        tuple_(t.province_id, t.id).in_(online).label("online"),
    ).where(t.province_id == province_id)


def counters_of(found: Iterable[Any]) -> Counters:
    by_day: Counters = {}
    for row in found:
        contribution(State.of(row), bool(row.online), by_day)
    return by_day


def _bucket_sql(units: str) -> str:
    """`bucket_of` in SQL."""
    arms, first, low = [], 0, 0
    for high, width in TIERS:
        arms.append(
            f"WHEN {units} < {high} THEN {first} + (greatest({units}, 0) - {low}) / {width}"
        )
        first, low = first + (high - low) // width, high
    return f"CASE {' '.join(arms)} ELSE {first} END"


def _day_sql(column: str) -> str:
    return f"({column} AT TIME ZONE INTERVAL '+07:00')::date"  # VN_TZ, no daylight saving


_ZEROS = ", ".join(["0"] * len(COUNTERS))


def _counters(**values: str) -> str:
    return ", ".join(values.get(name, "0") for name in COUNTERS)


def days_sql(only: str) -> str:
    """`contribution` for every dossier `only` names, on PostgreSQL: the WITH clause whose last
    query `g` has the counters of each (pr, a, p, day, bucket), the old rollups' key (0905).
    The late ranges are added up by inclusion-exclusion (L1 ∩ W + L2 ∩ W - L1 ∩ L2 ∩ W): the
    same sums as the union `contribution` writes."""
    return f"""
WITH d AS (
    SELECT province_id AS pr, agency_id AS a, procedure_code AS p, status AS s,
           {_day_sql("received_at")} AS rd, {_day_sql("finished_at")} AS fd,
           {_day_sql("appointment_at")} AS ad, {_day_sql("late_since")} AS ld,
           ((paused_at AT TIME ZONE INTERVAL '+07:00') - interval '1 microsecond')::date + 1
               AS pd,
           status NOT IN {figures.NEVER_RECEIVED} AND appointment_at IS NOT NULL AS acc,
           round(handling_days * {UNITS})::bigint AS u, on_time, rating,
           (province_id, id) IN (SELECT province_id, dossier_id FROM dossier_events
                                 WHERE {only} AND action = 'registered')
               AS online
    FROM dossiers WHERE {only}
), r AS (
    SELECT pr, a, p, greatest(ld + 1, rd + 1) AS lo, fd + 1 AS hi, 1 AS sg
      FROM d WHERE acc AND ld IS NOT NULL
    UNION ALL SELECT pr, a, p, greatest(ad + 1, rd + 1), least(pd, fd + 1), 1 FROM d WHERE acc
    UNION ALL SELECT pr, a, p, greatest(ld + 1, ad + 1, rd + 1), least(pd, fd + 1), -1
      FROM d WHERE acc AND ld IS NOT NULL
), e (pr, a, p, day, bucket, {", ".join(COUNTERS)}) AS (
    SELECT pr, a, p, rd, {NO_BUCKET}, {
        _counters(received="1", received_online="online::int", backlog_delta="1")
    } FROM d WHERE acc
    UNION ALL SELECT pr, a, p, greatest(fd, rd), {NO_BUCKET}, {_counters(backlog_delta="-1")}
      FROM d WHERE acc AND fd IS NOT NULL
    UNION ALL SELECT pr, a, p, lo - 1, {NO_BUCKET}, {_counters(late_delta="sg")}
      FROM r WHERE hi IS NULL OR lo < hi
    UNION ALL SELECT pr, a, p, hi - 1, {NO_BUCKET}, {_counters(late_delta="-sg")}
      FROM r WHERE lo < hi
    UNION ALL SELECT pr, a, p, fd, CASE WHEN u IS NULL THEN {NO_BUCKET} ELSE {_bucket_sql("u")} END,
      {
        _counters(
            finished="1",
            on_time="(on_time IS TRUE)::int",
            handled="(u IS NOT NULL)::int",
            handling_sum="coalesce(u, 0)",
            rated="(rating IS NOT NULL)::int",
            rating_sum="coalesce(rating, 0)",
            satisfied=f"(coalesce(rating, 0) >= {figures.SATISFIED_FROM})::int",
        )
    }
      FROM d WHERE fd IS NOT NULL AND s IN {figures.RESOLVED}
), g AS (
    SELECT pr, a, p, day, bucket, {", ".join(f"sum({c}) AS {c}" for c in COUNTERS)}
    FROM e GROUP BY pr, a, p, day, bucket
)"""


def rebuild_sql(one_province: bool = True) -> tuple[str, ...]:
    """`contribution` for every dossier of a province (`:province`), or of every province in
    one pass over the dossiers, on PostgreSQL: the day rows (the histogram's written by the
    counters' statement, in its WITH), then the month and year rows from them."""
    only = "province_id = :province" if one_province else "true"
    return (
        days_sql(only)
        + f""", bins AS (
    INSERT INTO figure_histograms ({", ".join(BIN_KEY)}, {", ".join(BINS)})
    SELECT pr, {DAY}, day, a, p, bucket, {", ".join(BINS)} FROM g
    WHERE bucket <> {NO_BUCKET} AND ({" OR ".join(f"{c} <> 0" for c in BINS)})
)
INSERT INTO figure_counters ({", ".join(KEY)}, {", ".join(COUNTERS)})
SELECT pr, {DAY}, day, a, p, {", ".join(f"sum({c})" for c in COUNTERS)}
FROM g GROUP BY pr, a, p, day
HAVING {" OR ".join(f"sum({c}) <> 0" for c in COUNTERS)}
""",
        *rolled_up_sql("figure_counters", KEY, COUNTERS, only),
        *rolled_up_sql("figure_histograms", BIN_KEY, BINS, only),
        *province_rows_sql(only),
    )


def province_rows_sql(only: str) -> list[str]:
    """The province tables' rows of the provinces `only` names from the agency tables' rows (a
    GROUP BY, no dossier read: `eiso qms rollups rebuild`, migration 0925; SQLite, PostgreSQL,
    Citus), written in key order."""
    found = []
    for table in (ROLLUPS, HISTOGRAMS):
        key, names = LAYOUT[OF_PROVINCE[table]]
        columns = ", ".join(key)
        found.append(
            f"INSERT INTO {OF_PROVINCE[table].name} ({columns}, {', '.join(names)}) "
            f"SELECT {columns}, {', '.join(f'sum({c})' for c in names)} FROM {table.name} "
            f"WHERE {only} GROUP BY {columns} "
            f"HAVING {' OR '.join(f'sum({c}) <> 0' for c in names)} ORDER BY {columns}"
        )
    return found


def rolled_up_sql(table: str, key: tuple[str, ...], names: tuple[str, ...], only: str) -> list[str]:
    """The month and year rows of `table` (its key `key`, its counters `names`) from its day
    rows, on PostgreSQL."""
    return [_rolled_up_sql(table, key, names, grain, unit, only) for grain, unit in GRAINS]


GRAINS = ((MONTH, "month"), (YEAR, "year"))


def _rolled_up_sql(
    table: str, key: tuple[str, ...], names: tuple[str, ...], grain: int, unit: str, only: str
) -> str:
    first = f"date_trunc('{unit}', day)::date"
    others = ", ".join(k for k in key if k not in ("province_id", "grain", "day"))
    return f"""
INSERT INTO {table} (province_id, grain, day, {others}, {", ".join(names)})
SELECT province_id, {grain}, {first}, {others}, {", ".join(f"sum({c})" for c in names)}
FROM {table} WHERE {only} AND grain = {DAY}
GROUP BY province_id, {first}, {others}
HAVING {" OR ".join(f"sum({c}) <> 0" for c in names)}
"""


async def rebuild(session: AsyncSession, province_id: int) -> int:
    """Recompute one province's rollups from its dossier rows (idempotent); the counter rows
    written. PostgreSQL computes them in SQL (`rebuild_sql`), SQLite through `contribution`."""
    for table in TABLES:
        await session.execute(delete(table).where(table.c.province_id == province_id))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        written = 0
        for statement in rebuild_sql():
            result = await session.execute(text(statement), {"province": province_id})
            if "INSERT INTO figure_counters" in statement:
                written += result.rowcount  # type: ignore[attr-defined]
        return written
    found = (await session.execute(rows_statement(province_id))).all()
    counters, bins = rows(province_id, counters_of(found))
    for table, values in ((ROLLUPS, counters), (HISTOGRAMS, bins)):
        for start in range(0, len(values), 2000):
            await session.execute(upsert(dialect, values[start : start + 2000], table))
    for statement in province_rows_sql("province_id = :province"):
        await session.execute(text(statement), {"province": province_id})
    return len(counters)


# -- read ---------------------------------------------------------------------------------------

FIRST_DAY = dt.date(1900, 1, 1)
GROUP_KEYS: dict[figures.Group, tuple[str, ...]] = {
    figures.Group.nation: (),
    figures.Group.province: ("province_id",),
    figures.Group.agency: ("province_id", "agency_id"),
    figures.Group.procedure: ("procedure_code",),
}
IN_PERIOD = tuple(name for name in COUNTERS if "delta" not in name)
AT_END = ("backlog_delta", "late_delta")  # summed over every day before the period's end


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def pieces(start: dt.date, end: dt.date) -> list[tuple[int, dt.date, dt.date]]:
    """The days [start, end) as (grain, first, end) ranges of rows: whole years as year rows,
    whole months as month rows, the rest as day rows."""
    found = []
    day = start
    while day < end:
        if (day.month, day.day) == (1, 1) and dt.date(day.year + 1, 1, 1) <= end:
            upto, grain = dt.date(end.year, 1, 1), YEAR
        elif day.day == 1 and _next_month(day) <= end:
            upto, grain = min(end.replace(day=1), dt.date(day.year + 1, 1, 1)), MONTH
        else:
            upto, grain = min(end, _next_month(day)), DAY
        found.append((grain, day, upto))
        day = upto
    return found


def covering(start: dt.date, end: dt.date, c: Any = R) -> Any:
    """The rows of the days [start, end) in table columns `c`: one (grain, day) index range
    per piece."""
    return or_(
        *(and_(c.grain == grain, c.day >= lo, c.day < hi) for grain, lo, hi in pieces(start, end))
    )


def _int(value: Any) -> int:
    return int(value or 0)


def _where(c: Any, scope: TenantScope, narrow: figures.Filter) -> list[Any]:
    return [figures.scope_filter(scope, c), *narrow.where(c)]


def _one_statement(selects: list[Any]) -> Any:
    return selects[0] if len(selects) == 1 else union_all(*selects)


Piece = tuple[int, dt.date, dt.date]  # (grain, first, end) of rows


def _wanted(period: figures.Period) -> tuple[list[Piece], list[Piece]]:
    """The rows of the period's days, and those of every day before its end (the backlog)."""
    return pieces(period.start, period.end), pieces(FIRST_DAY, period.end)


def read_tables(
    scope: TenantScope, group: figures.Group, narrow: figures.Filter
) -> tuple[Any, Any]:
    """The columns of the counters' table and of the histogram's a read sums: the province
    tables for the groupings above an agency (the province's months, its procedures, the
    nation's report), the agency tables for a grouping by agency, a filter on one and a scope
    of agencies."""
    by_agency = scope.kind == "agencies" or narrow.agency_id is not None
    if by_agency or "agency_id" in GROUP_KEYS[group]:
        return R, H
    return PROVINCE_ROLLUPS.c, PROVINCE_HISTOGRAMS.c


def counters_statement(
    scope: TenantScope,
    periods: list[figures.Period],
    group: figures.Group,
    narrow: figures.Filter,
) -> Any:
    """The counters summed in SQL per group and (grain, day), over the rows every period needs
    (each row read once however many periods need it: the dashboard's twelve months share
    their month rows); `read_many` adds them up per period."""
    c, _ = read_tables(scope, group, narrow)
    keys = [c[name] for name in GROUP_KEYS[group]]
    wanted = sorted({piece for period in periods for part in _wanted(period) for piece in part})
    return (
        select(
            *keys, c.grain, c.day, *(func.sum(c[name]).label(name) for name in IN_PERIOD + AT_END)
        )
        .where(
            *_where(c, scope, narrow),
            or_(*(and_(c.grain == grain, c.day >= lo, c.day < hi) for grain, lo, hi in wanted)),
        )
        .group_by(*keys, c.grain, c.day)
    )


def _within(grain: int, day: dt.date, found: list[Piece]) -> bool:
    return any(g == grain and lo <= day < hi for g, lo, hi in found)


def p90_statement(
    scope: TenantScope,
    periods: list[figures.Period],
    group: figures.Group,
    narrow: figures.Filter,
    total: bool = False,
) -> Any:
    """Per period and group, only the histogram's buckets that hold the two ranks around
    0.9 × (n - 1) (`p90_around`): the buckets summed in SQL, their running counts by a window,
    and the ranks compared in whole numbers (10 × upto > 9 × (n - 1), P90 being 0.9). With
    `total`, also those of all the groups together (`whole` 1), from the same scan."""
    assert figures.P90 == 0.9
    names = GROUP_KEYS[group]
    _, h = read_tables(scope, group, narrow)
    selects = [
        select(
            literal(i, Integer).label("period"),
            *(h[name] for name in names),
            h.bucket,
            func.sum(h.handled).label("n"),
            func.sum(h.handling_sum).label("s"),
        )
        .where(*_where(h, scope, narrow), covering(period.start, period.end, h))
        .group_by(*(h[name] for name in names), h.bucket)
        for i, period in enumerate(periods)
    ]
    binned = _one_statement(selects).cte("binned")
    b = binned.c
    parts = [
        select(
            b.period, literal(0, Integer).label("whole"), *(b[k] for k in names), b.bucket, b.n, b.s
        )
    ]
    if total:
        parts.append(
            select(
                b.period,
                literal(1, Integer).label("whole"),
                *(cast(null(), h[k].type).label(k) for k in names),
                b.bucket,
                func.sum(b.n).label("n"),
                func.sum(b.s).label("s"),
            ).group_by(b.period, b.bucket)
        )
    both = _one_statement(parts).subquery("both")
    c = both.c
    part = [c.period, c.whole, *(c[name] for name in names)]
    ranked = (
        select(
            *part,
            c.n,
            c.s,
            func.sum(c.n).over(partition_by=part, order_by=c.bucket).label("upto"),
            func.sum(c.n).over(partition_by=part).label("total"),
        )
        .where(c.n > 0)
        .subquery("ranked")
    )
    k = ranked.c
    return select(ranked).where(
        10 * k.upto > 9 * (k.total - 1), 10 * (k.upto - k.n - 1) <= 9 * (k.total - 1)
    )


async def read_many(
    session: AsyncSession,
    scope: TenantScope,
    periods: list[figures.Period],
    group: figures.Group,
    narrow: figures.Filter,
    total: bool = False,
) -> list[dict[figures.Key, figures.Figures]]:
    """The dossier numbers of `figures.figures` for each of `periods`, from the rollups: two
    statements whatever the number of periods, a few rows per group and period. With `total`
    (a grouping by province or agency), also all the groups together, under the key ()."""
    group = figures.Group(group)
    n = len(GROUP_KEYS[group])
    totals: list[dict[figures.Key, dict[str, int]]] = [{} for _ in periods]
    wanted = [_wanted(period) for period in periods]
    roles: dict[tuple[int, dt.date], list[tuple[int, bool, bool]]] = {}  # by (grain, day)
    for r in await session.execute(counters_statement(scope, periods, group, narrow)):
        key, grain, day = tuple(r[:n]), r[n], r[n + 1]
        values = [_int(v) for v in r[n + 2 :]]
        if (grain, day) not in roles:
            roles[grain, day] = [
                (i, _within(grain, day, inside), _within(grain, day, before_end))
                for i, (inside, before_end) in enumerate(wanted)
            ]
        for i, is_inside, is_before_end in roles[grain, day]:
            if not (is_inside or is_before_end):
                continue
            for into_key in (key, ()) if total else (key,):
                into = totals[i].setdefault(into_key, dict.fromkeys(IN_PERIOD + AT_END, 0))
                for name, value in zip(IN_PERIOD + AT_END, values, strict=True):
                    if is_before_end if name in AT_END else is_inside:
                        into[name] += value
    around: list[dict[figures.Key, list[tuple[int, int, int]]]] = [{} for _ in periods]
    counted: dict[tuple[int, figures.Key], int] = {}
    for r in await session.execute(p90_statement(scope, periods, group, narrow, total)):
        key = () if r.whole else tuple(r[2 : n + 2])
        around[r[0]].setdefault(key, []).append((_int(r.n), _int(r.s), _int(r.upto)))
        counted[r[0], key] = _int(r.total)
    found: list[dict[figures.Key, figures.Figures]] = []
    for i, by_key in enumerate(totals):
        found.append(
            {
                key: _figures(key, t, p90_around(around[i].get(key, []), counted.get((i, key), 0)))
                for key, t in by_key.items()
                # nothing counted: the rows would not name this group either
                if t["received"] or t["finished"] or t["backlog_delta"]
            }
        )
    return found


async def read(
    session: AsyncSession,
    scope: TenantScope,
    period: figures.Period,
    group: figures.Group,
    narrow: figures.Filter,
) -> dict[figures.Key, figures.Figures]:
    """The dossier numbers of `figures.figures` for one period (`read_many`)."""
    return (await read_many(session, scope, [period], group, narrow))[0]


def _figures(key: figures.Key, t: Mapping[str, int], p90_days: float | None) -> figures.Figures:
    return figures.Figures(
        key=key,
        received=t["received"],
        received_online=t["received_online"],
        finished=t["finished"],
        on_time=t["on_time"],
        finished_late=t["finished"] - t["on_time"],
        backlog=t["backlog_delta"],
        backlog_late=t["late_delta"],
        mean_days=_ratio(t["handling_sum"], t["handled"] * UNITS),
        p90_days=figures.rounded(p90_days),
        rating_count=t["rated"],
        rating_mean=_ratio(t["rating_sum"], t["rated"]),
        satisfied=t["satisfied"],
    )


def _ratio(total: int, count: int) -> float | None:
    return figures.rounded(total / count) if count else None
