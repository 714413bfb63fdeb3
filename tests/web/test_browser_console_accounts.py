"""The province console's accounts and integration clients in a real browser (the set-up and
checks of test_browser.py: axe-core on every page, no sideways scroll): a province
administrator creates an officer of a ward and reads the one-time password, resets it,
disables the account; then creates an integration client, reads its secret once and disables
it; on a desktop and on a 360 px phone."""

from __future__ import annotations

import pytest

from tests.conftest import unique_code
from tests.web.test_browser import VIEWPORTS, visit
from tests.web.test_browser_console import check
from tests.web.test_console import console_province

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

SHOTS = {"accounts": "console-accounts", "clients": "console-clients"}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_province_admin_keeps_accounts_and_clients(browser, desk_site, resources, viewport):
    from tests.auth_helpers import PASSWORD

    console = await console_province(resources, f"Tỉnh Quảng Ninh Tài Khoản {viewport}")
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + "/quan-tri")
    await page.get_by_label("Tên đăng nhập").fill(console.admin)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role("heading", level=1, name=f"Cơ quan của {console.name}").wait_for()

    # A new officer of the ward: the one-time password is shown once.
    await page.get_by_role("link", name="Tài khoản", exact=True).click()
    await page.get_by_role("heading", level=1, name=f"Tài khoản của {console.name}").wait_for()
    await check(v, "accounts empty", SHOTS)
    username = unique_code("can.bo.").lower()
    await page.get_by_role("textbox", name="Tên đăng nhập (bắt buộc)").fill(username)
    await page.get_by_label("Họ và tên").fill("Trần Thị Bình")
    await page.get_by_label("Vai trò").select_option("officer")
    await page.get_by_label("Cơ quan").select_option(console.ward)
    await page.get_by_role("button", name="Tạo tài khoản").click()
    await page.get_by_role("heading", name=f"Đã tạo tài khoản {username}").wait_for()
    first = (await page.locator("code.secret").inner_text()).strip()
    assert len(first) >= 16
    row = page.locator("tr", has=page.get_by_text(username, exact=True))
    assert "Phường Hồng Gai" in await row.inner_text()
    await check(v, "accounts", SHOTS)

    await row.get_by_role("button", name=f"Đặt lại mật khẩu {username}").click()
    await page.get_by_role("heading", name=f"Mật khẩu mới của {username}").wait_for()
    assert (await page.locator("code.secret").inner_text()).strip() != first
    row = page.locator("tr", has=page.get_by_text(username, exact=True))
    await row.get_by_role("button", name=f"Vô hiệu hóa {username}").click()
    await page.get_by_text(f"tài khoản {username} đã bị vô hiệu hóa").wait_for()
    row = page.locator("tr", has=page.get_by_text(username, exact=True))
    assert "Đã vô hiệu hóa" in await row.inner_text()
    assert await page.locator("code.secret").count() == 0

    # An integration client: a bad form first (no scope), then its secret once.
    await page.get_by_role("link", name="Ứng dụng tích hợp", exact=True).click()
    await page.get_by_label("Tên hệ thống").fill("Cổng dịch vụ công tỉnh")
    await page.get_by_role("button", name="Tạo ứng dụng").click()
    await page.locator("#scopes-error").wait_for()
    await check(v, "client refused", SHOTS)
    await page.get_by_label("qms:read").check()
    await page.get_by_label("dossiers:read").check()
    await page.get_by_role("button", name="Tạo ứng dụng").click()
    await page.get_by_text("Khóa bí mật (client secret):").wait_for()
    assert len((await page.locator("code.secret").inner_text()).strip()) >= 32
    await check(v, "clients", SHOTS)
    await page.get_by_role("button", name="Vô hiệu hóa Cổng dịch vụ công tỉnh").click()
    await page.get_by_text("đã bị vô hiệu hóa").wait_for()
    assert await page.locator("code.secret").count() == 0
    assert v.blocked == [] and v.errors == []
    assert v.violations == {}
