"""The province console's DOST inspections in a real browser (the set-up and checks of
test_browser.py: Debian's Chromium, headless, confined to 127.0.0.1, axe-core on every page, no
sideways scroll), on a desktop and on a 360 px phone: the province administrator saves the
year's plan, schedules an agency, starts the inspection, records a finding against a checklist
item and concludes; the PAR summary counts the finding."""

from __future__ import annotations

import pytest

from tests.web.test_browser import VIEWPORTS, Visit
from tests.web.test_browser_console import check as console_check
from tests.web.test_browser_iso import signed_in
from tests.web.test_iso_conformity import TODAY, province_admin
from tests.web.test_iso_workspace import office

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the pages docs/web.md shows.
SHOTS = {"year": "console-inspections", "inspection": "console-inspection"}


async def check(v: Visit, name: str) -> None:
    await console_check(v, name, SHOTS)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_dost_plans_inspects_and_concludes(browser, desk_site, resources, viewport):
    staff = await office(resources, f"Xã Kiểm Tra Duyệt {viewport}")
    admin, code = await province_admin(resources, staff)
    v = await signed_in(browser, desk_site, viewport, admin, f"/quan-tri/tinh/{code}")
    page = v.page
    await page.get_by_role("link", name="Kiểm tra ISO").click()
    await page.get_by_role(
        "heading", level=1, name=f"Kiểm tra việc áp dụng ISO năm {TODAY.year}"
    ).wait_for()
    await page.get_by_role("button", name="Lưu kế hoạch").click()
    await page.get_by_role("status").wait_for()
    await page.get_by_label("Ngày dự kiến").fill(TODAY.isoformat())
    await page.get_by_label("Đoàn kiểm tra").fill("Sở KH&CN")
    await page.get_by_role("button", name="Lên lịch", exact=True).click()
    await page.get_by_role("status").wait_for()
    await check(v, "year")
    await page.get_by_role("link", name=f"Xã Kiểm Tra Duyệt {viewport}").click()
    await page.get_by_role("button", name="Bắt đầu kiểm tra").click()
    await page.get_by_role("status").wait_for()
    await page.get_by_text("Ghi phát hiện ở mục KT-04").click()
    await page.locator("#finding-KT-04").fill("Biểu mẫu chưa cập nhật")
    await (
        page.locator("form[action$='/phat-hien']", has=page.locator("#finding-KT-04"))
        .get_by_role("button", name="Ghi nhận", exact=True)
        .click()
    )
    await page.get_by_role("status").wait_for()
    assert "Biểu mẫu chưa cập nhật" in await page.locator("main").inner_text()
    await page.get_by_label("Kết luận kiểm tra").fill("Cần khắc phục KT-04")
    await page.get_by_role("button", name="Kết luận kiểm tra").click()
    await page.get_by_role("status").wait_for()
    await check(v, "inspection")
    await page.get_by_role("link", name=f"Các cuộc kiểm tra năm {TODAY.year}").click()
    row = page.locator("#par-summary tr", has_text=f"Xã Kiểm Tra Duyệt {viewport}")
    cells = await row.locator("td").all_inner_texts()
    assert cells[3:] == ["có", "1", "0", "0"], cells
    assert v.blocked == [] and v.errors == [] and v.violations == {}
