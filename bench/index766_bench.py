"""Decision 766 scores and the yearly report status of one province (issue 20): a province of
250 agencies with 1,000,000 dossiers on PostgreSQL; eiso's public functions (figures.figures by
agency, then index766.scores and index766.total for each agency; yearly_reports.board) timed
against hand-written SQL of the same numbers in the same run, on the same pool and role (the
app's, row-level security on), with the same scoring in Python on both sides.

    .venv/bin/python -m bench.index766_bench [--dossiers 1000000 --agencies 250]
        [--repeat 3] [--keep | --reuse] [--database-url URL]

Data: bench/figures_bench.py's lean generator (one province, only what the figures read, two
years up to now), then yearly reports of last year for 60 % of the agencies in every status.
The benchmark calls the public functions only, so it measures whatever computes them (another
branch changes how the figures are computed). The board is also timed "before" (`board_before`:
its statement through the ORM session and the scope's criteria, as it ran until issue 20's last
change), interleaved with the other two. Goal: ≤ 1.5x. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time

from sqlalchemy import text

from bench import dossier_generator as generator
from bench import figures_bench
from eiso.core.qms import figures, index766, yearly_reports
from eiso.tenants.scope import TenantScope

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/eiso_bench_766"

# The yearly reports of `year` for 60 % of the agencies, in every status (asyncpg: $1 = year).
REPORTS_SQL = """
INSERT INTO yearly_reports (province_id, id, agency_id, year, status, scope, procedures,
    legal_updates, difficulties, proposals, funding, figures, history, reminders, submitted_at,
    accepted_at, updated_by, updated_at)
SELECT province_id, id, id, $1::int,
       (ARRAY['draft', 'submitted', 'returned', 'resubmitted', 'accepted'])[1 + id % 5],
       'Phạm vi', 'Quy trình', '', '', '', '', '{}', '[]', '[]',
       CASE WHEN id % 5 <> 0 THEN now() END, CASE WHEN id % 5 = 4 THEN now() END, 'bench', now()
FROM agencies WHERE id % 10 < 6
ON CONFLICT DO NOTHING
"""

HAND_ONLINE = """SELECT d.province_id, d.agency_id, count(*) FROM dossiers d
 WHERE d.province_id = :province AND d.received_at >= :start AND d.received_at < :end
   AND d.status NOT IN (1, 3)
   AND (d.province_id, d.id) IN (SELECT province_id, dossier_id FROM dossier_events
                                 WHERE action = 'registered')
 GROUP BY d.province_id, d.agency_id"""
HAND_FEEDBACK = """SELECT province_id, agency_id,
  count(*) FILTER (WHERE received_at >= :start AND received_at < :end),
  count(*) FILTER (WHERE answered_at >= :start AND answered_at < :end),
  count(*) FILTER (WHERE answered_at >= :start AND answered_at < :end AND on_time),
  count(*) FILTER (WHERE received_at < :end AND (answered_at IS NULL OR answered_at >= :end)
                   AND due_at < :end),
  count(*) FILTER (WHERE answered_at >= :start AND answered_at < :end AND rating IS NOT NULL),
  count(*) FILTER (WHERE answered_at >= :start AND answered_at < :end AND rating >= 4)
 FROM feedback_items WHERE province_id = :province GROUP BY province_id, agency_id"""
HAND_BOARD = """SELECT a.id, a.code, a.name, r.status, r.submitted_at, r.accepted_at, r.reminders
 FROM agencies a LEFT JOIN yearly_reports r
   ON r.province_id = a.province_id AND r.agency_id = a.id AND r.year = :year
 WHERE a.province_id = :province AND a.status = 'active' ORDER BY a.code"""


def _figures_sql(name: str) -> str:
    """figures_bench's hand-written aggregate for one province, grouped by agency."""
    return figures_bench._hand(getattr(figures_bench, name), False)


