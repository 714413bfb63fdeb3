"""Figures benchmark: the figures of one province for a year (per agency), and the national
yearly report, on PostgreSQL with N dossiers, each timed against a hand-written SQL aggregate
of the same numbers over the dossier rows, run in the same process, on the same connection
pool and role (the app's role, row-level security on), in the same run. eiso reads its
rollups (core/qms/rollups.py, issue 23); `--rows` times eiso's row-based computation too
(`figures.figures(..., from_rows=True)`, what the rollups are rebuilt from).

    .venv/bin/python -m bench.figures_bench --dossiers 10000000 [--provinces 34 --agencies 100]
        [--full-generator] [--year N] [--repeat 3] [--keep | --reuse] [--rows]

Data: by default a lean INSERT … SELECT from generate_series of only what the figures read,
already stamped (finished_at, handling_days, on_time, late_since), over the two years up to
now; with --full-generator, bench/dossier_generator.py (realistic rows, much slower), whose
rows then get the stamped columns from one UPDATE (handling days approximated as 5/7 of the
calendar days). The rollups are then filled by the data migration 0905 (the generator loads
the schema up to 0850, the rows, then upgrades: the path of an existing installation), timed.
The database `eiso_bench_figures` is dropped at the end unless --keep.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time

from alembic import command
from sqlalchemy import text

from bench import dossier_generator as generator
from eiso.core.qms import annual_report, figures
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra import migrate
from eiso.tenants.scope import TenantScope

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/eiso_bench_figures"
ROLLUPS_PARENT = "0899_scope_province"  # the revision before 0905_figure_rollups

STAMP_SQL = """
UPDATE dossiers SET
    finished_at = CASE WHEN status IN (3, 7, 8, 9, 10) THEN updated_at END,
    handling_days = CASE WHEN status IN (9, 10)
        THEN round((greatest(extract(epoch FROM updated_at - received_at), 0) / 86400 * 5 / 7)
                   ::numeric, 4) END,
    on_time = CASE WHEN status IN (9, 10) THEN NOT was_late AND updated_at <= appointment_at END,
    late_since = CASE WHEN was_late AND status IN (2, 4, 5, 6)
                      THEN received_at + interval '5 days' END
"""

# The same numbers, written by hand: what a DBA would type for one province's agencies.
HAND_RECEIVED = """SELECT province_id, agency_id, count(*) FROM dossiers
 WHERE province_id = ANY(:provinces) AND received_at >= :start AND received_at < :end
   AND status NOT IN (1, 3)
 GROUP BY {keys}"""
HAND_FINISHED = """SELECT province_id, agency_id, count(*), count(*) FILTER (WHERE on_time),
  avg(handling_days), percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_days), count(rating),
  avg(rating), count(*) FILTER (WHERE rating >= 4) FROM dossiers
 WHERE province_id = ANY(:provinces) AND finished_at >= :start AND finished_at < :end
   AND status IN (9, 10)
 GROUP BY {keys}"""
HAND_BACKLOG = """SELECT province_id, agency_id, count(*), count(*) FILTER (WHERE
   (late_since IS NOT NULL AND late_since < :end)
   OR (appointment_at < :end AND NOT (status = 5 AND paused_at <= :end))) FROM dossiers
 WHERE province_id = ANY(:provinces) AND received_at < :end AND status NOT IN (1, 3)
   AND (finished_at IS NULL OR finished_at >= :end)
 GROUP BY {keys}"""
HAND_NC = """SELECT province_id, count(*) FILTER (WHERE raised_at >= :start),
  count(*) FILTER (WHERE status <> 'closed')
 FROM nonconformities WHERE raised_at < :end GROUP BY province_id"""


def _hand(sql: str, by_province: bool) -> str:
    sql = sql.replace("province_id, agency_id, count", "province_id, count") if by_province else sql
    return sql.format(keys="province_id" if by_province else "province_id, agency_id")


async def hand_province(session, province_id: int, period: figures.Period) -> int:
    start, end = period.bounds()
    args = {"provinces": [province_id], "start": start, "end": end}
    rows = 0
    for sql in (HAND_RECEIVED, HAND_FINISHED, HAND_BACKLOG):
        rows += len((await session.execute(text(_hand(sql, False)), args)).all())
    return rows


async def hand_nation(session, province_ids: list[int], period: figures.Period) -> int:
    start, end = period.bounds()
    args = {"provinces": province_ids, "start": start, "end": end}
    rows = 0
    for sql in (HAND_RECEIVED, HAND_FINISHED, HAND_BACKLOG):
        rows += len((await session.execute(text(_hand(sql, True)), args)).all())
        # the nation's total: the same aggregate without the grouping
        total = (
            _hand(sql, True)
            .replace("SELECT province_id, ", "SELECT ")
            .replace("GROUP BY province_id", "")
        )
        rows += len((await session.execute(text(total), args)).all())
    rows += len((await session.execute(text(HAND_NC), {"start": start, "end": end})).all())
    rows += len(
        (await session.execute(text("SELECT id, code, name FROM provinces ORDER BY code"))).all()
    )
    return rows


async def compare(mine, theirs, rounds: int) -> tuple[float, float]:
    """Medians of `rounds` rounds, each timing the hand-written SQL then eiso, after one warm-up
    of each: both see the same cache state and the same machine load."""
    await theirs()
    await mine()
    samples: tuple[list, list] = ([], [])
    for _ in range(rounds):
        for work, into in ((theirs, samples[0]), (mine, samples[1])):
            start = time.perf_counter()
            await work()
            into.append(time.perf_counter() - start)
    return statistics.median(samples[1]), statistics.median(samples[0])


def open_resources(database_url: str, name: str) -> Resources:
    """The app's resources on the benchmark's database, as the app's role (RLS on)."""
    settings = load_settings(
        env="test",
        database_url=generator.app_url(database_url),
        migration_database_url=database_url,
        redis_url=f"memory://{name}:",
        log_json=False,
        plugins=[],
    )
    return Resources.open(settings)


