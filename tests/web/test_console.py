"""The province console over plain HTTP (no browser), signed in through the desk's sign-in:
who may open it (province administrators their own province, national administrators every
province; another province's console is a 404, an officer is refused), the agencies' tree and
its search without diacritics, onboarding from a CSV (a dry run, bad rows with their line,
nothing imported until a good file is confirmed), the modules' switches, CSRF on every form."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from eiso.core.dossiers import catalogue
from eiso.tenants.models import Agency, AgencyKind, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.auth_helpers import make_user
from tests.conftest import unique_code
from tests.web.support import PROC, REGISTRY, token_of
from tests.web.test_desk import sign_in

HEADER = "code,name,kind,parent_code\n"


@dataclasses.dataclass(frozen=True)
class Console:
    """A province of its own (so switching its modules and importing touch no other test),
    with a department and its centre, a ward, and its administrator."""

    code: str
    name: str
    admin: str
    ward: str  # the ward's code


async def console_province(resources, name: str = "Tỉnh Quảng Ninh Bảng") -> Console:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("Q"), name)
        department = await ensure_agency(
            session, province, unique_code("D"), "Sở Khoa học và Công nghệ", AgencyKind.department
        )
        await ensure_agency(
            session,
            province,
            unique_code("C"),
            "Trung tâm Tiêu chuẩn Đo lường Chất lượng",
            AgencyKind.service_centre,
            parent=department,
        )
        ward = await ensure_agency(
            session, province, unique_code("P"), "Phường Hồng Gai", AgencyKind.ward
        )
    admin = await make_user(resources, "province_admin", province=province)
    return Console(province.code, name, admin.username, ward.code)


@pytest.fixture
async def quang_ninh(resources) -> Console:
    return await console_province(resources)


async def agencies_of(resources, code: str) -> int:
    async with resources.session(TenantScope.nation()) as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(Agency)
                    .join(Province, col(Province.id) == col(Agency.province_id))
                    .where(col(Province.code) == code)
                )
            ).scalar_one()
        )


def upload(token: str, text: str) -> dict[str, object]:
    return {
        "data": {"csrf_token": token},
        "files": {"file": ("agencies.csv", text.encode(), "text/csv")},
    }


async def test_signed_out_visitor_is_sent_to_sign_in(desk_web):
    for path in ("/quan-tri", "/quan-tri/tinh/XX", "/quan-tri/tinh/XX/nhap"):
        answer = await desk_web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ban-lam-viec/dang-nhap?next=%2Fquan-tri")


async def test_a_province_admin_sees_the_tree_of_their_province(desk_web, quang_ninh):
    html = await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    assert f"Cơ quan của {quang_ninh.name}" in html
    # The tree: the department's centre nested under it, the ward in its own group.
    department = html.index("Sở Khoa học và Công nghệ")
    assert department < html.index("Trung tâm Tiêu chuẩn Đo lường Chất lượng")
    assert "Sở, ban, ngành" in html and "Phường" in html and "Phường Hồng Gai" in html
    assert "Chưa xây dựng" in html  # the conformity status, in Vietnamese
    home = await desk_web.get("/quan-tri")
    assert home.status_code == 303
    assert home.headers["location"] == f"/quan-tri/tinh/{quang_ninh.code}"


async def test_search_ignores_diacritics(desk_web, quang_ninh):
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    page = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}", params={"q": "hong gai"})
    assert page.status_code == 200
    assert "Phường Hồng Gai" in page.text and "Sở Khoa học" not in page.text
    assert "1 cơ quan" in page.text


async def test_another_provinces_console_is_a_404(desk_web, resources, quang_ninh):
    other = await console_province(resources, "Tỉnh Bến Tre Bảng")
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    for path in ("", "/nhap", "/mo-dun", "?q=hong"):
        answer = await desk_web.get(f"/quan-tri/tinh/{other.code}{path}")
        assert answer.status_code == 404, path
        assert "Phường Hồng Gai" not in answer.text
    token = token_of((await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}/nhap")).text)
    posted = await desk_web.post(
        f"/quan-tri/tinh/{other.code}/nhap",
        **upload(token, f"{HEADER}X1,Xã Một,commune,\n"),
    )
    assert posted.status_code == 404
    switched = await desk_web.post(
        f"/quan-tri/tinh/{other.code}/mo-dun/web_test", data={"csrf_token": token, "enabled": "1"}
    )
    assert switched.status_code == 404
    assert await agencies_of(resources, other.code) == 3
    # An unknown province is the same 404.
    assert (await desk_web.get("/quan-tri/tinh/ZZ-NONE")).status_code == 404


async def sign_in_ward_officer(desk_web, resources, console: Console) -> None:
    """Sign in an officer of the console province's ward (no administrator)."""
    async with resources.session(TenantScope.nation()) as session:
        ward = (
            await session.execute(select(Agency).where(col(Agency.code) == console.ward))
        ).scalar_one()
    officer = await make_user(resources, "officer", agency=ward)
    await sign_in(desk_web, officer.username)


