"""Demo data for `eiso demo`: loaded idempotently, so running it twice changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.clients import create_frontend_client
from eiso.core.auth.models import Client
from eiso.core.auth.passwords import hash_password
from eiso.core.auth.users import create_user, get_by_username
from eiso.core.demo import DATA
from eiso.core.demo import conformity as demo_conformity
from eiso.core.demo import dossiers as demo_dossiers
from eiso.core.demo import feedback as demo_feedback
from eiso.core.demo import iso_application as demo_iso
from eiso.core.demo import model_qms as demo_model_qms
from eiso.core.demo import plan as demo_plan
from eiso.core.demo.dossiers import Staff
from eiso.core.dossiers import catalogue
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.resources import Resources
from eiso.core.workdays import VN_TZ
from eiso.core.workdays.overrides import (
    ANNOUNCED_2026,
    load_calendar,
    missing_overrides,
    set_override,
)
from eiso.infra.clock import utcnow
from eiso.tenants.models import COMMUNE_LEVEL, Agency, AgencyKind, TenantStatus
from eiso.tenants.reorganisation import merge_provinces
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province, get_province

# The demo tenants (data.json): each province's name and agencies (code, name, kind). The
# province's people's committee comes first and heads every other agency but the partners of
# other sectors (kind `other`).
PROVINCES: dict[str, tuple[str, list[tuple[str, str, AgencyKind]]]] = {
    code: (p["name"], [(c, n, AgencyKind(k)) for c, n, k in p["agencies"]])
    for code, p in DATA["provinces"].items()
}
# The demo's province merges (data.json `merged_into`): merged province → (into, on, basis).
# Thái Bình joined Hưng Yên in the 2025 reorganisation of the provinces.
MERGES: dict[str, tuple[str, str, str]] = {
    code: tuple(p["merged_into"]) for code, p in DATA["provinces"].items() if "merged_into" in p
}


# Demo accounts (docs/auth.md): all share DEMO_PASSWORD. Never run `eiso demo` in production.
DEMO_PASSWORD = "eiso-demo-2026"
# The bundled sector modules each demo province switches on (set_module is idempotent).
DEMO_MODULES = {
    "22": [
        "land_use_rights",
        "construction_permits",
        "business_registration",
        "birth_registration",
    ],
    "33": ["business_registration", "birth_registration"],
}
# username, role, agency code, province code (neither: the nation): data.json `users`.
DEMO_USERS: list[tuple[str, str, str | None, str | None]] = [tuple(u) for u in DATA["users"]]
# Who receives and processes each agency's demo dossiers (usernames, as the audit trail has them).
DEMO_STAFF = {
    "000.31.01.H49": Staff("chuyenvien.halong", "lanhdao.halong"),
    "000.31.02.H49": Staff("chuyenvien.baichay", "lanhdao.baichay"),
    "000.32.01.H49": Staff("chuyenvien.tienyen", "lanhdao.tienyen"),
    "000.32.02.H49": Staff("chuyenvien.damha", "lanhdao.damha"),
    "000.00.22.H49": Staff("chuyenvien.soxaydung.qn", "lanhdao.soxaydung.qn"),
    "000.00.23.H49": Staff("chuyenvien.sonnmt.qn", "lanhdao.sonnmt.qn"),
    "000.41.01.H31": Staff("chuyenvien.phohien", "lanhdao.phohien"),
    "000.42.01.H31": Staff("chuyenvien.vangiang", "lanhdao.vangiang"),
}
# Province-level procedures and the departments that adopt them; communes and wards adopt
# every commune-level procedure of their province's modules.
DEPARTMENT_PROCEDURES = {
    "000.00.22.H49": ["CP-CONG-TRINH"],
    "000.00.23.H49": ["1.012753"],
    "000.00.22.H31": ["CP-CONG-TRINH"],
}
# Commune → its police and social insurance partners of the interlinked procedure.
INTERLINKED_PARTNERS = {
    "000.32.01.H49": ["000.51.01.H49", "000.52.01.H49"],
    "000.42.01.H31": ["000.51.01.H31", "000.52.01.H31"],
}
DEMO_WEB_CLIENT = "eiso-web-demo"
DEMO_WEB_REDIRECTS = ["http://127.0.0.1:5173/callback", "http://localhost:5173/callback"]

# Told one line per stage, Vietnamese first (`eiso demo` prints them; `--quiet` passes none).
Progress = Callable[[str], None]


def _silent(_line: str) -> None:
    pass


async def _load_demo_auth(session: AsyncSession) -> int:
    users, shared_hash = 0, ""
    for username, role, agency, province in DEMO_USERS:
        if await get_by_username(session, username) is None:
            user = await create_user(
                session,
                username=username,
                role=role,
                password=None,
                agency_code=agency,
                province_code=province,
            )
            # One argon2 hash (deliberately slow) serves every demo account: same password.
            shared_hash = shared_hash or await asyncio.to_thread(hash_password, DEMO_PASSWORD)
            user.password_hash = shared_hash
        users += 1
    if await session.get(Client, DEMO_WEB_CLIENT) is None:
        await create_frontend_client(
            session,
            redirect_uris=DEMO_WEB_REDIRECTS,
            name="eiso web (demo)",
            client_id=DEMO_WEB_CLIENT,
        )
    return users


def adoptions(registry: PluginRegistry, agencies: dict[str, Agency]) -> dict[str, list[str]]:
    """agency code → the procedures it adopts: only those of its province's demo modules that
    are loaded in this process."""
    plan: dict[str, list[str]] = {}
    for province, (_, rows) in PROVINCES.items():
        offered = {
            p.code: p
            for name in DEMO_MODULES.get(province, [])
            if name in registry.loaded
            for p in registry.loaded[name].procedures
        }
        commune_level = [
            c for c, p in offered.items() if p.level == "commune" and c != demo_plan.INTERLINKED
        ]
        for code, _name, kind in rows:
            wanted = list(DEPARTMENT_PROCEDURES.get(code, []))
            if kind in COMMUNE_LEVEL:
                wanted += commune_level + (
                    [demo_plan.INTERLINKED] if code in INTERLINKED_PARTNERS else []
                )
            if any(code in partners for partners in INTERLINKED_PARTNERS.values()):
                wanted.append(demo_plan.INTERLINKED)
            if code in agencies and (chosen := [c for c in wanted if c in offered]):
                plan[code] = chosen
    return plan


async def _merge_provinces(session: AsyncSession) -> int:
    """Each demo merge once, dated the day it took effect: the merged province stays as a record
    (status merged), its agencies and their rows move with their ids, and `agency_lineage` says
    where each came from (tenants/reorganisation.py)."""
    for code, (into, on, _basis) in MERGES.items():
        source = await get_province(session, code)
        if source is not None and source.status != TenantStatus.merged:
            local = dt.datetime.combine(dt.date.fromisoformat(on), dt.time(), VN_TZ)
            effective = local.astimezone(dt.UTC)  # SQLite keeps the digits, not the zone
            await merge_provinces(session, into, code, by="demo", effective=effective)
    return len(MERGES)


async def _load_tenants(
    resources: Resources, progress: Progress
) -> tuple[dict[str, int], dict[str, Agency]]:
    provinces = agencies = modules = 0
    made: dict[str, Agency] = {}
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for code, (name, rows) in PROVINCES.items():
            province = await ensure_province(session, code, name)
            assert province.id is not None  # read or flushed: it has its id
            provinces += 1
            if province.status == TenantStatus.merged:  # a later run: its agencies moved
                agencies += len(rows)
                progress(f"{name}: đã sáp nhập / merged")
                continue
            committee: Agency | None = None
            for agency_code, agency_name, kind in rows:
                parent = None if kind is AgencyKind.other else committee
                made[agency_code] = await ensure_agency(
                    session, province, agency_code, agency_name, kind, parent
                )
                committee = committee or made[agency_code]  # the first row
                agencies += 1
            for module in DEMO_MODULES.get(code, []):
                await set_module(session, province.id, module, True, by="demo")
                modules += 1
            n, m = len(rows), len(DEMO_MODULES.get(code, []))
            progress(f"{name}: {n} cơ quan, {m} mô-đun… / {n} agencies, {m} modules")
        merged = await _merge_provinces(session)
        progress(f"Sáp nhập tỉnh: {merged} / province merges: {merged}")
        # The 2026 announcements the `holidays` package does not already know.
        overrides = missing_overrides(ANNOUNCED_2026)
        for day, day_kind, reason in overrides:
            await set_override(session, day, day_kind, reason, "demo")
        users = await _load_demo_auth(session)
        progress(f"Tài khoản mẫu: {users}… / demo accounts: {users}")
    return {
        "provinces": provinces,
        "agencies": agencies,
        "users": users,
        "calendar_overrides": len(overrides),
        "modules": modules,
        "provinces_merged": merged,
    }, made


async def load_demo(
    resources: Resources, registry: PluginRegistry | None = None, progress: Progress = _silent
) -> dict[str, int]:
    """Provinces, agencies, accounts, modules, adoptions and a few hundred dossiers in every
    status. `registry`: the modules to use (default: those EISO_PLUGINS loads); `progress`:
    told one line per stage."""
    registry = registry if registry is not None else PluginRegistry.load(resources.settings.plugins)
    counts, agencies = await _load_tenants(resources, progress)
    await catalogue.sync_registry(resources, registry)
    chosen = adoptions(registry, agencies)
    counts["adoptions_created"] = await demo_dossiers.adopt_all(resources, agencies, chosen)
    # The model QMS of Decision 101/QĐ-BKHCN, adopted by every agency (drafts to approve).
    counts["model_qms_documents"] = await demo_model_qms.adopt(resources, agencies.values())
    n = sum(len(c) for c in chosen.values())
    progress(
        f"Thủ tục áp dụng: {n} ở {len(chosen)} cơ quan… / {n} adoptions in {len(chosen)} agencies"
    )
    async with resources.session(TenantScope.nation()) as session:
        calendar = await load_calendar(session, resources.settings)
    provinces = {code: [r[0] for r in rows] for code, (_, rows) in PROVINCES.items()}
    plan = demo_plan.draw({a: p for a, p in chosen.items() if a in DEMO_STAFF}, provinces)
    # Whole hours: a second run within the hour draws exactly the same dates.
    anchor = utcnow().replace(minute=0, second=0, microsecond=0)
    context = demo_dossiers.Context(resources, registry, calendar, agencies, DEMO_STAFF, anchor)
    progress(f"Hồ sơ mẫu: {len(plan)} theo kế hoạch… / demo dossiers: {len(plan)} planned")
    counts["dossiers_created"] = await demo_dossiers.create(context, plan)
    by_status = await demo_dossiers.count_by_status(resources)
    counts["dossiers"] = sum(sum(c.values()) for c in by_status.values())
    iso = await demo_iso.load(resources, agencies)
    progress(
        f"Kiểm tra ISO: {iso['inspections']} đợt, {iso['inspection_findings']} phát hiện… / "
        f"ISO inspections: {iso['inspections']}, findings: {iso['inspection_findings']}"
    )
    counts.update(iso)
    counts.update(await demo_feedback.load(resources, agencies, chosen, anchor))
    counts.update(await demo_conformity.load(resources, agencies, chosen))
    progress(
        f"Phản ánh, kiến nghị: {counts['feedback']}; phạm vi HTQLCL: "
        f"{counts['conformity_scopes']}; đã công bố: {counts['conformity_announced']}; "
        f"báo cáo năm: {counts['yearly_reports']}… / feedback: {counts['feedback']}, QMS "
        f"scopes: {counts['conformity_scopes']}, announced: {counts['conformity_announced']}, "
        f"yearly reports: {counts['yearly_reports']}"
    )
    return counts
