"""The officer's desk over plain HTTP (no browser): sign-in through eiso's OAuth server,
tokens kept server-side, sign-out revoking; the queue, a dossier's page and its moves, the
counter receipt; another agency's dossier is a 404; signed-out visitors are sent to sign in."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
import urllib.parse
from types import SimpleNamespace

import httpx
import pytest

from eiso.graphql.dossiers.desk import DossierMove
from eiso.web import desk, desk_auth
from tests.auth_helpers import login_form
from tests.web.support import (
    APPLICANT,
    CHILD,
    CITIZEN_ID,
    GOOD_FORM,
    PROC,
    keys_of,
    submit,
    token_of,
)


async def sign_in(
    http: httpx.AsyncClient, username: str, target: str = "/ban-lam-viec", expect: int = 200
) -> str:
    """Follow the desk's sign-in as a browser does; returns the page it lands on."""
    start = await http.get(target)
    assert start.status_code == 303
    assert start.headers["location"].startswith("/ban-lam-viec/dang-nhap?next=")
    go = await http.get(start.headers["location"])
    assert go.status_code == 303
    authorize = urllib.parse.urlsplit(go.headers["location"])
    params = dict(urllib.parse.parse_qsl(authorize.query))
    assert authorize.path == "/oauth/authorize"
    assert params["client_id"] == desk_auth.CLIENT_ID
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    page = await http.get(go.headers["location"])
    assert page.status_code == 200, page.text
    back = await http.post("/oauth/authorize", data=login_form(page.text, username))
    assert back.status_code == 302, back.text
    base = str(http.base_url).rstrip("/")  # http://testserver, or a real socket's address
    assert back.headers["location"].startswith(f"{base}/ban-lam-viec/dang-nhap/xong?")
    landed = await http.get(back.headers["location"])
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == target
    page = await http.get(target)
    assert page.status_code == expect, page.text
    return page.text


async def online_dossier(http: httpx.AsyncClient, where) -> str:
    filed = await submit(http, where)
    assert filed.status_code == 200, filed.text
    return keys_of(filed.text)[0]


async def signed_in_at_a_new_dossier(
    http: httpx.AsyncClient, where, officer: str
) -> tuple[str, str, str]:
    """A dossier filed online at `where`, and `officer` signed in: its code, the link to its
    page, and the queue that shows it."""
    code = await online_dossier(http, where)
    html = await sign_in(http, officer, f"/ban-lam-viec?q={code}")
    return code, dossier_link(html, code), html


def dossier_link(queue_html: str, code: str) -> str:
    found = re.search(rf'href="(/ban-lam-viec/ho-so/[^"]+)">{re.escape(code)}<', queue_html)
    assert found, queue_html
    return found.group(1)


async def test_signed_out_visitor_is_sent_to_sign_in(desk_web):
    for path in ("/ban-lam-viec", "/ban-lam-viec/tiep-nhan", "/ban-lam-viec/ho-so/RG9zc2llcjox"):
        answer = await desk_web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ban-lam-viec/dang-nhap?next=")


async def test_sign_in_keeps_the_tokens_off_the_cookie(desk_web, places, officers):
    html = await sign_in(desk_web, officers[0])
    assert "Hàng đợi hồ sơ" in html and "UBND phường Hòa Bình Thử" in html
    cookie = desk_web.cookies.get("eiso_web")
    assert cookie
    payload = json.loads(__import__("base64").b64decode(cookie.split(".")[0] + "==").decode())
    assert set(payload) == {"desk_sid", "csrf"}  # an id, never a token


async def test_sign_ins_count_per_officer_and_address_never_per_desk_client(
    desk_web, desk_app, places, officers
):
    """Every officer signs in through the desk's one OAuth client: its token requests count
    against the officer's own address (handed to the in-process request) and person, so a
    desk client that has spent a minute's worth of the limit still signs officers in."""
    import time

    resources = desk_app.state.resources
    window = int(time.time() // 60)

    def counter(who: str, minute: int = window) -> str:
        return resources.key("auth", "token-rate", who) + f":{minute}"

    limit = resources.settings.token_rate_limit
    for minute in (window, window + 1):  # whichever minute the sign-in falls in
        await resources.redis.set(counter(f"client:{desk_auth.CLIENT_ID}", minute), 10 * limit)
    address = desk_web._transport.client[0]  # type: ignore[attr-defined]

    async def counted() -> list[int]:
        return [
            sum(
                [int(await resources.redis.get(counter(who, m)) or 0) for m in (window, window + 1)]
            )
            for who in (f"addr:{address}", f"user:{officers[0].lower()}")
        ]

    before = await counted()
    await sign_in(desk_web, officers[0])
    after = await counted()
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1]  # one redemption each


