"""Figures, objectives, the yearly report and the 766 points, through GraphQL and the CLI, on a
small set of dossiers made through the engine in the past, every number checked by hand.

Office hours 07:30-11:30 and 13:30-17:00: a working day is 7.5 hours. Procedure: 3 working
days, two steps. Province P, agencies A and B, year 2025 (all times Vietnam time):

| dossier | agency | received | what happened | handling days | on time | rating |
|---|---|---|---|---|---|---|
| D1 | A | Mon 3 Mar 09:00 | processed Wed 5 Mar 09:00, returned | 6+7.5+1.5 h = 2.0 | yes | 5 |
| D2 | A | Mon 3 Mar 09:00 | processed Mon 10 Mar 09:00 (a) | 37.5 h = 5.0 | no | 2 |
| D3 | A | Tue 4 Mar 09:00 | processed Tue 4 Mar 15:00 | 4 h = 0.5333 | yes | - |
| D4 | A | Wed 5 Mar 09:00 | still in progress, due Mon 10 Mar 17:00 | - | backlog, late | - |
| D5 | A | Thu 6 Mar 09:00 | withdrawn Fri 7 Mar | - | - | - |
| D8 | A | Mon 29 Dec 09:00 | processed Fri 2 Jan 2026 (b) | - | 2025's backlog, not late | - |
| D6 | B | Mon 3 Mar 09:00 | processed Tue 4 Mar 09:00, returned | 7.5 h = 1.0 | yes | 4 |

(a) due Thu 6 Mar 17:00; an apology recorded Fri 7 Mar. (b) 1 Jan is a holiday.

A in 2025: received 6, finished 3 (on time 2, late 1), backlog 2 (late 1), late 2, mean
(2+5+0.5333)/3 = 2.5111, p90 of [0.5333, 2, 5] at rank 1.8 = 2 + 0.8×3 = 4.4, ratings 2
(mean 3.5, satisfied 1). Province: received 7, finished 4, on time 3, mean 2.1333, p90 at
rank 2.7 = 2 + 0.7×3 = 4.1, ratings 3 (mean 3.6667, satisfied 2); 766 progress 20×3/4 = 15,
satisfaction 18×2/3 = 12.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import orjson
import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue, engine, service
from eiso.core.global_ids import encode_id
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import LocalizedText, ModuleInfo, Procedure, Step, TimeLimit, hookimpl
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_cli import eiso

PROC = unique_code("9.")
CAL = WorkingCalendar()


def _step(code: str) -> Step:
    return Step(
        code=code,
        name=LocalizedText(vi=code, en=code),
        responsible_role="officer",
        budget=TimeLimit(amount=1),
    )


class FigureProc:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="figure_proc",
            title=LocalizedText(vi="Thử số liệu", en="Figures test"),
            version="1.0",
            sector="thu",
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            Procedure(
                code=PROC,
                name=LocalizedText(vi="Thủ tục thử", en="Test procedure"),
                sector="thu",
                time_limit=TimeLimit(amount=3),
                result=LocalizedText(vi="Kết quả", en="Result"),
                steps=(_step("review"), _step("sign")),
            )
        ]


REGISTRY = PluginRegistry.load(None, [PluginSource.of("figure_proc", FigureProc())])


def vn(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> dt.datetime:
    """A Vietnam wall-clock time, handed to the engine in UTC (as the application does)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN_TZ).astimezone(dt.UTC)


def scope(agency) -> TenantScope:
    return TenantScope.agencies([agency.id], [agency.province_id])


async def _receive(resources, agency, now):
    async with resources.session(scope(agency)) as session, session.begin():
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=PROC,
            applicant={"full_name": "Lê Văn Tám"},
            sector_data={},
            actor="officer-1",
            calendar=CAL,
            now=now,
        )
    return got.dossier, got.lookup_key


async def _act(resources, agency, dossier, move, **kw):
    return await service.act(
        resources, scope(agency), dossier.id, None, move, actor="officer-1", **kw
    )


