"""The agency's ISO workspace over plain HTTP (no browser), signed in through the desk's
sign-in: a document drafted by the ISO secretary, approved by a leader, made effective and
acknowledged by an officer (who is pending, who read it); the board of nonconformities from
raising to closing with the effectiveness check; the risks' heat map, objectives, audits and
reviews. Who may do what (an officer cannot approve, a province administrator has no
workspace), another agency's records are invisible or a 404, and every form needs its CSRF
token."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.qms import objectives, risks
from eiso.core.qms.figures import Period
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope
from eiso.web import iso_workspace
from tests.auth_helpers import make_user
from tests.conftest import unique_code
from tests.web.support import place, token_of
from tests.web.test_desk import sign_in


@dataclasses.dataclass(frozen=True)
class Office:
    """An agency with its ISO secretary, leader and officer (their usernames)."""

    agency: Agency
    secretary: str
    leader: str
    officer: str
    officer_id: str


async def office(resources, name: str = "Xã ISO") -> Office:
    where = await place(resources, f"Tỉnh {name}", name)
    secretary = await make_user(resources, "iso_secretary", agency=where.agency)
    leader = await make_user(resources, "leader", agency=where.agency)
    officer = await make_user(resources, "officer", agency=where.agency)
    return Office(
        where.agency, secretary.username, leader.username, officer.username, str(officer.id)
    )


@pytest.fixture
async def mine(resources) -> Office:
    return await office(resources)


async def sign_out(http) -> None:
    page = await http.get("/iso/tai-lieu")
    answer = await http.post("/ban-lam-viec/dang-xuat", data={"csrf_token": token_of(page.text)})
    assert answer.status_code == 303


async def as_user(http, username: str, target: str = "/iso/tai-lieu") -> str:
    if (await http.get(target)).status_code != 303:
        await sign_out(http)
    return await sign_in(http, username, target)


async def create_document(http, code: str, title: str) -> str:
    """The secretary drafts a document; answers its page's path."""
    page = await http.get("/iso/tai-lieu")
    created = await http.post(
        "/iso/tai-lieu",
        data={
            "csrf_token": token_of(page.text),
            "kind": "PROCEDURE",
            "code": code,
            "title": title,
            "content": "Các bước tiếp nhận",
        },
    )
    assert created.status_code == 303, created.text
    return created.headers["location"].split("?")[0]


