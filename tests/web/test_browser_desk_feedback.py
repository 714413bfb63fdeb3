"""Citizens' feedback at the officer's desk in a real browser (the set-up and checks of
test_browser.py: axe-core on every page, no sideways scroll): an officer opens the agency's
feedback list, an item with its deadline and the citizen's text, answers it and publishes it
(the citizen agreed); on a desktop and on a 360 px phone."""

from __future__ import annotations

import pytest

from tests.web.test_browser import VIEWPORTS, visit
from tests.web.test_browser_console import check
from tests.web.test_desk_feedback import submitted

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

SHOTS = {"feedback list": "desk-feedback-list", "feedback item": "desk-feedback-item"}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_officer_answers_and_publishes_feedback(
    browser, desk_site, resources, places, officers, viewport
):
    from tests.auth_helpers import PASSWORD

    item = await submitted(
        resources, places[0], f"Cán bộ hẹn trả kết quả nhưng không trả ({viewport}).", True
    )
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + "/ban-lam-viec/phan-anh")
    await page.get_by_label("Tên đăng nhập").fill(officers[0])
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role("heading", level=1, name="Phản ánh, kiến nghị").wait_for()
    await check(v, "feedback list", SHOTS)

    await page.get_by_role("link", name=item.code).click()
    await page.get_by_role("heading", level=1, name=f"Phản ánh {item.code}").wait_for()
    assert "Lê Văn Cường" in await page.locator("main").inner_text()
    await check(v, "feedback item", SHOTS)
    await page.get_by_label("Trả lời của cơ quan").fill("Cơ quan đã xin lỗi và trả kết quả.")
    await page.get_by_label("Công khai nội dung và câu trả lời", exact=False).check()
    await page.get_by_role("button", name="Gửi câu trả lời").click()
    await page.get_by_role("status").wait_for()
    text = await page.locator("main").inner_text()
    assert "Đã ghi nhận câu trả lời" in text and "đã công khai" in text
    await check(v, "feedback answered", SHOTS)
    assert v.blocked == [] and v.errors == []
    assert v.violations == {}