async def measure(database_url: str, year: int, repeat: int, rows: bool = False) -> dict:
    resources = open_resources(database_url, "bench-figures")
    period = figures.Period.of(year=year)
    nation = TenantScope.nation()
    try:
        async with resources.session(nation) as session:
            provinces = (
                await session.execute(
                    text(
                        "SELECT province_id, count(*) FROM dossiers"
                        " GROUP BY province_id ORDER BY 2 DESC"
                    )
                )
            ).all()
        busiest = provinces[0][0]
        scope = TenantScope.province(busiest)

        async def eiso_province(from_rows: bool = False):
            async with resources.session(scope) as session:
                await figures.figures(
                    session,
                    scope,
                    period,
                    figures.Group.agency,
                    figures.Filter(province_id=busiest),
                    from_rows=from_rows,
                )

        async def sql_province():
            async with resources.session(scope) as session:
                await hand_province(session, busiest, period)

        async def eiso_nation():
            async with resources.session(nation) as session:
                await annual_report.build(session, nation, year)

        async def sql_nation():
            async with resources.session(nation) as session:
                await hand_nation(session, [p for p, _ in provinces], period)

        async def rows_province():
            await eiso_province(from_rows=True)

        results: dict = {"province_dossiers": provinces[0][1]}
        for name, mine, theirs in (
            ("province", eiso_province, sql_province),
            ("nation", eiso_nation, sql_nation),
            *((("province_rows", rows_province, sql_province),) if rows else ()),
        ):
            b, a = await compare(mine, theirs, repeat)
            results[name] = {"eiso_s": b, "sql_s": a, "ratio": b / a}
        return results
    finally:
        await resources.close()


# The dossiers' secondary indexes are built after the load: inserting (and stamping) 10M rows
# into a table with eight indexes would take most of the run.
INDEXES_SQL = """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dossiers'
 AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'dossiers'::regclass)"""


# The lean generator: only what the figures read, already stamped, two years up to now, spread
# evenly over P provinces × A agencies; one statement per batch of ids [:lo, :hi).
LEAN_TENANTS = [
    """INSERT INTO provinces (code, name, name_folded, status, created_at)
       SELECT 'FB' || lpad(p::text, 2, '0'), 'Tỉnh ' || p, 'tinh ' || p, 'active', now()
       FROM generate_series(1, $1::int) p""",
    """INSERT INTO agencies (province_id, id, code, name, name_folded, kind, iso_status, status,
                            created_at)
       SELECT pr.id, pr.id * 100000 + a, pr.code || '.' || lpad(a::text, 3, '0'),
              'Ủy ban nhân dân xã ' || a, 'uy ban nhan dan xa ' || a, 'commune', 'announced',
              'active', now()
       FROM provinces pr, generate_series(1, $1::int) a""",
]
LEAN_DOSSIERS = """
INSERT INTO dossiers (province_id, id, agency_id, code, lookup_hash, procedure_code, applicant,
                      sector_data, status, current_step, received_at, appointment_at, pauses,
                      supplement_count, was_late, version, rating, updated_at, finished_at,
                      handling_days, on_time, late_since)
SELECT province_id, i, province_id * 100000 + agency, 'FB-' || i, '', '1.001193', '{}', '{}',
       status, 0, received_at, CASE WHEN status <> 3 THEN due END, '[]', 0, was_late, 1,
       CASE WHEN status = 10 AND r3 < 0.4 THEN 1 + floor(r4 * 5)::int END, now(),
       CASE WHEN status IN (3, 7, 8, 9, 10) THEN fin END,
       CASE WHEN status IN (9, 10) THEN round((days * 5 / 7)::numeric, 4) END,
       CASE WHEN status IN (9, 10) THEN NOT was_late AND fin <= due END,
       CASE WHEN was_late AND status = 4 THEN due END
FROM (
    SELECT v.*, received_at + days * interval '1 day' AS fin,
           received_at + interval '10 days' AS due,
           CASE WHEN r1 < 0.01 THEN 3
                WHEN received_at + days * interval '1 day' > now() OR r1 > 0.985 THEN 4
                WHEN r1 < 0.04 THEN 7 WHEN r1 < 0.06 THEN 8 WHEN r1 < 0.15 THEN 9 ELSE 10
           END AS status
    FROM (
        SELECT i, $3::int + (i % ($4::int * $5::int)) / $5::int AS province_id,
               1 + (i % $5::int) AS agency,
               now() - random() * interval '730 days' AS received_at, random() * 14 AS days,
               random() AS r1, random() < 0.03 AS was_late, random() AS r3, random() AS r4
        FROM generate_series($1::bigint, $2::bigint - 1) AS i
    ) AS v
) AS w
"""


