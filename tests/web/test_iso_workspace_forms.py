"""The ISO workspace's forms of issue 21 over plain HTTP: a file attached to a draft version of
a document and downloaded from its page (another province's file is a 404, over the page and
over core/http/downloads.py), a risk registered and an objective set from their pages with
the API's errors shown in Vietnamese, who is offered and allowed which form, CSRF; and the
Vietnamese of the review's compiled inputs, of a dossier's nonconformity and of pydantic's
errors (core/validation_vi.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, Field, ValidationError

from eiso.core.validation_vi import first_error, message_vi
from eiso.web import iso_workspace
from eiso.web.pages import environment
from tests.web.support import token_of
from tests.web.test_iso_workspace import as_user, create_document, office, version_of


@pytest.fixture
async def storage_dir(resources, tmp_path, monkeypatch) -> AsyncIterator[str]:
    monkeypatch.setattr(resources.settings, "storage_dir", str(tmp_path))
    yield str(tmp_path)


async def attach(http, path: str, version: str, name: str, body: bytes, token: str | None):
    data = {"csrf_token": token} if token else {}
    return await http.post(
        f"{path}/dinh-kem/{version}",
        data=data,
        files={"file": (name, body, "application/pdf")},
    )


async def test_a_draft_versions_file_is_uploaded_and_downloaded(
    desk_web, resources, storage_dir, monkeypatch
):
    mine = await office(resources, "Xã Tệp ISO")
    theirs = await office(resources, "Xã Tệp Khác")
    await as_user(desk_web, mine.secretary)
    path = await create_document(desk_web, "QT-TEP-01", "Quy trình có tệp")
    page = (await desk_web.get(path)).text
    assert "Đính kèm tệp" in page and 'enctype="multipart/form-data"' in page
    version = version_of(page)
    # Without its CSRF token the upload is refused and nothing is attached.
    refused = await attach(desk_web, path, version, "quy-trinh.pdf", b"%PDF-1.4 x", None)
    assert refused.status_code == 403 and "Biểu mẫu đã hết hạn" in refused.text
    token = token_of(page)
    done = await attach(desk_web, path, version, "Quy trình tiếp nhận.pdf", b"%PDF-1.4 a", token)
    assert done.status_code == 303, done.text
    page = (await desk_web.get(path)).text
    link = re.search(r'href="(/iso/tai-lieu/[^"]+/tep/[^"]+)" download>Quy trình tiếp', page)
    assert link, page
    got = await desk_web.get(link.group(1))
    assert got.status_code == 200 and got.content == b"%PDF-1.4 a"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"

    # A file above the limit is refused in the page, before the API runs.
    with monkeypatch.context() as patched:
        patched.setattr(iso_workspace.documents_core, "MAX_ATTACHMENT", 4)
        big = await attach(desk_web, path, version, "lon.pdf", b"%PDF-1.4 b", token)
    assert big.status_code == 422 and "tệp lớn hơn" in big.text and 'role="alert"' in big.text

    # An officer downloads it but is offered no upload, and the API refuses theirs.
    await as_user(desk_web, mine.officer, path)
    page = (await desk_web.get(path)).text
    assert "Quy trình tiếp nhận.pdf" in page and "Đính kèm tệp" not in page
    assert (await desk_web.get(link.group(1))).status_code == 200
    officer_try = await attach(desk_web, path, version, "x.pdf", b"%PDF x", token_of(page))
    assert officer_try.status_code == 403

    # Another province's secretary: the page, the file and the upload are 404s.
    await as_user(desk_web, theirs.secretary)
    assert (await desk_web.get(link.group(1))).status_code == 404
    assert (await desk_web.get(path)).status_code == 404
    register = (await desk_web.get("/iso/tai-lieu")).text
    foreign = await attach(desk_web, path, version, "x.pdf", b"%PDF x", token_of(register))
    assert foreign.status_code == 404
    # Their own document's path with my version: not a version of that document, a 404.
    own = await create_document(desk_web, "QT-TEP-02", "Tài liệu của họ")
    assert (await desk_web.get(f"{own}/tep/{version}")).status_code == 404


async def test_the_download_route_answers_404_for_another_provinces_version(
    client, callers, resources, storage_dir
):
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.global_ids import encode_id
    from eiso.core.qms import documents
    from eiso.core.qms.storage import storage_from_settings
    from eiso.tenants.scope import TenantScope

    mine = await office(resources, "Xã Tải ISO")
    theirs = await office(resources, "Xã Tải Khác")

    def secretary(agency) -> Principal:
        return Principal(
            "iso-test",
            TenantScope.agencies([agency.id], [agency.province_id]),
            frozenset({Role.iso_secretary}),
            province_id=agency.province_id,
            agency_id=agency.id,
        )

    who = secretary(mine.agency)
    async with resources.session(who.tenant) as session, session.begin():
        _, version = await documents.create_document(
            session,
            who,
            province_id=mine.agency.province_id,
            agency_id=mine.agency.id,
            kind="procedure",
            code="QT-HTTP",
            title="Tài liệu",
        )
        await documents.attach(
            session,
            who,
            storage_from_settings(resources.settings),
            version.province_id,
            version.id,
            "bien-ban.pdf",
            b"%PDF mine",
        )
    path = f"/document-versions/{encode_id('DocumentVersion', version.province_id, version.id)}"
    ok = await client.get(f"{path}/attachment", headers=callers.issue(who))
    assert ok.status_code == 200 and ok.content == b"%PDF mine"
    other = await client.get(f"{path}/attachment", headers=callers.issue(secretary(theirs.agency)))
    assert other.status_code == 404 and other.json()["error"]["code"] == "NOT_FOUND"


async def refused_and_unseen(desk_web, mine, theirs, path: str, form: str, data: dict) -> None:
    """An officer is offered no form and the API refuses their post; another province's
    agency does not see what was added (its `title`)."""
    page = await as_user(desk_web, mine.officer, path)
    assert form not in page
    refused = await desk_web.post(path, data={"csrf_token": token_of(page), **data})
    assert refused.status_code == 403
    page = await as_user(desk_web, theirs.secretary, path)
    assert data["title"] not in page


async def secretary_on(desk_web, resources, name: str, path: str, form: str):
    """Two agencies of two provinces; my secretary signed in on `path`, offered its `form`."""
    mine, theirs = await office(resources, name), await office(resources, f"{name} Họ")
    html = await as_user(desk_web, mine.secretary, path)
    assert form in html
    return mine, theirs, html


async def test_a_risk_is_registered_from_the_page(desk_web, resources):
    found = await secretary_on(desk_web, resources, "Xã Rủi Ro", "/iso/rui-ro", "Đăng ký rủi ro")
    mine, theirs, html = found
    risk = {
        "title": "Mất điện tại bộ phận một cửa",
        "likelihood": "3",
        "impact": "5",
        "treatment": "Máy phát dự phòng",
        "owner": "Văn phòng",
        "reviewDate": "2027-03-31",
    }
    no_token = await desk_web.post("/iso/rui-ro", data=risk)
    assert no_token.status_code == 403
    added = await desk_web.post("/iso/rui-ro", data={"csrf_token": token_of(html), **risk})
    assert added.status_code == 303, added.text
    page = (await desk_web.get(added.headers["location"])).text
    assert "Đã đăng ký rủi ro." in page and page.count("Mất điện tại bộ phận một cửa") >= 2
    row = re.search(r'<tr><th scope="row">3</th>(.*?)</tr>', page, re.S)
    assert row and re.findall(r'<td class="heat-(\w+)">', row.group(1))[4] == "high"
    # The dots are coloured by level: the chart holds the high band's colour.
    assert "fill: #a1251b" in page
    # The API's refusal in the page, in Vietnamese, the form filled again.
    bad = await desk_web.post(
        "/iso/rui-ro", data={"csrf_token": token_of(html), **risk, "impact": "9"}
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "impact" in bad.text and ">Máy phát dự phòng</textarea>" in bad.text
    await refused_and_unseen(desk_web, mine, theirs, "/iso/rui-ro", "Đăng ký rủi ro", risk)


async def test_an_objective_is_set_from_the_page(desk_web, resources):
    heading = "Đặt mục tiêu chất lượng"
    mine, theirs, html = await secretary_on(desk_web, resources, "Xã MT", "/iso/muc-tieu", heading)
    goal = {
        "title": "Giải quyết đúng hạn",
        "metric": "ON_TIME_RATE",
        "comparator": "AT_LEAST",
        "target": "0,95",
        "from": "2026-01-01",
        "to": "2026-12-31",
        "procedureCode": "",
    }
    assert (await desk_web.post("/iso/muc-tieu", data=goal)).status_code == 403
    added = await desk_web.post("/iso/muc-tieu", data={"csrf_token": token_of(html), **goal})
    assert added.status_code == 303, added.text
    page = (await desk_web.get("/iso/muc-tieu")).text
    assert "Giải quyết đúng hạn" in page and "Tỷ lệ đúng hạn" in page
    assert "on time rate" not in page
    # A rate above 1: the API's message in Vietnamese, the form as it was posted.
    bad = await desk_web.post(
        "/iso/muc-tieu", data={"csrf_token": token_of(html), **goal, "target": "95"}
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "tỷ lệ" in bad.text.lower() and 'value="95"' in bad.text
    not_a_number = await desk_web.post(
        "/iso/muc-tieu", data={"csrf_token": token_of(html), **goal, "target": "nhiều"}
    )
    assert not_a_number.status_code == 422 and "phải là một số" in not_a_number.text
    await refused_and_unseen(desk_web, mine, theirs, "/iso/muc-tieu", heading, goal)


def render_labels(language: str, source: str, **values) -> str:
    env = environment(language)
    return env.from_string('{% import "_iso_labels.html" as labels %}' + source).render(**values)


def test_review_inputs_and_dossier_nonconformities_are_named_in_the_pages_language():
    keys = "{% for k in keys %}{{ labels.review_key(k) }}|{% endfor %}"
    names = ["received", "on_time_rate", "nonconformity", "dossier", "backlog_late"]
    vi = render_labels("vi", keys, keys=names).split("|")
    assert vi[:5] == [
        "Số đã tiếp nhận",
        "Tỷ lệ đúng hạn",
        "Không phù hợp",
        "Hồ sơ",
        "Đang giải quyết, đã quá hạn",
    ], vi
    assert render_labels("en", keys, keys=["on_time_rate"]) == "On-time rate|"
    nc = {
        "source": "DOSSIER",
        "cause": "OVERDUE",
        "sourceRef": "HS-01",
        "title": "Hồ sơ HS-01 quá hạn giải quyết",
    }
    title = "{{ labels.nc_title(nc) }}"
    assert render_labels("vi", title, nc=nc) == "Hồ sơ HS-01 quá hạn giải quyết"
    assert render_labels("en", title, nc=nc) == "Dossier HS-01 is overdue"
    by_hand = {**nc, "source": "MANUAL", "title": "Trả muộn"}
    assert render_labels("en", title, nc=by_hand) == "Trả muộn"
    kinds = '{{ labels.finding_kinds["CONFORMITY"] }}'
    assert render_labels("vi", kinds) == "Phù hợp"


class Setting(BaseModel):
    days: int = Field(ge=1, le=30)
    name: str = Field(max_length=5)
    code: str


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"days": 31, "name": "a", "code": "x"}, "phải nhỏ hơn hoặc bằng 30"),
        ({"days": 0, "name": "a", "code": "x"}, "phải lớn hơn hoặc bằng 1"),
        ({"days": 3, "name": "abcdefg", "code": "x"}, "dài tối đa 5 ký tự"),
        ({"days": 3, "name": "a"}, "bắt buộc phải nhập"),
        ({"days": "x", "name": "a", "code": "x"}, "phải là một số nguyên"),
    ],
)
def test_pydantic_errors_are_translated_by_type(data, expected):
    with pytest.raises(ValidationError) as raised:
        Setting.model_validate(data)
    assert message_vi(raised.value.errors()[0]) == expected
    field, english, vi = first_error(raised.value, "config")
    assert field.startswith("config.") and vi == expected and english


def test_an_unknown_error_type_says_the_value_is_not_valid():
    assert message_vi({"type": "something_new", "ctx": {}}) == "giá trị không hợp lệ"
    assert message_vi({"type": "less_than_equal"}) == "phải nhỏ hơn hoặc bằng"


async def test_the_desk_menu_names_its_two_feedback_links_apart(desk_web, resources):
    mine = await office(resources, "Xã Menu")
    html = await as_user(desk_web, mine.officer, "/ban-lam-viec")
    menu = html[html.index('aria-label="Trình đơn chính"') : html.index("</nav>")]
    names = re.findall(r'<a href="[^"]*phan-anh[^"]*"[^>]*>([^<]+)</a>', menu)
    assert names == ["Phản ánh, kiến nghị", "Phản ánh, kiến nghị gửi cơ quan"], names
