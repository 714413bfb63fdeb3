"""Figures from rollups (issue 23): the dossier counters the figures add up, kept per agency,
procedure and local day (and month and year, so a year is 12 or 1 rows, not 365), maintained
in the transaction of every move, read by `figures.figures` instead of the dossier rows.

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
  exact), `rated`, `rating_sum`, `satisfied`, in the row of its handling time's `bucket`
  (`BUCKETS`); everything else in bucket -1.

A move changes some of the row's columns: the listener adds the contribution of the row after
the move and subtracts the one before it (what the ORM loaded: the first flush of the
transaction records it, `_capture`), with one INSERT … ON CONFLICT DO UPDATE of the rows that
changed (`apply`). A rating (core/dossiers/service.py) is announced the same way
(`listeners.on_update`), merges of agencies and provinces re-key the rows
(tenants/reorganisation.py). `rebuild` recomputes a province from its dossier rows (on SQLite
with the same function, on PostgreSQL with the same arithmetic in SQL:
`rebuild_sql`), which `eiso qms rollups rebuild` and the data migration 0905 run.

The 90th percentile of the handling time is read from the histogram of the buckets: the
values at the two ranks around 0.9 × (n - 1) are estimated by the mean of their bucket
(exact when a bucket holds one value), then interpolated like percentile_cont. The error is
below the width of the buckets involved: 0.25 working day up to 10 days, 1 day up to 30,
5 days up to 100; above 100 days (one open bucket) it is not bounded (docs/qms.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    SmallInteger,
    String,
    and_,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.base import NO_VALUE
from sqlmodel import Field, SQLModel

from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.qms import figures
from eiso.core.workdays import VN_TZ
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
KEY = ("province_id", "agency_id", "procedure_code", "grain", "day", "bucket")


class FigureRollup(SQLModel, table=True):
    """The counters of one agency's procedure over one day, month or year (`grain`, `day` its
    first day), for one bucket of handling time (-1: not about a handling time)."""

    __tablename__ = "figure_rollups"
    __table_args__ = (
        agency_fk("figure_rollups"),
        Index("ix_figure_rollups_grain_day", "grain", "day", "province_id"),
    )

    province_id: int = Field(sa_type=BigInteger, primary_key=True)
    agency_id: int = Field(sa_type=BigInteger, primary_key=True)
    procedure_code: str = Field(sa_type=String(32), primary_key=True)
    grain: int = Field(sa_type=SmallInteger, primary_key=True)
    day: dt.date = Field(sa_type=Date, primary_key=True)
    bucket: int = Field(sa_type=SmallInteger, primary_key=True)
    received: int = Field(default=0, sa_type=Integer)
    received_online: int = Field(default=0, sa_type=Integer)
    backlog_delta: int = Field(default=0, sa_type=Integer)
    late_delta: int = Field(default=0, sa_type=Integer)
    finished: int = Field(default=0, sa_type=Integer)
    on_time: int = Field(default=0, sa_type=Integer)
    handled: int = Field(default=0, sa_type=Integer)
    handling_sum: int = Field(default=0, sa_type=BigInteger)
    rated: int = Field(default=0, sa_type=Integer)
    rating_sum: int = Field(default=0, sa_type=Integer)
    satisfied: int = Field(default=0, sa_type=Integer)


ROLLUPS = table_of(FigureRollup)
R = ROLLUPS.c


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
    total = sum(n for _, n, _ in rows)
    if not total:
        return None

    def value(rank: int) -> float:
        seen = 0
        for _, n, s in rows:
            seen += n
            if rank < seen:
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


def _starts(day: dt.date) -> tuple[tuple[int, dt.date], ...]:
    return (DAY, day), (MONTH, day.replace(day=1)), (YEAR, dt.date(day.year, 1, 1))


def rows(province_id: int, by_day: Counters) -> list[dict[str, Any]]:
    """The rollup rows (day, month and year) of counters by day, without the empty ones."""
    rolled: dict[tuple[Any, ...], list[int]] = {}
    for (agency, procedure, day, bucket), counters in by_day.items():
        if not any(counters):
            continue
        for grain, first in _starts(day):
            into = rolled.setdefault((agency, procedure, grain, first, bucket), [0] * len(COUNTERS))
            for i, amount in enumerate(counters):
                into[i] += amount
    return [
        {
            "province_id": province_id,
            "agency_id": agency,
            "procedure_code": procedure,
            "grain": grain,
            "day": first,
            "bucket": bucket,
            **dict(zip(COUNTERS, counters, strict=True)),
        }
        for (agency, procedure, grain, first, bucket), counters in rolled.items()
        if any(counters)
    ]


def upsert(dialect: str, values: list[dict[str, Any]]) -> Any:
    """One INSERT … ON CONFLICT DO UPDATE that adds `values` to the rows (PostgreSQL, SQLite)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ROLLUPS).values(values)
    return statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: R[name] + statement.excluded[name] for name in COUNTERS},
    )


