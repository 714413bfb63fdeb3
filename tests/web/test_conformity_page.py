"""The province's public page of ISO 9001 conformity (`/tinh/<province>/iso`): every agency's
status and, once announced, its decision with the scope and links to the decision (HTML and
PDF), over HTTP and in Chromium with axe-core on a desktop and a 360 px phone."""

from __future__ import annotations

import datetime as dt

import pytest

from eiso.core.qms.conformity import ConformityAnnouncement
from eiso.tenants.models import AgencyKind, IsoStatus, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency
from tests.conftest import unique_code
from tests.web.support import PROC
from tests.web.test_browser import VIEWPORTS, visit

DECISION = "27/QĐ-UBND"


async def announced_agency(resources, place):
    """A new agency of the place's province that announced conformity (decision 27/QĐ-UBND)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, place.agency.province_id)
        agency = await ensure_agency(
            session,
            province,
            unique_code("A"),
            "UBND xã Hợp Chuẩn " + unique_code(),
            AgencyKind.commune,
        )
        agency.iso_status = IsoStatus.announced
        session.add(
            ConformityAnnouncement(
                province_id=agency.province_id,
                agency_id=agency.id,
                status=IsoStatus.announced,
                decision_number=DECISION,
                announced_on=dt.date(2026, 11, 20),
                announced_by="leader-probe",
                announced_scope={"procedures": [PROC], "activities": ["Tiếp dân"]},
                updated_by="probe",
            )
        )
    return agency


async def test_conformity_page_lists_status_and_decision(web, places, resources):
    a, b = places
    agency = await announced_agency(resources, a)
    page = await web.get(f"/tinh/{a.province_code}/iso")
    assert page.status_code == 200
    text = page.text
    assert "Công bố hệ thống quản lý chất lượng ISO 9001" in text
    assert agency.name in text and DECISION in text and "Đã công bố" in text
    assert "Tiếp dân" in text and PROC in text and "leader-probe" not in text
    assert b.agency.name not in text  # another province's agencies are not listed
    english = await web.get(f"/tinh/{a.province_code}/iso?lang=en")
    assert "ISO 9001 conformity of the agencies of" in english.text
    # The decision itself, linked from the page, is public.
    link = text.split('href="/conformity-announcements/')[1].split('"')[0]
    decision = await web.get("/conformity-announcements/" + link)
    assert decision.status_code == 200 and "Điều 1." in decision.text and DECISION in decision.text
    # The province's page links here.
    assert f'href="/tinh/{a.province_code}/iso"' in (await web.get(f"/tinh/{a.province_code}")).text
    missing = await web.get("/tinh/NO-SUCH/iso")
    assert missing.status_code == 404


@pytest.mark.only_backend("sqlite+memory")
@pytest.mark.slow
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_conformity_page_in_a_browser(browser, site, places, resources, viewport):
    a, _ = places
    agency = await announced_agency(resources, a)
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(site + f"/tinh/{a.province_code}")
    await page.get_by_role("link", name="Công bố ISO 9001 của các cơ quan").click()
    await page.get_by_role("heading", level=2, name=agency.name).wait_for()
    await v.check("conformity")
    await page.get_by_role("link", name="Xem quyết định").first.wait_for()
    assert v.blocked == []
    assert v.errors == []
    assert v.violations == {}
