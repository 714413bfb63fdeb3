"""The ISO workspace's improvement loop in a real browser (the set-up and checks of
test_browser_iso.py: Debian's Chromium, headless, confined to 127.0.0.1, axe-core on every
page, no sideways scroll), on a desktop and on a 360 px phone:

- the journey issue 21 asks for: a dossier goes past its appointment, the overdue sweep
  (`eiso qms sweep-overdue`'s service) raises its nonconformity, and the ISO secretary finds it
  on the board, records the corrective action, marks it done, records the effectiveness check
  and closes it;
- the conformity page (the scope chosen from the adopted procedures, what an announcement
  lacks), the yearly report filled and sent, the downloads, an internal audit planned with its
  checklist and a finding, a management review with its compiled inputs; then the DOST at the
  province console returns the report with a comment."""

from __future__ import annotations

import datetime as dt

import pytest

from eiso.core.qms import dossier_ncs
from eiso.tenants.scope import TenantScope
from tests.web.test_browser import VIEWPORTS, Visit
from tests.web.test_browser_console import check as console_check
from tests.web.test_browser_iso import signed_in
from tests.web.test_iso_conformity import TODAY, province_admin, received
from tests.web.test_iso_workspace import office

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the pages docs/web.md shows.
SHOTS = {
    "closed": "iso-nc-closed",
    "conformity": "iso-conformity",
    "yearly": "iso-yearly-report",
    "audit plan": "iso-audit-plan",
    "review": "iso-review",
    "console board": "console-yearly-reports",
}


async def check(v: Visit, name: str) -> None:
    await console_check(v, name, SHOTS)


def clean(v: Visit) -> None:
    assert v.blocked == [] and v.errors == [] and v.violations == {}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_an_nc_raised_from_an_overdue_dossier_is_closed_with_its_check(
    browser, desk_site, resources, viewport
):
    staff = await office(resources, f"Xã Quá Hạn {viewport}")
    # A dossier received two months ago is past its appointment: the sweep raises its NC.
    code = await received(resources, staff, dt.datetime.now(dt.UTC) - dt.timedelta(days=60))
    agency = staff.agency
    scope = TenantScope.agencies([agency.id], [agency.province_id])
    async with resources.session(scope) as session, session.begin():
        swept = await dossier_ncs.sweep_overdue(session)
    assert swept["raised"] == 1

    v = await signed_in(browser, desk_site, viewport, staff.secretary, "/iso/khong-phu-hop")
    page = v.page
    title = f"Hồ sơ {code} quá hạn giải quyết"
    card = page.locator("article.card", has_text=title)
    await card.wait_for()
    assert "hồ sơ trễ hạn" in await card.inner_text()
    await check(v, "raised")
    await card.locator("summary").click()
    await card.get_by_label("Nguyên nhân gốc").fill("Thiếu cán bộ thẩm định")
    await card.get_by_label("Hành động khắc phục").fill("Bổ sung một cán bộ thẩm định")
    await card.get_by_label("Người phụ trách").fill("Văn phòng")
    await card.get_by_label("Hạn hoàn thành").fill((TODAY + dt.timedelta(days=30)).isoformat())
    await card.get_by_role("button", name="Lập kế hoạch khắc phục").click()
    card = page.locator("article.card", has_text=title)
    await card.get_by_role("button", name="Đã khắc phục xong").click()
    card = page.locator("article.card", has_text=title)
    await card.get_by_label("Kết quả kiểm tra").fill("Ba tháng không còn hồ sơ trễ hạn")
    await card.get_by_label("Đang hiệu lực", exact=True).check()
    await check(v, "check")
    await card.get_by_role("button", name="Ghi kết quả kiểm tra hiệu quả").click()
    card = page.locator("article.card", has_text=title)
    await card.get_by_role("button", name="Đóng").click()
    closed = page.locator("section.column", has=page.locator("#state-closed"))
    await closed.get_by_text(title).wait_for()
    assert "Ba tháng không còn hồ sơ trễ hạn" in await closed.inner_text()
    await check(v, "closed")
    clean(v)
