"""The citizen portal in a real browser: Debian's Chromium, headless, driven by Playwright for
Python, against the app on a real socket, every request to a host other than 127.0.0.1
aborted (as tests/clients/browser.mjs does for GraphiQL). A citizen files a dossier online,
looks it up, and rates it once it is returned, on a desktop and on a 360 px phone; axe-core
(pinned in tests/clients/package-lock.json) finds no serious or critical violation on any
page type; the keyboard reaches the content first."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.web.support import APPLICANT, AXE, CHILD, CITIZEN_ID, PROC, returned

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
# `make screenshots` (EISO_SCREENSHOTS=docs/web): the page types docs/web.md shows, saved as
# PNGs of the viewport (not the full page) in 256 colours (`shoot`), so that each stays small.
SHOTS = os.environ.get("EISO_SCREENSHOTS")
SHOT_NAMES = {
    "home": "portal-start",
    "province": "province",
    "procedure": "procedure-form",
    "submitted": "submitted",
    "lookup": "lookup",
    "queue": "desk-queue",
    "dossier": "desk-dossier",
    "counter form": "counter",
    "feedback form": "feedback-form",  # tests/web/test_browser_feedback.py
    "feedback with the rating form": "feedback-follow",
}
# axe-core: what an online form's page must not have (moderate and minor are reported by axe,
# not failed here).
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


class Visit:
    """One browser context, confined to 127.0.0.1, that runs axe on every page it is asked to."""

    def __init__(self, page: Any, blocked: list[str]) -> None:
        self.page, self.blocked = page, blocked
        self.violations: dict[str, list[str]] = {}
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def check(self, name: str) -> None:
        """axe-core on the page as it is; its layout fits the viewport (no sideways scroll)."""
        await self.page.add_script_tag(path=str(AXE))
        found = await self.page.evaluate(SERIOUS)
        if found:
            self.violations[name] = found
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        assert width <= viewport, f"{name}: {width} px wide in a {viewport} px viewport"
        if name in SHOT_NAMES:
            await shoot(self.page, SHOT_NAMES[name])


async def shoot(page: Any, name: str, at: Any = None) -> None:
    """With `make screenshots`, the viewport as the page shows it (scrolled to the top of the
    locator `at` when given), saved as `<name>-desktop.png` or `<name>-phone.png` in
    EISO_SCREENSHOTS: a PNG of 256 colours without dithering (Pillow), the text kept sharp,
    a few tens of KB."""
    if not SHOTS:
        return
    from PIL import Image

    if at is not None:
        await at.evaluate("element => element.scrollIntoView({block: 'start'})")

    size = "phone" if page.viewport_size["width"] <= VIEWPORTS["phone"]["width"] else "desktop"
    image = Image.open(io.BytesIO(await page.screenshot(type="png"))).convert("RGB")
    image = image.quantize(colors=256, dither=Image.Dither.NONE)
    image.save(Path(SHOTS) / f"{name}-{size}.png", optimize=True)


async def visit(browser: Any, viewport: dict[str, int]) -> Visit:
    blocked: list[str] = []
    context = await browser.new_context(viewport=viewport, locale="vi-VN")

    async def confine(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:")):
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort("blockedbyclient")

    await context.route("**/*", confine)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    return Visit(page, blocked)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_citizen_files_online_looks_up_and_rates(browser, site, places, resources, viewport):
    a, _ = places
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(site + "/")
    await v.check("home")
    await page.keyboard.press("Tab")  # the first stop is the skip link
    assert await page.evaluate("document.activeElement.className") == "skip"

    await page.get_by_role("link", name=a.province_name).click()
    await page.get_by_role("heading", level=1, name=a.province_name).wait_for()
    await page.get_by_label("Tìm cơ quan, thủ tục").fill("khai sinh")
    await page.get_by_label("Tìm cơ quan, thủ tục").press("Enter")
    await page.get_by_role("link", name="Đăng ký khai sinh thử").first.wait_for()
    await v.check("province")

    await page.get_by_role("link", name="Đăng ký khai sinh thử").first.click()
    await page.get_by_role("heading", level=1, name="Đăng ký khai sinh thử").wait_for()
    await v.check("procedure")
    await page.get_by_label("Họ và tên", exact=False).first.fill(APPLICANT)
    await page.get_by_label("Họ và tên trẻ").fill(CHILD)
    await page.get_by_label("Ngày sinh").fill("2026-11-01")
    await page.get_by_label("Giới tính").select_option("nu")
    await page.get_by_label("Cân nặng (gam)").fill("12")  # refused: at least 300
    await page.get_by_role("button", name="Nộp hồ sơ").click()
    await page.get_by_role("alert").wait_for()
    assert await page.get_by_label("Cân nặng (gam)").get_attribute("aria-invalid") == "true"
    await v.check("procedure with an error")
    await page.get_by_label("Cân nặng (gam)").fill("3200")
    await page.get_by_role("button", name="Nộp hồ sơ").click()

    code = (await page.locator("#dossier-code").inner_text()).strip()
    key = (await page.locator("#lookup-key").inner_text()).strip()
    assert code.startswith(a.agency.code) and key
    await v.check("submitted")

    await page.get_by_role("link", name="Tra cứu hồ sơ").first.click()
    await page.get_by_label("Mã hồ sơ").fill(code)
    await page.get_by_label("Mã tra cứu").fill(key)
    await page.get_by_label("Mã tra cứu").press("Enter")  # the keyboard submits
    await page.get_by_role("heading", name=f"Hồ sơ {code}").wait_for()
    body = await page.locator("main").inner_text()
    assert "Mới" in body or "mới" in body
    assert APPLICANT not in body and CHILD not in body and CITIZEN_ID not in body
    await v.check("lookup")

    await returned(resources, a, code)
    await page.reload()
    await page.get_by_text("Rất hài lòng").click()
    await v.check("lookup with the rating form")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await page.get_by_text("Cảm ơn bạn đã đánh giá.").wait_for()
    assert await page.get_by_role("button", name="Gửi đánh giá").count() == 0  # once

    await page.goto(site + f"/tinh/{a.province_code}/thu-tuc/NOPE")
    await v.check("not found")

    assert v.blocked == []
    assert v.errors == []
    assert v.violations == {}


async def test_english_pages_pass_axe(browser, site, places):
    a, _ = places
    v = await visit(browser, VIEWPORTS["phone"])
    await v.page.goto(site + f"/tinh/{a.province_code}/thu-tuc/{PROC}?lang=en")
    await v.page.get_by_role("button", name="File the dossier").wait_for()
    await v.check("procedure (English)")
    assert v.violations == {} and v.blocked == []


async def test_the_axe_check_catches_an_unlabelled_input(browser):
    v = await visit(browser, VIEWPORTS["phone"])
    await v.page.set_content("<html><body><main><input type=text></main></body></html>")
    await v.check("bad")
    assert any(line.startswith("label ") for line in v.violations["bad"]), v.violations


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_officer_works_a_dossier_at_the_desk(
    browser, desk_site, places, officers, resources, viewport
):
    """An officer signs in through eiso's OAuth server, accepts an online dossier, asks for a
    supplement, records its arrival, completes both steps and returns the result; a move made
    on a page gone stale is refused and said so; the counter receives a dossier and shows slip
    01, whose QR code the citizen scans to rate the returned result; sign-out sends the next
    visit back to sign-in."""
    import httpx

    from tests.auth_helpers import PASSWORD
    from tests.web.support import keys_of, submit

    a, _ = places
    async with httpx.AsyncClient(base_url=desk_site) as citizen:
        code = keys_of((await submit(citizen, a)).text)[0]
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + "/ban-lam-viec")
    await page.get_by_label("Tên đăng nhập").fill(officers[0])
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role("heading", level=1, name="Hàng đợi hồ sơ").wait_for()
    await v.check("queue")
    await page.get_by_label("Mã hồ sơ").fill(code)
    await page.get_by_role("button", name="Lọc").click()
    await page.get_by_role("link", name=code).click()
    await page.get_by_role("heading", level=1, name=f"Hồ sơ {code}").wait_for()
    # The applicant and the dossier's data, labelled as the form labels them.
    assert APPLICANT in await page.locator("#dossier-applicant").inner_text()
    assert CHILD in await page.locator("#dossier-sector-data").inner_text()
    await v.check("dossier")

    # The same page in a second tab goes stale once the first tab moves the dossier.
    stale = await page.context.new_page()
    await stale.goto(page.url)
    await page.get_by_role("button", name="Tiếp nhận", exact=True).click()
    await page.locator("#move-done").wait_for()
    assert await page.locator("#dossier-status").inner_text() == "Được tiếp nhận"
    await stale.get_by_role("button", name="Từ chối tiếp nhận").wait_for()
    refuse = stale.locator("#move-refuse")
    await refuse.get_by_label("Lý do", exact=False).fill("Không đúng thẩm quyền")
    await stale.get_by_role("button", name="Từ chối tiếp nhận").click()
    await stale.locator("#move-error").wait_for()
    assert "người khác thay đổi" in await stale.locator("#move-error").inner_text()
    await stale.close()

    async def move(button: str, status: str, **fields: str) -> None:
        form = page.locator("form.move", has=page.get_by_role("button", name=button, exact=True))
        for label, value in fields.items():
            await form.get_by_label(label, exact=False).fill(value)
        await form.get_by_role("button", name=button, exact=True).click()
        await page.locator("#move-done").wait_for()
        assert await page.locator("#dossier-status").inner_text() == status

    await move("Phân công", "Đang xử lý")
    await move(
        "Yêu cầu bổ sung",
        "Yêu cầu bổ sung giấy tờ",
        **{"Yêu cầu bổ sung: nội dung cần bổ sung và lý do": "Thiếu giấy chứng sinh"},
    )
    await v.check("dossier awaiting a supplement")
    await move("Đã nhận hồ sơ bổ sung", "Đang xử lý")
    await move("Hoàn thành bước", "Đang xử lý")
    await move("Hoàn thành bước", "Đã xử lý xong")
    await move("Trả kết quả", "Đã trả kết quả")
    assert "Hiện bạn không có thao tác nào" in await page.locator("main").inner_text()
    assert await page.locator("form.move").count() == 0

    await page.get_by_role("link", name="Tiếp nhận tại quầy").click()
    await page.get_by_role("link", name="Đăng ký khai sinh thử").click()
    await v.check("counter form")
    await page.get_by_label("Họ và tên", exact=False).first.fill(APPLICANT)
    await page.get_by_label("Họ và tên trẻ").fill(CHILD)
    await page.get_by_label("Ngày sinh").fill("2026-11-01")
    await page.get_by_label("Giới tính").select_option("nu")
    await page.get_by_label("Cân nặng (gam)").fill("3200")
    await page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    await page.get_by_role("heading", level=1, name="Đã tiếp nhận hồ sơ").wait_for()
    assert await page.locator("#slip-01").count() == 1
    # Slip 01 carries the QR code of the lookup URL, the URL printed beside it.
    slip = page.frame_locator("#slip-01")
    assert await slip.locator("figure.qr svg").count() == 1
    qr_url = (await slip.locator("figure.qr figcaption .url").inner_text()).strip()
    assert "/tra-cuu?code=" in qr_url
    await v.check("received at the counter")

    # The citizen scans the QR code once the result is returned: the URL alone opens the
    # dossier (no code or key to type) and takes the rating, once.
    counter_code = (await page.locator("#dossier-code").inner_text()).strip()
    await returned(resources, a, counter_code)
    scan = await visit(browser, VIEWPORTS[viewport])  # the citizen's own phone
    scanned = scan.page
    await scanned.goto(qr_url)
    await scanned.get_by_role("heading", name=f"Hồ sơ {counter_code}").wait_for()
    await scan.check("lookup through the QR URL")
    await scanned.get_by_text("Rất hài lòng").click()
    await scanned.get_by_role("button", name="Gửi đánh giá").click()
    await scanned.get_by_text("Cảm ơn bạn đã đánh giá.").wait_for()
    await scanned.goto(qr_url)
    await scanned.get_by_role("heading", name=f"Hồ sơ {counter_code}").wait_for()
    assert await scanned.get_by_role("button", name="Gửi đánh giá").count() == 0  # once
    assert scan.blocked == [] and scan.errors == [] and scan.violations == {}
    await scanned.context.close()

    await page.get_by_role("button", name="Đăng xuất").click()
    await page.goto(desk_site + "/ban-lam-viec")
    await page.get_by_label("Tên đăng nhập").wait_for()  # signed out: back to sign-in

    assert v.blocked == []
    assert v.errors == []
    assert v.violations == {}
