"""The price of shared dossiers (cross-agency transfer) on an agency's dossier list, PostgreSQL.

An agency-scoped session shows a dossier to its receiving agency and to the agencies holding
one of its steps. This measures the agency's first page and count through the ORM (scope
criteria + row-level security, as the application role) against the baseline of the same
page filtered by `agency_id` alone (the pre-transfer criterion), in the same run.

    .venv/bin/python -m bench.dossier_scope [--agencies 40] [--per-agency 1000] [--rounds 20]

A throwaway database `eiso_bench_scope_<hex>` is created and dropped on EISO_BENCH_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres); skipped, and said so, when unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import secrets
import statistics
import sys
import time
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from eiso.core.dossiers.models import Dossier
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra import migrate
from eiso.tenants.scope import TenantScope

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_ROLE = "eiso_app"

SEED = """
insert into provinces (id, code, name, name_folded, status, created_at)
  values (1, 'BENCH', 'Tỉnh', 'tinh', 'active', now());
insert into agencies (province_id, id, code, name, name_folded, kind, iso_status, status,
                      created_at)
  select 1, a, 'A' || a, 'Xã ' || a, 'xa ' || a, 'commune', 'not_started', 'active', now()
  from generate_series(1, :agencies) a;
insert into dossiers (province_id, id, agency_id, code, lookup_hash, procedure_code, applicant,
                      sector_data, status, current_step, step_agencies, received_at, pauses,
                      supplement_count, was_late, version, updated_at)
  select 1, d, 1 + (d % :agencies), 'D' || d, repeat('0', 64), '1.001193', '{}', '{}', 4, 0, '{}',
         now(), '[]', 0, false, 1, now() from generate_series(1, :dossiers) d;
insert into dossier_steps (province_id, id, agency_id, dossier_id, step_index, step_code, status,
                           sector_data, started_at)
  select 1, d, 1 + (d % :agencies), d, 0, 'receive', 'active', '{}', now()
  from generate_series(1, :dossiers) d;
-- a hundred dossiers of agency 2 handed over to agency 1 (their step 1)
insert into dossier_steps (province_id, id, agency_id, dossier_id, step_index, step_code, status,
                           sector_data, started_at, from_agency_id)
  select 1, :dossiers + d, 1, d, 1, 'residence', 'active', '{}', now(), 2
  from generate_series(1, :dossiers) d where 1 + (d % :agencies) = 2 limit 100;
analyze;
"""


def _url(base: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(base)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@', 1)[-1]}"
    return parts._replace(netloc=netloc, path=f"/{database}").geturl()


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _timed(
    resources: Resources, scope: TenantScope, statement, rounds: int
) -> tuple[float, object]:
    times, answer = [], None
    for _ in range(rounds):
        async with resources.session(scope) as session, session.begin():
            start = time.perf_counter()
            answer = (await session.execute(statement)).all()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, answer


async def run(agencies: int, per_agency: int, rounds: int, explain: bool = False) -> None:
    name = f"eiso_bench_scope_{secrets.token_hex(4)}"
    await _admin(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$;"
    )
    await _admin(f'CREATE DATABASE "{name}"')
    owner, app = _url(PG_URL, name), _url(PG_URL, name, APP_ROLE)
    try:
        await asyncio.to_thread(migrate.upgrade, owner, app)
        settings = load_settings(
            env="test", database_url=owner, redis_url="memory://bench:", plugins=[]
        )
        seeding = Resources.open(settings)
        dossiers = agencies * per_agency
        async with seeding.session(TenantScope.nation()) as session, session.begin():
            for statement in filter(str.strip, SEED.split(";\n")):
                sql = statement.replace(":agencies", str(agencies)).replace(
                    ":dossiers", str(dossiers)
                )
                await (await session.connection()).exec_driver_sql(sql)
        await seeding.close()
        resources = Resources.open(
            load_settings(env="test", database_url=app, redis_url="memory://bench:", plugins=[])
        )
        scope = TenantScope.agencies([1], [1])
        page = select(Dossier.id).order_by(Dossier.id).limit(50)
        count = select(func.count()).select_from(Dossier)
        base_page = text(
            "select id from dossiers where agency_id = any(array[1]::bigint[]) order by id limit 50"
        )
        base_count = text("select count(*) from dossiers where agency_id = any(array[1]::bigint[])")
        rows = []
        for label, shared, baseline in (
            ("first page (50)", page, base_page),
            ("count", count, base_count),
        ):
            ms, answer = await _timed(resources, scope, shared, rounds)
            base_ms, base_answer = await _timed(resources, scope, baseline, rounds)
            rows.append(
                (
                    label,
                    ms,
                    base_ms,
                    len(answer) if label != "count" else answer[0][0],
                    len(base_answer) if label != "count" else base_answer[0][0],
                )
            )
        if explain:
            shaped = text(
                "explain analyze select id from dossiers where agency_id in (1) or "
                "(province_id in (1) and id = any(array("
                "select dossier_id from dossier_steps where agency_id in (1) and handed_over)))"
                " order by id limit 50"
            )
            async with resources.session(scope) as session, session.begin():
                if os.environ.get("BENCH_NO_HASH"):
                    await session.execute(text("set local enable_hashjoin = off"))
                    await session.execute(text("set local enable_seqscan = off"))
                print("\n".join(r[0] for r in (await session.execute(shaped)).all()))
        await resources.close()
        print(
            f"PostgreSQL, {agencies} agencies x {per_agency} dossiers, "
            f"agency 1 also holds a step of 100 dossiers of agency 2; median of {rounds}"
        )
        print(
            f"{'query':<18}{'shared (ms)':>12}{'baseline (ms)':>15}{'ratio':>8}"
            "   rows shared/baseline"
        )
        for label, ms, base_ms, got, base_got in rows:
            print(f"{label:<18}{ms:>12.2f}{base_ms:>15.2f}{ms / base_ms:>8.2f}   {got}/{base_got}")
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=40)
    parser.add_argument("--per-agency", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the plan of the shared page")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(args.agencies, args.per_agency, args.rounds, args.explain))
    except OSError as error:
        print(f"PostgreSQL unreachable ({error}): skipped")


if __name__ == "__main__":
    main()