async def test_callback_with_a_forged_state_is_refused(desk_web, places):
    start = await desk_web.get("/ban-lam-viec/dang-nhap")
    assert start.status_code == 303
    answer = await desk_web.get("/ban-lam-viec/dang-nhap/xong?code=x&state=forged")
    assert answer.status_code == 401


async def test_sign_out_revokes_and_needs_the_form_token(desk_web, desk_app, places, officers):
    html = await sign_in(desk_web, officers[0])
    refused = await desk_web.post("/ban-lam-viec/dang-xuat", data={"csrf_token": "x"})
    assert refused.status_code == 403
    resources = desk_app.state.resources
    sid = json.loads(
        __import__("base64").b64decode(desk_web.cookies["eiso_web"].split(".")[0] + "==")
    )["desk_sid"]
    kept = json.loads(await resources.redis.get(desk_auth._key(resources, sid)))
    out = await desk_web.post("/ban-lam-viec/dang-xuat", data={"csrf_token": token_of(html)})
    assert out.status_code == 303
    assert await resources.redis.get(desk_auth._key(resources, sid)) is None
    # The access token itself is revoked at the OAuth server: /graphql refuses it.
    me = await desk_web.post(
        "/graphql",
        json={"query": "{ me { subject } }"},
        headers={"authorization": f"Bearer {kept['access_token']}"},
    )
    assert me.json()["data"]["me"] is None or me.json().get("errors")
    again = await desk_web.get("/ban-lam-viec")
    assert again.status_code == 303


async def test_queue_dossier_moves_and_isolation(desk_web, desk_app, places, officers):
    a, b = places
    code = await online_dossier(desk_web, a)
    other = await online_dossier(desk_web, b)
    html = await sign_in(desk_web, officers[0])
    assert code in html and other not in html
    assert "Mới đăng ký" in html
    # Filters: by code, by status.
    found = await desk_web.get("/ban-lam-viec", params={"q": code})
    assert code in found.text
    none = await desk_web.get("/ban-lam-viec", params={"status": "RETURNED", "q": code})
    assert f">{code}</a>" not in none.text and "Không có hồ sơ nào phù hợp." in none.text
    for asked in ({"mine": "1"}, {"due": "1"}):  # nobody's assigned, no clock runs yet
        narrowed = await desk_web.get("/ban-lam-viec", params=asked)
        assert narrowed.status_code == 200 and f">{code}</a>" not in narrowed.text
    link = dossier_link(html, code)
    page = await desk_web.get(link)
    assert page.status_code == 200
    assert 'id="move-accept"' in page.text and 'id="move-complete-step"' not in page.text
    csrf = token_of(page.text)
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    # Without the form's token: refused before anything runs.
    refused = await desk_web.post(link + "/accept", data={"version": version.group(1)})
    assert refused.status_code == 403
    accepted = await desk_web.post(
        link + "/accept", data={"csrf_token": csrf, "version": version.group(1)}
    )
    assert accepted.status_code == 303
    page = await desk_web.get(accepted.headers["location"])
    assert "Được tiếp nhận" in page.text and 'id="move-assign"' in page.text
    # The same version again: a concurrent change, said plainly.
    stale = await desk_web.post(
        link + "/assign",
        data={"csrf_token": csrf, "version": version.group(1), "assignee": officers[0]},
    )
    assert stale.status_code == 409
    assert 'id="move-error"' in stale.text
    # A move with its input: a supplement request with its text.
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    asked = await desk_web.post(
        link + "/request-supplement",
        data={"csrf_token": csrf, "version": version.group(1), "reason": "Thiếu giấy chứng sinh"},
    )
    assert asked.status_code == 303
    page = await desk_web.get(asked.headers["location"])
    assert "Yêu cầu bổ sung giấy tờ" in page.text and "Thiếu giấy chứng sinh" in page.text
    # Its slips are served through the desk (the browser never holds the token).
    slip = re.search(r'href="(/ban-lam-viec/ho-so/[^"]+/phieu/2\.html)"', page.text)
    assert slip, page.text
    shown = await desk_web.get(slip.group(1))
    assert shown.status_code == 200 and "text/html" in shown.headers["content-type"]
    # Isolation: the other agency's dossier is a 404, as for an unknown one.
    await desk_web.post("/ban-lam-viec/dang-xuat", data={"csrf_token": token_of(page.text)})
    html_b = await sign_in(desk_web, officers[1])
    assert other in html_b and code not in html_b
    assert (await desk_web.get(link)).status_code == 404
    assert (
        await desk_web.get(link.replace("/ho-so/", "/ho-so/") + "/phieu/1.html")
    ).status_code == 404
    moved = await desk_web.post(
        link + "/stop", data={"csrf_token": token_of(html_b), "version": "1", "reason": "x"}
    )
    assert moved.status_code == 404


