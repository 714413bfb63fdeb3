"""Feedback and petitions in a real browser (the set-up of tests/web/test_browser.py): a citizen
opens the form from a procedure's page, is refused an empty text, sends feedback, follows it
with the key, and rates the agency's answer once, on a desktop and on a 360 px phone; axe-core
finds no serious or critical violation on any of these pages."""

from __future__ import annotations

import pytest

from tests.web.support import PROC
from tests.web.test_browser import VIEWPORTS, visit
from tests.web.test_feedback_pages import answer

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]
CONTACT = "Đỗ Văn Góp Ý"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_citizen_sends_follows_and_rates_feedback(browser, site, places, resources, viewport):
    a, _ = places
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(site + f"/tinh/{a.province_code}/thu-tuc/{PROC}")
    await page.get_by_role("link", name="Gửi phản ánh, kiến nghị về thủ tục này").click()
    await page.get_by_role("heading", level=1, name="Gửi phản ánh, kiến nghị").wait_for()
    assert await page.get_by_label("Mã thủ tục", exact=False).input_value() == PROC
    await v.check("feedback form")

    await page.get_by_label("Họ và tên").fill(CONTACT)
    await page.get_by_role("button", name="Gửi", exact=True).click()
    await page.get_by_role("alert").wait_for()
    assert await page.get_by_label("Họ và tên").input_value() == CONTACT  # kept
    await v.check("feedback form with an error")

    await page.get_by_label("Nội dung phản ánh, kiến nghị").fill("Phiếu hẹn ghi sai ngày trả.")
    await page.get_by_role("button", name="Gửi", exact=True).click()
    code = (await page.locator("#feedback-code").inner_text()).strip()
    key = (await page.locator("#lookup-key").inner_text()).strip()
    assert code.startswith("PAKN-") and key
    await v.check("feedback sent")

    await page.get_by_role("link", name="Theo dõi câu trả lời").click()
    await page.get_by_role("heading", name=f"Phản ánh, kiến nghị {code}").wait_for()
    assert CONTACT not in await page.locator("main").inner_text()
    await v.check("feedback followed")

    await answer(resources, a, code, "Đã sửa phiếu hẹn và xin lỗi người dân.")
    await page.reload()
    await page.get_by_text("Đã sửa phiếu hẹn").wait_for()
    await page.get_by_text("Rất hài lòng").click()
    await v.check("feedback with the rating form")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await page.get_by_text("Cảm ơn bạn đã đánh giá.").wait_for()
    assert await page.get_by_role("button", name="Gửi đánh giá").count() == 0  # once

    assert v.blocked == []
    assert v.errors == []
    assert v.violations == {}
