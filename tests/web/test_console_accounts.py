"""The province console's accounts and integration clients over plain HTTP (issue 21): the
administrator lists the province's accounts, creates one (its one-time password shown once,
and it signs in with it), resets a password, disables an account; creates an integration
client (its secret shown once, it gets a token), disables it. Field errors under their field,
nothing created on bad input; CSRF on every form; another province's pages, accounts and
clients are a 404; an officer is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from eiso.core.auth.models import Client, User
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import PASSWORD, login_form, make_integration, make_user
from tests.conftest import unique_code
from tests.web.support import token_of
from tests.web.test_console import Console, console_province
from tests.web.test_desk import sign_in


@pytest.fixture
async def quang_ninh(resources) -> Console:
    return await console_province(resources, "Tỉnh Quảng Ninh Tài Khoản")


async def ward_of(resources, console: Console) -> Agency:
    async with resources.session(TenantScope.nation()) as session:
        return (
            await session.execute(select(Agency).where(col(Agency.code) == console.ward))
        ).scalar_one()


async def user_named(resources, username: str) -> User | None:
    async with resources.session(TenantScope.nation()) as session:
        return (
            await session.execute(select(User).where(col(User.username) == username))
        ).scalar_one_or_none()


def one_time(html: str) -> str:
    found = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert found, "no one-time password or secret on the page"
    return found.group(1)


@pytest.fixture
def signs_in(desk_app):
    """Whether the desk's sign-in takes `password` (a fresh client: the administrator's
    session stays as it is)."""

    async def attempt(username: str, password: str) -> bool:
        transport = httpx.ASGITransport(app=desk_app, client=("198.18.250.9", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fresh:
            start = await fresh.get("/ban-lam-viec/dang-nhap?next=/ban-lam-viec")
            page = await fresh.get(start.headers["location"])
            posted = await fresh.post(
                "/oauth/authorize", data=login_form(page.text, username, password)
            )
            return posted.status_code == 302

    return attempt


async def test_create_reset_and_disable_an_account(desk_web, resources, quang_ninh, signs_in):
    here = f"/quan-tri/tinh/{quang_ninh.code}/tai-khoan"
    html = await sign_in(desk_web, quang_ninh.admin, here)
    assert f"Tài khoản của {quang_ninh.name}" in html and quang_ninh.admin in html
    assert '<label for="username">' in html and '<label for="role">' in html
    token = token_of(html)
    username = unique_code("can.bo.").lower()
    form = {
        "csrf_token": token,
        "username": username,
        "display_name": "Trần Thị Bình",
        "role": "officer",
        "agency": quang_ninh.ward,
    }
    # Without the CSRF token: refused, nothing created.
    refused = await desk_web.post(here, data={k: v for k, v in form.items() if k != "csrf_token"})
    assert refused.status_code == 403 and await user_named(resources, username) is None
    created = await desk_web.post(here, data=form)
    assert created.status_code == 200, created.text
    assert f"Đã tạo tài khoản {username}" in created.text and "chỉ hiển thị một lần" in created.text
    password = one_time(created.text)
    assert await signs_in(username, password)
    row = await user_named(resources, username)
    assert row is not None and row.roles == ["officer"] and row.display_name == "Trần Thị Bình"
    # The list shows it, the password is not shown again.
    listed = await desk_web.get(here)
    assert username in listed.text and "Phường Hồng Gai" in listed.text
    assert password not in listed.text

    reset = await desk_web.post(f"{here}/{username}/dat-lai-mat-khau", data={"csrf_token": token})
    assert reset.status_code == 200 and f"Mật khẩu mới của {username}" in reset.text
    second = one_time(reset.text)
    assert second != password
    assert not await signs_in(username, password)
    assert await signs_in(username, second)

    no_token = await desk_web.post(f"{here}/{username}/vo-hieu-hoa")
    assert no_token.status_code == 403
    disabled = await desk_web.post(f"{here}/{username}/vo-hieu-hoa", data={"csrf_token": token})
    assert disabled.status_code == 303
    page = await desk_web.get(disabled.headers["location"])
    assert f"tài khoản {username} đã bị vô hiệu hóa" in page.text
    assert not await signs_in(username, second)


async def test_bad_account_forms_show_the_error_under_the_field(desk_web, resources, quang_ninh):
    here = f"/quan-tri/tinh/{quang_ninh.code}/tai-khoan"
    token = token_of(await sign_in(desk_web, quang_ninh.admin, here))
    base = {"csrf_token": token, "display_name": "X", "agency": quang_ninh.ward}
    cases = [
        ({"username": "a b", "role": "officer"}, "username"),
        ({"username": unique_code("ok.").lower(), "role": ""}, "role"),
        ({"username": unique_code("ok.").lower(), "role": "national_admin"}, "role"),
        ({"username": unique_code("ok.").lower(), "role": "province_admin"}, "role"),
        ({"username": quang_ninh.admin, "role": "officer"}, "username"),  # taken
    ]
    for fields, field in cases:
        answer = await desk_web.post(here, data={**base, **fields})
        assert answer.status_code in (409, 422), (fields, answer.status_code)
        assert f'id="{field}-error"' in answer.text, fields
        assert 'aria-invalid="true"' in answer.text
        if fields["username"] != quang_ninh.admin:
            assert await user_named(resources, fields["username"]) is None
    # The form keeps what was typed.
    assert 'value="X"' in answer.text


async def test_integration_client_secret_once_then_disabled(desk_web, resources, quang_ninh):
    here = f"/quan-tri/tinh/{quang_ninh.code}/ung-dung"
    html = await sign_in(desk_web, quang_ninh.admin, here)
    assert f"Ứng dụng tích hợp của {quang_ninh.name}" in html
    token = token_of(html)
    form = {"csrf_token": token, "name": "Cổng dịch vụ công tỉnh", "scope": ["qms:read"]}
    assert (await desk_web.post(here, data={"name": "x", "scope": ["qms:read"]})).status_code == 403
    none = await desk_web.post(here, data={**form, "scope": []})
    assert none.status_code == 422 and 'id="scopes-error"' in none.text
    created = await desk_web.post(here, data=form)
    assert created.status_code == 200, created.text
    secret = one_time(created.text)
    client_id = re.search(r"<code>(cli_[0-9a-f]+)</code>", created.text)
    assert client_id
    client = client_id.group(1)
    got = await desk_web.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client, secret)
    )
    assert got.status_code == 200
    listed = await desk_web.get(here)
    assert client in listed.text and secret not in listed.text
    off = await desk_web.post(f"{here}/{client}/vo-hieu-hoa", data={"csrf_token": token})
    assert off.status_code == 303
    page = await desk_web.get(off.headers["location"])
    assert f"ứng dụng {client} đã bị vô hiệu hóa" in page.text
    refused = await desk_web.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client, secret)
    )
    assert refused.status_code == 401


async def test_another_provinces_accounts_and_clients_are_a_404(
    desk_web, resources, quang_ninh, signs_in
):
    other = await console_province(resources, "Tỉnh Bến Tre Tài Khoản")
    their_ward = await ward_of(resources, other)
    officer = await make_user(resources, "officer", agency=their_ward)
    client, _secret = await make_integration(resources, ["qms:read"], agency=their_ward)
    html = await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}/tai-khoan")
    token = token_of(html)
    assert officer.username not in html
    for path in ("/tai-khoan", "/ung-dung"):
        answer = await desk_web.get(f"/quan-tri/tinh/{other.code}{path}")
        assert answer.status_code == 404, path
    theirs = f"/quan-tri/tinh/{other.code}"
    mine = f"/quan-tri/tinh/{quang_ninh.code}"
    for base in (theirs, mine):  # their console, or their account through mine
        for action in ("dat-lai-mat-khau", "vo-hieu-hoa"):
            answer = await desk_web.post(
                f"{base}/tai-khoan/{officer.username}/{action}", data={"csrf_token": token}
            )
            assert answer.status_code == 404, (base, action)
        answer = await desk_web.post(
            f"{base}/ung-dung/{client}/vo-hieu-hoa", data={"csrf_token": token}
        )
        assert answer.status_code == 404, base
    # Their agency is none of mine: the form says so under the agency.
    answer = await desk_web.post(
        f"{mine}/tai-khoan",
        data={
            "csrf_token": token,
            "username": unique_code("x.").lower(),
            "role": "officer",
            "agency": their_ward.code,
        },
    )
    assert answer.status_code == 404 and 'id="agency-error"' in answer.text
    row = await user_named(resources, officer.username)
    assert row is not None and row.active and row.password_hash == officer.password_hash
    async with resources.session(TenantScope.nation()) as session:
        stored = await session.get(Client, client)
        assert stored is not None and stored.active
    assert await signs_in(officer.username, PASSWORD)


async def test_an_officer_is_refused(desk_web, resources, quang_ninh):
    officer = await make_user(resources, "officer", agency=await ward_of(resources, quang_ninh))
    await sign_in(desk_web, officer.username)
    for path in ("/tai-khoan", "/ung-dung"):
        answer = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}{path}")
        assert answer.status_code == 403, path


async def test_an_administrator_cannot_disable_or_reset_their_own_account(
    desk_web, resources, quang_ninh
):
    here = f"/quan-tri/tinh/{quang_ninh.code}/tai-khoan"
    token = token_of(await sign_in(desk_web, quang_ninh.admin, here))
    said = {
        "vo-hieu-hoa": "Không thể vô hiệu hóa tài khoản của chính mình",
        "dat-lai-mat-khau": "Không thể đặt lại mật khẩu tài khoản của chính mình",
    }
    for action, message in said.items():
        page = await desk_web.post(
            f"{here}/{quang_ninh.admin}/{action}", data={"csrf_token": token}
        )
        assert page.status_code == 409, page.text
        # Said plainly, on the accounts page itself (its list still there), as an alert.
        assert re.search(rf'<p class="error-text" role="alert">{message}: hãy nhờ', page.text)
        assert quang_ninh.admin in page.text and '<label for="username">' in page.text
        assert '<code class="secret">' not in page.text
    row = await user_named(resources, quang_ninh.admin)
    assert row is not None and row.active
    assert (await desk_web.get(here)).status_code == 200  # still signed in