async def hand_766(session, province_id: int, period: figures.Period) -> float:
    """The same numbers by hand, into the same rows, scored the same way."""
    start, end = period.bounds()
    args = {"provinces": [province_id], "province": province_id, "start": start, "end": end}
    rows: dict[tuple[int, int], figures.Figures] = {}

    def row(found) -> figures.Figures:
        key = (found[0], found[1])
        return rows.setdefault(key, figures.Figures(key=key))

    for found in await session.execute(text(_figures_sql("HAND_RECEIVED")), args):
        row(found).received = found[2]
    for found in await session.execute(text(HAND_ONLINE), args):
        row(found).received_online = found[2]
    for found in await session.execute(text(_figures_sql("HAND_FINISHED")), args):
        got = row(found)
        got.finished, got.on_time = found[2], found[3]
        got.finished_late = got.finished - got.on_time
        got.mean_days, got.p90_days = found[4], found[5]
        got.rating_count, got.rating_mean, got.satisfied = found[6], found[7], found[8]
    for found in await session.execute(text(_figures_sql("HAND_BACKLOG")), args):
        got = row(found)
        got.backlog, got.backlog_late = found[2], found[3]
    for found in await session.execute(text(HAND_FEEDBACK), args):
        got = row(found)
        (
            got.feedback_received,
            got.feedback_answered,
            got.feedback_on_time,
            got.feedback_overdue,
            got.feedback_rated,
            got.feedback_satisfied,
        ) = found[2:8]
    return sum(index766.total(index766.scores(got)) or 0 for got in rows.values())


async def eiso_766(session, scope: TenantScope, province_id: int, period: figures.Period) -> float:
    found = await figures.figures(
        session, scope, period, figures.Group.agency, figures.Filter(province_id=province_id)
    )
    return sum(index766.total(index766.scores(got)) or 0 for got in found)


async def board_before(session, province_id: int, year: int) -> list:
    """`yearly_reports.board` before issue 20's last change: the same statement (without the
    scope written in) through the ORM session, which adds the scope's criteria to it at each
    call (the statement is a new object each time: its cache key is computed each time)."""
    statement = yearly_reports._board_statement("nation", False, False)
    found = await session.execute(statement, {"province_id": province_id, "year": year})
    return yearly_reports.board_lines(found.all(), year)


async def interleaved(works: dict, rounds: int) -> dict[str, float]:
    """The median seconds of each work over `rounds` rounds, each round running every work in
    turn after one warm-up of each (`figures_bench.compare` for more than two); and the mean
    CPU seconds of this process in each (`NAME_cpu`: what the client adds, which the machine's
    load stretches into wall time)."""
    for work in works.values():
        await work()
    samples: dict[str, list[float]] = {name: [] for name in works}
    cpu: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            start, used = time.perf_counter(), time.process_time()
            await work()
            samples[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - used)
    return {
        **{name: statistics.median(found) for name, found in samples.items()},
        **{f"{name}_cpu": statistics.fmean(found) for name, found in cpu.items()},
    }


