"""A module's settings page in the province console (/quan-tri/tinh/<code>/mo-dun/<module>/cai-dat),
over plain HTTP: the form generated from the module's configuration model (the test module's
WebSettings, tests/web/support.py), saved through enableModule; a bad value shows the model's
error under its field and changes nothing; a secret left blank keeps the stored one; CSRF;
another province's page is a 404, an officer is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from eiso.core.plugins.config_secrets import MASK, kept, masked
from eiso.plugins.notifications.config import NotificationsConfig
from eiso.tenants.models import Province
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope
from eiso.web.console_settings import groups_of
from tests.auth_helpers import make_user
from tests.web.support import token_of
from tests.web.test_console import Console, console_province, sign_in_ward_officer
from tests.web.test_desk import sign_in


@pytest.fixture
async def quang_ninh(resources) -> Console:
    return await console_province(resources, "Tỉnh Quảng Ninh Cấu Hình")


GOOD = {
    "office": "Bộ phận Một cửa tỉnh",
    "days": "5",
    "channel": "email",
    "gateway.url": "https://cong.example.vn/api",
    "gateway.token": "bi-mat-1",
}


def page_of(code: str) -> str:
    return f"/quan-tri/tinh/{code}/mo-dun/web_test/cai-dat"


async def stored(resources, code: str) -> dict[str, Any] | None:
    async with resources.session(TenantScope.nation()) as session:
        row = (
            await session.execute(
                select(ModuleActivation)
                .join(Province, col(Province.id) == col(ModuleActivation.province_id))
                .where(col(Province.code) == code, col(ModuleActivation.module) == "web_test")
            )
        ).scalar_one_or_none()
    return dict(row.config) if row else None


async def test_settings_form_saves_and_keeps_a_blank_secret(desk_web, resources, quang_ninh):
    here = page_of(quang_ninh.code)
    html = await sign_in(desk_web, quang_ninh.admin, f"/quan-tri/tinh/{quang_ninh.code}/mo-dun")
    assert f'href="{here}"' in html
    page = await desk_web.get(here)
    assert page.status_code == 200
    for label in ("Tên bộ phận", "Số ngày nhắc hạn", "Kênh gửi", "Cổng kết nối", "Mã truy cập"):
        assert label in page.text
    assert 'type="password"' in page.text and 'for="f-gateway-url"' in page.text
    token = token_of(page.text)
    saved = await desk_web.post(here, data={"csrf_token": token, **GOOD})
    assert saved.status_code == 303
    assert await stored(resources, quang_ninh.code) == {
        "office": "Bộ phận Một cửa tỉnh",
        "days": 5,
        "channel": "email",
        "gateway": {"url": "https://cong.example.vn/api", "token": "bi-mat-1"},
    }
    shown = await desk_web.get(saved.headers["location"])
    assert "Đã lưu cấu hình" in shown.text and "bi-mat-1" not in shown.text
    assert "Đã lưu một giá trị" in shown.text  # the secret is stored, not shown
    # The secret left blank keeps the stored one; the other fields change.
    again = await desk_web.post(
        here, data={"csrf_token": token, **GOOD, "days": "7", "gateway.token": ""}
    )
    assert again.status_code == 303
    config = await stored(resources, quang_ninh.code)
    assert config and config["days"] == 7 and config["gateway"]["token"] == "bi-mat-1"
    # An optional setting left blank is none.
    blank = {**GOOD, "gateway.url": "", "gateway.token": ""}
    cleared = await desk_web.post(here, data={"csrf_token": token, **blank})
    assert cleared.status_code == 303
    config = await stored(resources, quang_ninh.code)
    assert config and config["gateway"] is None


async def test_a_bad_value_is_shown_under_its_field_and_changes_nothing(
    desk_web, resources, quang_ninh
):
    here = page_of(quang_ninh.code)
    token = token_of(await sign_in(desk_web, quang_ninh.admin, here))
    assert (await desk_web.post(here, data={"csrf_token": token, **GOOD})).status_code == 303
    before = await stored(resources, quang_ninh.code)
    bad = await desk_web.post(here, data={"csrf_token": token, **GOOD, "days": "99"})
    assert bad.status_code == 422
    assert 'id="f-days-error"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "config.days" in bad.text and 'value="99"' in bad.text
    assert "Input should be" not in bad.text and "phải nhỏ hơn hoặc bằng" in bad.text
    url = await desk_web.post(
        here, data={"csrf_token": token, **GOOD, "gateway.url": "http://plain.example.vn"}
    )
    assert url.status_code == 422 and 'id="f-gateway-url-error"' in url.text
    assert await stored(resources, quang_ninh.code) == before


async def test_csrf_and_another_province_are_refused(desk_web, resources, quang_ninh):
    other = await console_province(resources, "Tỉnh Bến Tre Cài Đặt")
    token = token_of(await sign_in(desk_web, quang_ninh.admin, page_of(quang_ninh.code)))
    refused = await desk_web.post(page_of(quang_ninh.code), data=GOOD)
    assert refused.status_code == 403
    assert await stored(resources, quang_ninh.code) is None
    assert (await desk_web.get(page_of(other.code))).status_code == 404
    theirs = await desk_web.post(page_of(other.code), data={"csrf_token": token, **GOOD})
    assert theirs.status_code == 404
    assert await stored(resources, other.code) is None
    unknown = await desk_web.get(f"/quan-tri/tinh/{quang_ninh.code}/mo-dun/no_such/cai-dat")
    assert unknown.status_code == 404


async def test_an_officer_is_refused(desk_web, resources, quang_ninh):
    await sign_in_ward_officer(desk_web, resources, quang_ninh)
    assert (await desk_web.get(page_of(quang_ninh.code))).status_code == 403


async def test_a_national_admin_edits_any_province(desk_web, resources, quang_ninh):
    national = await make_user(resources, "national_admin")
    page = await sign_in(desk_web, national.username, page_of(quang_ninh.code))
    saved = await desk_web.post(
        page_of(quang_ninh.code), data={"csrf_token": token_of(page), **GOOD}
    )
    assert saved.status_code == 303
    config = await stored(resources, quang_ninh.code)
    assert config and config["office"] == GOOD["office"]


def test_notifications_settings_have_vietnamese_titles():
    groups, others = groups_of(NotificationsConfig.model_json_schema())
    fields = {f.name: f for g in groups for f in g.fields}
    assert fields["office"].label == "Tên bộ phận ký thông báo"
    assert fields["email.smtp.password"].kind == "secret"
    assert fields["email.smtp.port"].kind == "integer"
    assert fields["sms.provider"].choices == ("log", "http", "off")
    assert fields["events"].kind == "checks"
    assert {g.name: g.optional for g in groups}["email"] is True
    assert others == ["templates"]
    assert all(f.label != f.name.rsplit(".", 1)[-1] for f in fields.values())


def test_secrets_are_masked_and_kept():
    schema = NotificationsConfig.model_json_schema()
    config = {"email": {"sender": "a@b.vn", "smtp": {"host": "h", "password": "pw"}}}
    shown = masked(config, schema)
    assert shown["email"]["smtp"]["password"] == MASK and shown["email"]["sender"] == "a@b.vn"
    assert kept(shown, config, schema) == config
    new = {"email": {"sender": "a@b.vn", "smtp": {"host": "h", "password": "new"}}}
    assert kept(new, config, schema) == new
    # The mask where nothing was stored: left out (the model's default).
    assert kept(shown, {}, schema) == {"email": {"sender": "a@b.vn", "smtp": {"host": "h"}}}
