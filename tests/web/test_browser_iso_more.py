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
from typing import Any

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
    "raised": "iso-nonconformities",
    "closed": "iso-nc-closed",
    "conformity": "iso-conformity",
    "yearly": "iso-yearly-report",
    "audit plan": "iso-audit-plan",
    "review": "iso-review",
    "audits": "iso-audits",
    "downloads": "iso-downloads",
    "console board": "console-yearly-reports",
    "console report": "console-yearly-report",
}


async def check(v: Visit, name: str, at: Any = None) -> None:
    await console_check(v, name, SHOTS, at)


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
    await card.get_by_label("Có hiệu quả", exact=True).check()
    await check(v, "check")
    await card.get_by_role("button", name="Ghi kết quả kiểm tra hiệu quả").click()
    card = page.locator("article.card", has_text=title)
    await card.get_by_role("button", name="Đóng").click()
    closed = page.locator("section.column", has=page.locator("#state-closed"))
    await closed.get_by_text(title).wait_for()
    assert "Ba tháng không còn hồ sơ trễ hạn" in await closed.inner_text()
    await check(v, "closed")
    clean(v)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_conformity_yearly_report_audits_and_the_dost(
    browser, desk_site, resources, viewport
):
    staff = await office(resources, f"Xã Công Bố Duyệt {viewport}")
    admin, province = await province_admin(resources, staff)

    # The secretary chooses the QMS scope and reads what an announcement still lacks.
    v = await signed_in(browser, desk_site, viewport, staff.secretary, "/iso/cong-bo")
    page = v.page
    await page.get_by_role(
        "heading", level=1, name="Công bố hệ thống quản lý chất lượng phù hợp"
    ).wait_for()
    await page.locator('input[name="procedures"]').first.check()
    await page.get_by_label("Các hoạt động khác thuộc phạm vi (mỗi dòng một hoạt động)").fill(
        "Quản lý văn bản"
    )
    await page.get_by_role("button", name="Lưu phạm vi").click()
    await page.get_by_text("Do ", exact=False).first.wait_for()
    problems = await page.locator("ul.problems").inner_text()
    assert "SCOPE_NOT_SET" not in problems and "DOCUMENTS_NOT_EFFECTIVE" in problems
    # The picture: the scope as saved, and below it what an announcement still lacks.
    await check(v, "conformity", at=page.locator("#scope"))

    # An internal audit planned with its checklist, and a finding recorded.
    await page.get_by_role("link", name="Đánh giá và xem xét", exact=True).click()
    await page.locator("summary", has_text="Lập kế hoạch đánh giá nội bộ").click()
    await page.get_by_label("Ngày", exact=True).fill(TODAY.isoformat())
    await page.get_by_label("Phạm vi", exact=True).fill("Toàn bộ hệ thống")
    await page.get_by_label("Chuyên gia đánh giá (cách nhau bằng dấu phẩy)").fill("Trần An")
    await page.get_by_label("Danh mục câu hỏi", exact=False).fill("7.5.2 Hồ sơ có được lưu?")
    await page.get_by_role("button", name="Lập kế hoạch").click()
    await page.get_by_role("link", name="kế hoạch đánh giá", exact=False).first.click()
    await page.get_by_label("Điều khoản ISO 9001").fill("7.5.2")
    await page.get_by_label("Mô tả").fill("Hồ sơ lưu đầy đủ")
    await page.get_by_role("button", name="Ghi nhận", exact=True).click()
    await page.get_by_text("Đã ghi nhận phát hiện.").wait_for()
    assert "Hồ sơ lưu đầy đủ" in await page.locator("main").inner_text()
    await check(v, "audit plan")

    # The yearly report: the written parts, saved and sent to the DOST.
    await page.get_by_role("link", name="Báo cáo năm", exact=True).click()
    await page.get_by_label("Phạm vi áp dụng hệ thống quản lý chất lượng").fill("Mọi thủ tục")
    await page.get_by_label("Các quy trình, thủ tục hành chính đưa vào hệ thống").fill(
        "5 quy trình"
    )
    await page.get_by_role("button", name="Lưu và gửi Sở Khoa học và Công nghệ").click()
    await page.get_by_text("Báo cáo đã được gửi Sở Khoa học và Công nghệ.").wait_for()
    await check(v, "yearly")
    await page.get_by_role("link", name="Tải về", exact=True).click()
    await page.get_by_role("heading", level=1, name="Tải về").wait_for()
    await check(v, "downloads")
    clean(v)

    # The leader holds a management review: the inputs eiso compiled.
    v = await signed_in(browser, desk_site, viewport, staff.leader, "/iso/danh-gia")
    page = v.page
    await page.locator("summary", has_text="Tổ chức xem xét của lãnh đạo").click()
    await page.get_by_label("Kỳ từ ngày").fill(TODAY.replace(month=1, day=1).isoformat())
    await page.get_by_label("Kỳ đến ngày").fill(TODAY.isoformat())
    await page.get_by_label("Chủ trì").fill("Chủ tịch UBND")
    await page.get_by_role("button", name="Ghi nhận cuộc họp xem xét").click()
    await page.get_by_role("link", name="Cuộc xem xét ngày", exact=False).first.click()
    await page.get_by_role("heading", name="Đầu vào do eiso tổng hợp").wait_for()
    assert "Phát hiện đánh giá" in await page.locator("main").inner_text()
    await check(v, "review")
    # The audits and reviews page lists the plan and the review, each linked.
    await page.get_by_role("link", name="Đánh giá và xem xét", exact=True).click()
    await page.get_by_role("link", name="Cuộc xem xét ngày", exact=False).first.wait_for()
    await page.get_by_role("link", name="kế hoạch đánh giá", exact=False).first.wait_for()
    await check(v, "audits")
    clean(v)

    # The DOST sees it on the province's board and returns it with a comment.
    v = await signed_in(
        browser, desk_site, viewport, admin, f"/quan-tri/tinh/{province}/bao-cao-nam"
    )
    page = v.page
    row = page.locator("tr", has_text=staff.agency.name)
    assert "Đã gửi" in await row.inner_text()
    await check(v, "console board")
    await row.get_by_role("link").click()
    await page.get_by_label("Ý kiến", exact=False).fill("Bổ sung kinh phí")
    await page.get_by_role("button", name="Trả lại để sửa").click()
    await page.get_by_text("Bị trả lại để sửa").first.wait_for()
    await check(v, "console report")
    clean(v)