async def test_counter_receipt_prints_slip_01(desk_web, places, officers):
    html = await sign_in(desk_web, officers[0], "/ban-lam-viec/tiep-nhan")
    assert f"thu-tuc={PROC}" in html
    form = await desk_web.get("/ban-lam-viec/tiep-nhan", params={"thu-tuc": PROC})
    assert form.status_code == 200 and 'name="sector.child_name"' in form.text
    bad = dict(GOOD_FORM, **{"sector.weight_grams": "10"})
    refused = await desk_web.post(
        f"/ban-lam-viec/tiep-nhan?thu-tuc={PROC}",
        data={"csrf_token": token_of(form.text), "idempotency_key": "k-bad", **bad},
    )
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    got = await desk_web.post(
        f"/ban-lam-viec/tiep-nhan?thu-tuc={PROC}",
        data={"csrf_token": token_of(form.text), "idempotency_key": "k-good", **GOOD_FORM},
    )
    assert got.status_code == 200, got.text
    assert 'id="slip-01"' in got.text and 'id="dossier-code"' in got.text


def test_moves_follow_allowed_moves():
    """The page keeps no rule of its own: it offers the API's `allowedMoves` it has a form for
    (RECORD_EXTENSION has none yet)."""
    offered = desk.allowed(
        {"allowedMoves": ["COMPLETE_STEP", "RECORD_APOLOGY", "RECORD_EXTENSION"]}
    )
    assert [m.name for m in offered] == ["complete-step", "apology"]
    assert desk.allowed({"allowedMoves": []}) == []
    assert {m.move for m in desk.MOVES} <= {m.name for m in DossierMove}


def test_values_are_labelled_as_the_form_labels_them():
    section = {
        "fields": [
            {
                "name": "sex",
                "label": "Giới tính",
                "labelEn": "Sex",
                "choices": [{"value": "nu", "label": "Nữ", "labelEn": "Female"}],
            },
            {"name": "child_name", "label": "Họ và tên trẻ", "labelEn": "Child's name"},
        ]
    }
    values = {"child_name": "Khôi", "sex": "nu", "extra": 1, "empty": ""}
    assert desk.labelled(section, values, "vi") == [
        ("Giới tính", "Nữ"),
        ("Họ và tên trẻ", "Khôi"),
        ("extra", 1),
    ]
    assert desk.labelled(section, values, "en")[0] == ("Sex", "Female")
    assert desk.labelled(None, None, "vi") == []


async def test_dossier_page_shows_the_applicant_and_its_data_to_its_agency_only(
    desk_web, places, officers
):
    code, link, _ = await signed_in_at_a_new_dossier(desk_web, places[0], officers[0])
    page = (await desk_web.get(link)).text
    assert f'id="dossier-code">{code}<' in page
    applicant = re.search(r'id="dossier-applicant">(.*?)</dl>', page, re.S)
    data = re.search(r'id="dossier-sector-data">(.*?)</dl>', page, re.S)
    assert applicant and data, page
    assert "Người nộp hồ sơ" in page and APPLICANT in applicant.group(1)
    assert CITIZEN_ID in applicant.group(1) and "Số định danh cá nhân" in applicant.group(1)
    assert "Họ và tên trẻ" in data.group(1) and CHILD in data.group(1)
    assert "<dd>Nữ</dd>" in data.group(1) and "3200" in data.group(1)  # a choice by its label
    # The moves are those allowedMoves names: a new online dossier is accepted or refused.
    forms = set(re.findall(r'id="move-([a-z-]+)"', page))
    assert forms == {"accept", "refuse", "request-supplement", "withdraw"}
    # Another agency's officer: the page (and so the personal data) is a 404.
    await desk_web.post("/ban-lam-viec/dang-xuat", data={"csrf_token": token_of(page)})
    await sign_in(desk_web, officers[1])
    other = await desk_web.get(link)
    assert other.status_code == 404
    assert APPLICANT not in other.text and CHILD not in other.text and CITIZEN_ID not in other.text