async def lean_generate(
    connection, dossiers: int, provinces: int, agencies: int, batch: int = 1_000_000
) -> None:
    for statement in LEAN_TENANTS:
        await connection.execute(
            statement, provinces if "provinces pr" not in statement else agencies
        )
    first_province = await connection.fetchval("SELECT min(id) FROM provinces")
    for lo in range(0, dossiers, batch):
        await connection.execute(
            LEAN_DOSSIERS, lo, min(lo + batch, dossiers), first_province, provinces, agencies
        )


async def prepare(
    database_url: str, dossiers: int, provinces: int, agencies: int, lean: bool
) -> None:
    import asyncpg

    await generator.create_database(database_url)
    # back to the schema before the rollups: the upgrade after the load fills them (timed)
    await asyncio.to_thread(
        command.downgrade,
        migrate.alembic_config(database_url, generator.app_url(database_url)),
        ROLLUPS_PARENT,
    )
    connection = await asyncpg.connect(database_url)
    try:
        indexes = await connection.fetch(INDEXES_SQL)
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        start = time.perf_counter()
        if lean:
            await lean_generate(connection, dossiers, provinces, agencies)
        else:
            await generator.generate(
                database_url,
                dossiers=dossiers,
                provinces=provinces,
                agencies=agencies,
                events=False,
                batch=200_000,
                log=lambda line: None,
            )
        print(f"generated {dossiers:,} dossiers in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        if not lean:
            await connection.execute(STAMP_SQL)
        for index in indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("VACUUM ANALYZE dossiers")
        print(
            f"stamped the finished columns and built {len(indexes)} indexes in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
    finally:
        await connection.close()


async def fill_rollups(database_url: str) -> float | None:
    """Upgrade to the head: on a database before the rollups migration 0905 fills them from
    the rows, on one at 0905 migration 0910 converts them (one counter row per agency,
    procedure and day, the histogram apart). Its seconds, or None when it was at the head
    already."""
    import asyncpg
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_heads())
    connection = await asyncpg.connect(database_url)
    try:
        at = {r[0] for r in await connection.fetch("SELECT version_num FROM alembic_version")}
    finally:
        await connection.close()
    if at == heads:
        return None
    start = time.perf_counter()
    await asyncio.to_thread(migrate.upgrade, database_url, generator.app_url(database_url))
    took = time.perf_counter() - start
    print(f"upgraded from {sorted(at - heads)} to the head in {took:.0f} s", flush=True)
    return took


def generated_database_parser(
    doc: str, database_url: str, agencies: int, agencies_help: str | None = None
) -> argparse.ArgumentParser:
    """The options of a benchmark on a generated database (this one, bench/index766_bench.py):
    where, how many dossiers and agencies, how many runs, and whether to reuse or keep it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--database-url", default=database_url)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=agencies, help=agencies_help)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="measure an existing database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = generated_database_parser(__doc__, DATABASE_URL, 100, "agencies per province")
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument(
        "--full-generator",
        action="store_true",
        help="bench/dossier_generator.py (realistic rows, slow) instead of the lean SQL generator",
    )
    parser.add_argument(
        "--year", type=int, default=None, help="default: last year (full-generator: this year)"
    )
    parser.add_argument(
        "--rows", action="store_true", help="also time the row-based figures (from_rows=True)"
    )
    args = parser.parse_args(argv)

    async def run() -> None:
        if not args.reuse:
            await prepare(
                args.database_url,
                args.dossiers,
                args.provinces,
                args.agencies,
                not args.full_generator,
            )
        # the lean generator covers the two years up to now; the full one the past 365 days
        year = args.year or dt.date.today().year - (0 if args.full_generator else 1)
        try:
            await fill_rollups(args.database_url)
            got = await measure(args.database_url, year, args.repeat, args.rows)
        finally:
            if not args.keep:
                await generator.drop_database(args.database_url)
        for name, label in (
            (
                "province",
                f"figures {year}, busiest province ({got['province_dossiers']:,} "
                "dossiers), per agency, from rollups",
            ),
            ("nation", f"national yearly report {year}, from rollups"),
            ("province_rows", f"figures {year}, busiest province, per agency, from rows"),
        ):
            if name in got:
                print(
                    f"{label}: eiso {got[name]['eiso_s'] * 1000:.0f} ms, hand-written SQL over "
                    f"the rows {got[name]['sql_s'] * 1000:.0f} ms, ratio "
                    f"{got[name]['ratio']:.3f} ({1 / got[name]['ratio']:.0f}x faster)"
                )

    asyncio.run(run())


if __name__ == "__main__":
    main()
