"""A module's settings page of the province console in a real browser (the set-up and checks of
test_browser.py: Debian's Chromium, headless, other hosts aborted, axe-core on every page, no
sideways scroll): a province administrator opens the test module's settings from the modules
page, saves a bad value and reads the error under its field, fixes it and saves; on a desktop
and on a 360 px phone."""

from __future__ import annotations

import pytest

from tests.web.test_browser import VIEWPORTS, visit
from tests.web.test_browser_console import check
from tests.web.test_console import console_province

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the page docs/web.md shows, with its error and once saved.
SHOTS = {"settings error": "console-settings-error", "settings saved": "console-settings"}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_province_admin_edits_a_modules_settings(browser, desk_site, resources, viewport):
    from tests.auth_helpers import PASSWORD

    console = await console_province(resources, f"Tỉnh Quảng Ninh Cấu Hình {viewport}")
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + f"/quan-tri/tinh/{console.code}/mo-dun")
    await page.get_by_label("Tên đăng nhập").fill(console.admin)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role("link", name="Cấu hình web_test").click()
    await page.get_by_role("heading", level=1, name="Cấu hình Hộ tịch thử (web)").wait_for()
    await check(v, "settings")

    # A bad value: the model's error under its field, the field marked invalid.
    await page.get_by_label("Số ngày nhắc hạn").fill("99")
    await page.get_by_label("Kênh gửi").select_option("email")
    await page.get_by_label("Địa chỉ cổng kết nối").fill("https://cong.example.vn/api")
    await page.get_by_label("Mã truy cập").fill("bi-mat")
    await page.get_by_role("button", name="Lưu cấu hình").click()
    error = page.locator("#f-days-error")
    await error.wait_for()
    assert "config.days" in await error.inner_text()
    assert await page.get_by_label("Số ngày nhắc hạn").get_attribute("aria-invalid") == "true"
    await check(v, "settings error", SHOTS)

    # Fixed: saved; the secret is not shown back, only that one is stored.
    await page.get_by_label("Số ngày nhắc hạn").fill("7")
    await page.get_by_label("Mã truy cập").fill("bi-mat")
    await page.get_by_role("button", name="Lưu cấu hình").click()
    await page.get_by_role("status").wait_for()
    text = await page.locator("main").inner_text()
    assert "Đã lưu cấu hình" in text and "Đã lưu một giá trị" in text and "bi-mat" not in text
    assert await page.get_by_label("Số ngày nhắc hạn").input_value() == "7"
    await check(v, "settings saved", SHOTS)
    assert v.blocked == [] and v.errors == []
    assert v.violations == {}