def version_of(html: str) -> str:
    found = re.search(r'name="version" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def move(http, path: str, name: str, expect: int = 303, version: str | None = None):
    page = await http.get(path)
    version = version or version_of(page.text)
    answer = await http.post(
        f"{path}/{name}", data={"csrf_token": token_of(page.text), "version": version}
    )
    assert answer.status_code == expect, answer.text
    return answer


async def test_signed_out_visitor_is_sent_to_sign_in(desk_web):
    for path in ("/iso/tai-lieu", "/iso/khong-phu-hop", "/iso/rui-ro"):
        answer = await desk_web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ban-lam-viec/dang-nhap?next=%2Fiso")


async def test_a_document_is_drafted_approved_made_effective_and_read(desk_web, mine):
    html = await as_user(desk_web, mine.secretary)
    assert "Danh mục tài liệu" in html and "Soạn tài liệu mới" in html
    path = await create_document(desk_web, "QT-ISO-01", "Quy trình kiểm soát tài liệu")
    page = (await desk_web.get(path)).text
    assert "Phiên bản 1: Dự thảo" in page and "Gửi xem xét" in page
    version = version_of(page)
    await move(desk_web, path, "gui-duyet")
    register = (await desk_web.get("/iso/tai-lieu")).text
    assert "Dự thảo đang chờ xem xét (1)" in register
    # The secretary is not offered the approval, and the API refuses it.
    page = (await desk_web.get(path)).text
    assert "Phê duyệt" not in page
    refused = await move(desk_web, path, "phe-duyet", expect=403, version=version)
    assert "Vai trò của bạn không được phép" in refused.text

    await as_user(desk_web, mine.leader, path)
    await move(desk_web, path, "phe-duyet")
    page = (await desk_web.get(f"{path}?xong=phe-duyet")).text
    assert "Phiên bản 1: Đã phê duyệt" in page
    await move(desk_web, path, "hieu-luc")
    page = (await desk_web.get(path)).text
    assert "Phiên bản 1: Đang hiệu lực" in page
    # Who has not read it yet: every active staff member of the agency (the officer too).
    assert "còn 3 trên 3 người chưa đọc" in page and mine.officer in page

    await as_user(desk_web, mine.officer, path)
    page = (await desk_web.get(path)).text
    assert "Gửi xem xét" not in page and "Phiên bản mới" not in page
    await move(desk_web, path, "da-doc")
    page = (await desk_web.get(path)).text
    assert "Bạn đã xác nhận đọc phiên bản này." in page
    assert "còn 2 trên 3 người chưa đọc" in page and "Tôi đã đọc" not in page
    register = (await desk_web.get("/iso/tai-lieu")).text
    assert "Quy trình" in register and "QT-ISO-01" in register


async def test_another_agencys_document_is_a_404(desk_web, resources, mine):
    theirs = await office(resources, "Xã Khác ISO")
    await as_user(desk_web, theirs.secretary)
    path = await create_document(desk_web, "QT-KHAC", "Tài liệu của cơ quan khác")
    await as_user(desk_web, mine.secretary)
    register = (await desk_web.get("/iso/tai-lieu")).text
    assert "Tài liệu của cơ quan khác" not in register
    answer = await desk_web.get(path)
    assert answer.status_code == 404 and "Tài liệu của cơ quan khác" not in answer.text
    token = token_of(register)
    posted = await desk_web.post(
        f"{path}/gui-duyet", data={"csrf_token": token, "version": "RG9jdW1lbnRWZXJzaW9uOjE6MQ"}
    )
    assert posted.status_code == 404
    await as_user(desk_web, theirs.secretary, path)
    assert "Phiên bản 1: Dự thảo" in (await desk_web.get(path)).text


async def test_forms_without_their_csrf_token_are_refused(desk_web, mine):
    await as_user(desk_web, mine.secretary)
    for url, data in (
        ("/iso/tai-lieu", {"kind": "POLICY", "code": "CS-01", "title": "Chính sách không token"}),
        ("/iso/khong-phu-hop", {"title": "Trễ hạn"}),
        ("/iso/khong-phu-hop/x/dong", {}),
        ("/iso/tai-lieu/x/gui-duyet", {"version": "x"}),
    ):
        answer = await desk_web.post(url, data=data)
        assert answer.status_code == 403, url
        assert "Biểu mẫu đã hết hạn" in answer.text
    assert "Chính sách không token" not in (await desk_web.get("/iso/tai-lieu")).text
    assert "Trễ hạn" not in (await desk_web.get("/iso/khong-phu-hop")).text


async def test_a_province_administrator_has_no_workspace(desk_web, resources, mine):
    from sqlmodel import select

    from eiso.tenants.models import Province

    async with resources.session(TenantScope.nation()) as session:
        province = await session.get(Province, mine.agency.province_id)
        assert province is not None
        _ = select  # the province row is enough
    admin = await make_user(resources, "province_admin", province=province)
    await sign_in(desk_web, admin.username, "/iso/tai-lieu", expect=403)
    answer = await desk_web.get("/iso/rui-ro")
    assert answer.status_code == 403 and "chỉ dành cho cán bộ của một cơ quan" in answer.text


async def test_a_nonconformity_goes_round_the_board(desk_web, mine):
    html = await as_user(desk_web, mine.secretary, "/iso/khong-phu-hop")
    assert "Ghi nhận điểm không phù hợp" in html
    code = unique_code("HS")
    raised = await desk_web.post(
        "/iso/khong-phu-hop",
        data={
            "csrf_token": token_of(html),
            "title": "Trả kết quả trễ hẹn",
            "description": "Hồ sơ trả muộn 2 ngày",
            "sourceRef": code,
        },
    )
    assert raised.status_code == 303
    board = (await desk_web.get("/iso/khong-phu-hop")).text
    nc = re.search(r'/iso/khong-phu-hop/([^/"]+)/ke-hoach', board)
    assert nc and code in board
    base = f"/iso/khong-phu-hop/{nc.group(1)}"
    token = token_of(board)
    planned = await desk_web.post(
        f"{base}/ke-hoach",
        data={
            "csrf_token": token,
            "rootCause": "Thiếu người",
            "correctiveAction": "Bổ sung cán bộ",
            "owner": "Văn phòng",
            "dueDate": "2030-01-01",
        },
    )
    assert planned.status_code == 303
    board = (await desk_web.get("/iso/khong-phu-hop")).text
    assert "Bổ sung cán bộ" in board and "quá hạn" not in board
    # Closing before the effectiveness check is refused with the API's code and message.
    early = await desk_web.post(f"{base}/dong", data={"csrf_token": token})
    assert early.status_code == 409 and 'role="alert"' in early.text
    for name, data in (
        ("hoan-thanh", {}),
        ("hieu-qua", {"result": "Không còn trễ hẹn", "effective": "1"}),
        ("dong", {}),
    ):
        answer = await desk_web.post(f"{base}/{name}", data={"csrf_token": token, **data})
        assert answer.status_code == 303, (name, answer.text)
    board = (await desk_web.get("/iso/khong-phu-hop")).text
    closed = board[board.index('id="state-closed"') :]
    assert "Trả kết quả trễ hẹn" in closed and "Không còn trễ hẹn" in closed

    # An officer sees the board but no form, and the API refuses their move.
    await as_user(desk_web, mine.officer, "/iso/khong-phu-hop")
    board = (await desk_web.get("/iso/khong-phu-hop")).text
    assert "Trả kết quả trễ hẹn" in board and "Ghi nhận điểm không phù hợp" not in board
    refused = await desk_web.post(
        "/iso/khong-phu-hop", data={"csrf_token": token_of(board), "title": "Của cán bộ"}
    )
    assert refused.status_code == 403


async def as_secretary(resources, agency: Agency, service, **fields) -> None:
    """Run a QMS service (`objectives.create`, `risks.register_risk`) as the agency's ISO
    secretary, for arranging its records without the pages."""
    who = Principal(
        "iso-test",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.iso_secretary}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )
    async with resources.session(who.tenant) as session, session.begin():
        await service(session, who, province_id=agency.province_id, agency_id=agency.id, **fields)


