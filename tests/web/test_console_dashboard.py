"""The province console's dashboard over plain HTTP: who may see it (a province's and the
nation's administrators; another province is a 404, an officer is refused), its numbers equal
to the `figures` query for the same period (read from the page's table cells), its charts as
inline SVG with nothing loaded from elsewhere, and the dossiers behind a number."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from eiso.core.global_ids import encode_id
from eiso.core.workdays import VN_TZ
from eiso.web import console_dashboard, desk_auth, i18n
from tests.auth_helpers import make_user
from tests.web.support import keys_of, returned, submit
from tests.web.test_desk import _session_of, sign_in

DASHBOARD = console_dashboard.DASHBOARD
FIELDS = """received finished onTime late backlog backlogLate onTimeRate meanDays p90Days
  satisfied ratingCount satisfiedShare agencyId
  index766Groups { group points measuredMaxPoints maxPoints }"""
FIGURES = f"""query($p: PeriodInput!, $province: ID!, $agency: ID) {{
  total: figures(period: $p, groupBy: PROVINCE, provinceId: $province, agencyId: $agency) {{
    {FIELDS} }}
  agencies: figures(period: $p, groupBy: AGENCY, provinceId: $province, agencyId: $agency) {{
    {FIELDS} }}
  me {{ provinces {{ id code }} }}
}}"""
RATES = ("onTimeRate", "satisfiedShare")


async def _admin(resources, role: str, **where: Any) -> str:
    return (await make_user(resources, role, **where)).username


async def _token(http: httpx.AsyncClient, app) -> str:
    resources = app.state.resources
    key = desk_auth._key(resources, _session_of(http)["desk_sid"])
    return str(json.loads(await resources.redis.get(key))["access_token"])


async def _graphql(http: httpx.AsyncClient, token: str, query: str, variables: dict) -> dict:
    got = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    body = got.json()
    assert "errors" not in body, body
    return body["data"]


def _shown(value: Any, name: str, language: str = "en") -> str:
    """How the page (in English, or `language`) writes a number of the query."""
    if value is None:
        return "—"
    if name in RATES:
        return f"{i18n.number(round(value * 100, 1), language)} %"
    return i18n.number(value, language)


def _cells(fragment: str) -> dict[str, str]:
    """data-figure → the cell's text, tags stripped."""
    found = re.findall(r'data-figure="(\w+)">(.*?)</(?:td|strong)>', fragment, re.S)
    return {name: html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip() for name, text in found}


def _row(page: str, attribute: str, value: str) -> dict[str, str]:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', page, re.S)
    assert found, f"no row {attribute}={value}"
    return _cells(found.group(1))


def _month() -> str:
    return dt.datetime.now(VN_TZ).date().strftime("%Y-%m")


async def _dossiers(http: httpx.AsyncClient, resources, where) -> None:
    """One dossier returned and one still new at `where` this month."""
    code, _ = keys_of((await submit(http, where)).text)
    await returned(resources, where, code)
    await submit(http, where)


async def _english_page(http: httpx.AsyncClient, app, where) -> str:
    """The dashboard in English, for `where`'s province administrator, after `_dossiers`."""
    resources = app.state.resources
    await _dossiers(http, resources, where)
    admin = await _admin(
        resources, "province_admin", province=SimpleNamespace(code=where.province_code)
    )
    await sign_in(http, admin, DASHBOARD)
    return (await http.get(DASHBOARD, params={"lang": "en"})).text


async def test_signed_out_visitor_is_sent_to_sign_in(desk_web):
    got = await desk_web.get(DASHBOARD + "?ky=2026")
    assert got.status_code == 303
    assert got.headers["location"].startswith(desk_auth.SIGN_IN + "?next=%2Fquan-tri")


