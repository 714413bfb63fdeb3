"""The yearly report as a workflow (core/qms/yearly_reports.py), through GraphQL, the HTTP
downloads and the CLI: an agency fills and submits, the province's administrator returns it
with a comment and accepts the resubmission, the province's report is compiled with the missing
agencies named, deadlines and reminders, XLSX and PDF files, isolation and refused moves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import orjson
import pytest
from openpyxl import load_workbook

from eiso.core.auth.principal import Principal, Role
from eiso.core.global_ids import encode_id
from eiso.core.qms.audits import AuditPlan, AuditProgramme
from eiso.core.qms.management_review import ManagementReview
from eiso.infra.clock import utcnow
from eiso.tenants.models import Agency, AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_cli import eiso

YEAR = utcnow().year

FIELDS = """id agencyId year status scope procedures legalUpdates difficulties proposals funding
internalAudits managementReviews figures dueOn submittedAt acceptedAt
history { action by comment } reminders { kind on dueOn }"""
SAVE = f"""mutation($year: Int!, $input: YearlyReportInput!) {{
  saveYearlyReport(year: $year, input: $input) {{ {FIELDS} }} }}"""
SUBMIT = f"mutation($id: ID!) {{ submitYearlyReport(id: $id) {{ {FIELDS} }} }}"
RETURN = f"""mutation($id: ID!, $c: String!) {{
  returnYearlyReport(id: $id, comment: $c) {{ {FIELDS} }} }}"""
ACCEPT = f"mutation($id: ID!) {{ acceptYearlyReport(id: $id) {{ {FIELDS} }} }}"
GET = f"query($id: ID, $year: Int) {{ yearlyReport(id: $id, year: $year) {{ {FIELDS} }} }}"
BOARD = """query($year: Int!, $p: ID) { yearlyReportBoard(year: $year, provinceId: $p) {
  year dueOn total byStatus agencies { agencyCode agencyName status reportId overdue reminders }
} }"""
COMPILED = """query($year: Int!, $p: ID) { compiledYearlyReport(year: $year, provinceId: $p) {
  year provinceCode agencies accepted missing totals } }"""
DEADLINE = """mutation($p: ID, $m: Int!, $d: Int!, $r: Int!) {
  setYearlyReportDeadline(provinceId: $p, dueMonth: $m, dueDay: $d, remindDaysBefore: $r) {
    dueMonth dueDay remindDaysBefore isDefault } }"""

PARTS = {
    "scope": "Toàn bộ thủ tục hành chính thuộc thẩm quyền giải quyết của xã",
    "procedures": "12 quy trình nội bộ, 85 quy trình giải quyết thủ tục hành chính",
    "legalUpdates": "Cập nhật 4 quy trình theo Nghị định mới",
    "difficulties": "Thiếu cán bộ chuyên trách ISO",
    "proposals": "Đề nghị Sở tổ chức tập huấn",
    "funding": "25.000.000 đồng",
}


@dataclasses.dataclass
class Province:
    id: int
    code: str
    gid: str
    agencies: list[Agency]


def leader(agency: Agency, role: Role = Role.leader) -> Principal:
    return Principal(
        f"{role.value}-{agency.code}",
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({role}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


def admin(province: Province) -> Principal:
    return Principal(
        "dost-" + province.code,
        TenantScope.province(province.id),
        frozenset({Role.province_admin}),
        province_id=province.id,
    )


async def _province(resources, names: list[str]) -> Province:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row = await ensure_province(session, unique_code("YR"), "Tỉnh Báo Cáo " + unique_code())
        assert row.id is not None
        agencies = [
            await ensure_agency(session, row, unique_code("YA"), name, AgencyKind.commune)
            for name in names
        ]
    return Province(row.id, row.code, encode_id("Province", row.id, row.id), agencies)


@pytest.fixture
async def province(resources) -> Province:
    """Agencies A (reports), B (reports), C (never reports); A has an audit and a review."""
    made = await _province(resources, ["UBND xã An Lạc", "UBND xã Bình Yên", "UBND xã Cát Tiên"])
    a = made.agencies[0]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        programme = AuditProgramme(
            province_id=a.province_id, agency_id=a.id, year=YEAR, title="CT", created_by="t"
        )
        session.add(programme)
        await session.flush()
        session.add(
            AuditPlan(
                province_id=a.province_id,
                agency_id=a.id,
                programme_id=programme.id,
                date=dt.date(YEAR, 5, 20),
                scope="Toàn bộ",
                auditors=["Nguyễn Văn An"],
                created_by="t",
            )
        )
        session.add(
            ManagementReview(
                province_id=a.province_id,
                agency_id=a.id,
                period_start=dt.date(YEAR, 1, 1),
                period_end=dt.date(YEAR, 6, 30),
                held_on=dt.date(YEAR, 7, 15),
                chaired_by="Chủ tịch",
                created_by="t",
            )
        )
    return made


@pytest.fixture
async def other(resources) -> Province:
    return await _province(resources, ["UBND xã Xa Lạ"])


async def call(client, callers, principal, query, **variables):
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=callers.issue(principal),
    )
    return response.json()


def data(body, name):
    assert "errors" not in body, body
    return body["data"][name]


def code(body) -> str:
    return body["errors"][0]["extensions"]["code"]


async def _submitted(client, callers, agency: Agency) -> dict:
    made = data(
        await call(client, callers, leader(agency), SAVE, year=YEAR, input=PARTS),
        "saveYearlyReport",
    )
    return data(
        await call(client, callers, leader(agency), SUBMIT, id=made["id"]), "submitYearlyReport"
    )


async def test_the_full_workflow_return_with_comments_and_accept(client, callers, province):
    a = province.agencies[0]
    secretary = leader(a, Role.iso_secretary)
    draft = data(
        await call(client, callers, secretary, SAVE, year=YEAR, input={"scope": PARTS["scope"]}),
        "saveYearlyReport",
    )
    assert draft["status"] == "DRAFT"
    # eiso's part: the dates of the internal audit and the management review, the figures
    assert draft["internalAudits"] == [f"{YEAR}-05-20"]
    assert draft["managementReviews"] == [f"{YEAR}-07-15"]
    assert draft["figures"]["figures"]["received"] == 0
    assert draft["dueOn"] == f"{YEAR}-11-15"  # the default deadline

    # the procedures are missing: REPORT_INCOMPLETE, nothing changed
    incomplete = await call(client, callers, secretary, SUBMIT, id=draft["id"])
    assert code(incomplete) == "REPORT_INCOMPLETE"
    assert incomplete["errors"][0]["extensions"]["message_vi"]
    again = data(await call(client, callers, secretary, GET, year=YEAR), "yearlyReport")
    assert again["status"] == "DRAFT"

    data(await call(client, callers, secretary, SAVE, year=YEAR, input=PARTS), "saveYearlyReport")
    sent = data(
        await call(client, callers, leader(a), SUBMIT, id=draft["id"]), "submitYearlyReport"
    )
    assert sent["status"] == "SUBMITTED" and sent["submittedAt"]

    dost = admin(province)
    back = data(
        await call(client, callers, dost, RETURN, id=sent["id"], c="Bổ sung kinh phí chi tiết"),
        "returnYearlyReport",
    )
    assert back["status"] == "RETURNED"
    assert back["history"][-1] == {
        "action": "RETURNED",
        "by": dost.subject,
        "comment": "Bổ sung kinh phí chi tiết",
    }
    # the agency sees the comment on its report and revises
    mine = data(await call(client, callers, leader(a), GET, id=sent["id"]), "yearlyReport")
    assert mine["history"][-1]["comment"] == "Bổ sung kinh phí chi tiết"
    revised = data(
        await call(client, callers, leader(a), SAVE, year=YEAR, input={"funding": "30 triệu đồng"}),
        "saveYearlyReport",
    )
    assert revised["funding"] == "30 triệu đồng" and revised["scope"] == PARTS["scope"]
    resent = data(
        await call(client, callers, leader(a), SUBMIT, id=sent["id"]), "submitYearlyReport"
    )
    assert resent["status"] == "RESUBMITTED"
    accepted = data(await call(client, callers, dost, ACCEPT, id=sent["id"]), "acceptYearlyReport")
    assert accepted["status"] == "ACCEPTED" and accepted["acceptedAt"]
    assert [m["action"] for m in accepted["history"]] == [
        "SUBMITTED",
        "RETURNED",
        "RESUBMITTED",
        "ACCEPTED",
    ]
    # an accepted report is closed to changes
    closed = await call(client, callers, leader(a), SAVE, year=YEAR, input={"funding": "x"})
    assert code(closed) == "INVALID_TRANSITION"


async def test_wrong_moves_are_refused_with_a_stable_code_and_change_nothing(
    client, callers, province
):
    a = province.agencies[0]
    draft = data(
        await call(client, callers, leader(a), SAVE, year=YEAR, input=PARTS), "saveYearlyReport"
    )
    dost = admin(province)
    for query, variables in ((ACCEPT, {}), (RETURN, {"c": "Sửa"})):
        refused = await call(client, callers, dost, query, id=draft["id"], **variables)
        assert code(refused) == "INVALID_TRANSITION", refused
        assert "không thể chuyển" in refused["errors"][0]["extensions"]["message_vi"]
    sent = data(
        await call(client, callers, leader(a), SUBMIT, id=draft["id"]), "submitYearlyReport"
    )
    twice = await call(client, callers, leader(a), SUBMIT, id=draft["id"])
    assert code(twice) == "INVALID_TRANSITION"
    empty = await call(client, callers, dost, RETURN, id=draft["id"], c="   ")
    assert code(empty) == "BAD_INPUT" and empty["errors"][0]["extensions"]["field"] == "comment"
    # the agency cannot accept its own report; an officer cannot fill it
    assert code(await call(client, callers, leader(a), ACCEPT, id=draft["id"])) == "FORBIDDEN"
    officer = leader(a, Role.officer)
    assert code(await call(client, callers, officer, SAVE, year=YEAR, input=PARTS)) == "FORBIDDEN"
    bad_year = await call(client, callers, leader(a), SAVE, year=YEAR + 1, input=PARTS)
    assert code(bad_year) == "BAD_INPUT"
    after = data(await call(client, callers, leader(a), GET, id=draft["id"]), "yearlyReport")
    assert after["status"] == "SUBMITTED" and after["history"] == sent["history"]


async def test_compile_names_the_missing_agencies_and_the_board_shows_every_status(
    client, callers, province
):
    a, b, c = province.agencies
    dost = admin(province)
    first = await _submitted(client, callers, a)
    data(await call(client, callers, dost, ACCEPT, id=first["id"]), "acceptYearlyReport")
    await _submitted(client, callers, b)

    compiled = data(
        await call(client, callers, dost, COMPILED, year=YEAR, p=province.gid),
        "compiledYearlyReport",
    )
    assert compiled["agencies"] == 3
    assert [x["agency"] for x in compiled["accepted"]] == [a.code]
    assert compiled["accepted"][0]["difficulties"] == PARTS["difficulties"]
    missing = {m["agency"]: m["status"] for m in compiled["missing"]}
    assert missing == {b.code: "submitted", c.code: "not_started"}
    assert compiled["totals"]["received"] == 0

    board = data(await call(client, callers, dost, BOARD, year=YEAR), "yearlyReportBoard")
    assert board["total"] == 3
    assert board["byStatus"] == {"ACCEPTED": 1, "NOT_STARTED": 1, "SUBMITTED": 1}
    assert {line["agencyCode"]: line["status"] for line in board["agencies"]} == {
        a.code: "ACCEPTED",
        b.code: "SUBMITTED",
        c.code: "NOT_STARTED",
    }
    # an agency's caller sees its own line only
    own = data(await call(client, callers, leader(b), BOARD, year=YEAR), "yearlyReportBoard")
    assert [line["agencyCode"] for line in own["agencies"]] == [b.code]
    # compiling is the DOST's: an agency leader is refused
    refused = await call(client, callers, leader(a), COMPILED, year=YEAR)
    assert code(refused) == "FORBIDDEN"


async def test_the_cli_status_board(database, client, callers, province):
    a = province.agencies[0]
    await _submitted(client, callers, a)
    env = {"EISO_DATABASE_URL": database.owner_url, "EISO_LOG_JSON": "false"}
    result = eiso("qms", "reports", "--province", province.code, "--year", str(YEAR), env=env)
    assert result.returncode == 0, result.stderr
    board = orjson.loads(result.stdout)
    assert board["counts"] == {"submitted": 1, "not_started": 2}
    assert board["agencies"][0]["dueOn"] == f"{YEAR}-11-15"
    bad = eiso("qms", "reports", "--province", "no-such", "--year", str(YEAR), env=env)
    assert bad.returncode == 1 and "--province" in bad.stderr


async def test_deadline_per_province_and_reminders_from_the_cli(
    database, client, callers, province, other
):
    a, b, c = province.agencies
    dost = admin(province)
    setting = data(
        await call(client, callers, dost, DEADLINE, p=province.gid, m=6, d=10, r=5),
        "setYearlyReportDeadline",
    )
    assert setting == {"dueMonth": 6, "dueDay": 10, "remindDaysBefore": 5, "isDefault": False}
    bad = await call(client, callers, dost, DEADLINE, m=2, d=30, r=5)
    assert code(bad) == "BAD_INPUT" and bad["errors"][0]["extensions"]["message_vi"]
    # another province's administrator cannot set this one's
    assert (
        code(await call(client, callers, admin(other), DEADLINE, p=province.gid, m=1, d=1, r=1))
        == "NOT_FOUND"
    )

    data(await call(client, callers, leader(a), SAVE, year=YEAR, input=PARTS), "saveYearlyReport")
    await _submitted(client, callers, b)
    env = {"EISO_DATABASE_URL": database.owner_url, "EISO_LOG_JSON": "false"}

    def remind(day: str) -> None:
        result = eiso("qms", "remind-yearly-reports", "--today", f"{YEAR}-{day}", env=env)
        assert result.returncode == 0, result.stderr
        assert set(orjson.loads(result.stdout)) == {"checked", "reminded"}

    async def reminders() -> dict[str, list[str]]:
        board = data(await call(client, callers, dost, BOARD, year=YEAR), "yearlyReportBoard")
        return {line["agencyCode"]: line["reminders"] for line in board["agencies"]}

    remind("06-01")  # before the warning day: nothing
    assert await reminders() == {a.code: [], b.code: [], c.code: []}
    remind("06-06")
    remind("06-07")  # the same kind is recorded once
    assert await reminders() == {a.code: ["DUE_SOON"], b.code: [], c.code: ["DUE_SOON"]}
    remind("06-11")
    assert await reminders() == {
        a.code: ["DUE_SOON", "OVERDUE"],
        b.code: [],  # submitted: no reminder
        c.code: ["DUE_SOON", "OVERDUE"],  # a draft was opened for it
    }
    # the agency sees the reminder on its own report
    mine = data(await call(client, callers, leader(c), GET, year=YEAR), "yearlyReport")
    assert mine["status"] == "DRAFT"
    assert [r["kind"] for r in mine["reminders"]] == ["DUE_SOON", "OVERDUE"]
    assert mine["reminders"][0]["dueOn"] == f"{YEAR}-06-10"
    # the other province keeps the default deadline: no reminder in June
    theirs = data(await call(client, callers, admin(other), BOARD, year=YEAR), "yearlyReportBoard")
    assert theirs["dueOn"] == f"{YEAR}-11-15"
    assert [line["reminders"] for line in theirs["agencies"]] == [[]]


async def test_exports_open_as_xlsx_and_pdf(client, callers, province):
    a = province.agencies[0]
    dost = admin(province)
    report = await _submitted(client, callers, a)
    data(await call(client, callers, dost, ACCEPT, id=report["id"]), "acceptYearlyReport")
    headers = callers.issue(leader(a))

    xlsx = await client.get(f"/yearly-reports/{report['id']}.xlsx", headers=headers)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [c for row in book["Báo cáo"].iter_rows(values_only=True) for c in row]
    assert a.name in cells and PARTS["difficulties"] in cells and f"20/05/{YEAR}" in cells
    assert book["Số liệu"]["A2"].value == "Hồ sơ tiếp nhận"

    pdf = await client.get(f"/yearly-reports/{report['id']}.pdf", headers=headers)
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())  # lines wrap anywhere
    assert a.name.upper() in text and PARTS["proposals"] in text

    dost_headers = callers.issue(dost)
    whole = await client.get(
        f"/provinces/{province.gid}/yearly-reports/{YEAR}.xlsx", headers=dost_headers
    )
    assert whole.status_code == 200, whole.text
    book = load_workbook(io.BytesIO(whole.content))
    missing = [row[0] for row in book["Chưa báo cáo"].iter_rows(min_row=2, values_only=True)]
    assert sorted(missing) == sorted(x.code for x in province.agencies[1:])
    whole_pdf = await client.get(
        f"/provinces/{province.gid}/yearly-reports/{YEAR}.pdf", headers=dost_headers
    )
    assert whole_pdf.status_code == 200 and whole_pdf.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(whole_pdf.content)).pages)
    assert province.agencies[2].name in " ".join(text.split())  # named as missing (wrapped)

    bad = await client.get(f"/yearly-reports/{report['id']}.docx", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_INPUT"


async def test_another_province_or_agency_can_neither_read_nor_act(
    client, callers, province, other
):
    a, b, _ = province.agencies
    report = await _submitted(client, callers, a)
    stranger, sibling = admin(other), leader(b)
    for who in (stranger, sibling, leader(other.agencies[0])):
        got = await call(client, callers, who, GET, id=report["id"])
        assert code(got) == "NOT_FOUND", got
        assert a.name not in str(got)
    assert code(await call(client, callers, stranger, ACCEPT, id=report["id"])) == "NOT_FOUND"
    assert (
        code(await call(client, callers, stranger, RETURN, id=report["id"], c="x")) == "NOT_FOUND"
    )
    assert code(await call(client, callers, sibling, SUBMIT, id=report["id"])) == "NOT_FOUND"
    for query in (BOARD, COMPILED):
        got = await call(client, callers, stranger, query, year=YEAR, p=province.gid)
        assert code(got) == "NOT_FOUND" and a.code not in str(got)
    # the files likewise
    for who in (stranger, sibling):
        got = await client.get(f"/yearly-reports/{report['id']}.pdf", headers=callers.issue(who))
        assert got.status_code == 404
    got = await client.get(
        f"/provinces/{province.gid}/yearly-reports/{YEAR}.xlsx", headers=callers.issue(stranger)
    )
    assert got.status_code == 404
    got = await client.get(
        f"/provinces/{province.gid}/yearly-reports/{YEAR}.xlsx", headers=callers.issue(leader(a))
    )
    assert got.status_code == 403
    # nothing changed
    dost = admin(province)
    still = data(await call(client, callers, dost, GET, id=report["id"]), "yearlyReport")
    assert still["status"] == "SUBMITTED"


async def test_the_board_carries_the_sessions_scope_as_its_criteria_would(
    resources, client, callers, province, other
):
    """`yearly_reports.board` runs on the session's Core connection, where the ORM adds no
    criteria: the scope written into its statement shows what the criteria show (on SQLite,
    with no row-level security behind it, the statement alone decides)."""
    from eiso.core.qms import yearly_reports

    a, b, c = province.agencies
    await _submitted(client, callers, a)
    stranger = other.agencies[0]
    expected = {
        TenantScope.nation(): [a.code, b.code, c.code],
        TenantScope.province(province.id): [a.code, b.code, c.code],
        TenantScope.province(other.id): [],
        TenantScope.agencies([a.id], [province.id]): [a.code],
        TenantScope.agencies([b.id]): [b.code],  # a token without its provinces
        TenantScope.agencies([stranger.id], [other.id]): [],
    }
    unscoped = yearly_reports._board_statement("nation", False, False)
    params = {"province_id": province.id, "year": YEAR}
    for scope, codes in expected.items():
        async with resources.session(scope) as session:
            lines = await yearly_reports.board(session, scope, province.id, YEAR)
            assert sorted(line.agency_code for line in lines) == sorted(codes), scope
            # the statement without the scope, through the ORM and the session's criteria
            rows = (await session.execute(unscoped, params)).all()
            assert lines == yearly_reports.board_lines(rows, YEAR), scope
    # a narrower scope than the session's (the command line's nation session) narrows it
    async with resources.session(TenantScope.nation()) as session:
        narrowed = TenantScope.agencies([a.id], [province.id])
        [line] = await yearly_reports.board(session, narrowed, province.id, YEAR)
    # a's report, submitted, its time in UTC on every backend (as the ORM's column reads it)
    assert (line.agency_code, line.status) == (a.code, "submitted")
    assert line.submitted_at is not None and line.submitted_at.utcoffset() == dt.timedelta(0)
    assert line.accepted_at is None and line.report_id is not None
