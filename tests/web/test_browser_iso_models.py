"""The ISO workspace's model set and process documents in a real browser (the set-up and
checks of test_browser_iso.py: Debian's Chromium, headless, confined to 127.0.0.1, axe-core on
every page, no sideways scroll), on a desktop and on a 360 px phone: the ISO secretary adopts
the province's effective model policy, reads the process document of the adopted procedure and
opens its generated version."""

from __future__ import annotations

import pytest

from tests.web.support import PROC
from tests.web.test_browser import VIEWPORTS, Visit
from tests.web.test_browser_console import check as console_check
from tests.web.test_browser_iso import signed_in
from tests.web.test_iso_models import PAGE, install_models
from tests.web.test_iso_workspace import office

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

# `make screenshots`: the pages docs/web.md shows.
SHOTS = {"models": "iso-models", "process": "iso-process-document"}


async def check(v: Visit, name: str) -> None:
    await console_check(v, name, SHOTS)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_secretary_adopts_a_model_and_reads_a_process_document(
    browser, desk_site, resources, viewport
):
    staff = await office(resources, f"Xã Bộ Mẫu {viewport}")
    await install_models(resources, staff)
    v = await signed_in(browser, desk_site, viewport, staff.secretary, PAGE)
    page = v.page
    await page.get_by_role("heading", level=1, name="Bộ tài liệu mẫu và quy trình ISO").wait_for()
    await page.get_by_role("button", name="Áp dụng CSCL").click()
    await page.get_by_role("status").wait_for()
    row = page.locator("tr", has_text="CSCL")
    assert "Đã áp dụng" in await row.inner_text()
    process = page.locator("tr", has_text=f"QT-{PROC}")
    assert "Dự thảo" in await process.inner_text()
    await check(v, "models")
    await page.get_by_role("link", name=PROC, exact=True).click()
    await page.get_by_role("heading", level=1, name=f"Quy trình ISO của thủ tục {PROC}").wait_for()
    await check(v, "process")
    # The generated HTML, with the page's session (the pages' own link).
    href = await page.locator('a[href$=".html"]').first.get_attribute("href")
    answer = await page.request.get(desk_site + str(href))
    assert answer.status == 200 and f"QT-{PROC}" in await answer.text()
    assert v.blocked == [] and v.errors == [] and v.violations == {}