async def apply(session: AsyncSession, province_id: int, by_day: Counters) -> None:
    values = rows(province_id, by_day)
    if not values:
        return
    statement = upsert(session.get_bind().dialect.name, values)
    scope: TenantScope | None = session.sync_session.info.get("scope")
    if scope is None or all(scope.allows(province_id, row["agency_id"]) for row in values):
        await session.execute(statement)
        return
    # A dossier handed over to the caller's agency: its figures stay its owner's.
    async with owed_to_province(session, province_id):
        await session.execute(statement)


# -- maintained with the moves ------------------------------------------------------------------

_SEEN = "figure_rollups.seen"  # session.info: (province_id, id) → the State the rollups hold


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


async def _changed(session: AsyncSession, dossier: Dossier, created: bool, online: bool) -> None:
    seen = _seen(session.sync_session)
    key = (dossier.province_id, dossier.id)
    before = None if created else seen.get(key) or State.before(dossier)
    after = seen[key] = State.of(dossier)
    if before == after:
        return
    by_day: Counters = {}
    contribution(before, online, by_day, -1)
    contribution(after, online, by_day)
    await apply(session, dossier.province_id, by_day)


async def after_transition(
    session: AsyncSession, dossier: Dossier, *, action: str, from_status: int | None, actor: str
) -> None:
    """Listener of every move (core/dossiers/listeners.py). Only the acceptance of a dossier
    filed online (from `new`) makes an online dossier count as received: the flag matters
    only when the dossier starts counting, and cancels out on every other move."""
    await _changed(session, dossier, from_status is None, from_status == Status.new)


async def after_update(session: AsyncSession, dossier: Dossier, *, action: str) -> None:
    """Listener of the changes that are not moves (a rating)."""
    await _changed(session, dossier, False, False)


async def after_agencies_merged(
    session: AsyncSession, province_id: int, into_id: int, merged: list[int], by: str
) -> None:
    """The merged agencies' rows are added to the new agency's, then deleted."""
    merged_rows = [
        R.province_id == province_id,
        R.agency_id.in_(merged),
    ]
    found = (await session.execute(select(ROLLUPS).where(*merged_rows))).mappings().all()
    if not found:
        return
    summed: dict[tuple[Any, ...], list[int]] = {}
    for row in found:
        key = (row["procedure_code"], row["grain"], row["day"], row["bucket"])
        into = summed.setdefault(key, [0] * len(COUNTERS))
        for i, name in enumerate(COUNTERS):
            into[i] += int(row[name])
    await session.execute(delete(ROLLUPS).where(*merged_rows))
    dialect = session.get_bind().dialect.name
    values = [
        {
            "province_id": province_id,
            "agency_id": into_id,
            **dict(zip(("procedure_code", "grain", "day", "bucket"), key, strict=True)),
            **dict(zip(COUNTERS, counters, strict=True)),
        }
        for key, counters in summed.items()
    ]
    for start in range(0, len(values), 500):
        await session.execute(upsert(dialect, values[start : start + 500]))


async def after_provinces_merged(session: AsyncSession, into_id: int, from_id: int) -> None:
    """The agencies keep their ids: their rows only change province."""
    await session.execute(
        update(ROLLUPS).where(R.province_id == from_id).values(province_id=into_id)
    )


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


def rebuild_sql(one_province: bool = True) -> tuple[str, ...]:
    """`contribution` for every dossier of a province (`:province`), or of every province in
    one pass over the dossiers, on PostgreSQL: the day rows, then the month and year rows
    from them. The late ranges are added up by inclusion-exclusion (L1 ∩ W + L2 ∩ W -
    L1 ∩ L2 ∩ W): the same sums as the union `contribution` writes."""
    only = "province_id = :province" if one_province else "true"
    return (
        f"""
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
)
INSERT INTO figure_rollups ({", ".join(KEY)}, {", ".join(COUNTERS)})
SELECT pr, a, p, {DAY}, day, bucket, {", ".join(f"sum({c})" for c in COUNTERS)}
FROM e GROUP BY pr, a, p, day, bucket
HAVING {" OR ".join(f"sum({c}) <> 0" for c in COUNTERS)}
""",
        *(
            f"""
INSERT INTO figure_rollups ({", ".join(KEY)}, {", ".join(COUNTERS)})
SELECT province_id, agency_id, procedure_code, {grain}, date_trunc('{unit}', day)::date, bucket,
       {", ".join(f"sum({c})" for c in COUNTERS)}
FROM figure_rollups WHERE {only} AND grain = {DAY}
GROUP BY province_id, agency_id, procedure_code, date_trunc('{unit}', day), bucket
HAVING {" OR ".join(f"sum({c}) <> 0" for c in COUNTERS)}
"""
            for grain, unit in ((MONTH, "month"), (YEAR, "year"))
        ),
    )


