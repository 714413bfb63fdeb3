"""The tenant scope's criteria on the write path (issue 18): dossier moves per CPU second of
this process, PostgreSQL as the application role (row-level security on), against a baseline
of the same run that builds the criteria as before (a fresh `visible_to(...)` and fresh
`with_loader_criteria` options on every statement, so SQLAlchemy walks them for the cache key).

Each round takes `--dossiers` dossiers of one agency through receive → assign → complete both
steps → return (5 transactions, the engine as the GraphQL mutations call it, no HTTP), first
with the baseline criteria, then with the current ones, interleaved; CPU time is
`time.process_time()` of this process (the Python side: the database runs elsewhere).
`--profile` adds a cProfile run of each and prints the share of the scope's functions.

    .venv/bin/python -m bench.scope_criteria_bench [--dossiers 40] [--rounds 3] [--profile]

A throwaway database `eiso_bench_criteria_<hex>` is created and dropped on
EISO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import os
import pstats
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel, Field
from sqlalchemy.orm import with_loader_criteria
from sqlmodel import col

from bench import dossier_generator as generator
from bench.common import adopt
from eiso.core.dossiers import catalogue, engine, service
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.resources import Resources
from eiso.core.sdk import LocalizedText, ModuleInfo, Procedure, Step, TimeLimit, hookimpl
from eiso.core.settings import load_settings
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.tenants import scope as scope_module
from eiso.tenants.models import Agency, AgencyKind, TenantRow
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROC = "9.000018"
MOMENT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=VN_TZ)  # a Tuesday morning


class Data(BaseModel):
    child_name: str = Field(min_length=1)


class _Module:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="bench_criteria",
            title=LocalizedText(vi="Thử tải", en="Bench"),
            version="1.0",
            sector="ho_tich",
        )

    @hookimpl
    def eiso_procedures(self):
        steps = tuple(
            Step(
                code=code,
                name=LocalizedText(vi=code, en=code),
                responsible_role="officer",
                budget=TimeLimit(amount=1),
            )
            for code in ("review", "sign")
        )
        return [
            Procedure(
                code=PROC,
                name=LocalizedText(vi="Thủ tục thử", en="Bench procedure"),
                sector="ho_tich",
                time_limit=TimeLimit(amount=3),
                result=LocalizedText(vi="Kết quả", en="Result"),
                steps=steps,
                data_model=Data,
            )
        ]


def baseline_criteria(scope: TenantScope) -> list:
    """The criteria as built before issue 18: new options and expressions on every statement."""
    if scope.kind == "nation":
        return []
    shared = scope_module._shared_models()
    agency_ids = tuple(sorted(scope.agency_ids))
    province_ids = tuple(sorted(scope.province_ids))
    if scope.kind == "province":
        return [
            *[
                with_loader_criteria(m, col(m.province_id).in_(province_ids), include_aliases=True)
                for m in shared
            ],
            with_loader_criteria(
                TenantRow, lambda cls: cls.province_id.in_(province_ids), include_aliases=True
            ),
            with_loader_criteria(
                Agency, lambda cls: cls.province_id.in_(province_ids), include_aliases=True
            ),
        ]
    return [
        *[
            with_loader_criteria(m, m.visible_to(agency_ids, province_ids), include_aliases=True)
            for m in shared
        ],
        with_loader_criteria(
            TenantRow, lambda cls: cls.agency_id.in_(agency_ids), include_aliases=True
        ),
        with_loader_criteria(Agency, lambda cls: cls.id.in_(agency_ids), include_aliases=True),
    ]


@contextmanager
def criteria(build: Callable[[TenantScope], object] | None) -> Iterator[None]:
    """Run with `build` as the scope's criteria (None: the current code)."""
    current = scope_module._criteria
    if build is not None:
        scope_module._criteria = build  # type: ignore[assignment]
    try:
        yield
    finally:
        scope_module._criteria = current


async def setup(resources: Resources, registry: PluginRegistry) -> Agency:
    tag = secrets.token_hex(3).upper()
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)
        province = await ensure_province(session, f"B{tag}", "Tỉnh Thử Tải")
        agency = await ensure_agency(
            session, province, f"B{tag}.1", "UBND xã Thử Tải", AgencyKind.commune
        )
        await set_module(session, province.id, "bench_criteria", True, by="bench")
    async with resources.session(_scope(agency)) as session, session.begin():
        await adopt(session, agency, PROC)
    return agency