async def _process(resources, agency, dossier, assigned, done, calendar=CAL):
    """Assigned, first step, processed; without a calendar the engine loads the stored one."""
    dossier = await _act(
        resources, agency, dossier, engine.assign, assignee="officer-2", now=assigned
    )
    dossier = await _act(
        resources, agency, dossier, engine.complete_step, now=assigned + dt.timedelta(minutes=30)
    )
    return await _act(resources, agency, dossier, engine.complete_step, now=done, calendar=calendar)


async def _return_and_rate(resources, agency, dossier, key, at, rating):
    await _act(resources, agency, dossier, engine.return_result, now=at)
    await service.rate_dossier(resources, dossier.code, key, rating)


@pytest.fixture
async def world(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Số Liệu")
        a = await ensure_agency(
            session, province, unique_code("A"), "UBND xã An Bình", AgencyKind.commune
        )
        b = await ensure_agency(
            session, province, unique_code("B"), "UBND phường Bình An", AgencyKind.ward
        )
        await set_module(session, province.id, "figure_proc", True, by="test")
    for agency in (a, b):
        async with resources.session(scope(agency)) as session, session.begin():
            await catalogue.adopt(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                procedure_code=PROC,
                actor="leader-1",
            )
    d1, k1 = await _receive(resources, a, vn(3, 3, 9))
    d1 = await _process(resources, a, d1, vn(3, 3, 10), vn(3, 5, 9))
    await _return_and_rate(resources, a, d1, k1, vn(3, 5, 10), 5)
    d2, k2 = await _receive(resources, a, vn(3, 3, 9))
    d2 = await _act(resources, a, d2, engine.assign, assignee="officer-2", now=vn(3, 3, 10))
    d2 = await _act(
        resources,
        a,
        d2,
        engine.record_apology,
        reason="Chờ xác minh",
        new_appointment=vn(3, 11, 17),
        now=vn(3, 7, 9),
    )
    d2 = await _act(resources, a, d2, engine.complete_step, now=vn(3, 10, 8))
    d2 = await _act(resources, a, d2, engine.complete_step, now=vn(3, 10, 9), calendar=CAL)
    await _return_and_rate(resources, a, d2, k2, vn(3, 10, 10), 2)
    d3, _ = await _receive(resources, a, vn(3, 4, 9))
    await _process(resources, a, d3, vn(3, 4, 10), vn(3, 4, 15))
    d4, _ = await _receive(resources, a, vn(3, 5, 9))
    await _act(resources, a, d4, engine.assign, assignee="officer-2", now=vn(3, 5, 10))
    d5, _ = await _receive(resources, a, vn(3, 6, 9))
    await _act(resources, a, d5, engine.withdraw, reason="Công dân rút hồ sơ", now=vn(3, 7, 9))
    # Filed online and withdrawn before acceptance: never received, in no figure.
    async with resources.session(scope(a)) as session, session.begin():
        online = await engine.receive(
            session,
            agency=a,
            procedure_code=PROC,
            applicant={"full_name": "Đỗ Văn Chín"},
            sector_data={},
            actor="officer-1",
            calendar=CAL,
            online=True,
            now=vn(3, 6, 9),
        )
    await service.withdraw_online(resources, online.dossier.code, online.lookup_key, "Nộp nhầm")
    d8, _ = await _receive(resources, a, vn(12, 29, 9))
    await _process(resources, a, d8, vn(12, 29, 10), vn(1, 2, 10, year=2026))
    d6, k6 = await _receive(resources, b, vn(3, 3, 9))
    d6 = await _process(resources, b, d6, vn(3, 3, 10), vn(3, 4, 9), calendar=None)
    await _return_and_rate(resources, b, d6, k6, vn(3, 4, 10), 4)
    codes = {
        name: d.code
        for name, d in (
            ("D1", d1),
            ("D2", d2),
            ("D3", d3),
            ("D4", d4),
            ("D5", d5),
            ("D6", d6),
            ("D8", d8),
        )
    }
    return province, a, b, codes


def officer(agency) -> Principal:
    return Principal(
        "officer-" + agency.code,
        scope(agency),
        frozenset({Role.officer, Role.iso_secretary}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


def province_admin(province) -> Principal:
    return Principal(
        "admin-" + province.code,
        TenantScope.province(province.id),
        frozenset({Role.province_admin}),
        province_id=province.id,
    )


NATION = Principal("nation-admin", TenantScope.nation(), frozenset({Role.national_admin}))


async def gql(client, callers, principal, query, **variables) -> dict:
    return (
        await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=callers.issue(principal),
        )
    ).json()


FIGURES = """query($period: PeriodInput!, $group: FigureGroup!, $p: ID, $a: ID) {
  figures(period: $period, groupBy: $group, provinceId: $p, agencyId: $a) {
    provinceId agencyId received finished onTime late finishedLate backlog backlogLate onTimeRate
    meanDays p90Days ratingCount ratingMean satisfied satisfiedShare
    index766 { group maxPoints points numerator denominator numeratorMetric denominatorMetric }
  } }"""


def _pid(province) -> str:
    return encode_id("Province", province.id, province.id)


def _aid(agency) -> str:
    return encode_id("Agency", agency.province_id, agency.id)


async def test_figures_per_agency_are_the_hand_counted_numbers(client, callers, world):
    province, a, b, _ = world
    body = await gql(
        client,
        callers,
        province_admin(province),
        FIGURES,
        period={"year": 2025},
        group="AGENCY",
        p=_pid(province),
    )
    assert "errors" not in body, body
    rows = {row["agencyId"]: row for row in body["data"]["figures"]}
    got_a, got_b = rows[_aid(a)], rows[_aid(b)]
    assert {
        k: got_a[k]
        for k in (
            "received",
            "finished",
            "onTime",
            "finishedLate",
            "backlog",
            "backlogLate",
            "late",
            "ratingCount",
            "satisfied",
        )
    } == {
        "received": 6,
        "finished": 3,
        "onTime": 2,
        "finishedLate": 1,
        "backlog": 2,
        "backlogLate": 1,
        "late": 2,
        "ratingCount": 2,
        "satisfied": 1,
    }
    assert got_a["meanDays"] == pytest.approx(2.5111, abs=1e-3)
    assert got_a["p90Days"] == pytest.approx(4.4, abs=1e-3)
    assert got_a["ratingMean"] == pytest.approx(3.5) and got_a["satisfiedShare"] == pytest.approx(
        0.5
    )
    assert got_a["onTimeRate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (got_b["received"], got_b["finished"], got_b["onTime"], got_b["backlog"]) == (1, 1, 1, 0)
    assert got_b["meanDays"] == pytest.approx(1.0) and got_b["p90Days"] == pytest.approx(1.0)


async def test_province_total_and_766_points(client, callers, world):
    province, *_ = world
    body = await gql(
        client, callers, province_admin(province), FIGURES, period={"year": 2025}, group="NATION"
    )
    (row,) = body["data"]["figures"]
    assert (row["received"], row["finished"], row["onTime"], row["late"], row["backlog"]) == (
        7,
        4,
        3,
        2,
        2,
    )
    assert row["meanDays"] == pytest.approx(2.1333, abs=1e-3) and row["p90Days"] == pytest.approx(
        4.1, abs=1e-3
    )
    assert row["ratingMean"] == pytest.approx(3.6667, abs=1e-3)
    points = {part["group"]: part for part in row["index766"]}
    assert points["PROGRESS"] == {
        "group": "PROGRESS",
        "maxPoints": 20,
        "points": 15.0,
        "numerator": 3,
        "denominator": 4,
        "numeratorMetric": "ON_TIME",
        "denominatorMetric": "FINISHED",
    }
    assert points["SATISFACTION"]["points"] == 12.0 and points["SATISFACTION"]["maxPoints"] == 18


async def test_periods_quarter_month_and_range(client, callers, world):
    province, a, *_ = world
    admin = province_admin(province)

    async def one(period):
        body = await gql(client, callers, admin, FIGURES, period=period, group="NATION", a=_aid(a))
        assert "errors" not in body, body
        return body["data"]["figures"][0]

    march = await one({"year": 2025, "month": 3})
    assert (march["received"], march["finished"], march["backlog"], march["backlogLate"]) == (
        5,
        3,
        1,
        1,
    )
    q4 = await one({"year": 2025, "quarter": 4})
    assert (q4["received"], q4["finished"], q4["backlog"], q4["backlogLate"]) == (1, 0, 2, 1)
    # 3-4 March: D1, D2 and D3 received; D3 finished; D1, D2 still open at the end of the 4th
    days = await one({"from": "2025-03-03", "to": "2025-03-04"})
    assert (days["received"], days["finished"], days["backlog"], days["late"]) == (3, 1, 2, 0)
    jan = await one({"year": 2026, "month": 1})
    assert (jan["received"], jan["finished"], jan["onTime"]) == (0, 1, 1)
    body = await gql(
        client, callers, admin, FIGURES, period={"year": 2025, "month": 13}, group="NATION"
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_PERIOD"
    body = await gql(
        client, callers, admin, FIGURES, period={"year": 2025, "from": "2025-01-01"}, group="NATION"
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_PERIOD"


async def test_an_agency_sees_its_own_figures_and_nothing_else(client, callers, world):
    province, a, b, _ = world
    body = await gql(client, callers, officer(b), FIGURES, period={"year": 2025}, group="AGENCY")
    assert [row["agencyId"] for row in body["data"]["figures"]] == [_aid(b)]
    body = await gql(
        client, callers, officer(b), FIGURES, period={"year": 2025}, group="NATION", a=_aid(a)
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # another province's administrator: P's id answers NOT_FOUND, its own figures hold nothing of P
    other = Principal(
        "admin-other",
        TenantScope.province(province.id + 1_000_000),
        frozenset({Role.province_admin}),
        province_id=province.id + 1_000_000,
    )
    body = await gql(
        client, callers, other, FIGURES, period={"year": 2025}, group="NATION", p=_pid(province)
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(client, callers, other, FIGURES, period={"year": 2025}, group="AGENCY")
    assert body["data"]["figures"] == []


async def test_figure_dossiers_list_the_codes_behind_a_number(client, callers, world):
    province, a, _, codes = world
    query = """query($m: FigureMetric!, $a: ID, $after: String) {
      figureDossiers(metric: $m, period: {year: 2025}, agencyId: $a, first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { code onTime handlingDays status } } } }"""
    admin = province_admin(province)
    seen, after = [], None
    for _ in range(5):
        body = await gql(client, callers, admin, query, m="LATE", a=_aid(a), after=after)
        page = body["data"]["figureDossiers"]
        assert page["totalCount"] == 2
        seen += [edge["node"]["code"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted([codes["D2"], codes["D4"]])
    body = await gql(
        client, callers, admin, query.replace("first: 1", "first: 10"), m="ON_TIME", a=_aid(a)
    )
    got = {edge["node"]["code"]: edge["node"] for edge in body["data"]["figureDossiers"]["edges"]}
    assert set(got) == {codes["D1"], codes["D3"]}
    assert (
        got[codes["D1"]]["handlingDays"] == pytest.approx(2.0)
        and got[codes["D1"]]["status"] == "RETURNED"
    )
    body = await gql(
        client, callers, admin, query.replace("first: 1", "first: 10"), m="SATISFIED", a=None
    )
    assert body["data"]["figureDossiers"]["totalCount"] == 2


OBJECTIVE = """mutation($input: ObjectiveInput!) { createObjective(input: $input) {
  id title metric comparator target periodFrom periodTo status actual agencyId } }"""


async def test_objectives_are_kept_and_evaluated_from_the_figures(client, callers, world):
    province, a, b, _ = world
    keeper = officer(a)
    body = await gql(
        client,
        callers,
        keeper,
        OBJECTIVE,
        input={
            "title": "Ít nhất 98% hồ sơ đúng hạn",
            "metric": "ON_TIME_RATE",
            "comparator": "AT_LEAST",
            "target": 0.98,
            "period": {"year": 2025},
        },
    )
    made = body["data"]["createObjective"]
    assert made["status"] == "NOT_ACHIEVED" and made["actual"] == pytest.approx(2 / 3, abs=1e-4)
    assert made["agencyId"] == _aid(a) and made["periodTo"] == "2025-12-31"
    body = await gql(
        client,
        callers,
        keeper,
        """mutation($id: ID!, $input: ObjectiveInput!) {
        updateObjective(id: $id, input: $input) { status actual target } }""",
        id=made["id"],
        input={
            "title": "Thời gian giải quyết trung bình",
            "metric": "MEAN_DAYS",
            "comparator": "AT_MOST",
            "target": 3,
            "period": {"year": 2025},
        },
    )
    assert body["data"]["updateObjective"]["status"] == "ACHIEVED"
    # a rate above 1 is refused, nothing changes
    body = await gql(
        client,
        callers,
        keeper,
        OBJECTIVE,
        input={
            "title": "x",
            "metric": "ON_TIME_RATE",
            "comparator": "AT_LEAST",
            "target": 98,
            "period": {"year": 2025},
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    # the province's own objective, in progress while its period runs
    body = await gql(
        client,
        callers,
        province_admin(province),
        OBJECTIVE,
        input={
            "title": "Hài lòng",
            "metric": "SATISFIED_SHARE",
            "comparator": "AT_LEAST",
            "target": 0.9,
            "period": {"year": 2099},
        },
    )
    assert body["data"]["createObjective"]["status"] == "IN_PROGRESS"
    assert body["data"]["createObjective"]["agencyId"] is None
    # the sibling agency neither sees nor deletes A's objective
    listing = "{ objectives(first: 10) { totalCount edges { node { id title } } } }"
    assert (await gql(client, callers, officer(b), listing))["data"]["objectives"][
        "totalCount"
    ] == 0
    body = await gql(
        client,
        callers,
        officer(b),
        "mutation($id: ID!) { deleteObjective(id: $id) }",
        id=made["id"],
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    mine = (await gql(client, callers, province_admin(province), listing))["data"]["objectives"]
    assert mine["totalCount"] == 2
    body = await gql(
        client, callers, keeper, "mutation($id: ID!) { deleteObjective(id: $id) }", id=made["id"]
    )
    assert body["data"]["deleteObjective"] == made["id"]
    assert (await gql(client, callers, keeper, listing))["data"]["objectives"]["totalCount"] == 0


REPORT = """query($year: Int!, $p: ID) { annualReport(year: $year, provinceId: $p) {
  level provinceCode periodFrom periodTo
  total { code figures { received finished onTime late backlog index766 { group points } } }
  rows { code name isoStatus figures { received finished } nonconformitiesRaised }
  objectives { scope title status actual } conformity { isoStatus agencies }
  parIndex { agencies announced announcedShare resolved resolvedOnTime onTimeShare } } }"""


async def test_annual_report_of_a_province_through_graphql(client, callers, world):
    province, a, b, _ = world
    await gql(
        client,
        callers,
        officer(a),
        OBJECTIVE,
        input={
            "title": "Đúng hạn",
            "metric": "ON_TIME_RATE",
            "comparator": "AT_LEAST",
            "target": 0.5,
            "period": {"year": 2025, "quarter": 1},
        },
    )
    body = await gql(client, callers, province_admin(province), REPORT, year=2025, p=_pid(province))
    report = body["data"]["annualReport"]
    assert report["level"] == "PROVINCE" and report["provinceCode"] == province.code
    assert report["total"]["figures"]["received"] == 7 and report["total"]["figures"]["onTime"] == 3
    assert {p["group"]: p["points"] for p in report["total"]["figures"]["index766"]} == {
        "PROGRESS": 15.0,
        "SATISFACTION": 12.0,
    }
    rows = {row["code"]: row["figures"] for row in report["rows"]}
    assert rows == {a.code: {"received": 6, "finished": 3}, b.code: {"received": 1, "finished": 1}}
    assert report["objectives"] == [
        {
            "scope": a.code,
            "title": "Đúng hạn",
            "status": "ACHIEVED",
            "actual": pytest.approx(2 / 3, abs=1e-4),
        }
    ]
    assert report["conformity"] == [{"isoStatus": "NOT_STARTED", "agencies": 2}]
    assert report["parIndex"] == {
        "agencies": 2,
        "announced": 0,
        "announcedShare": 0.0,
        "resolved": 4,
        "resolvedOnTime": 3,
        "onTimeShare": 0.75,
    }
    # the agency's own report holds its row only
    body = await gql(client, callers, officer(b), REPORT, year=2025, p=_pid(province))
    only = body["data"]["annualReport"]
    assert [row["code"] for row in only["rows"]] == [b.code] and only["total"]["figures"][
        "received"
    ] == 1


async def test_annual_report_from_the_cli_in_three_formats(database, world, tmp_path):
    province, a, b, _ = world
    env = {"EISO_DATABASE_URL": database.owner_url, "EISO_LOG_JSON": "false"}
    result = eiso(
        "report",
        "annual",
        "--province",
        province.code,
        "--year",
        "2025",
        "--format",
        "json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["total"]["figures"]["received"] == 7
    assert report["total"]["index766"]["progress"]["points"] == 15.0
    result = eiso(
        "report",
        "annual",
        "--province",
        province.code,
        "--year",
        "2025",
        "--format",
        "csv",
        env=env,
    )
    lines = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert lines[0][:5] == ["level", "code", "name", "received", "finished"]
    assert [line[1] for line in lines[1:]] == [a.code, b.code, province.code]
    assert lines[-1][3:7] == ["7", "4", "3", "2"]
    # The six 766 groups: progress 12.0 + online 0.0 + ratings 4.44 of 20 + 12 + 6 measured.
    total = dict(zip(lines[0], lines[-1], strict=True))
    assert (total["points766"], total["measuredMax766"]) == ("16.44", "38")
    target = tmp_path / "report.xlsx"
    result = eiso(
        "report",
        "annual",
        "--province",
        province.code,
        "--year",
        "2025",
        "--format",
        "xlsx",
        "--output",
        str(target),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    from openpyxl import load_workbook

    sheet = load_workbook(target)["Số liệu"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[-1][1] == province.code and values[-1][3] == 7
    nation = eiso("report", "annual", "--year", "2025", "--format", "json", env=env)
    assert nation.returncode == 0, nation.stderr
    rows = {row["code"]: row for row in orjson.loads(nation.stdout)["rows"]}
    assert rows[province.code]["figures"]["received"] == 7
    bad = eiso("report", "annual", "--province", "no-such", "--year", "2025", env=env)
    assert bad.returncode == 1 and "--province" in bad.stderr
    bad = eiso("report", "annual", "--year", "2025", "--format", "pdf", env=env)
    assert bad.returncode == 1 and "--format" in bad.stderr


async def test_a_province_objective_joins_its_people_committee_audit_chain(
    resources, client, callers
):
    from sqlalchemy import select

    from eiso.core.audit import AuditEntry

    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Mục Tiêu")
        committee = await ensure_agency(
            session,
            province,
            unique_code("U"),
            "Ủy ban nhân dân tỉnh Mục Tiêu",
            AgencyKind.people_committee,
        )
    body = await gql(
        client,
        callers,
        province_admin(province),
        OBJECTIVE,
        input={
            "title": "Đúng hạn toàn tỉnh",
            "metric": "ON_TIME_RATE",
            "comparator": "AT_LEAST",
            "target": 0.98,
            "period": {"year": 2099},
        },
    )
    assert body["data"]["createObjective"]["agencyId"] is None
    async with resources.session(TenantScope.nation()) as session:
        actions = (
            (
                await session.execute(
                    select(AuditEntry.action).where(
                        AuditEntry.province_id == province.id, AuditEntry.agency_id == committee.id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["objective.create"]


INDEX766 = """query($period: PeriodInput!, $group: FigureGroup!) {
  figures(period: $period, groupBy: $group) {
    received receivedOnline
    index766Groups { group maxPoints points measuredMaxPoints
      criteria { code maxPoints measured points numerator numeratorMetric denominator
        denominatorMetric formula formulaEn source notMeasuredReason notMeasuredReasonEn } }
  } }"""


async def test_766_six_groups_count_overdue_open_dossiers_as_late(client, callers, world):
    province, *_ = world
    body = await gql(
        client, callers, province_admin(province), INDEX766, period={"year": 2025}, group="NATION"
    )
    assert "errors" not in body, body
    (row,) = body["data"]["figures"]
    groups = {g["group"]: g for g in row["index766Groups"]}
    assert [g["group"] for g in row["index766Groups"]] == [
        "TRANSPARENCY",
        "PROGRESS",
        "ONLINE_SERVICES",
        "ONLINE_PAYMENT",
        "SATISFACTION",
        "DIGITISATION",
    ]
    assert sum(g["maxPoints"] for g in groups.values()) == 100
    # 3 on time among 4 resolved and 1 open overdue: 20 × 3 / 5 (the deprecated index766: 15).
    (progress,) = groups["PROGRESS"]["criteria"]
    assert (progress["points"], progress["numerator"], progress["denominator"]) == (12.0, 3, 5)
    assert progress["denominatorMetric"] == "due"
    # Ratings 6 points, full from 90 % satisfied: 2 of 3 satisfied -> 6 × (2/3) / 0.9.
    ratings, *feedback = groups["SATISFACTION"]["criteria"]
    assert ratings["points"] == pytest.approx(4.44)
    assert groups["SATISFACTION"]["points"] == pytest.approx(4.44)
    assert groups["SATISFACTION"]["measuredMaxPoints"] == 6
    # Feedback and petitions are measured (core/feedback), but there is none: no points yet.
    assert [(c["code"], c["measured"], c["points"]) for c in feedback] == [
        ("HL-2", True, None),
        ("HL-3", True, None),
    ]
    # None filed online among the 7 received (the online one was withdrawn before acceptance).
    assert (row["received"], row["receivedOnline"]) == (7, 0)
    assert groups["ONLINE_SERVICES"]["points"] == 0.0
    for name in ("TRANSPARENCY", "ONLINE_PAYMENT", "DIGITISATION"):
        assert groups[name]["points"] is None and groups[name]["measuredMaxPoints"] == 0
        assert all(c["notMeasuredReason"] and c["source"] for c in groups[name]["criteria"])


async def test_766_online_share_counts_the_dossiers_filed_online(client, callers, resources, world):
    province, _, b, _ = world
    async with resources.session(scope(b)) as session, session.begin():
        online = await engine.receive(
            session,
            agency=b,
            procedure_code=PROC,
            applicant={"full_name": "Phan Thị Mười"},
            sector_data={},
            actor="citizen",
            calendar=CAL,
            online=True,
            now=vn(3, 2, 9, year=2027),
        )
    await _act(
        resources, b, online.dossier, engine.accept, now=vn(3, 2, 10, year=2027), calendar=CAL
    )
    await _receive(resources, b, vn(3, 2, 11, year=2027))
    body = await gql(
        client, callers, province_admin(province), INDEX766, period={"year": 2027}, group="NATION"
    )
    assert "errors" not in body, body
    (row,) = body["data"]["figures"]
    assert (row["received"], row["receivedOnline"]) == (2, 1)
    groups = {g["group"]: g for g in row["index766Groups"]}
    (share,) = groups["ONLINE_SERVICES"]["criteria"]
    assert (share["points"], share["numerator"], share["denominator"]) == (6.0, 1, 2)
