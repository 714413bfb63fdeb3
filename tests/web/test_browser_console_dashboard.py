"""The province console's dashboard in Chromium (as tests/web/test_browser.py drives it): a
province administrator signs in through eiso's OAuth server and lands on the dashboard, whose
charts draw, whose numbers are the `figures` query's for the same period, whose pages axe-core
passes and which fits a 360 px phone; a number opens the dossiers behind it, as many as it
says."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from eiso.web import desk_auth
from tests.web.test_browser import VIEWPORTS, shoot, visit
from tests.web.test_console_dashboard import FIGURES, _province_id, _shown

pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_province_admin_reads_the_dashboard(browser, desk_site, places, resources, viewport):
    import httpx

    from tests.auth_helpers import PASSWORD, make_user
    from tests.web.support import keys_of, returned, submit

    a, _ = places
    async with httpx.AsyncClient(base_url=desk_site) as citizen:
        code = keys_of((await submit(citizen, a)).text)[0]
    await returned(resources, a, code)
    admin = await make_user(
        resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    v = await visit(browser, VIEWPORTS[viewport])
    page = v.page
    await page.goto(desk_site + "/quan-tri/bang-dieu-khien")
    await page.get_by_label("Tên đăng nhập").fill(admin.username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.get_by_role(
        "heading", level=1, name=f"Bảng điều khiển · {a.province_name}"
    ).wait_for()
    await v.check("dashboard")
    # The tiles a person reads are the numbers of the `figures` query for the page's period.
    total = await _figures_of(page, resources, desk_site, a)
    for name in ("received", "finished", "onTime", "late", "backlog", "onTimeRate", "meanDays"):
        shown = await page.locator(f'#totals [data-figure="{name}"]').inner_text()
        assert shown.strip() == _shown(total[name], name, "vi"), name
    # The five charts are drawn (inline SVG with a size), each named for screen readers.
    charts = page.locator("figure.chart svg[role=img]")
    assert await charts.count() == 5
    box = await charts.first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    await shoot(page, "console-dashboard")
    # The tables behind the charts open for whoever wants the numbers.
    await page.get_by_text("Số liệu của các biểu đồ này").click()
    await page.locator("#trend-table").wait_for()
    await v.check("dashboard tables")
    received = (await page.locator('#totals [data-figure="received"]').inner_text()).strip()
    assert received not in ("", "0", "—")
    await page.locator('#totals [data-figure="received"] a').click()
    await page.get_by_role("heading", level=1, name="Hồ sơ tạo nên một con số").wait_for()
    assert (await page.locator("#dossier-total").inner_text()).strip() == received
    assert await page.get_by_role("cell", name=code).count() == 1
    await v.check("dashboard dossiers")
    assert v.violations == {}, v.violations
    assert v.blocked == [] and v.errors == []


async def _figures_of(page, resources, site: str, where) -> dict[str, Any]:
    """The `figures` query's province total for the period the page shows, asked with the
    token the browser's desk session holds."""
    import base64

    import httpx

    cookie = next(c["value"] for c in await page.context.cookies() if c["name"] == "eiso_web")
    sid = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))["desk_sid"]
    token = json.loads(await resources.redis.get(desk_auth._key(resources, sid)))["access_token"]
    key = await page.locator("#ky").input_value()
    year, _, month = key.partition("-")
    period = {"year": int(year)} | ({"month": int(month)} if month else {})
    async with httpx.AsyncClient(base_url=site) as http:
        got = await http.post(
            "/graphql",
            json={"query": FIGURES, "variables": {"p": period, "province": _province_id(where)}},
            headers={"authorization": f"Bearer {token}"},
        )
    body = got.json()
    assert "errors" not in body, body
    return dict(body["data"]["total"][0])