async def test_numbers_equal_the_figures_query(desk_web, desk_app, places):
    a, _ = places
    page = await _english_page(desk_web, desk_app, a)
    token = await _token(desk_web, desk_app)
    year, month = (int(x) for x in _month().split("-"))
    data = await _graphql(
        desk_web,
        token,
        FIGURES,
        {"p": {"year": year, "month": month}, "province": _province_id(a)},
    )
    assert [p["code"] for p in data["me"]["provinces"]] == [a.province_code]
    total = data["total"][0]
    assert total["received"] >= 1 and total["finished"] >= 1
    tiles = _cells(re.search(r'id="totals">(.*?)</ul>', page, re.S).group(1))
    for name in ("received", "finished", "onTime", "late", "backlog", "backlogLate"):
        assert tiles[name] == _shown(total[name], name), name
    for name in ("onTimeRate", "meanDays", "p90Days", "satisfied"):
        assert tiles[name] == _shown(total[name], name), name
    # Per agency: every row of the query, each cell its number.
    assert data["agencies"]
    for row in data["agencies"]:
        cells = _row(page, "data-agency", row["agencyId"])
        for name, shown in cells.items():
            assert shown == _shown(row[name], name), (row["agencyId"], name)
    # The six groups of Decision 766.
    for group in total["index766Groups"]:
        cells = _row(page, "data-group", group["group"])
        for name, shown in cells.items():
            assert shown == _shown(group[name], name), (group["group"], name)
    # The trend's last month is this month: the same numbers.
    cells = _row(page, "data-period", _month())
    for name, shown in cells.items():
        assert shown == _shown(total[name], name), ("trend", name)
    # A year too, narrowed to one agency.
    agency = data["agencies"][0]["agencyId"]
    page = (
        await desk_web.get(DASHBOARD, params={"lang": "en", "ky": str(year), "co-quan": agency})
    ).text
    narrowed = await _graphql(
        desk_web,
        token,
        FIGURES,
        {"p": {"year": year}, "province": _province_id(a), "agency": agency},
    )
    tiles = _cells(re.search(r'id="totals">(.*?)</ul>', page, re.S).group(1))
    assert tiles["received"] == _shown(narrowed["total"][0]["received"], "received")


def _province_id(where) -> str:
    return encode_id("Province", where.agency.province_id, where.agency.province_id)


async def test_charts_are_inline_svg_with_nothing_from_elsewhere(desk_web, desk_app, places):
    resources = desk_app.state.resources
    a, _ = places
    admin = await _admin(
        resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    page = await sign_in(desk_web, admin, DASHBOARD)
    assert page.count("<svg ") == 5
    assert page.count('role="img" aria-labelledby=') == 5
    assert "<script" not in page
    assert not re.search(r"""(?:src|href|action|xlink:href)\s*=\s*["']?(?:https?:)?//""", page)
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//|@import""", page)
    # Each chart has its table.
    for table in ("trend-table", "ranking-table", "index766-table", "conformity-table"):
        assert f'id="{table}"' in page


def _chart(page: str, key: str) -> str:
    found = re.search(rf'<svg [^>]*aria-labelledby="chart-{key}-title.*?</svg>', page, re.S)
    assert found, f"no chart {key}"
    return found.group(0)


def _marks(svg: str, kind: str) -> list[str]:
    """The labels of the chart's marks (bars, points, slices): '<category> · <series>: <n>'."""
    found = re.findall(rf'class="{kind}"[^>]*><title>(.*?)</title>', svg)
    return [html_lib.unescape(title) for title in found]


def _texts(svg: str) -> list[str]:
    return [html_lib.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg)]