async def test_an_officer_is_refused(desk_web, resources, quang_ninh):
    await sign_in_ward_officer(desk_web, resources, quang_ninh)
    for path in ("/quan-tri", f"/quan-tri/tinh/{quang_ninh.code}"):
        answer = await desk_web.get(path)
        assert answer.status_code == 403, path
        assert "chỉ dành cho quản trị viên" in answer.text


async def test_a_national_admin_opens_every_province(desk_web, resources, quang_ninh):
    national = await make_user(resources, "national_admin")
    html = await sign_in(desk_web, national.username, "/quan-tri?q=quang%20ninh%20bang")
    assert f"/quan-tri/tinh/{quang_ninh.code}" in html
    page = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}")
    assert page.status_code == 200 and "Phường Hồng Gai" in page.text
    modules = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}/mo-dun")
    assert modules.status_code == 200 and "web_test" in modules.text


async def test_onboarding_shows_bad_rows_with_their_line_and_imports_nothing(
    desk_web, resources, quang_ninh
):
    here = f"/quan-tri/tinh/{quang_ninh.code}/nhap"
    await sign_in(desk_web, quang_ninh.admin, here)
    form = await desk_web.get(here)
    assert 'enctype="multipart/form-data"' in form.text and '<label for="file">' in form.text
    token = token_of(form.text)
    good = unique_code("X")
    text = f"{HEADER}{good},Xã Vân Đồn,commune,\n{unique_code('Y')},Xã Cô Tô,village,\n"
    # Without the CSRF token: refused before anything runs.
    refused = await desk_web.post(here, files={"file": ("a.csv", text.encode(), "text/csv")})
    assert refused.status_code == 403
    checked = await desk_web.post(here, **upload(token, text))
    assert checked.status_code == 422
    assert "nothing was imported" in checked.text or "không có gì được nhập" in checked.text
    errors = re.search(r'id="row-errors".*?</table>', checked.text, re.S)
    assert errors and "<td>3</td>" in errors.group(0)  # the bad row's line (the header is 1)
    assert 'name="confirm"' not in checked.text  # no way to import a file with bad rows
    assert await agencies_of(resources, quang_ninh.code) == 3


async def test_onboarding_dry_run_then_import(desk_web, resources, quang_ninh):
    here = f"/quan-tri/tinh/{quang_ninh.code}/nhap"
    await sign_in(desk_web, quang_ninh.admin, here)
    token = token_of((await desk_web.get(here)).text)
    new = unique_code("X")
    text = f"{HEADER}{new},Xã Vân Đồn,commune,\n{quang_ninh.ward},Phường Hồng Gai,ward,\n"
    dry = await desk_web.post(here, **upload(token, text))
    assert dry.status_code == 200, dry.text
    assert "Chạy thử" in dry.text and new in dry.text
    assert await agencies_of(resources, quang_ninh.code) == 3  # a dry run writes nothing
    content = re.search(r'name="content" value="([^"]*)"', dry.text)
    assert content
    # The confirmation also needs its token.
    assert (await desk_web.post(here, data={"confirm": "1", "content": text})).status_code == 403
    done = await desk_web.post(here, data={"csrf_token": token, "confirm": "1", "content": text})
    assert done.status_code == 200 and "Đã nhập" in done.text
    assert await agencies_of(resources, quang_ninh.code) == 4
    tree = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}", params={"q": "van don"})
    assert "Xã Vân Đồn" in tree.text


async def test_modules_switch_with_their_procedures_and_history(desk_web, quang_ninh):
    here = f"/quan-tri/tinh/{quang_ninh.code}/mo-dun"
    html = await sign_in(desk_web, quang_ninh.admin, here)
    assert "web_test" in html and "phiên bản 1.0" in html and PROC in html
    assert "Đang tắt cho tỉnh này" in html
    token = token_of(html)
    refused = await desk_web.post(f"{here}/web_test", data={"enabled": "1"})
    assert refused.status_code == 403
    on = await desk_web.post(f"{here}/web_test", data={"csrf_token": token, "enabled": "1"})
    assert on.status_code == 303
    page = await desk_web.get(on.headers["location"])
    assert "Đang bật cho tỉnh này" in page.text
    assert "Thủ tục được cung cấp trong tỉnh" in page.text and PROC in page.text
    off = await desk_web.post(f"{here}/web_test", data={"csrf_token": token, "enabled": "0"})
    assert off.status_code == 303
    page = await desk_web.get(here)
    assert "Lịch sử bật, tắt" in page.text
    history = re.search(r"<details>.*?</details>", page.text, re.S)
    assert history and history.group(0).count("<tr><td>") == 2
    unknown = await desk_web.post(f"{here}/no_such", data={"csrf_token": token, "enabled": "1"})
    assert unknown.status_code in (404, 422)