def _scope(agency: Agency) -> TenantScope:
    return TenantScope.agencies([agency.id], [agency.province_id])


async def moves(resources: Resources, agency: Agency, dossiers: int) -> int:
    """Take `dossiers` dossiers receive → return; the number of moves (transactions)."""
    scope, calendar = _scope(agency), WorkingCalendar()
    for _ in range(dossiers):
        async with resources.session(scope) as session, session.begin():
            got = await engine.receive(
                session,
                agency=agency,
                procedure_code=PROC,
                applicant={"full_name": "Nguyễn Thị Hoa"},
                sector_data={"child_name": "Trần Minh Khôi"},
                actor="officer",
                calendar=calendar,
                data_model=Data,
                now=MOMENT,
            )
        d = got.dossier
        d = await service.act(
            resources, scope, d.id, d.version, engine.assign, actor="o", assignee="o", now=MOMENT
        )
        for _step in range(2):
            d = await service.act(
                resources, scope, d.id, d.version, engine.complete_step, actor="o", now=MOMENT
            )
        await service.act(
            resources, scope, d.id, d.version, engine.return_result, actor="o", now=MOMENT
        )
    return dossiers * 5


async def measure(args: argparse.Namespace, database_url: str) -> None:
    settings = load_settings(
        env="test",
        database_url=generator.app_url(database_url),
        migration_database_url=database_url,
        redis_url="memory://bench-criteria:",
        log_json=False,
        plugins=[],
    )
    resources = Resources.open(settings)
    registry = PluginRegistry.load(None, [PluginSource.of("bench_criteria", _Module())])
    try:
        agency = await setup(resources, registry)
        await moves(resources, agency, 5)  # warm-up: connections, compiled-statement cache
        cpu = {"baseline": 0.0, "current": 0.0}
        count = {"baseline": 0, "current": 0}
        arms = [("baseline", baseline_criteria), ("current", None)]
        for round_ in range(args.rounds):
            for name, build in arms if round_ % 2 == 0 else arms[::-1]:  # alternate the order
                with criteria(build):
                    start = time.process_time()
                    count[name] += await moves(resources, agency, args.dossiers)
                    cpu[name] += time.process_time() - start
        rate = {name: count[name] / cpu[name] for name in cpu}
        print(
            f"moves per CPU second: baseline {rate['baseline']:.0f}, current "
            f"{rate['current']:.0f}, ratio {rate['current'] / rate['baseline']:.2f}x "
            f"({count['current']} moves each; CPU ms per move: baseline "
            f"{1000 / rate['baseline']:.2f}, current {1000 / rate['current']:.2f})"
        )
        if args.profile:
            for name, build in (("baseline", baseline_criteria), ("current", None)):
                with criteria(build):
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await moves(resources, agency, args.dossiers)
                    profiler.disable()
                print(f"{name}: share of profiled time, {_shares(profiler)}")
    finally:
        await resources.close()


def _shares(profiler: cProfile.Profile) -> str:
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    wanted = {"_add_scope", "_criteria", "baseline_criteria"}
    shares: dict[str, float] = {}
    for (path, _line, function), (_cc, _nc, _tt, cumulative, _callers) in raw.items():
        label = None
        if function in wanted and ("scope" in path or "bench" in path):
            label = function
        elif function == "_generate_cache_key" and path.endswith("cache_key.py"):
            label = "SQLAlchemy cache keys"  # two classes define it: the outer call counts
        if label:
            shares[label] = max(shares.get(label, 0.0), 100 * cumulative / total)
    return ", ".join(f"{k} {v:.1f} %" for k, v in sorted(shares.items())) or "none seen"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=40, help="dossiers per round and arm")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile shares of the scope")
    args = parser.parse_args(argv)
    name = f"eiso_bench_criteria_{secrets.token_hex(4)}"
    database_url = urlsplit(PG_URL)._replace(path=f"/{name}").geturl()

    async def run() -> None:
        await generator.create_database(database_url)
        try:
            await measure(args, database_url)
        finally:
            await generator.drop_database(database_url)

    asyncio.run(run())


if __name__ == "__main__":
    main()