async def test_each_chart_holds_the_numbers_of_its_table(desk_web, desk_app, places):
    a, _ = places
    page = await _english_page(desk_web, desk_app, a)
    months = re.findall(r'<tr data-period="([^"]+)">', page)
    assert len(months) == 12 and months[-1] == _month()
    # The trend: a bar per month and series, each the table's number; the months on the axis.
    trend = _chart(page, "trend")
    bars, rated = _marks(trend, "bar"), []
    assert len(bars) == 4 * 12
    for month in months:
        row = _row(page, "data-period", month)
        for name, series in (
            ("received", "Received"),
            ("late", "Late"),
            ("backlogLate", "Overdue backlog"),
            ("onTime", "On time"),
        ):
            assert f"{month} · {series}: {row[name]}" in bars, (month, name)
        if row["onTimeRate"] != "—":
            rated.append(f"{month} · On-time rate (%): {row['onTimeRate']}")
    assert set(months) <= set(_texts(trend))
    # The rates: a point per month that has a rate, on the table's rate.
    points = _marks(_chart(page, "rates"), "point")
    assert rated and [p for p in points if "On-time rate" in p] == rated
    # The ranking: a bar per ranked agency (fifteen at most), its name and rate.
    table = re.search(r'id="ranking-table".*?</table>', page, re.S).group(0)
    ranked = re.findall(r'<tr data-agency="([^"]+)">.*?<a [^>]+>([^<]+)</a>', table)
    ranking = _marks(_chart(page, "ranking"), "bar")
    assert ranked and len(ranking) == min(15, len(ranked))
    for (agency, name), mark in zip(ranked, ranking, strict=False):
        rate = _row(table, "data-agency", agency)["onTimeRate"]
        assert mark == f"{html_lib.unescape(name)[:40]} · On-time rate (%): {rate}"
    # Decision 766: a bar per group's maximum, one per group's points where measured.
    index766 = _marks(_chart(page, "index766"), "bar")
    groups = re.findall(r'<tr data-group="([^"]+)"><th scope="row">([^<]+)</th>', page)
    measured = 0
    for group, name in groups:
        row, name = _row(page, "data-group", group), html_lib.unescape(name)
        assert f"{name} · Maximum points: {row['maxPoints']}" in index766
        if row["points"] != "—":
            measured += 1
            assert f"{name} · Points: {row['points']}" in index766
    assert len(groups) == 6 and measured and len(index766) == len(groups) + measured
    # Conformity: a slice per status with agencies, its count printed on it.
    statuses = re.findall(
        r'<tr data-status="[^"]+"><th scope="row">([^<]+)</th>.*?>([^<>]+)</a>', page
    )
    conformity = _chart(page, "conformity")
    counted = [(name, count) for name, count in statuses if count != "0"]
    assert counted and _marks(conformity, "slice") == [f"{n}: {c}" for n, c in counted]
    assert [t for t in _texts(conformity) if t in {c for _, c in counted}]


