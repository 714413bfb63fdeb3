"""Bulk onboarding of 3,500 agencies (about every commune of the country), on SQLite and on
PostgreSQL, against a raw SQLAlchemy Core bulk insert of the same rows in the same run.

    .venv/bin/python -m bench.import_agencies [--rows 3500] [--rounds 3]

PostgreSQL: a throwaway database is created and dropped on EISO_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres); it is skipped, and said so, when unreachable.
Goal: the import (parse, validate every row, look up existing codes, insert) ≤ 3x the raw insert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import random
import secrets
import statistics
import sys
import tempfile
import time
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra import migrate
from eiso.infra.clock import utcnow
from eiso.infra.ids import new_id
from eiso.infra.text import fold
from eiso.tenants.models import Agency
from eiso.tenants.onboarding import FileFormat, onboard
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PLACES = [
    "Tiên Yên",
    "Đầm Hà",
    "Hạ Long",
    "Bãi Cháy",
    "Phố Hiến",
    "Văn Giang",
    "Quảng Hà",
    "Đông Triều",
    "Hoành Bồ",
    "Cẩm Phả",
    "Uông Bí",
    "Móng Cái",
    "Vân Đồn",
    "Cô Tô",
    "Bình Liêu",
    "Ba Chẽ",
    "Hải Hà",
    "Yên Mỹ",
    "Khoái Châu",
    "Ân Thi",
    "Kim Động",
    "Tiên Lữ",
    "Phù Cừ",
    "Mỹ Hào",
    "Thanh Miện",
    "Đức Thọ",
]
SUFFIXES = ["", " Đông", " Tây", " Nam", " Bắc", " Thượng", " Hạ", " Trung"]


def generate(rows: int, prefix: str) -> str:
    """A CSV of one provincial People's Committee and its communes and wards, children first
    now and then (the importer orders them)."""
    rng = random.Random(rows)
    root = f"{prefix}.000"
    lines = ["code,name,kind,parent_code,admin_username,admin_email"]
    for index in range(1, rows):
        kind = "ward" if index % 4 == 0 else "commune"
        place = f"{rng.choice(PLACES)}{rng.choice(SUFFIXES)} {index}"
        title = "Ủy ban nhân dân phường" if kind == "ward" else "Ủy ban nhân dân xã"
        admin = f",admin{index},admin{index}@example.vn" if index % 10 == 0 else ",,"
        lines.append(f"{prefix}.{index:04d},{title} {place},{kind},{root}{admin}")
        if index == rows // 2:
            lines.append(f"{root},Ủy ban nhân dân tỉnh Thử,people_committee,,,")
    return "\n".join(lines) + "\n"


def raw_rows(csv_text: str, province_id: int) -> list[dict]:
    """The same agencies as plain dicts, ids and folded names ready: what Core inserts."""
    ids, rows, now = {}, [], utcnow()
    records = [line.split(",") for line in csv_text.splitlines()[1:]]
    for code, *_ in records:
        ids[code] = new_id()
    for code, name, kind, parent, *_ in sorted(records, key=lambda r: r[3] != ""):
        rows.append(
            {
                "province_id": province_id,
                "id": ids[code],
                "code": code,
                "name": name,
                "name_folded": fold(name),
                "kind": kind,
                "parent_id": ids.get(parent),
                "iso_status": "not_started",
                "iso_status_since": None,
                "status": "active",
                "merged_into_id": None,
                "created_at": now,
            }
        )
    return rows


async def _province(resources, name: str):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await ensure_province(session, "B" + secrets.token_hex(4).upper(), name)


async def one_round(resources, rows: int) -> tuple[float, float, float]:
    # The baseline: one Core executemany, in one transaction, inside the nation's scope.
    province = await _province(resources, "Tỉnh Chuẩn")
    prepared = raw_rows(generate(rows, "R" + secrets.token_hex(3)), province.id)
    start = time.perf_counter()
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for chunk in range(0, len(prepared), 500):
            await session.execute(insert(Agency.__table__), prepared[chunk : chunk + 500])
    raw = time.perf_counter() - start

    province = await _province(resources, "Tỉnh Thử")
    content = generate(rows, "I" + secrets.token_hex(3)).encode()
    start = time.perf_counter()
    report = await onboard(resources.session, province, content, FileFormat.csv)
    imported = time.perf_counter() - start
    assert report.ok and len(report.created) == rows, report.errors[:5]

    start = time.perf_counter()
    again = await onboard(resources.session, province, content, FileFormat.csv)
    rerun = time.perf_counter() - start
    assert len(again.unchanged) == rows
    return raw, imported, rerun


async def measure(name: str, url: str, rows: int, rounds: int) -> None:
    settings = load_settings(
        env="test",
        database_url=url,
        migration_database_url=url,
        redis_url="memory://bench:",
        log_json=False,
    )
    resources = Resources.open(settings)
    try:
        results = [await one_round(resources, rows) for _ in range(rounds)]
    finally:
        await resources.close()
    raw, imported, rerun = (statistics.median(values) for values in zip(*results, strict=True))
    print(
        f"{name:<11} rows {rows}  raw Core insert {raw:6.3f} s  import {imported:6.3f} s  "
        f"ratio {imported / raw:4.2f}x (goal <= 3x)  re-run (no change) {rerun:6.3f} s  "
        f"[median of {rounds}]"
    )


async def with_postgres(rows: int, rounds: int) -> None:
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_URL)
    except (OSError, asyncpg.PostgresError) as error:
        print(f"postgresql  skipped: {PG_URL} unreachable ({error})")
        return
    name = f"eiso_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(PG_URL)._replace(path=f"/{name}").geturl()
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await measure("postgresql", url, rows, rounds)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        asyncio.run(measure("sqlite", url, args.rows, args.rounds))
    asyncio.run(with_postgres(args.rows, args.rounds))


if __name__ == "__main__":
    main()
