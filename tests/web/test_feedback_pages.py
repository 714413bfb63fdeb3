"""The portal's feedback and petition pages over plain HTTP: the form in Vietnamese (from a
procedure's page, the procedure chosen), CSRF-protected, a refused input kept with its message,
the code and key once sent, the follow page with the answer, and the rating form once."""

from __future__ import annotations

import re

from sqlmodel import select

from eiso.core.auth.principal import Principal, Role
from eiso.core.feedback import service
from eiso.core.feedback.models import Feedback
from eiso.tenants.scope import TenantScope
from tests.web.support import PROC, token_of

CONTENT = "Bộ phận một cửa hẹn trả kết quả trễ hai ngày so với phiếu hẹn."


def keys_of(html: str) -> tuple[str, str]:
    code = re.search(r'id="feedback-code">([^<]+)<', html)
    key = re.search(r'id="lookup-key">([^<]+)<', html)
    assert code and key, html
    return code.group(1), key.group(1)


async def send(web, place, **fields) -> tuple[str, object]:
    page = await web.get(f"/tinh/{place.province_code}/phan-anh", params={"thu-tuc": PROC})
    assert page.status_code == 200, page.text
    agency = re.search(
        r'<select id="agency" name="agency" required>\s*<option value="([^"]+)"', page.text
    )
    assert agency, page.text
    body = {
        "csrf_token": token_of(page.text),
        "agency": agency.group(1),
        "kind": "FEEDBACK",
        "subject": "PROCEDURE",
        "procedure": PROC,
        "content": CONTENT,
        "contact_name": "Phạm Thị Góp Ý",
        **fields,
    }
    return page.text, await web.post(f"/tinh/{place.province_code}/phan-anh", data=body)


async def answer(resources, place, code: str, text: str, publish: bool = False) -> None:
    agency = place.agency
    officer = Principal(
        "officer-web",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )
    async with resources.session(officer.tenant) as session, session.begin():
        row = (await session.execute(select(Feedback).where(Feedback.code == code))).scalar_one()
        await service.answer(session, officer, row.province_id, row.id, text, publish=publish)


async def test_the_form_in_vietnamese_from_the_procedure_page(web, places):
    a, b = places
    procedure = await web.get(f"/tinh/{a.province_code}/thu-tuc/{PROC}")
    assert f'href="/tinh/{a.province_code}/phan-anh?thu-tuc={PROC}"' in procedure.text
    assert "Gửi phản ánh, kiến nghị về thủ tục này" in procedure.text
    page = await web.get(f"/tinh/{a.province_code}/phan-anh", params={"thu-tuc": PROC})
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    assert "Gửi phản ánh, kiến nghị" in page.text and '<label for="content">' in page.text
    assert a.agency.name in page.text and b.agency.name not in page.text  # its province only
    assert f'value="{PROC}"' in page.text and '<option value="PROCEDURE" selected>' in page.text
    assert (await web.get("/tinh/KHONG-CO/phan-anh")).status_code == 404


async def test_sent_followed_answered_and_rated_once(web, places, resources):
    a, _ = places
    _form, refused = await send(web, a, csrf_token="forged")
    assert refused.status_code == 403
    _form, empty = await send(web, a, content="  ")
    assert empty.status_code == 422 and "Phản ánh, kiến nghị chưa được gửi" in empty.text
    assert "không được để trống" in empty.text and 'value="Phạm Thị Góp Ý"' in empty.text

    _form, sent = await send(web, a)
    assert sent.status_code == 200 and "đã được gửi" in sent.text
    code, key = keys_of(sent.text)
    follow = await web.get("/phan-anh/theo-doi", params={"code": code, "key": key})
    assert follow.status_code == 200 and "Đã tiếp nhận, chờ trả lời" in follow.text
    assert "Hạn trả lời" in follow.text and "Phạm Thị Góp Ý" not in follow.text
    assert 'action="/phan-anh/danh-gia"' not in follow.text  # nothing to rate yet
    wrong = await web.get("/phan-anh/theo-doi", params={"code": code, "key": "SAI"})
    assert wrong.status_code == 404 and "Không có phản ánh, kiến nghị nào" in wrong.text

    await answer(resources, a, code, "Đã chấn chỉnh bộ phận một cửa.")
    follow = await web.get("/phan-anh/theo-doi", params={"code": code, "key": key})
    assert "Trả lời của cơ quan" in follow.text and "Đã chấn chỉnh" in follow.text
    assert 'action="/phan-anh/danh-gia"' in follow.text
    body = {"code": code, "key": key, "rating": "5"}
    assert (await web.post("/phan-anh/danh-gia", data=body)).status_code == 403
    body["csrf_token"] = token_of(follow.text)
    rated = await web.post("/phan-anh/danh-gia", data=body)
    assert rated.status_code == 303
    after = await web.get(rated.headers["location"])
    assert (
        "Cảm ơn bạn đã đánh giá" in after.text and 'action="/phan-anh/danh-gia"' not in after.text
    )
    again = await web.post("/phan-anh/danh-gia", data=body)
    assert again.status_code == 422


async def test_the_form_page_lists_the_published_answers_of_its_province(web, places, resources):
    a, b = places
    _form, sent = await send(web, a, consent="yes")
    code, _key = keys_of(sent.text)
    reply = "Phường đã bố trí thêm quầy tiếp nhận vào sáng thứ Hai."
    before = await web.get(f"/tinh/{a.province_code}/phan-anh")
    assert reply not in before.text
    await answer(resources, a, code, reply, publish=True)
    page = await web.get(f"/tinh/{a.province_code}/phan-anh")
    assert "Câu trả lời đã được công khai" in page.text
    assert reply in page.text and code in page.text and CONTENT in page.text
    assert "Phạm Thị Góp Ý" not in page.text.split('id="published"')[1]  # no contact data
    other = await web.get(f"/tinh/{b.province_code}/phan-anh")
    assert reply not in other.text


async def test_the_menu_links_the_feedback_pages(web, places):
    a, _ = places
    home = await web.get("/")
    assert 'href="/phan-anh/theo-doi"' in home.text
    province = await web.get(f"/tinh/{a.province_code}")
    assert f'href="/tinh/{a.province_code}/phan-anh"' in province.text
    assert (await web.get("/phan-anh/theo-doi")).status_code == 200