async def test_dossiers_behind_a_number(desk_web, desk_app, places):
    resources = desk_app.state.resources
    a, _ = places
    await _dossiers(desk_web, resources, a)
    admin = await _admin(
        resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    page = await sign_in(desk_web, admin, DASHBOARD)
    link = re.search(r'href="(/quan-tri/bang-dieu-khien/ho-so\?[^"]*chi-so=RECEIVED)"', page)
    assert link
    received = re.search(r'data-figure="received"><a [^>]+>([^<]+)<', page)
    listed = await desk_web.get(html_lib.unescape(link.group(1)))
    assert listed.status_code == 200, listed.text
    total = re.search(r'id="dossier-total">([^<]+)<', listed.text)
    assert received and total and total.group(1) == received.group(1)
    assert listed.text.count("<tr>") >= 2  # the header and a dossier
    bad = await desk_web.get(DASHBOARD + "/ho-so", params={"chi-so": "DROP", "ky": "2026"})
    assert bad.status_code == 422


async def test_another_province_is_not_found(desk_web, desk_app, places):
    resources = desk_app.state.resources
    a, b = places
    admin = await _admin(
        resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    await sign_in(desk_web, admin, DASHBOARD)
    other = await desk_web.get(DASHBOARD, params={"tinh": b.province_code})
    assert other.status_code == 404
    behind = await desk_web.get(
        DASHBOARD + "/ho-so", params={"tinh": b.province_code, "chi-so": "RECEIVED"}
    )
    assert behind.status_code == 404
    # Another province's agency, named in this province's page: NOT_FOUND from `figures`.
    agency_b = encode_id("Agency", b.agency.province_id, b.agency.id)
    for path in (DASHBOARD, DASHBOARD + "/ho-so"):
        got = await desk_web.get(path, params={"co-quan": agency_b, "chi-so": "RECEIVED"})
        assert got.status_code == 404, path
        assert b.agency.name not in got.text


@pytest.mark.parametrize("role", ["officer", "leader"])
async def test_agency_staff_are_refused(desk_web, desk_app, places, role):
    a, _ = places
    user = await _admin(desk_app.state.resources, role, agency=a.agency)
    page = await sign_in(desk_web, user, DASHBOARD, 403)
    assert "quản trị viên" in page


async def test_national_admin_chooses_the_province(desk_web, desk_app, places):
    resources = desk_app.state.resources
    a, b = places
    admin = await _admin(resources, "national_admin")
    page = await sign_in(desk_web, admin, DASHBOARD)
    # The chooser lists the first provinces; the shared test database may hold many more,
    # made by other tests, so these two may be past them: each is reached by its code below.
    assert "?tinh=" in page
    for where in (a, b):
        got = await desk_web.get(DASHBOARD, params={"tinh": where.province_code})
        assert got.status_code == 200 and where.province_name in got.text
    missing = await desk_web.get(DASHBOARD, params={"tinh": "NOPE"})
    assert missing.status_code == 404


@pytest.mark.parametrize("raw", ["2026-13", "abcd", "26", "2026-1"])
async def test_a_bad_period_is_refused(desk_web, desk_app, places, raw):
    a, _ = places
    admin = await _admin(
        desk_app.state.resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    await sign_in(desk_web, admin, DASHBOARD)
    got = await desk_web.get(DASHBOARD, params={"ky": raw})
    assert got.status_code == 422


def test_the_twelve_months_end_with_the_period():
    period = console_dashboard.Period(2026, 2)
    months = [m.key for m in period.months()]
    assert months[0] == "2025-03" and months[-1] == "2026-02" and len(months) == 12
    assert [m.key for m in console_dashboard.Period(2025).months()][::11] == ["2025-01", "2025-12"]
    assert console_dashboard.Period(2026, 1).shifted(-1).key == "2025-12"
    assert console_dashboard.Period(2026).shifted(1).key == "2027"
    today = dt.date(2026, 12, 6)
    assert console_dashboard.Period.parse(None, today) == console_dashboard.Period(2026, 12)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_numbers_are_written_as_babel_writes_them(language):
    import random

    write = console_dashboard.Numbers(language)
    rng = random.Random(21)
    values = [0, 1, -3, 1234567, 0.0, 2.5, 3.125, 3.135, 0.0005, 0.0015, 12345.6789, 99.95, 1e-7]
    values += [round(rng.uniform(0, 100000), rng.randint(0, 5)) for _ in range(2000)]
    values += [rng.randint(0, 10**7) for _ in range(500)]
    assert [v for v in values if write.plain(v) != i18n.number(v, language)] == []
    assert write(None) == "—"
    assert write(0.83333, "onTimeRate") == f"{i18n.number(83.3, language)} %"


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/quan-tri/bang-dieu-khien?ky=2026", "/quan-tri/bang-dieu-khien?ky=2026"),
        ("https://evil.example/quan-tri", "/ban-lam-viec"),
        ("//evil.example/quan-tri", "/ban-lam-viec"),
    ],
)
def test_after_sign_in_a_console_path_too(asked, goes):
    assert desk_auth._safe_next(asked) == goes


def test_the_charts_leave_no_legacy_import_finder_behind():
    """pygal adds a `find_module`-only finder to `sys.meta_path`; pytest's conftest import
    (and anything else asking every finder for `find_spec`) failed on it in CI."""
    import sys

    import eiso.web.iso_charts  # noqa: F401 - imports pygal, as the app does

    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path)


