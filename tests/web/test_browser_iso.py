"""The ISO workspace in a real browser (the set-up and checks of test_browser.py: Debian's
Chromium, headless, every request to a host other than 127.0.0.1 aborted, axe-core on every
page, no sideways scroll). An ISO secretary drafts a document and sends it for review, a leader
approves it and makes it effective, an officer reads who has not read it yet and acknowledges
it; then the nonconformity board, the risks' heat map, the objectives and the audits; on a
desktop and on a 360 px phone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import unique_code
from tests.web.test_browser import VIEWPORTS, Visit, visit
from tests.web.test_browser_console import check as console_check
from tests.web.test_iso_workspace import office, seed_objective, seed_risk

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the workspace's page types docs/web.md shows.
ISO_SHOTS = {
    "register": "iso-documents",
    "document read": "iso-document",
    "board": "iso-nonconformities",
    "risk registered": "iso-risks",
    "objective set": "iso-objectives",
}
OBJECTIVE = "Giải quyết đúng hạn ít nhất 95% hồ sơ"


async def check(v: Visit, name: str) -> None:
    await console_check(v, name, ISO_SHOTS)


async def signed_in(browser, site: str, viewport: str, username: str, path: str) -> Visit:
    from tests.auth_helpers import PASSWORD

    v = await visit(browser, VIEWPORTS[viewport])
    await v.page.goto(site + path)
    await v.page.get_by_label("Tên đăng nhập").fill(username)
    await v.page.get_by_label("Mật khẩu").fill(PASSWORD)
    await v.page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await v.page.get_by_role("heading", level=1).first.wait_for()
    return v


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_secretary_drafts_leader_approves_officer_acknowledges(
    browser, desk_site, resources, viewport
):
    staff = await office(resources, f"Xã ISO Duyệt {viewport}")
    await seed_risk(resources, staff.agency, "Mất dữ liệu hồ sơ điện tử", 4, 5)
    await seed_objective(resources, staff.agency, OBJECTIVE, 0.95)
    code = unique_code("QT-")

    # The ISO secretary drafts a procedure and sends it for review.
    v = await signed_in(browser, desk_site, viewport, staff.secretary, "/iso")
    page = v.page
    await page.get_by_role("heading", level=1, name="Danh mục tài liệu").wait_for()
    await page.get_by_label("Loại").select_option("PROCEDURE")
    await page.get_by_label("Mã", exact=True).fill(code)
    await page.get_by_label("Tên", exact=True).fill("Quy trình tiếp nhận hồ sơ")
    await page.get_by_label("Nội dung").fill("Bước 1: kiểm tra thành phần hồ sơ.")
    await page.get_by_role("button", name="Lưu dự thảo").click()
    await page.get_by_role("heading", name="Phiên bản 1: Dự thảo").wait_for()
    # A file attached to the draft, then downloaded from its link.
    await page.get_by_label("Đính kèm tệp").set_input_files(
        {"name": "Lưu đồ.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 luu do"}
    )
    await page.get_by_role("button", name="Tải lên").click()
    await page.get_by_role("link", name="Lưu đồ.pdf").wait_for()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Lưu đồ.pdf").click()
    download = await download_info.value
    assert download.suggested_filename == "Lưu đồ.pdf"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == b"%PDF-1.4 luu do"
    await check(v, "draft")
    await page.get_by_role("button", name="Gửi xem xét").click()
    await page.get_by_role("heading", name="Phiên bản 1: Đang xem xét").wait_for()
    assert await page.get_by_role("button", name="Phê duyệt").count() == 0
    await page.get_by_role("link", name="Tài liệu", exact=True).click()
    await page.get_by_role("heading", name="Dự thảo đang chờ xem xét (1)").wait_for()
    await check(v, "register")
    assert v.blocked == [] and v.errors == [] and v.violations == {}

    # A leader approves it from the drafts in review, and makes it effective.
    v = await signed_in(browser, desk_site, viewport, staff.leader, "/iso/tai-lieu")
    page = v.page
    await page.get_by_role("link", name=f"{code} – Quy trình tiếp nhận hồ sơ").click()
    await page.get_by_role("button", name="Phê duyệt").click()
    await page.get_by_role("heading", name="Phiên bản 1: Đã phê duyệt").wait_for()
    await check(v, "approved")
    await page.get_by_role("button", name="Ban hành hiệu lực").click()
    await page.get_by_role("heading", name="Phiên bản 1: Đang hiệu lực").wait_for()
    table = page.locator("table", has_text="Xác nhận đã đọc")
    assert "còn 3 trên 3 người chưa đọc" in await table.inner_text()
    assert v.blocked == [] and v.errors == [] and v.violations == {}

    # An officer finds themselves among those who have not read it, and acknowledges it.
    v = await signed_in(browser, desk_site, viewport, staff.officer, "/iso/tai-lieu")
    page = v.page
    await page.get_by_role("link", name="Quy trình tiếp nhận hồ sơ").click()
    row = page.locator("tr", has_text=staff.officer)
    assert "Chưa đọc" in await row.inner_text()
    await page.get_by_role("button", name="Tôi đã đọc").click()
    await page.get_by_text("Bạn đã xác nhận đọc phiên bản này.").wait_for()
    assert "Chưa đọc" not in await page.locator("tr", has_text=staff.officer).inner_text()
    assert "còn 2 trên 3 người chưa đọc" in await page.locator("main").inner_text()
    await check(v, "document read")

    # The other pages of the workspace, as the officer reads them.
    for link, heading, name in (
        ("Không phù hợp", "Không phù hợp và hành động khắc phục", "board"),
        ("Rủi ro", "Sổ đăng ký rủi ro", "risks"),
        ("Mục tiêu", "Mục tiêu chất lượng", "objectives"),
        ("Đánh giá và xem xét", "Đánh giá nội bộ và xem xét của lãnh đạo", "audits"),
    ):
        await page.get_by_role("link", name=link, exact=True).click()
        await page.get_by_role("heading", level=1, name=heading).wait_for()
        await check(v, name)
        if name == "objectives":
            assert (
                "Giải quyết đúng hạn ít nhất 95% hồ sơ" in await page.locator("main").inner_text()
            )
    await page.get_by_role("link", name="Rủi ro", exact=True).click()
    heat = page.locator("table.heat")
    assert "Mất dữ liệu hồ sơ điện tử" in await heat.inner_text()  # read out in its cell
    assert v.blocked == [] and v.errors == [] and v.violations == {}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_secretary_registers_a_risk_and_sets_an_objective(
    browser, desk_site, resources, viewport
):
    staff = await office(resources, f"Xã ISO Rủi Ro {viewport}")
    await seed_risk(resources, staff.agency, "Thiếu cán bộ một cửa", 2, 2)
    v = await signed_in(browser, desk_site, viewport, staff.secretary, "/iso/rui-ro")
    page = v.page
    await page.get_by_role("heading", level=1, name="Sổ đăng ký rủi ro").wait_for()
    form = page.locator("form", has=page.get_by_role("button", name="Đăng ký rủi ro"))
    await form.get_by_label("Rủi ro").fill("Mất dữ liệu hồ sơ điện tử")
    await form.get_by_label("Khả năng xảy ra (1-5)").select_option("4")
    await form.get_by_label("Mức ảnh hưởng (1-5)").select_option("5")
    await form.get_by_label("Biện pháp xử lý").fill("Sao lưu hằng ngày")
    await form.get_by_label("Người phụ trách").fill("Văn phòng")
    await form.get_by_label("Xem xét lại").fill("2027-06-30")
    await form.get_by_role("button", name="Đăng ký rủi ro").click()
    await page.get_by_text("Đã đăng ký rủi ro.").wait_for()
    heat = page.locator("table.heat")
    assert "Mất dữ liệu hồ sơ điện tử" in await heat.inner_text()
    # The dots are coloured by level: the low risk green, the new one (20) red.
    fills = await page.locator("figure.chart svg circle").evaluate_all(
        "dots => dots.map(d => d.style.fill)"
    )
    assert len(set(fills)) >= 2, fills
    await check(v, "risk registered")

    await page.get_by_role("link", name="Mục tiêu", exact=True).click()
    await page.get_by_role("heading", level=1, name="Mục tiêu chất lượng").wait_for()
    await page.get_by_label("Mục tiêu", exact=True).fill("Giải quyết đúng hạn")
    await page.get_by_label("Chỉ số").select_option("ON_TIME_RATE")
    await page.get_by_label("Chỉ tiêu").fill("95")  # a rate above 1: refused
    await page.get_by_label("Từ ngày").fill("2026-01-01")
    await page.get_by_label("Thời hạn (cuối kỳ)").fill("2026-12-31")
    await page.get_by_role("button", name="Đặt mục tiêu", exact=True).click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "tỷ lệ" in (await alert.inner_text()).lower()
    await page.get_by_label("Chỉ tiêu").fill("0,95")
    await page.get_by_role("button", name="Đặt mục tiêu", exact=True).click()
    await page.get_by_text("Đã đặt mục tiêu.").wait_for()
    table = page.locator("table", has_text="Giải quyết đúng hạn")
    assert "Tỷ lệ đúng hạn" in await table.inner_text()
    await check(v, "objective set")
    assert v.blocked == [] and v.errors == [] and v.violations == {}