async def measure(
    database_url: str, year: int, repeat: int, only: tuple[str, ...] = ("index766", "board")
) -> dict:
    resources = figures_bench.open_resources(database_url, "bench-766")
    period = figures.Period.of(year=year)
    try:
        async with resources.session(TenantScope.nation()) as session:
            province_id, dossiers, agencies = (
                await session.execute(
                    text(
                        "SELECT province_id, count(*), count(DISTINCT agency_id) FROM dossiers"
                        " GROUP BY province_id ORDER BY 2 DESC LIMIT 1"
                    )
                )
            ).one()
        scope = TenantScope.province(province_id)
        totals: dict[str, float] = {}

        async def mine_766():
            async with resources.session(scope) as session:
                totals["eiso"] = await eiso_766(session, scope, province_id, period)

        async def theirs_766():
            async with resources.session(scope) as session:
                totals["sql"] = await hand_766(session, province_id, period)

        async def mine_board():
            async with resources.session(scope) as session:
                lines = await yearly_reports.board(session, scope, province_id, year)
                totals["board_eiso"] = len(lines)

        async def before_board():
            async with resources.session(scope) as session:
                lines = await board_before(session, province_id, year)
                totals["board_before"] = len(lines)

        async def theirs_board():
            async with resources.session(scope) as session:
                found = await session.execute(
                    text(HAND_BOARD), {"year": year, "province": province_id}
                )
                totals["board_sql"] = len(found.all())

        results: dict = {"dossiers": dossiers, "agencies": agencies}
        if "index766" in only:
            b, a = await figures_bench.compare(mine_766, theirs_766, repeat)
            results["index766"] = {"eiso_s": b, "sql_s": a, "ratio": b / a}
        if "board" in only:
            got = await interleaved(
                {"sql": theirs_board, "before": before_board, "eiso": mine_board}, repeat
            )
            results["board"] = {
                "eiso_s": got["eiso"],
                "sql_s": got["sql"],
                "ratio": got["eiso"] / got["sql"],
                "before_s": got["before"],
                "before_ratio": got["before"] / got["sql"],
                "cpu_ms": {name: got[f"{name}_cpu"] * 1000 for name in ("eiso", "before", "sql")},
            }
        # the same numbers both ways, or the comparison means nothing
        if "index766" in only:
            assert abs(totals["eiso"] - totals["sql"]) < 0.01 * agencies, totals
        if "board" in only:
            assert totals["board_eiso"] == totals["board_sql"] == totals["board_before"], totals
        return results
    finally:
        await resources.close()


async def add_reports(database_url: str, year: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(REPORTS_SQL, year)
        await connection.execute("ANALYZE yearly_reports")
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = figures_bench.generated_database_parser(__doc__, DATABASE_URL, 250)
    parser.add_argument(
        "--only", choices=("index766", "board"), default=None, help="measure one of the two"
    )
    args = parser.parse_args(argv)
    year = dt.date.today().year - 1  # the lean generator's last full year

    async def run() -> None:
        if not args.reuse:
            start = time.perf_counter()
            await figures_bench.prepare(args.database_url, args.dossiers, 1, args.agencies, True)
            print(f"prepared in {time.perf_counter() - start:.0f} s", flush=True)
        await figures_bench.fill_rollups(args.database_url)  # the figures read them
        await add_reports(args.database_url, year)
        try:
            only = (args.only,) if args.only else ("index766", "board")
            got = await measure(args.database_url, year, args.repeat, only)
        finally:
            if not args.keep:
                await generator.drop_database(args.database_url)
        print(
            f"one province, {got['agencies']} agencies, {got['dossiers']:,} dossiers, {year}; "
            f"median of {args.repeat}"
        )
        for name, label in (
            ("index766", "Decision 766 scores per agency"),
            ("board", "yearly report status board"),
        ):
            if name not in got:
                continue
            r = got[name]
            print(
                f"{label}: eiso {r['eiso_s'] * 1000:.1f} ms, hand-written SQL "
                f"{r['sql_s'] * 1000:.1f} ms, ratio {r['ratio']:.2f}x"
            )
            if "before_s" in r:
                print(
                    f"  before (the ORM execution with the session's criteria): "
                    f"{r['before_s'] * 1000:.1f} ms, ratio {r['before_ratio']:.2f}x"
                )
                cpu = r["cpu_ms"]
                print(
                    f"  client CPU per board (mean): eiso {cpu['eiso']:.2f} ms, before "
                    f"{cpu['before']:.2f} ms, hand-written SQL {cpu['sql']:.2f} ms, ratios "
                    f"{cpu['eiso'] / cpu['sql']:.2f}x / {cpu['before'] / cpu['sql']:.2f}x"
                )
        if (
            "index766" in got and "board" in got
        ):  # both: the province's page of scores and report status together
            mine = got["index766"]["eiso_s"] + got["board"]["eiso_s"]
            theirs = got["index766"]["sql_s"] + got["board"]["sql_s"]
            print(
                f"both (sum of the medians): eiso {mine * 1000:.1f} ms, hand-written SQL "
                f"{theirs * 1000:.1f} ms, ratio {mine / theirs:.2f}x"
            )

        print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    asyncio.run(run())


if __name__ == "__main__":
    main()
