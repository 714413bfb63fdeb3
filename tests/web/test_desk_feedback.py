"""Citizens' feedback and petitions at the officer's desk over plain HTTP (issue 21): the
agency's items by state with their deadline, an item's text and contact, assign (the leader;
an officer is refused), answer, publish only with the citizen's consent; CSRF on every form;
another agency's item is a 404 (its page and its moves) and stays as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from eiso.core.feedback import service
from eiso.core.feedback.models import Feedback
from eiso.core.global_ids import encode_id
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import make_user
from tests.web.support import token_of
from tests.web.test_desk import sign_in

PATH = "/ban-lam-viec/phan-anh"


async def submitted(resources, place, text: str, consent: bool) -> Feedback:
    got = await service.submit(
        resources,
        province_id=place.agency.province_id,
        agency_id=place.agency.id,
        kind="feedback",
        subject="agency",
        content=text,
        contact=service.Contact(name="Lê Văn Cường", phone="0912345678"),
        publish_consent=consent,
    )
    return await stored(resources, got.code)


async def stored(resources, code: str) -> Feedback:
    async with resources.session(TenantScope.nation()) as session:
        return (
            await session.execute(select(Feedback).where(col(Feedback.code) == code))
        ).scalar_one()


def gid(row: Feedback) -> str:
    return encode_id("Feedback", row.province_id, row.id)


@pytest.fixture
async def items(resources, places):
    a, b = places
    mine = await submitted(resources, a, "Cán bộ một cửa hẹn trả kết quả nhưng không trả.", True)
    private = await submitted(resources, a, "Đề nghị bố trí thêm ghế chờ.", False)
    theirs = await submitted(resources, b, "Phản ánh của tỉnh khác, không được lộ.", True)
    return mine, private, theirs


async def test_the_list_shows_the_agencys_items_with_their_deadline(desk_web, officers, items):
    mine, private, theirs = items
    html = await sign_in(desk_web, officers[0], PATH)
    assert "Phản ánh, kiến nghị" in html
    assert mine.code in html and private.code in html and theirs.code not in html
    assert "Hạn trả lời" in html and "Mới tiếp nhận, chưa phân công" in html
    answered = await desk_web.get(PATH, params={"trang-thai": "ANSWERED"})
    assert answered.status_code == 200 and mine.code not in answered.text
    page = await desk_web.get(f"{PATH}/{gid(mine)}")
    assert page.status_code == 200
    assert "Cán bộ một cửa hẹn trả kết quả" in page.text and "Lê Văn Cường" in page.text


async def test_answer_and_publish_with_consent_only(desk_web, resources, officers, items):
    mine, private, _theirs = items
    here = f"{PATH}/{gid(mine)}"
    html = await sign_in(desk_web, officers[0], here)
    assert 'name="publish"' in html
    token = token_of(html)
    form = {"answer": "Cơ quan đã xin lỗi và trả kết quả ngày 5/12.", "publish": "1"}
    assert (await desk_web.post(f"{here}/tra-loi", data=form)).status_code == 403
    assert (await stored(resources, mine.code)).answer is None
    done = await desk_web.post(f"{here}/tra-loi", data={**form, "csrf_token": token})
    assert done.status_code == 303
    page = await desk_web.get(done.headers["location"])
    assert "Đã ghi nhận câu trả lời" in page.text and "đã công khai" in page.text
    row = await stored(resources, mine.code)
    assert row.published and row.answer == form["answer"]
    # No consent: no checkbox, and a forged publish is refused on the page, nothing saved.
    other = f"{PATH}/{gid(private)}"
    page = await desk_web.get(other)
    assert 'name="publish"' not in page.text
    refused = await desk_web.post(f"{other}/tra-loi", data={**form, "csrf_token": token})
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert form["answer"] in refused.text  # what was typed is kept
    row = await stored(resources, private.code)
    assert row.answer is None and not row.published


async def test_the_leader_assigns_an_officer_may_not(desk_web, resources, places, officers, items):
    mine, _private, _theirs = items
    here = f"{PATH}/{gid(mine)}"
    token = token_of(await sign_in(desk_web, officers[0], here))
    refused = await desk_web.post(
        f"{here}/phan-cong", data={"csrf_token": token, "assignee": officers[0]}
    )
    assert refused.status_code == 403
    leader = await make_user(resources, "leader", agency=places[0].agency)
    await desk_web.post("/ban-lam-viec/dang-xuat", data={"csrf_token": token})
    token = token_of(await sign_in(desk_web, leader.username, here))
    done = await desk_web.post(
        f"{here}/phan-cong", data={"csrf_token": token, "assignee": officers[0]}
    )
    assert done.status_code == 303
    row = await stored(resources, mine.code)
    assert row.assignee == officers[0] and row.state == "assigned"


async def test_another_agencys_item_is_a_404(desk_web, resources, officers, items):
    _mine, _private, theirs = items
    html = await sign_in(desk_web, officers[0], PATH)
    token = token_of(html)
    page = await desk_web.get(f"{PATH}/{gid(theirs)}")
    assert page.status_code == 404 and "không được lộ" not in page.text
    for move, data in (("tra-loi", {"answer": "x"}), ("phan-cong", {"assignee": "x"})):
        answer = await desk_web.post(
            f"{PATH}/{gid(theirs)}/{move}", data={**data, "csrf_token": token}
        )
        assert answer.status_code in (403, 404), move
        assert "không được lộ" not in answer.text
    row = await stored(resources, theirs.code)
    assert row.answer is None and row.assignee is None