BOARD = """query($year: Int!, $province: ID!) {
  yearlyReportBoard(year: $year, provinceId: $province) { total byStatus agencies { overdue } }
}"""


async def test_the_yearly_reports_of_the_year_and_the_console_menu(desk_web, desk_app, places):
    resources = desk_app.state.resources
    a, _ = places
    admin = await _admin(
        resources, "province_admin", province=SimpleNamespace(code=a.province_code)
    )
    page = await sign_in(desk_web, admin, DASHBOARD + "?ky=2026")
    token = await _token(desk_web, desk_app)
    board = (await _graphql(desk_web, token, BOARD, {"year": 2026, "province": _province_id(a)}))[
        "yearlyReportBoard"
    ]
    table = page[page.index('id="yearly-reports-table"') :]
    table = table[: table.index("</table>")]
    shown = dict(
        re.findall(r'data-report-status="(\w+)".*?data-figure="count"><a [^>]+>([^<]+)<', table)
    )
    assert board["total"] >= 1
    for status, count in board["byStatus"].items():
        assert shown[status] == _shown(count, "received")
    assert shown["OVERDUE"] == _shown(sum(a["overdue"] for a in board["agencies"]), "received")
    assert f"/quan-tri/tinh/{a.province_code}/bao-cao-nam?nam=2026" in table
    # The console's own menu, the dashboard marked as the page shown.
    for path in ("/nhap", "/mo-dun", "/tai-khoan", "/kiem-tra", "/bao-cao-nam"):
        assert f'href="/quan-tri/tinh/{a.province_code}{path}"' in page
    assert re.search(r'href="/quan-tri/bang-dieu-khien\?tinh=[^"]+" aria-current="page"', page)


@pytest.mark.parametrize("agency", ["QWdlbmN5OjE=", "a b&c=d/é", None])
def test_links_are_urlencodes(agency):
    """Links writes what `_link` (urlencode) writes, its common part made once."""
    links = console_dashboard.Links("HN", console_dashboard.Period(2026, 11))
    where = {"tinh": "HN", "ky": "2026-11", "co-quan": agency}
    dossiers = console_dashboard._link(console_dashboard.DOSSIERS, **where, **{"chi-so": "LATE"})
    assert links.dossiers("LATE", agency) == dossiers
    assert links.dashboard(agency) == console_dashboard._link(DASHBOARD, **where)
    assert links.dashboard(agency, "2027") == console_dashboard._link(
        DASHBOARD, **{**where, "ky": "2027"}
    )


def test_a_chart_is_drawn_once_for_its_numbers():
    from eiso.web import console_dashboard_charts as charts

    months = [{"period": f"2026-{m:02d}", "received": m, "onTime": 1} for m in range(1, 13)]
    charts._trend.cache_clear()
    first = charts.trend_chart(months, "vi")
    assert charts.trend_chart([dict(m) for m in months], "vi") is first
    months[-1]["received"] = 99
    assert charts.trend_chart(months, "vi") != first
    assert charts._trend.cache_info().hits == 1


def test_a_chart_escapes_its_text_and_steps_its_axis_roundly():
    from eiso.web import console_dashboard_charts as charts
    from eiso.web.svg_charts import whole_steps

    drawn = charts.ranking_chart([{"name": 'Sở <b>"A" & B</b>', "onTimeRate": 0.5}], "en")
    assert "Sở &lt;b&gt;&quot;A&quot; &amp; B&lt;/b&gt;" in drawn and "<b>" not in drawn
    assert drawn.count('class="bar"') == 1 and ">50 %</text>" in drawn
    assert 'viewBox="0 0 720 ' in drawn and '<title id="chart-ranking-title">' in drawn
    assert whole_steps(89_410) == [0, 20_000, 40_000, 60_000, 80_000, 100_000]
    assert whole_steps(22) == [0, 5, 10, 15, 20, 25] and whole_steps(0) == [0, 1]
