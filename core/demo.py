"""Demo data for `eiso demo`: loaded idempotently, so running it twice changes nothing."""

from __future__ import annotations

from eiso.core.auth.clients import create_frontend_client
from eiso.core.auth.models import Client
from eiso.core.auth.users import create_user, get_by_username
from eiso.core.resources import Resources
from eiso.core.workdays.overrides import ANNOUNCED_2026, missing_overrides, set_override
from eiso.tenants.models import AgencyKind
from eiso.tenants.modules import set_module
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province

PROVINCES = {
    "22": (
        "Tỉnh Quảng Ninh",
        [
            ("000.00.00.H51", "Ủy ban nhân dân tỉnh Quảng Ninh", AgencyKind.people_committee, None),
            ("000.00.10.H51", "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh", AgencyKind.service_centre, "000.00.00.H51"),
            ("000.00.21.H51", "Sở Khoa học và Công nghệ tỉnh Quảng Ninh", AgencyKind.department, "000.00.00.H51"),
            ("000.00.22.H51", "Sở Xây dựng tỉnh Quảng Ninh", AgencyKind.department, "000.00.00.H51"),
            ("000.00.23.H51", "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh", AgencyKind.department, "000.00.00.H51"),
            ("000.31.01.H51", "Ủy ban nhân dân phường Hạ Long", AgencyKind.ward, "000.00.00.H51"),
            ("000.31.02.H51", "Ủy ban nhân dân phường Bãi Cháy", AgencyKind.ward, "000.00.00.H51"),
            ("000.32.01.H51", "Ủy ban nhân dân xã Tiên Yên", AgencyKind.commune, "000.00.00.H51"),
            ("000.32.02.H51", "Ủy ban nhân dân xã Đầm Hà", AgencyKind.commune, "000.00.00.H51"),
        ],
    ),
    "33": (
        "Tỉnh Hưng Yên",
        [
            ("000.00.00.H31", "Ủy ban nhân dân tỉnh Hưng Yên", AgencyKind.people_committee, None),
            ("000.00.10.H31", "Trung tâm Phục vụ hành chính công tỉnh Hưng Yên", AgencyKind.service_centre, "000.00.00.H31"),
            ("000.00.22.H31", "Sở Xây dựng tỉnh Hưng Yên", AgencyKind.department, "000.00.00.H31"),
            ("000.41.01.H31", "Ủy ban nhân dân phường Phố Hiến", AgencyKind.ward, "000.00.00.H31"),
            ("000.42.01.H31", "Ủy ban nhân dân xã Văn Giang", AgencyKind.commune, "000.00.00.H31"),
        ],
    ),
}


# Demo accounts (docs/auth.md): all share DEMO_PASSWORD. Never run `eiso demo` in production.
DEMO_PASSWORD = "eiso-demo-2026"
# The bundled sector modules each demo province switches on (set_module is idempotent).
DEMO_MODULES = {
    "22": ["land_use_rights", "construction_permits", "business_registration", "birth_registration"],
    "33": ["business_registration", "birth_registration"],
}
DEMO_USERS = [
    # username, role, agency code, province code (neither: the nation)
    ("quantri.quocgia", "national_admin", None, None),
    ("quantri.quangninh", "province_admin", None, "22"),
    ("quantri.hungyen", "province_admin", None, "33"),
    ("thuky.soxaydung.qn", "iso_secretary", "000.00.22.H51", None),
    ("lanhdao.soxaydung.qn", "leader", "000.00.22.H51", None),
    ("chuyenvien.halong", "officer", "000.31.01.H51", None),
    ("danhgia.quangninh", "auditor", None, "22"),
]
DEMO_WEB_CLIENT = "eiso-web-demo"
DEMO_WEB_REDIRECTS = ["http://127.0.0.1:5173/callback", "http://localhost:5173/callback"]


async def _load_demo_auth(session) -> int:
    users = 0
    for username, role, agency, province in DEMO_USERS:
        if await get_by_username(session, username) is None:
            await create_user(session, username=username, role=role, password=DEMO_PASSWORD,
                              agency_code=agency, province_code=province)
        users += 1
    if await session.get(Client, DEMO_WEB_CLIENT) is None:
        await create_frontend_client(session, redirect_uris=DEMO_WEB_REDIRECTS,
                                     name="eiso web (demo)", client_id=DEMO_WEB_CLIENT)
    return users


async def load_demo(resources: Resources) -> dict[str, int]:
    provinces = agencies = modules = 0
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for code, (name, rows) in PROVINCES.items():
            province = await ensure_province(session, code, name)
            provinces += 1
            by_code = {}
            for agency_code, agency_name, kind, parent_code in rows:
                by_code[agency_code] = await ensure_agency(
                    session, province, agency_code, agency_name, kind, by_code.get(parent_code)
                )
                agencies += 1
            for module in DEMO_MODULES.get(code, []):
                await set_module(session, province.id, module, True, by="demo")
                modules += 1
        # The 2026 announcements the `holidays` package does not already know.
        overrides = missing_overrides(ANNOUNCED_2026)
        for day, kind, reason in overrides:
            await set_override(session, day, kind, reason, "demo")
        users = await _load_demo_auth(session)
    return {
        "provinces": provinces,
        "agencies": agencies,
        "users": users,
        "calendar_overrides": len(overrides),
        "modules": modules,
    }
