"""Attachments and the live queue in a real browser (Debian's Chromium, Playwright; the same
confinement to 127.0.0.1 and axe-core checks as test_browser.py), on a desktop and a 360 px
phone: a citizen attaches a file to the online form (a file of the wrong type first, refused
next to its input) and the officer downloads it from the dossier page; an officer's queue,
open in one browser context, shows a dossier received and then moved in a second context
without being reloaded."""

from __future__ import annotations

from typing import Any

import pytest

from eiso.infra.relay import Relay
from tests.auth_helpers import PASSWORD
from tests.web.support import APPLICANT, CHILD, PROC
from tests.web.test_browser import VIEWPORTS, Visit, visit

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + b"p" * 500
NOT_PDF = b"MZ\x90\x00 not a pdf at all"


async def fill_birth_form(page: Any) -> None:
    await page.get_by_label("Họ và tên", exact=False).first.fill(APPLICANT)
    await page.get_by_label("Họ và tên trẻ").fill(CHILD)
    await page.get_by_label("Ngày sinh").fill("2026-11-01")
    await page.get_by_label("Giới tính").select_option("nu")
    await page.get_by_label("Cân nặng (gam)").fill("3200")


async def desk_sign_in(v: Visit, site: str, username: str) -> None:
    await v.page.goto(site + "/ban-lam-viec")
    await v.page.get_by_label("Tên đăng nhập").fill(username)
    await v.page.get_by_label("Mật khẩu").fill(PASSWORD)
    await v.page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await v.page.get_by_role("heading", level=1, name="Hàng đợi hồ sơ").wait_for()


def clean(*visits: Visit) -> None:
    for v in visits:
        assert v.blocked == []
        assert v.errors == []
        assert v.violations == {}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_citizen_attaches_a_file_and_the_officer_downloads_it(
    browser, desk_site, places, officers, resources, tmp_path, monkeypatch, viewport
):
    monkeypatch.setattr(resources.settings, "storage_dir", str(tmp_path))
    a, _ = places
    citizen = await visit(browser, VIEWPORTS[viewport])
    page = citizen.page
    await page.goto(desk_site + f"/tinh/{a.province_code}/thu-tuc/{PROC}")
    await page.get_by_role("button", name="Nộp hồ sơ").wait_for()
    await fill_birth_form(page)
    await page.get_by_label("Giấy chứng sinh").set_input_files(
        files=[{"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf", "buffer": NOT_PDF}]
    )
    await page.get_by_role("button", name="Nộp hồ sơ").click()
    await page.get_by_role("alert").wait_for()
    field = page.get_by_label("Giấy chứng sinh")
    assert await field.get_attribute("aria-invalid") == "true"
    assert "định dạng được chấp nhận" in await page.locator("#attachment-gcs-error").inner_text()
    await citizen.check("procedure with a refused file")
    await field.set_input_files(
        files=[{"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.get_by_role("button", name="Nộp hồ sơ").click()
    code = (await page.locator("#dossier-code").inner_text()).strip()
    assert "giay-chung-sinh.pdf" in await page.locator("#sent-files").inner_text()
    await citizen.check("submitted with a file")

    officer = await visit(browser, VIEWPORTS[viewport])
    await desk_sign_in(officer, desk_site, officers[0])
    desk = officer.page
    await desk.get_by_label("Mã hồ sơ").fill(code)
    await desk.get_by_role("button", name="Lọc").click()
    await desk.get_by_role("link", name=code).click()
    await desk.get_by_role("heading", level=1, name=f"Hồ sơ {code}").wait_for()
    link = desk.locator("#attachments").get_by_role("link", name="giay-chung-sinh.pdf")
    await officer.check("dossier with a file")
    async with desk.expect_download() as got:
        await link.click()
    download = await got.value
    assert download.suggested_filename == "giay-chung-sinh.pdf"
    assert (await download.path()).read_bytes() == PDF
    clean(citizen, officer)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_the_queue_updates_without_a_reload(
    browser, desk_site, desk_app, places, officers, viewport
):
    from tests.web.test_live import until

    resources = desk_app.state.resources
    relay = Relay(resources.sessionmaker, resources.redis, resources.key)
    feed = desk_app.state.live_feed
    watcher = await visit(browser, VIEWPORTS[viewport])
    before = len(feed.subscribers)
    await desk_sign_in(watcher, desk_site, officers[0])
    queue = watcher.page
    status = queue.locator("#live-status")
    await queue.wait_for_function(
        "document.getElementById('live-status').textContent.includes('trực tiếp')"
    )
    await until(lambda: len(feed.subscribers) > before, "the page's stream is subscribed")
    await queue.evaluate("window.notReloaded = true")
    await watcher.check("queue (live)")

    # A second context (another browser session of an officer of the same agency) receives a
    # dossier at the counter, then assigns it.
    worker = await visit(browser, VIEWPORTS["desktop"])
    await desk_sign_in(worker, desk_site, officers[0])
    counter = worker.page
    await counter.get_by_role("link", name="Tiếp nhận tại quầy").click()
    await counter.get_by_role("link", name="Đăng ký khai sinh thử").click()
    await fill_birth_form(counter)
    await counter.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    await counter.get_by_role("heading", level=1, name="Đã tiếp nhận hồ sơ").wait_for()
    code = (await counter.locator("#dossier-code").inner_text()).strip()
    await relay.drain()

    row = queue.locator("#queue-results tr", has=queue.get_by_role("link", name=code))
    await row.wait_for()
    assert "Được tiếp nhận" in await row.inner_text()
    assert "trực tiếp" in await status.inner_text() or "cập nhật" in await status.inner_text()

    await counter.goto(desk_site + "/ban-lam-viec?q=" + code)
    await counter.get_by_role("link", name=code).click()
    form = counter.locator("form.move", has=counter.get_by_role("button", name="Phân công"))
    await form.get_by_role("button", name="Phân công", exact=True).click()
    await counter.locator("#move-done").wait_for()
    await relay.drain()
    await queue.wait_for_function(
        "(code) => [...document.querySelectorAll('#queue-results tr')].some("
        "(tr) => tr.textContent.includes(code) && tr.textContent.includes('Đang xử lý'))",
        arg=code,
    )
    assert await queue.evaluate("window.notReloaded") is True  # updated in place
    assert "Hàng đợi vừa được cập nhật." in await status.inner_text()
    await watcher.check("queue (updated live)")
    await worker.page.context.close()
    await queue.context.close()
    await until(lambda: len(feed.subscribers) == before, "the page's stream ends with it")
    clean(watcher, worker)
