"""Slips as issued (core/dossiers/slips/issued.py): what issuing costs the move that issues
them, and what printing an issued slip costs against building it again, in-process on SQLite,
each against a baseline measured in the same run, rounds interleaved, medians reported.

(a) receipt at the counter (engine.receive, one transaction each), with the slips listener
    that issues slips 01 and 06 in the move's transaction, against the same receipt without
    it (the listener removed for that round): ms per receipt and the ratio.
(b) slip 01 as HTML: printed from the issued slip (service.render_loaded), against building it
    from the dossier's facts as every print did before (facts.load + build + render_html).

    python -m bench.slips_bench [--dossiers 200] [--prints 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dossier_bench import PROCEDURE, SECTOR_DATA  # birth registration, three steps

APPLICANT = {"full_name": "Nguyễn Thị Hoa", "phone": "0912345678", "email": "hoa@example.vn"}


async def _arrange(url: str):
    from eiso.core.demo.dossiers import adopt_all
    from eiso.core.dossiers import catalogue
    from eiso.core.plugins.activation import set_module
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    settings = load_settings(env="test", database_url=url, redis_url="memory://", log_json=False)
    resources = Resources.open(settings)
    await catalogue.sync_registry(resources, PluginRegistry.load(["birth_registration"]))
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, "22", "Tỉnh Quảng Ninh")
        agency = await ensure_agency(
            session, province, "000.32.01.H49", "Ủy ban nhân dân xã Tiên Yên", AgencyKind.commune
        )
        # A province receives dossiers only of the modules it switched on (MODULE_DISABLED).
        await set_module(session, province.id, "birth_registration", True, by="bench")
    await adopt_all(resources, {agency.code: agency}, {agency.code: [PROCEDURE]})
    return resources, agency


async def _receive(resources, agency, count: int) -> tuple[float, list[int]]:
    from eiso.core.dossiers import engine
    from eiso.core.workdays import WorkingCalendar
    from eiso.tenants.scope import TenantScope

    scope = TenantScope.agencies([agency.id], [agency.province_id])
    calendar, ids = WorkingCalendar(), []
    start = time.perf_counter()
    for _ in range(count):
        async with resources.session(scope) as session, session.begin():
            got = await engine.receive(
                session,
                agency=agency,
                procedure_code=PROCEDURE,
                applicant=APPLICANT,
                sector_data=SECTOR_DATA,
                actor="bench",
                calendar=calendar,
            )
            ids.append(got.dossier.id)
    return (time.perf_counter() - start) * 1000 / count, ids


async def _print(resources, agency, ids: list[int], issued: bool) -> float:
    from eiso.core.dossiers.slips import facts, forms, service
    from eiso.core.dossiers.slips.documents import build
    from eiso.core.dossiers.slips.markup import render_html
    from eiso.core.workdays.overrides import load_calendar
    from eiso.tenants.scope import TenantScope

    scope = TenantScope.agencies([agency.id], [agency.province_id])
    start = time.perf_counter()
    async with resources.session(scope) as session, session.begin():
        for dossier_id in ids:
            dossier = await facts.load_dossier(
                session, province_id=agency.province_id, dossier_id=dossier_id
            )
            if issued:
                await service.render_loaded(session, resources.settings, dossier, 1, "html")
            else:
                calendar = await load_calendar(session, resources.settings)
                loaded = await facts.load(session, dossier, calendar)
                render_html(build(loaded, forms.FORMS[1])).encode()
    return (time.perf_counter() - start) * 1000 / len(ids)


async def measure(url: str, dossiers: int, prints: int, rounds: int) -> None:
    from eiso.core.dossiers import listeners
    from eiso.core.dossiers.slips import issued

    resources, agency = await _arrange(url)
    try:
        await _receive(resources, agency, 10)  # warm-up
        with_listener: list[float] = []
        without: list[float] = []
        printed_ids: list[int] = []
        for _ in range(rounds):
            ms, ids = await _receive(resources, agency, dossiers)
            with_listener.append(ms)
            printed_ids = printed_ids or ids[:prints]
            listeners._transitions.remove(issued.after_transition)
            try:
                without.append((await _receive(resources, agency, dossiers))[0])
            finally:
                listeners.on_transition(issued.after_transition)
        issued_ms, built_ms = [], []
        await _print(resources, agency, printed_ids, issued=True)  # issues any missing, warms up
        for _ in range(rounds):
            issued_ms.append(await _print(resources, agency, printed_ids, issued=True))
            built_ms.append(await _print(resources, agency, printed_ids, issued=False))
    finally:
        await resources.close()
    a, b = statistics.median(with_listener), statistics.median(without)
    c, d = statistics.median(issued_ms), statistics.median(built_ms)
    print(f"receipt at the counter, SQLite, {dossiers} x {rounds} rounds (median ms/receipt):")
    print(f"  with slips issued (01, 06)   {a:8.2f}")
    print(f"  without the slips listener   {b:8.2f}   ratio {a / b:.2f}x")
    print(f"slip 01 as HTML, {len(printed_ids)} prints x {rounds} rounds (median ms/print):")
    print(f"  from the issued slip         {c:8.2f}")
    print(f"  built from the facts         {d:8.2f}   ratio {c / d:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=200)
    parser.add_argument("--prints", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    import eiso.core.qms  # noqa: F401 - as in the app: the QMS listens to the engine too
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        asyncio.run(measure(url, args.dossiers, args.prints, args.rounds))


if __name__ == "__main__":
    main()