async def rebuild(session: AsyncSession, province_id: int) -> int:
    """Recompute one province's rollups from its dossier rows (idempotent); the rows written.
    PostgreSQL computes them in SQL (`rebuild_sql`), SQLite through `contribution`."""
    await session.execute(delete(ROLLUPS).where(R.province_id == province_id))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        written = 0
        for statement in rebuild_sql():
            result = await session.execute(text(statement), {"province": province_id})
            written += result.rowcount  # type: ignore[attr-defined]
        return written
    found = (await session.execute(rows_statement(province_id))).all()
    values = rows(province_id, counters_of(found))
    for start in range(0, len(values), 2000):
        await session.execute(upsert(dialect, values[start : start + 2000]))
    return len(values)


# -- read ---------------------------------------------------------------------------------------

FIRST_DAY = dt.date(1900, 1, 1)
KEYS: dict[figures.Group, tuple[Column[Any], ...]] = {
    figures.Group.nation: (),
    figures.Group.province: (R.province_id,),
    figures.Group.agency: (R.province_id, R.agency_id),
    figures.Group.procedure: (R.procedure_code,),
}


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


def covering(start: dt.date, end: dt.date) -> Any:
    return or_(
        *(and_(R.grain == grain, R.day >= lo, R.day < hi) for grain, lo, hi in pieces(start, end))
    )


def _int(value: Any) -> int:
    return int(value or 0)


async def read(
    session: AsyncSession,
    scope: TenantScope,
    period: figures.Period,
    group: figures.Group,
    narrow: figures.Filter,
) -> dict[figures.Key, figures.Figures]:
    """The dossier numbers of `figures.figures`, from the rollups (two statements)."""
    keys = KEYS[figures.Group(group)]
    where = [figures.scope_filter(scope, R), *narrow.where(R)]
    sums = [func.sum(R[name]).label(name) for name in COUNTERS if "delta" not in name]
    in_period = (
        select(*keys, R.bucket, *sums)
        .where(*where, covering(period.start, period.end))
        .group_by(*keys, R.bucket)
    )
    found: dict[figures.Key, figures.Figures] = {}
    histograms: dict[figures.Key, list[tuple[int, int, int]]] = {}
    totals: dict[figures.Key, dict[str, int]] = {}
    result = await session.execute(in_period)
    n = len(keys)
    names = list(result.keys())[n + 1 :]
    handled, handling_sum = names.index("handled"), names.index("handling_sum")
    for r in result:  # by position: thousands of rows for a province per agency
        key, bucket, values = tuple(r[:n]), r[n], [_int(v) for v in r[n + 1 :]]
        into = totals.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for name, value in zip(names, values, strict=True):
            into[name] += value
        if bucket != NO_BUCKET:
            histograms.setdefault(key, []).append((bucket, values[handled], values[handling_sum]))
    at_end = (
        select(
            *keys,
            func.sum(R.backlog_delta).label("backlog"),
            func.sum(R.late_delta).label("backlog_late"),
        )
        .where(*where, R.bucket == NO_BUCKET, covering(FIRST_DAY, period.end))
        .group_by(*keys)
    )
    for r in await session.execute(at_end):
        key = tuple(r[: len(keys)])
        into = totals.setdefault(key, dict.fromkeys(COUNTERS, 0))
        into["backlog_delta"], into["late_delta"] = _int(r.backlog), _int(r.backlog_late)
    for key, t in totals.items():
        if not (t["received"] or t["finished"] or t["backlog_delta"]):
            continue  # nothing counted: the rows would not name this group either
        found[key] = _figures(key, t, histograms.get(key, []))
    return found


def _figures(
    key: figures.Key, t: Mapping[str, int], histogram: list[tuple[int, int, int]]
) -> figures.Figures:
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
        p90_days=figures.rounded(p90(histogram)),
        rating_count=t["rated"],
        rating_mean=_ratio(t["rating_sum"], t["rated"]),
        satisfied=t["satisfied"],
    )


def _ratio(total: int, count: int) -> float | None:
    return figures.rounded(total / count) if count else None
