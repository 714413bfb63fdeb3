"""The province console over plain HTTP (no browser), signed in through the desk's sign-in:
who may open it (province administrators their own province, national administrators every
province; another province's console is a 404, an officer is refused), the agencies' tree and
its search without diacritics, onboarding from a CSV (a dry run, bad rows with their line,
nothing imported until a good file is confirmed), the modules' switches, CSRF on every form."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlmodel import col
from starlette.requests import Request
from starlette.types import Message

from eiso.core.dossiers import catalogue
from eiso.tenants.models import Agency, AgencyKind, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from eiso.web import console_import
from tests.auth_helpers import make_user
from tests.conftest import unique_code
from tests.web.conftest import _HOSTS
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
    for path in (
        "/quan-tri",
        "/quan-tri/tinh/XX",
        "/quan-tri/tinh/XX/nhap",
        "/quan-tri/tinh/XX/nhap-co-quan/a",
    ):
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
    started = await desk_web.post(here, data={"csrf_token": token, "confirm": "1", "content": text})
    # The import runs in the background: its status page, until it ends.
    assert started.status_code == 303, started.text
    status = started.headers["location"]
    assert status.startswith(f"/quan-tri/tinh/{quang_ninh.code}/nhap-co-quan/")
    done = await until_done(desk_web, status)
    assert done.status_code == 200 and "Đã nhập" in done.text
    assert "Thêm 1, sửa 0, giữ nguyên 1" in done.text
    assert await agencies_of(resources, quang_ninh.code) == 4
    tree = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}", params={"q": "van don"})
    assert "Xã Vân Đồn" in tree.text


async def until_done(http, status: str):
    """The status page once the job has ended (it refreshes itself until then)."""
    for _ in range(600):
        page = await http.get(status)
        assert page.status_code == 200, page.text
        if 'http-equiv="refresh"' not in page.text:
            return page
        assert 'role="status"' in page.text and "<progress" in page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"the import {status} did not end")


async def start_import(desk_web, console: Console, text: str) -> str:
    here = f"/quan-tri/tinh/{console.code}/nhap"
    token = token_of((await desk_web.get(here)).text)
    # Without its CSRF token the confirmation starts nothing.
    refused = await desk_web.post(here, data={"confirm": "1", "content": text})
    assert refused.status_code == 403
    started = await desk_web.post(here, data={"csrf_token": token, "confirm": "1", "content": text})
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


async def test_import_status_shows_the_rows_done_then_refreshes_no_more(
    desk_web, resources, quang_ninh
):
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    status = await start_import(
        desk_web, quang_ninh, f"{HEADER}{unique_code('X')},Xã Một,commune,\n"
    )
    await until_done(desk_web, status)
    # A running job as another worker would see it: rows done of the total, refreshing.
    job = status.rsplit("/", 1)[1]
    key = resources.key(console_import.FAMILY, job)
    state = json.loads(await resources.redis.get(key))
    running = {**state, "state": "running", "done": 500, "total": 1200}
    await resources.redis.set(key, json.dumps(running), ex=60)
    page = await desk_web.get(status)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in page.text
    assert re.search(r'<progress [^>]*max="1200" value="500"', page.text)
    assert "500 / 1200" in page.text and 'role="status"' in page.text
    # A job that failed: its message, no refreshing.
    error = {"code": "BAD_INPUT", "message": "bad", "message_vi": "dòng 7: sai mã"}
    await resources.redis.set(key, json.dumps({**state, "state": "failed", "error": error}))
    page = await desk_web.get(status)
    assert "dòng 7: sai mã" in page.text and 'http-equiv="refresh"' not in page.text


async def test_an_import_with_refused_rows_shows_them_with_their_line(
    desk_web, resources, quang_ninh
):
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    # The dry run passes; the admin account's username is taken, found only by the import.
    taken = quang_ninh.admin
    text = (
        "code,name,kind,parent_code,admin_username,admin_email\n"
        f"{unique_code('X')},Xã Hai,commune,,{taken},x@example.vn\n"
    )
    done = await until_done(desk_web, await start_import(desk_web, quang_ninh, text))
    errors = re.search(r'id="row-errors".*?</table>', done.text, re.S)
    assert errors and "<td>2</td>" in errors.group(0), done.text
    assert await agencies_of(resources, quang_ninh.code) == 3  # all or nothing


@contextlib.asynccontextmanager
async def another_browser(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(f"198.19.{next(_HOSTS)}.2", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_an_import_job_is_its_provinces_and_admins_only(
    desk_app, desk_web, resources, quang_ninh
):
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    status = await start_import(
        desk_web, quang_ninh, f"{HEADER}{unique_code('X')},Xã Ba,commune,\n"
    )
    await until_done(desk_web, status)
    job = status.rsplit("/", 1)[1]
    # An unknown id, or this job under another path: 404.
    unknown = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}/nhap-co-quan/nope")
    assert unknown.status_code == 404
    # Another province's administrator: their own province's path does not find it either.
    other = await console_province(resources, "Tỉnh Bến Tre Bảng")
    async with another_browser(desk_app) as http:
        await sign_in(http, other.admin, f"/quan-tri/tinh/{other.code}")
        for path in (status, f"/quan-tri/tinh/{other.code}/nhap-co-quan/{job}"):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert "Đã nhập" not in answer.text
    # A national administrator (every province) did not start it: 404 too.
    national = await make_user(resources, "national_admin")
    async with another_browser(desk_app) as http:
        await sign_in(http, national.username, "/quan-tri")
        assert (await http.get(status)).status_code == 404


async def test_the_import_job_ends_after_its_request_is_gone(
    desk_web, resources, quang_ninh, monkeypatch
):
    """The background job holds no request: it starts only once the redirect is sent and the
    request's scope is emptied (its app, headers and body unreadable), and imports all the
    same through the in-process GraphQL path, as the administrator who confirmed."""
    requests: list[Request] = []
    jobs: list[console_import.Job] = []
    gone = asyncio.Event()
    start, run_job = console_import.start, console_import.run_job

    async def recorded(request, admin, content):
        requests.append(request)
        return await start(request, admin, content)

    async def after_the_request(job):
        jobs.append(job)
        await gone.wait()
        await run_job(job)

    monkeypatch.setattr(console_import, "start", recorded)
    monkeypatch.setattr(console_import, "run_job", after_the_request)
    await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}")
    new = unique_code("X")
    status = await start_import(desk_web, quang_ninh, f"{HEADER}{new},Xã Bốn,commune,\n")
    (request,) = requests
    for _ in range(200):  # the job's task has begun (and waits): it has its Job
        if jobs:
            break
        await asyncio.sleep(0.01)
    (job,) = jobs
    assert not any(isinstance(value, Request) for value in vars(job).values())
    assert not any(isinstance(value, Request) for value in vars(job.caller).values())
    principal = job.caller.principal  # the administrator, authenticated before the response
    assert principal is not None and principal.province_id is not None

    async def closed() -> Message:
        raise RuntimeError("the request is gone")

    request.scope.clear()
    request._receive = closed
    gone.set()
    done = await until_done(desk_web, status)
    assert "Đã nhập" in done.text and "Thêm 1, sửa 0, giữ nguyên 0" in done.text, done.text
    assert await agencies_of(resources, quang_ninh.code) == 4
    state = json.loads(await resources.redis.get(job.key))
    assert state["state"] == "done" and state["subject"] == principal.subject


async def test_without_redis_the_confirmation_imports_in_the_request():
    class Down:
        async def set(self, *args, **kwargs):
            raise RedisConnectionError("down")

    class Resources:
        redis = Down()

        def key(self, *parts):
            return ":".join(parts)

    app = SimpleNamespace(state=SimpleNamespace(resources=Resources(), jobs=set()))
    admin = SimpleNamespace(province={"code": "X"}, subject="admin", token="t")
    assert await console_import.start(SimpleNamespace(app=app), admin, "x") is None
    assert not app.state.jobs


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
