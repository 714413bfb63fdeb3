"""Deferrable province keys (issue 23, migration 0915_deferrable_keys): do keys declared
DEFERRABLE INITIALLY IMMEDIATE slow the ordinary writes, and what a province merge costs.

On a fresh PostgreSQL database filled by bench/dossier_generator.py (P provinces of A agencies,
N dossiers with their steps and timelines), the writes a move makes to rows under composite
province keys, hand-written so that the key checks are most of the work:

- one row: one transaction per row, inserting a timeline row (`dossier_events`, its agency's
  key) and a step (`dossier_steps`, its agency's and its dossier's keys): a move's shape;
- batch: one statement inserting 1,000 timeline rows (a large import's shape).

Both with the keys NOT DEFERRABLE (the baseline: 0905's keys, `ALTER CONSTRAINT` back) and
DEFERRABLE INITIALLY IMMEDIATE, the two arms interleaved round by round on the same rows; the
inserted rows are deleted after each round. Then one province merge through
`merge_provinces` (the app's session under the nation's scope), timed, with the rows it moved.

    .venv/bin/python -m bench.deferrable_keys_bench [--dossiers 30000] [--rounds 5]

The database is a fresh `eiso_bench_keys_<random>` on EISO_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end. Results:
docs/benchmarks.md, "Deferrable province keys".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_generator as generator

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KEYS = """
select c.conrelid::regclass::text, c.conname from pg_constraint c
join pg_attribute k1 on k1.attrelid = c.conrelid and k1.attnum = c.conkey[1]
join pg_attribute r2 on r2.attrelid = c.confrelid and r2.attnum = c.confkey[2]
where c.contype = 'f' and cardinality(c.conkey) = 2 and k1.attname = 'province_id'
  and r2.attname = 'id'
"""
ID_OFFSET = 1 << 60  # inserted copies' ids: far from the generated ones


async def _columns(connection, table: str) -> list[str]:
    rows = await connection.fetch(
        "select column_name from information_schema.columns where table_name = $1 "
        "and is_generated = 'NEVER' order by ordinal_position",
        table,
    )
    return [row[0] for row in rows]


async def _copy_statement(connection, table: str, where: str, limit: int) -> str:
    """INSERT of copies of `limit` rows of `table` (`where`) under new ids (+ $1)."""
    columns = await _columns(connection, table)
    chosen = ", ".join("id + $1" if name == "id" else name for name in columns)
    if table == "dossier_steps":  # its unique (province, dossier, step index)
        chosen = chosen.replace("step_index", f"step_index + 1000 + ($1 - {ID_OFFSET})::int")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM {table} "
        f"WHERE {where} ORDER BY id LIMIT {limit}"
    )


async def _set_keys(connection, deferrable: bool) -> None:
    words = "DEFERRABLE INITIALLY IMMEDIATE" if deferrable else "NOT DEFERRABLE"
    for table, name in await connection.fetch(KEYS):
        await connection.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {words}')


async def _round(connection, one_event: str, one_step: str, batch: str, rows: int) -> tuple:
    """(seconds per one-row transaction, seconds per 1,000-row statement)."""
    start = time.perf_counter()
    for n in range(rows):
        async with connection.transaction():
            await connection.execute(one_event, ID_OFFSET + n)
            await connection.execute(one_step, ID_OFFSET + n)
    single = (time.perf_counter() - start) / rows
    start = time.perf_counter()
    await connection.execute(batch, 2 * ID_OFFSET)
    bulk = time.perf_counter() - start
    for table in ("dossier_events", "dossier_steps"):
        await connection.execute(f"DELETE FROM {table} WHERE id >= $1", ID_OFFSET)
    return single, bulk


async def _merge(database_url: str, into: str, source: str) -> float:
    from bench.common import quiet_settings
    from eiso.core.resources import Resources
    from eiso.tenants.reorganisation import merge_provinces
    from eiso.tenants.scope import TenantScope

    resources = Resources.open(quiet_settings(database_url, migration_database_url=database_url))
    try:
        start = time.perf_counter()
        async with resources.session(TenantScope.nation()) as session, session.begin():
            await merge_provinces(session, into, source, by="bench")
        return time.perf_counter() - start
    finally:
        await resources.close()


async def run(dossiers: int, rounds: int, rows: int) -> None:
    import asyncpg

    url = generator._with_database(PG_URL, f"eiso_bench_keys_{secrets.token_hex(4)}")
    await generator.create_database(url)
    try:
        summary = await generator.generate(
            url, dossiers=dossiers, provinces=3, agencies=10, log=lambda _: None
        )
        connection = await asyncpg.connect(url)
        try:
            first = await connection.fetchrow(
                "select province_id, id, agency_id from dossiers order by id limit 1"
            )
            one = f"province_id = {first[0]} AND dossier_id = {first[1]}"
            one_event = await _copy_statement(connection, "dossier_events", one, 1)
            one_step = await _copy_statement(connection, "dossier_steps", one, 1)
            batch = await _copy_statement(
                connection, "dossier_events", f"province_id = {first[0]}", 1000
            )
            timings: dict[bool, list[tuple]] = {False: [], True: []}
            for _ in range(rounds):
                for deferrable in (False, True):
                    await _set_keys(connection, deferrable)
                    timings[deferrable].append(
                        await _round(connection, one_event, one_step, batch, rows)
                    )
            provinces = [t["code"] for t in summary.provinces]
            counts = await connection.fetch(
                "select (select count(*) from dossiers where province_id = p.id), "
                "(select count(*) from dossier_steps where province_id = p.id), "
                "(select count(*) from dossier_events where province_id = p.id) "
                "from provinces p where p.code = $1",
                provinces[1],
            )
        finally:
            await connection.close()
        seconds = await _merge(url, provinces[0], provinces[1])
    finally:
        await generator.drop_database(url)
    print(f"{dossiers:,} dossiers, {rounds} rounds; load average {os.getloadavg()}")
    for label, index, unit in (("one-row transaction", 0, 1e3), ("1,000-row INSERT", 1, 1e3)):
        base = statistics.median(t[index] for t in timings[False])
        deferred = statistics.median(t[index] for t in timings[True])
        print(
            f"{label}: not deferrable {base * unit:.3f} ms, deferrable {deferred * unit:.3f} ms, "
            f"ratio {deferred / base:.3f}"
        )
    moved = counts[0]
    print(
        f"province merge: {moved[0]:,} dossiers, {moved[1]:,} steps, {moved[2]:,} events "
        f"moved in {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=300, help="one-row transactions per round")
    args = parser.parse_args()
    asyncio.run(run(args.dossiers, args.rounds, args.rows))


if __name__ == "__main__":
    main()