async def seed_objective(resources, agency: Agency, title: str, target: float) -> None:
    """An objective of the agency for this year: at least `target` of its dossiers on time."""
    year = Period.of(dt.date.today().year)
    definition = objectives.Definition(title, "on_time_rate", "at_least", target, year)
    await as_secretary(resources, agency, objectives.create, definition=definition)


async def seed_risk(resources, agency: Agency, title: str, likelihood: int, impact: int) -> None:
    await as_secretary(
        resources,
        agency,
        risks.register_risk,
        title=title,
        likelihood=likelihood,
        impact=impact,
        treatment="Theo dõi hằng tháng",
        owner="Văn phòng",
        review_date=dt.date(2027, 6, 30),
    )


async def test_risks_heat_map_objectives_audits_and_reviews(desk_web, resources, mine):
    theirs = await office(resources, "Xã Rủi Ro Khác")
    await seed_risk(resources, mine.agency, "Mất dữ liệu hồ sơ", 4, 5)
    await seed_risk(resources, mine.agency, "Quá tải một cửa", 4, 5)
    await seed_risk(resources, theirs.agency, "Rủi ro của cơ quan khác", 2, 2)
    html = await as_user(desk_web, mine.officer, "/iso/rui-ro")
    assert "Sổ đăng ký rủi ro" in html and "Mất dữ liệu hồ sơ" in html
    assert "Rủi ro của cơ quan khác" not in html
    # The heat map: likelihood 4's row, impact 5's cell holds the two (level 20: high).
    row = re.search(r'<tr><th scope="row">4</th>(.*?)</tr>', html, re.S)
    assert row
    cells = re.findall(r'<td class="heat-(\w+)">(.*?)</td>', row.group(1), re.S)
    assert cells[4][0] == "high" and "<strong>2</strong>" in cells[4][1]
    assert all("<strong>" not in body for _, body in cells[:4])
    for path, heading in (
        ("/iso/muc-tieu", "Mục tiêu chất lượng"),
        ("/iso/danh-gia", "Đánh giá nội bộ và xem xét của lãnh đạo"),
    ):
        page = await desk_web.get(path)
        assert page.status_code == 200 and heading in page.text, path
    # Objectives: the agency's own with its target, another agency's invisible.
    await seed_objective(resources, mine.agency, "Đúng hạn 95% của cơ quan", 0.95)
    await seed_objective(resources, theirs.agency, "Mục tiêu của cơ quan khác", 0.9)
    page = await desk_web.get("/iso/muc-tieu")
    assert "Đúng hạn 95% của cơ quan" in page.text
    assert "Mục tiêu của cơ quan khác" not in page.text


def test_the_board_marks_actions_past_their_due_date():
    rows = [
        {"status": "ACTION_PLANNED", "dueDate": "2026-01-01"},
        {"status": "ACTION_DONE", "dueDate": "2026-01-01"},
        {"status": "OPEN", "dueDate": None},
        {"status": "ACTION_PLANNED", "dueDate": "2026-12-31"},
    ]
    columns = dict(iso_workspace.board(rows, "2026-06-01"))
    assert list(columns) == list(iso_workspace.NC_STATES)
    assert [r["overdue"] for r in columns["ACTION_PLANNED"]] == [True, False]
    assert columns["ACTION_DONE"][0]["overdue"] is False  # done: waiting for its check
    assert columns["OPEN"][0]["overdue"] is False


def test_the_heat_chart_is_a_static_svg_named_for_screen_readers():
    from eiso.web.iso_charts import heat_chart

    grid = iso_workspace.heat_map([{"likelihood": 4, "impact": 5, "title": "Mất dữ liệu"}] * 2)
    drawn = heat_chart(grid, "vi")
    assert drawn.startswith('<svg role="img" aria-label="Bản đồ nhiệt rủi ro')
    assert "<script" not in drawn and "Khả năng 4" in drawn
