"""The model QMS adopted by a province's agencies: one bulk call against one call per agency.

A fresh database with one province, its People's Committee and N communes (100 by default).
In the same run it times `model_qms.adopt` for all N agencies in one transaction (the bulk
mutation `adoptModelQms`, set-based: one INSERT of many rows per table and the audit entries
of all the chains at once); in a second province made alike, N calls of one agency each in a
transaction of its own (a province adopting agency by agency); and in a third, the per-document
path adoption took before (issue 20): for every agency and document `documents.create_document`
(a check, a flush and an audit append each), in one transaction. The documents written per
second of each, their ratios, and the audit chains verified. Then the ISO process document of
one adoption rendered as HTML and as PDF, against slip 06's PDF writer on a plain document as
the baseline.

    python -m bench.model_qms_bench [--agencies 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path


async def _province(session, code: str, n: int):  # type: ignore[no-untyped-def]
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.services import ensure_agency, ensure_province

    province = await ensure_province(session, code, f"Tỉnh Đo {code}")
    await ensure_agency(session, province, f"{code}-UB", "UBND tỉnh", AgencyKind.people_committee)
    agencies = [
        await ensure_agency(
            session, province, f"{code}-{i:03d}", f"UBND xã {i}", AgencyKind.commune
        )
        for i in range(n)
    ]
    return province, agencies


async def _run(n: int, url: str) -> dict[str, float]:
    from eiso.core import audit, qms  # noqa: F401  (qms: the QMS listeners)
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.dossiers.slips.documents import Document, Line
    from eiso.core.dossiers.slips.printing import render_pdf
    from eiso.core.qms import documents, model_qms, process_docs
    from eiso.core.qms.model_qms_data import TEMPLATES
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.infra import migrate
    from eiso.tenants.scope import TenantScope

    migrate.upgrade(url)
    settings = load_settings(
        database_url=url, redis_url="memory://bench-mq:", env="test", log_level="WARNING"
    )
    resources = Resources.open(settings)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        bulk_province, _ = await _province(session, "MQB", n)
        single_province, singles = await _province(session, "MQS", n)
        old_province, olds = await _province(session, "MQO", n)

    def admin(province_id: int) -> Principal:
        return Principal(
            "bench",
            TenantScope.province(province_id),
            frozenset({Role.province_admin}),
            province_id=province_id,
        )

    started = time.perf_counter()
    who = admin(bulk_province.id)
    async with resources.session(who.tenant) as session, session.begin():
        report = await model_qms.adopt(session, who, bulk_province.id, agency_kind="commune")
    bulk = time.perf_counter() - started
    started = time.perf_counter()
    who = admin(single_province.id)
    created = 0
    for agency in singles:
        async with resources.session(who.tenant) as session, session.begin():
            one = await model_qms.adopt(session, who, single_province.id, agency_ids=[agency.id])
            created += one.created
    single = time.perf_counter() - started
    assert report.created == created
    started = time.perf_counter()
    who = admin(old_province.id)
    async with resources.session(who.tenant) as session, session.begin():
        for agency in olds:  # the loop `adopt` ran before, one document at a time
            for item in TEMPLATES:
                await documents.create_document(
                    session,
                    who,
                    province_id=old_province.id,
                    agency_id=agency.id,
                    kind=item.kind,
                    code=item.code,
                    title=item.title,
                    content=item.content.replace("{agency}", agency.name),
                    legal_reference="101/QĐ-BKHCN",
                )
    old = time.perf_counter() - started
    async with resources.session(TenantScope.nation()) as session:
        assert await audit.verify(session) == [], "an audit chain is broken"

    spec = {
        "title": "Quy trình đăng ký khai sinh",
        "time_limit": "3 ngày làm việc",
        "steps": [
            {
                "number": i,
                "name": f"Bước {i}",
                "who": "Công chức",
                "unit": "",
                "budget": "1 ngày",
                "stops_clock": False,
            }
            for i in range(1, 9)
        ],
        "agency": "UBND xã Đo",
        "province": "Tỉnh Đo",
        "code": "QT-1.001193",
        "purpose": "Mục đích",
        "scope": "Phạm vi",
        "legal_basis": ["123/2015/NĐ-CP"],
        "references": ["TCVN ISO 9001:2015"],
        "statutory_limit": "3 ngày làm việc",
        "cutoff": "15:00",
        "supplements": 1,
        "fee_stops_clock": False,
        "components": [{"name": "Tờ khai", "copies": 1, "required": True}],
        "fee": None,
        "records": ["Mẫu 01"],
        "revisions": [],
    }
    rendered = process_docs.Rendered(spec, 1, "draft")
    fonts = settings.slip_font_dir
    times = {}
    for name, work in (
        ("html", lambda: process_docs.html(rendered)),
        (
            "pdf",
            lambda: render_pdf(
                process_docs.printable(rendered), fonts, None, process_docs.draw_flow(spec)
            ),
        ),
        (
            "baseline pdf",
            lambda: render_pdf(
                Document("06", "PHIẾU", "UBND", "Xã", "ngày", "X", "", [Line("x")] * 8), fonts
            ),
        ),
    ):
        work()
        started = time.perf_counter()
        for _ in range(20):
            work()
        times[name] = (time.perf_counter() - started) / 20 * 1000
    await resources.close()
    return {
        "documents": report.created,
        "bulk_s": bulk,
        "single_s": single,
        "old_s": old,
        **{f"{k}_ms": v for k, v in times.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        got = asyncio.run(_run(args.agencies, url))
    n = got["documents"]
    print(f"model QMS adoption, {args.agencies} agencies, {n:.0f} documents ({url.split(':')[0]})")
    print(f"  one bulk call        {got['bulk_s']:.2f} s  {n / got['bulk_s']:.0f} documents/s")
    print(f"  one call per agency  {got['single_s']:.2f} s  {n / got['single_s']:.0f} documents/s")
    print(f"  per document (before) {got['old_s']:.2f} s  {n / got['old_s']:.0f} documents/s")
    print(f"  ratio bulk/single speed: {got['single_s'] / got['bulk_s']:.2f}")
    print(f"  ratio bulk/before speed: {got['old_s'] / got['bulk_s']:.2f}")
    print(
        f"process document (8 steps): html {got['html_ms']:.1f} ms, pdf {got['pdf_ms']:.1f} ms; "
        f"baseline slip pdf {got['baseline pdf_ms']:.1f} ms "
        f"(ratio {got['pdf_ms'] / got['baseline pdf_ms']:.2f})"
    )
    return got


if __name__ == "__main__":
    main()
