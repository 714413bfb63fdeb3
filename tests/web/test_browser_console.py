"""The province console in a real browser (the set-up and checks of test_browser.py: Debian's
Chromium, headless, every request to a host other than 127.0.0.1 aborted, axe-core on every
page, no sideways scroll). A province administrator signs in, imports a CSV with one bad row,
reads the error next to its line, fixes the file and imports it (its status page, rows done
of the total while it runs), finds the new agency without
diacritics, then switches a module on and sees the procedures it offers in the province; on a
desktop and on a 360 px phone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eiso.web import console_import
from tests.conftest import unique_code
from tests.web.support import PROC
from tests.web.test_browser import VIEWPORTS, Visit, shoot, visit
from tests.web.test_console import HEADER, console_province

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the console's page types docs/web.md shows.
CONSOLE_SHOTS = {
    "agencies": "console-agencies",
    "bad rows": "console-bad-rows",
    "dry run": "console-dry-run",
    "imported": "console-import-status",
    "import running": "console-import-running",
    "modules": "console-modules",
}


async def check(v: Visit, name: str, shots: dict[str, str] = CONSOLE_SHOTS, at: Any = None) -> None:
    """The page's checks (axe, no sideways scroll); with `make screenshots`, its picture when
    `shots` names it (scrolled to `at`, a locator, when given)."""
    await v.check(name)
    if name in shots:
        await shoot(v.page, shots[name], at)


def csv_file(text: str) -> dict[str, object]:
    return {"name": "co-quan.csv", "mimeType": "text/csv", "buffer": text.encode()}


async def check_running(v: Visit, resources, status: str) -> None:
    """The status page of a running import (its state set as a slow import leaves it, then put
    back): rows done of the total. Its self-refresh is taken out of this one answer, so that
    no reload cuts axe's run short (test_console.py checks the refresh)."""
    key = resources.key(console_import.FAMILY, status.rsplit("/", 1)[1])
    ended = await resources.redis.get(key)
    running = {**json.loads(ended), "state": "running", "done": 500, "total": 1200}
    await resources.redis.set(key, json.dumps(running), ex=60)

    async def without_refresh(route) -> None:
        answer = await route.fetch()
        body = (await answer.text()).replace('<meta http-equiv="refresh" content="2">', "")
        await route.fulfill(response=answer, body=body)

    await v.page.route(status, without_refresh)
    try:
        await v.page.goto(status)
        status_box = v.page.get_by_role("status")
        assert "Đã xử lý 500 trên" in await status_box.inner_text()
        assert await status_box.locator("progress").get_attribute("value") == "500"
        await check(v, "import running")
    finally:
        await v.page.unroute(status, without_refresh)
        await resources.redis.set(key, ended, ex=60)
    await v.page.goto(status)
    await v.page.get_by_role("heading", name="Đã nhập").wait_for()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_province_admin_imports_agencies_and_switches_a_module(
    browser, desk_site, resources, viewport
):
    from tests.auth_helpers import PASSWORD

    console = await console_province(resources, f"Tỉnh Quảng Ninh Duyệt {viewport}")
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + "/quan-tri")
    await page.get_by_label("Tên đăng nhập").fill(console.admin)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role("heading", level=1, name=f"Cơ quan của {console.name}").wait_for()
    assert "Phường Hồng Gai" in await page.locator("main").inner_text()
    await check(v, "agencies")

    # A file with one bad row (an unknown kind on line 3): nothing imported, the line shown.
    await page.get_by_role("link", name="Nhập cơ quan").click()
    new, other = unique_code("X"), unique_code("Y")
    bad = f"{HEADER}{new},Xã Vân Đồn,commune,\n{other},Xã Cô Tô,village,\n"
    await page.get_by_label("Tệp CSV danh sách cơ quan").set_input_files(csv_file(bad))
    await page.get_by_role("button", name="Kiểm tra tệp (chạy thử)").click()
    errors = page.locator("#row-errors")
    await errors.wait_for()
    row = errors.locator("tbody tr")
    assert await row.count() == 1
    assert (await row.locator("td").first.inner_text()).strip() == "3"
    assert "village" in await row.inner_text()
    assert await page.get_by_role("button", name="Nhập các dòng này").count() == 0
    await check(v, "bad rows")

    # The fixed file: a dry run first, then the import.
    good = f"{HEADER}{new},Xã Vân Đồn,commune,\n{other},Xã Cô Tô,special_zone,\n"
    await page.get_by_label("Tệp CSV danh sách cơ quan").set_input_files(csv_file(good))
    await page.get_by_role("button", name="Kiểm tra tệp (chạy thử)").click()
    await page.get_by_role("heading", name="Chạy thử: chưa ghi gì").wait_for()
    assert new in await page.locator("table").first.inner_text()
    await check(v, "dry run")
    await page.get_by_role("button", name="Nhập các dòng này").click()
    # The import runs in the background; its status page refreshes itself until it ends.
    await page.get_by_role("heading", name="Đã nhập").wait_for()
    assert "/nhap-co-quan/" in page.url
    assert "Thêm 2" in await page.locator("main").inner_text()
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0
    await check(v, "imported")
    await check_running(v, resources, page.url)
    await page.get_by_role("link", name="Xem các cơ quan").click()
    await page.get_by_label("Tìm cơ quan (gõ có dấu hoặc không dấu)").fill("co to")
    await page.get_by_role("button", name="Tìm").click()
    await page.get_by_text("Xã Cô Tô").wait_for()
    await check(v, "agencies found")

    # A module switched on: its procedures are offered in the province.
    await page.get_by_role("link", name="Mô-đun", exact=True).click()
    section = page.locator("section", has=page.get_by_role("heading", name="Hộ tịch thử (web)"))
    assert "Đang tắt cho tỉnh này" in await section.inner_text()
    await section.get_by_role("button", name="Bật web_test").click()
    await page.get_by_role("status").wait_for()
    section = page.locator("section", has=page.get_by_role("heading", name="Hộ tịch thử (web)"))
    text = await section.inner_text()
    assert "Đang bật cho tỉnh này" in text
    assert "Thủ tục được cung cấp trong tỉnh" in text and PROC in text
    await check(v, "modules", at=section)
    assert v.blocked == [] and v.errors == []
    assert v.violations == {}