async def test_counter_slip_01_carries_the_lookup_qr_code(desk_web, places, officers):
    from eiso.core.dossiers.lookup_qr import lookup_url, qr_svg

    html = await sign_in(desk_web, officers[0], f"/ban-lam-viec/tiep-nhan?thu-tuc={PROC}")
    got = await desk_web.post(
        f"/ban-lam-viec/tiep-nhan?thu-tuc={PROC}",
        data={"csrf_token": token_of(html), "idempotency_key": "k-qr", **GOOD_FORM},
    )
    assert got.status_code == 200, got.text
    slip = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', got.text).group(1))
    code = re.search(r'id="dossier-code">([^<]+)<', got.text).group(1)
    key = re.search(r"Mã tra cứu hồ sơ: </b>([A-Z0-9]+)<", slip).group(1)
    url = lookup_url(code, key, "http://testserver")
    # The QR code is exactly the code of the lookup URL (at the site's public address), its
    # URL printed beside it.
    assert qr_svg(url) in slip and url.replace("&", "&amp;") in slip
    # The URL opens the lookup page with the code and key answered: the dossier's status.
    opened = await desk_web.get(url)
    assert opened.status_code == 200 and code in opened.text and "Được tiếp nhận" in opened.text
    # A later print of slip 01 has no key, so no QR code.
    desk_link = re.search(r'href="(/ban-lam-viec/ho-so/[^"]+)"', got.text).group(1)
    later = await desk_web.get(desk_link + "/phieu/1.html")
    assert later.status_code == 200 and "<svg" not in later.text and key not in later.text


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"from": "not a date"}])
def test_queue_filter_leaves_out_what_it_does_not_know(query):
    assert desk.queue_filter(query) == {}


def _session_of(http: httpx.AsyncClient) -> dict:
    import base64

    return json.loads(base64.b64decode(http.cookies["eiso_web"].split(".")[0] + "=="))


async def test_an_expiring_token_is_refreshed_server_side(desk_web, desk_app, places, officers):
    await sign_in(desk_web, officers[0])
    resources = desk_app.state.resources
    key = desk_auth._key(resources, _session_of(desk_web)["desk_sid"])
    kept = json.loads(await resources.redis.get(key))
    await resources.redis.set(key, json.dumps({**kept, "expires_at": 0}))
    page = await desk_web.get("/ban-lam-viec")
    assert page.status_code == 200 and "Hàng đợi hồ sơ" in page.text
    renewed = json.loads(await resources.redis.get(key))
    assert renewed["access_token"] != kept["access_token"]
    assert renewed["refresh_token"] != kept["refresh_token"]  # rotated on use


async def test_counter_needs_an_agency(desk_web, desk_app, places):
    from tests.auth_helpers import make_user

    a, _ = places
    province_admin = await make_user(
        desk_app.state.resources,
        "province_admin",
        province=SimpleNamespace(code=a.province_code),
    )
    html = await sign_in(desk_web, province_admin.username, "/ban-lam-viec/tiep-nhan", 403)
    assert "chỉ cán bộ của một cơ quan" in html


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/ban-lam-viec?status=NEW", "/ban-lam-viec?status=NEW"),
        ("https://evil.example/ban-lam-viec", "/ban-lam-viec"),
        ("//evil.example/ban-lam-viec", "/ban-lam-viec"),
        ("/tra-cuu", "/ban-lam-viec"),
        (None, "/ban-lam-viec"),
    ],
)
def test_after_sign_in_only_a_desk_path(asked, goes):
    assert desk_auth._safe_next(asked) == goes


async def test_queue_pages_with_the_cursors(desk_web, places, officers, monkeypatch):
    import html as html_lib

    monkeypatch.setattr(desk, "PAGE_SIZE", 1)
    a, _ = places
    older, newer = await online_dossier(desk_web, a), await online_dossier(desk_web, a)
    first = await sign_in(desk_web, officers[0], f"/ban-lam-viec?q={newer[:-4]}")

    def shown(page: str) -> list[str]:
        return re.findall(r'href="/ban-lam-viec/ho-so/[^"]+">([^<]+)<', page)

    def link(page: str, name: str) -> str:
        found = re.search(rf'<a href="(\?[^"]+)">{name}</a>', page)
        assert found, page
        return "/ban-lam-viec" + html_lib.unescape(found.group(1))

    assert shown(first) == [newer]
    second = (await desk_web.get(link(first, "Trang sau"))).text
    assert shown(second) == [older]
    back = (await desk_web.get(link(second, "Trang trước"))).text
    assert shown(back) == [newer]


def test_apology_dates_keep_to_office_hours():
    vn = dt.timezone(dt.timedelta(hours=7))
    assert desk.in_office_hours(dt.datetime(2026, 12, 7, 9, 0, tzinfo=vn))  # a Monday
    assert not desk.in_office_hours(dt.datetime(2026, 12, 7, 22, 0, tzinfo=vn))
    assert not desk.in_office_hours(dt.datetime(2026, 12, 6, 9, 0, tzinfo=vn))  # a Sunday


async def test_an_apology_outside_office_hours_is_refused_before_it_runs(
    desk_web, places, officers
):
    _, link, html = await signed_in_at_a_new_dossier(desk_web, places[0], officers[0])
    sunday = {"reason": "Quá hạn", "newAppointment": "2030-12-01T09:00"}
    refused = await desk_web.post(
        link + "/apology", data={"csrf_token": token_of(html), "version": "1", **sunday}
    )
    assert refused.status_code == 422
    assert "giờ hành chính" in refused.text and 'id="dossier-status"' in refused.text
