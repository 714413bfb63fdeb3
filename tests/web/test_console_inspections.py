"""The province console's DOST inspections over plain HTTP (web/console_inspections.py): the
year's plan, an agency scheduled, the inspection started, an item marked, a finding recorded
(it opens a nonconformity the agency sees on its board), the conclusion, the verification once
the agency closed it, the close; the PAR summary as a table and CSV. Another province's
administrator gets a 404 (its console and this province's inspection under its own), a national
administrator reads every province's, the agency's staff have no console, and every form needs
its CSRF token."""

from __future__ import annotations

import csv
import io
import re

from sqlmodel import col, select

from eiso.core.global_ids import encode_id
from eiso.core.qms.nonconformities import NcStatus, Nonconformity
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import make_user
from tests.web.support import token_of
from tests.web.test_iso_conformity import TODAY, as_user, post, province_admin
from tests.web.test_iso_workspace import office


async def close_ncs(resources, agency) -> None:
    """The agency closes the nonconformities the inspection opened (the board's journey is
    test_iso_workspace's)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        rows = await session.execute(
            select(Nonconformity).where(col(Nonconformity.agency_id) == agency.id)
        )
        for nc in rows.scalars():
            nc.status = NcStatus.closed
            session.add(nc)


async def test_plan_schedule_inspect_conclude_verify_close(desk_web, resources):
    staff = await office(resources, "Xã Được Kiểm Tra")
    admin, code = await province_admin(resources, staff)
    base = f"/quan-tri/tinh/{code}/kiem-tra"
    year = f"?nam={TODAY.year}"
    html = await as_user(desk_web, admin, base)
    assert "Chưa có kế hoạch kiểm tra năm nay" in html and "Lên lịch kiểm tra" not in html
    assert f'href="{base}"' in html  # the console's menu
    # Scheduling before the plan exists: the API's refusal, in the page.
    agency_id = encode_id("Agency", staff.agency.province_id, staff.agency.id)
    refused = await post(
        desk_web,
        f"{base}/nam/lich",
        base,
        {"year": TODAY.year, "agency": agency_id, "plannedOn": TODAY.isoformat()},
        expect=409,
    )
    assert 'role="alert"' in refused.text and "kế hoạch" in refused.text
    await post(
        desk_web, f"{base}/nam/ke-hoach", base, {"year": TODAY.year, "title": "Kế hoạch kiểm tra"}
    )
    html = (await desk_web.get(base + year)).text
    assert "Kế hoạch kiểm tra" in html and "Lên lịch kiểm tra" in html
    agency = re.search(r'<option value="([^"]+)">Xã Được Kiểm Tra', html)
    assert agency, html
    await post(
        desk_web,
        f"{base}/nam/lich",
        base,
        {
            "year": TODAY.year,
            "agency": agency.group(1),
            "plannedOn": TODAY.isoformat(),
            "inspectors": "Đoàn kiểm tra Sở KH&CN",
        },
    )
    # Twice is refused with the API's message.
    again = await post(
        desk_web,
        f"{base}/nam/lich",
        base,
        {"year": TODAY.year, "agency": agency.group(1), "plannedOn": TODAY.isoformat()},
        expect=409,
    )
    assert 'role="alert"' in again.text
    html = (await desk_web.get(base + year)).text
    found = re.search(rf'href="({base}/[^"?]+)">Xã Được Kiểm Tra', html)
    assert found, html
    path = found.group(1)

    page = (await desk_web.get(path)).text
    assert "KT-04" in page and "TCVN ISO 9001:2015 7.5" in page and "Đã lên kế hoạch" in page
    await post(desk_web, f"{path}/bat-dau", path, {})
    await post(
        desk_web,
        f"{path}/danh-dau",
        path,
        {"item": "KT-03", "result": "CONFORM", "note": "Đã ban hành"},
    )
    await post(
        desk_web,
        f"{path}/phat-hien",
        path,
        {"item": "KT-04", "description": "Biểu mẫu quy trình chưa được cập nhật"},
    )
    page = (await desk_web.get(path)).text
    assert "Đã ban hành" in page and "Biểu mẫu quy trình chưa được cập nhật" in page
    # An unknown item is refused in the page.
    bad = await post(
        desk_web, f"{path}/phat-hien", path, {"item": "KT-99", "description": "x"}, expect=422
    )
    assert 'role="alert"' in bad.text
    await post(desk_web, f"{path}/ket-luan", path, {"conclusion": "Cơ quan cần khắc phục KT-04"})
    # Closing with an open finding is refused; so is verifying it before the agency closed it.
    closing = await post(desk_web, f"{path}/dong", path, {}, expect=409)
    assert 'role="alert"' in closing.text
    finding = re.search(r'name="finding" value="([^"]+)"', closing.text)
    assert finding is None  # nothing to verify yet
    # The agency sees the nonconformity on its board, and closes it.
    board = await as_user(desk_web, staff.secretary, "/iso/khong-phu-hop")
    assert "Biểu mẫu quy trình chưa được cập nhật" in board or "Kiểm tra ISO" in board
    await close_ncs(resources, staff.agency)
    await as_user(desk_web, admin, path)
    page = (await desk_web.get(path)).text
    finding = re.search(r'name="finding" value="([^"]+)"', page)
    assert finding, page
    await post(
        desk_web, f"{path}/xac-minh", path, {"finding": finding.group(1), "note": "Đã kiểm tra"}
    )
    await post(desk_web, f"{path}/dong", path, {})
    page = (await desk_web.get(path)).text
    assert "Đã đóng" in page and "Đã kiểm tra" in page

    # The PAR summary: the table and its CSV agree.
    html = (await desk_web.get(base + year)).text
    assert 'id="par-summary"' in html
    got = await desk_web.get(f"{base}/par.csv{year}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    mine = next(r for r in rows if r["ten_co_quan"] == "Xã Được Kiểm Tra")
    assert (mine["da_kiem_tra"], mine["phat_hien"], mine["da_khac_phuc"], mine["da_xac_minh"]) == (
        "1",
        "1",
        "1",
        "1",
    )
    assert mine["trang_thai"] == "closed"


async def test_inspections_are_isolated_between_provinces(desk_web, resources):
    staff = await office(resources, "Xã Kiểm Tra Một")
    other = await office(resources, "Xã Kiểm Tra Hai")
    admin, code = await province_admin(resources, staff)
    other_admin, other_code = await province_admin(resources, other)
    base = f"/quan-tri/tinh/{code}/kiem-tra"
    await as_user(desk_web, admin, base)
    await post(desk_web, f"{base}/nam/ke-hoach", base, {"year": TODAY.year, "title": "Kế hoạch"})
    html = (await desk_web.get(base)).text
    agency = re.search(r'<option value="([^"]+)">Xã Kiểm Tra Một', html)
    assert agency
    await post(
        desk_web,
        f"{base}/nam/lich",
        base,
        {"year": TODAY.year, "agency": agency.group(1), "plannedOn": TODAY.isoformat()},
    )
    html = (await desk_web.get(base)).text
    found = re.search(rf'href="{base}/([^"?]+)">Xã Kiểm Tra Một', html)
    assert found
    id = found.group(1)

    # Another province's administrator: this province's console and the inspection under its
    # own console are a 404; so are the moves and the CSV.
    await as_user(desk_web, other_admin, f"/quan-tri/tinh/{other_code}/kiem-tra")
    theirs = f"/quan-tri/tinh/{other_code}/kiem-tra"
    for path in (base, f"{base}/{id}", f"{base}/par.csv", f"{theirs}/{id}"):
        answer = await desk_web.get(path)
        assert answer.status_code == 404, path
        assert "Xã Kiểm Tra Một" not in answer.text
    token = token_of((await desk_web.get(theirs)).text)
    for url in (f"{theirs}/{id}/bat-dau", f"{base}/{id}/bat-dau"):
        answer = await desk_web.post(url, data={"csrf_token": token})
        assert answer.status_code == 404, url
    # Scheduling another province's agency under one's own console: a 404.
    answer = await desk_web.post(
        f"{theirs}/nam/lich",
        data={"csrf_token": token, "agency": agency.group(1), "plannedOn": TODAY.isoformat()},
    )
    assert answer.status_code == 404
    theirs_csv = (await desk_web.get(f"{theirs}/par.csv")).text
    assert "Xã Kiểm Tra Một" not in theirs_csv and "Xã Kiểm Tra Hai" in theirs_csv

    # A national administrator reads every province's (under its own province's path only).
    national = await make_user(resources, "national_admin")
    await as_user(desk_web, national.username, "/quan-tri")
    assert (await desk_web.get(f"{base}/{id}")).status_code == 200
    assert (await desk_web.get(f"{theirs}/{id}")).status_code == 404
    home = (await desk_web.get("/quan-tri?q=xa%20kiem%20tra%20mot")).text
    assert f"/quan-tri/tinh/{code}/kiem-tra" in home

    # The agency's staff have no console.
    await as_user(desk_web, staff.secretary, "/iso/tai-lieu")
    assert (await desk_web.get(base)).status_code == 403


async def test_inspection_forms_without_their_csrf_token_are_refused(desk_web, resources):
    staff = await office(resources, "Xã Kiểm Tra CSRF")
    admin, code = await province_admin(resources, staff)
    base = f"/quan-tri/tinh/{code}/kiem-tra"
    await as_user(desk_web, admin, base)
    for url in (f"{base}/nam/ke-hoach", f"{base}/nam/lich", f"{base}/x/bat-dau"):
        answer = await desk_web.post(url, data={"year": TODAY.year, "title": "Kế hoạch lạ"})
        assert answer.status_code == 403, url
        assert "Biểu mẫu đã hết hạn" in answer.text
    assert "Kế hoạch lạ" not in (await desk_web.get(base)).text
