"""The DOST's yearly inspection (core/qms/inspections.py) and how an agency applies its QMS
(core/qms/application.py), through GraphQL and the CLI: plan, checklist as data, findings that
open nonconformities in the inspected agency, conclusion, follow-up, the PAR summary; the QMS
profile, training records, the steering committee; refused moves change nothing; an agency
sees its own inspection only."""

from __future__ import annotations

import json

from eiso.core.auth.principal import Role
from eiso.core.global_ids import encode_id
from eiso.core.qms import inspections
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_cli import eiso
from tests.test_yearly_report import _province, admin, call, code, data, leader

YEAR = utcnow().year
DAY = f"{YEAR}-01-15"

INSPECTION = """id agencyId agencyCode year plannedOn status conclusion
checklist { code clause requirement result note }
findings { id itemCode clause status nonconformityId nonconformityStatus }"""
PLAN = """mutation($year: Int!, $t: String!, $p: ID) {
  saveInspectionPlan(year: $year, title: $t, provinceId: $p) { year title inspections { id } } }"""
SCHEDULE = f"""mutation($a: ID!, $year: Int!, $d: Date!) {{
  scheduleInspection(agencyId: $a, year: $year, plannedOn: $d, inspectors: "Đoàn Sở KH&CN") {{
    {INSPECTION} }} }}"""
START = f"mutation($id: ID!) {{ startInspection(id: $id) {{ {INSPECTION} }} }}"
MARK = f"""mutation($id: ID!, $c: String!) {{
  markInspectionItem(id: $id, itemCode: $c, result: CONFORM, note: "Đạt") {{ {INSPECTION} }} }}"""
FINDING = f"""mutation($id: ID!, $c: String!, $d: String!) {{
  recordInspectionFinding(id: $id, itemCode: $c, description: $d) {{ {INSPECTION} }} }}"""
CONCLUDE = f"""mutation($id: ID!, $t: String!) {{
  concludeInspection(id: $id, conclusion: $t) {{ {INSPECTION} }} }}"""
VERIFY = 'mutation($id: ID!) { verifyInspectionFinding(id: $id, note: "Đã kiểm tra") { status } }'
CLOSE = f"mutation($id: ID!) {{ closeInspection(id: $id) {{ {INSPECTION} }} }}"
GET = f"query($id: ID!) {{ inspection(id: $id) {{ {INSPECTION} }} }}"
LIST = "query($year: Int!, $p: ID) { inspections(year: $year, provinceId: $p) { id agencyCode } }"
SUMMARY = """query($year: Int!, $p: ID) { inspectionSummary(year: $year, provinceId: $p) {
  agencyCode planned inspected findings closed verified status } }"""
CHECKLIST = "query($p: ID) { inspectionChecklist(provinceId: $p) { isDefault items { code } } }"
SET_CHECKLIST = """mutation($p: ID, $items: [InspectionChecklistItemInput!]!) {
  setInspectionChecklist(provinceId: $p, items: $items) { isDefault items { code clause } } }"""
NC_MOVES = [
    """mutation($id: ID!) { planCorrectiveAction(id: $id, rootCause: "Thiếu hướng dẫn",
       correctiveAction: "Ban hành lại quy trình", owner: "Thư ký ISO",
       dueDate: "2099-01-01") { status } }""",
    "mutation($id: ID!) { completeCorrectiveAction(id: $id) { status } }",
    """mutation($id: ID!) { recordEffectivenessCheck(id: $id, result: "Hiệu quả",
       effective: true) { status } }""",
    "mutation($id: ID!) { closeNonconformity(id: $id) { status } }",
]


def _env(database) -> dict[str, str]:
    return {"EISO_DATABASE_URL": database.owner_url, "EISO_LOG_JSON": "false"}


async def test_plan_conduct_follow_up_and_the_par_summary(database, client, callers, resources):
    province = await _province(resources, ["UBND xã Kiểm Tra", "UBND xã Chưa Kiểm"])
    a, b = province.agencies
    dost = admin(province)
    agency_gid = encode_id("Agency", a.province_id, a.id)

    # no plan yet: scheduling is refused, nothing is created
    refused = await call(client, callers, dost, SCHEDULE, a=agency_gid, year=YEAR, d=DAY)
    assert code(refused) == "NO_INSPECTION_PLAN"
    assert refused["errors"][0]["extensions"]["message_vi"]
    plan = data(
        await call(client, callers, dost, PLAN, year=YEAR, t=f"Kế hoạch kiểm tra ISO {YEAR}"),
        "saveInspectionPlan",
    )
    assert plan["inspections"] == []

    planned = data(
        await call(client, callers, dost, SCHEDULE, a=agency_gid, year=YEAR, d=DAY),
        "scheduleInspection",
    )
    assert planned["status"] == "PLANNED"
    default_codes = [item["code"] for item in inspections.default_items()]
    assert [item["code"] for item in planned["checklist"]] == default_codes
    assert all(item["result"] == "NOT_CHECKED" for item in planned["checklist"])
    twice = await call(client, callers, dost, SCHEDULE, a=agency_gid, year=YEAR, d=DAY)
    assert code(twice) == "INSPECTION_EXISTS"

    # findings only while in progress
    early = await call(client, callers, dost, FINDING, id=planned["id"], c="KT-09", d="x")
    assert code(early) == "INVALID_TRANSITION"
    running = data(await call(client, callers, dost, START, id=planned["id"]), "startInspection")
    assert running["status"] == "IN_PROGRESS"
    marked = data(
        await call(client, callers, dost, MARK, id=planned["id"], c="KT-01"), "markInspectionItem"
    )
    assert marked["checklist"][0]["result"] == "CONFORM"
    unknown = await call(client, callers, dost, FINDING, id=planned["id"], c="ZZ-99", d="x")
    assert code(unknown) == "UNKNOWN_CHECKLIST_ITEM"
    found = data(
        await call(
            client,
            callers,
            dost,
            FINDING,
            id=planned["id"],
            c="KT-09",
            d="Chưa đánh giá nội bộ năm nay",
        ),
        "recordInspectionFinding",
    )
    (finding,) = found["findings"]
    assert finding["status"] == "OPEN" and finding["nonconformityStatus"] == "OPEN"
    assert next(i for i in found["checklist"] if i["code"] == "KT-09")["result"] == "NONCONFORM"

    # the nonconformity opened in the INSPECTED agency: its secretary sees it
    secretary = leader(a, Role.iso_secretary)
    ncs = data(
        await call(
            client,
            callers,
            secretary,
            "{ nonconformities { edges { node { id source sourceRef status } } } }",
        ),
        "nonconformities",
    )
    nodes = [edge["node"] for edge in ncs["edges"]]
    assert [n["id"] for n in nodes] == [finding["nonconformityId"]]
    assert nodes[0]["source"] == "INSPECTION"
    # ...and sees its own inspection with the finding; the other agency sees none
    mine = data(await call(client, callers, secretary, GET, id=planned["id"]), "inspection")
    assert mine["findings"][0]["id"] == finding["id"]
    stranger = leader(b)
    assert code(await call(client, callers, stranger, GET, id=planned["id"])) == "NOT_FOUND"
    assert data(await call(client, callers, stranger, LIST, year=YEAR), "inspections") == []
    # an agency cannot conduct
    assert code(await call(client, callers, secretary, START, id=planned["id"])) == "FORBIDDEN"

    concluded = data(
        await call(client, callers, dost, CONCLUDE, id=planned["id"], t="Cơ bản đạt yêu cầu"),
        "concludeInspection",
    )
    assert concluded["status"] == "CONCLUDED"
    # follow-up: not verifiable while the nonconformity is open; not closable while unverified
    early_verify = await call(client, callers, dost, VERIFY, id=finding["id"])
    assert code(early_verify) == "NONCONFORMITY_OPEN"
    unverified = await call(client, callers, dost, CLOSE, id=planned["id"])
    assert code(unverified) == "FINDINGS_NOT_VERIFIED"
    assert unverified["errors"][0]["extensions"]["items"] == ["KT-09"]
    summary = data(await call(client, callers, dost, SUMMARY, year=YEAR), "inspectionSummary")
    line = {row["agencyCode"]: row for row in summary}
    assert line[a.code] == {
        "agencyCode": a.code,
        "planned": True,
        "inspected": True,
        "findings": 1,
        "closed": 0,
        "verified": 0,
        "status": "CONCLUDED",
    }
    assert line[b.code]["planned"] is False and line[b.code]["inspected"] is False

    for move in NC_MOVES:  # the agency handles its nonconformity
        body = await call(client, callers, secretary, move, id=finding["nonconformityId"])
        assert "errors" not in body, body
    assert data(
        await call(client, callers, dost, VERIFY, id=finding["id"]), "verifyInspectionFinding"
    ) == {"status": "VERIFIED"}
    closed = data(await call(client, callers, dost, CLOSE, id=planned["id"]), "closeInspection")
    assert closed["status"] == "CLOSED"
    summary = data(await call(client, callers, dost, SUMMARY, year=YEAR), "inspectionSummary")
    assert {row["agencyCode"]: row for row in summary}[a.code]["verified"] == 1
    # agencies do not read the province's summary
    assert code(await call(client, callers, secretary, SUMMARY, year=YEAR)) == "FORBIDDEN"

    # the CLI exports the same summary as CSV
    out = eiso(
        "qms",
        "inspections",
        "summary",
        "--province",
        province.code,
        "--year",
        str(YEAR),
        env=_env(database),
    )
    assert out.returncode == 0, out.stderr
    header, *lines = out.stdout.splitlines()
    assert header == ",".join(inspections.PAR_COLUMNS)
    assert any(line.startswith(f"{a.code},") and line.endswith(",True,1,1,1") for line in lines)


async def test_the_checklist_is_data_the_province_edits(client, callers, resources):
    province = await _province(resources, ["UBND xã Danh Mục"])
    dost = admin(province)
    before = data(await call(client, callers, dost, CHECKLIST), "inspectionChecklist")
    assert before["isDefault"] and len(before["items"]) == len(inspections.default_items())
    twice = await call(
        client,
        callers,
        dost,
        SET_CHECKLIST,
        items=[{"code": "A", "clause": "7.2", "requirement": "x"}] * 2,
    )
    assert code(twice) == "BAD_INPUT" and twice["errors"][0]["extensions"]["field"] == "items.1"
    items = [{"code": "T-1", "clause": "TCVN ISO 9001:2015 7.2", "requirement": "Đào tạo"}]
    saved = data(
        await call(client, callers, dost, SET_CHECKLIST, items=items), "setInspectionChecklist"
    )
    assert saved == {"isDefault": False, "items": [{"code": "T-1", "clause": items[0]["clause"]}]}
    # another province's checklist is untouched; its admin cannot change this one
    other = await _province(resources, ["UBND xã Khác"])
    theirs = data(await call(client, callers, admin(other), CHECKLIST), "inspectionChecklist")
    assert theirs["isDefault"]
    foreign = await call(client, callers, admin(other), SET_CHECKLIST, p=province.gid, items=items)
    assert code(foreign) == "NOT_FOUND"
    # an agency reads its province's checklist but cannot change it
    agency = leader(province.agencies[0])
    assert data(await call(client, callers, agency, CHECKLIST), "inspectionChecklist")["items"] == [
        {"code": "T-1"}
    ]
    assert code(await call(client, callers, agency, SET_CHECKLIST, items=items)) == "FORBIDDEN"


PROFILE = """mutation($s: QmsStandard!, $m: QmsMedium!, $u: Date) {
  setQmsProfile(standard: $s, medium: $m, upgradedOn: $u) { standard medium upgradedOn } }"""
TRAIN = (
    """mutation($i: TrainingInput!) { recordTraining(input: $i) { id person heldOn evidence } }"""
)
TRAININGS = "query($a: ID) { trainingRecords(agencyId: $a) { id person } }"
MEMBER = """mutation($a: ID, $p: ID) { addSteeringMember(person: "Nguyễn Văn Chủ",
  committeeRole: "Trưởng ban", since: "2024-01-02", agencyId: $a, provinceId: $p) {
  id agencyId } }"""
MEETING = """mutation($p: ID) { recordSteeringMeeting(heldOn: "2025-03-04",
  minutes: "Biên bản họp Ban chỉ đạo ISO", decisions: ["Kiểm tra 20 cơ quan"], provinceId: $p) {
  id decisions } }"""
COMMITTEE = """query($p: ID) { steeringCommittee(provinceId: $p) {
  members { person committeeRole agencyId } meetings { heldOn minutes decisions } } }"""


async def test_profile_training_and_the_steering_committee(client, callers, resources):
    province = await _province(resources, ["UBND xã Đào Tạo", "UBND xã Bên Cạnh"])
    a, b = province.agencies
    secretary = leader(a, Role.iso_secretary)
    missing_day = await call(client, callers, secretary, PROFILE, s="ISO_9001_2015", m="ELECTRONIC")
    assert code(missing_day) == "BAD_INPUT"
    profile = data(
        await call(
            client, callers, secretary, PROFILE, s="ISO_9001_2015", m="ELECTRONIC", u="2020-06-01"
        ),
        "setQmsProfile",
    )
    assert profile == {
        "standard": "ISO_9001_2015",
        "medium": "ELECTRONIC",
        "upgradedOn": "2020-06-01",
    }
    record = {
        "person": "Trần Thị Bình",
        "training": "Nhận thức TCVN ISO 9001:2015",
        "heldOn": "2025-05-06",
        "evidence": "GCN-2025-017",
    }
    made = data(await call(client, callers, secretary, TRAIN, i=record), "recordTraining")
    assert made["evidence"] == "GCN-2025-017"
    assert (
        code(await call(client, callers, leader(a, Role.officer), TRAIN, i=record)) == "FORBIDDEN"
    )
    # the sibling agency and its province's administrator
    mine_gid = encode_id("Agency", a.province_id, a.id)
    assert (
        data(await call(client, callers, leader(b), TRAININGS, a=mine_gid), "trainingRecords") == []
    )
    assert [
        r["id"]
        for r in data(
            await call(client, callers, admin(province), TRAININGS, a=mine_gid), "trainingRecords"
        )
    ] == [made["id"]]

    dost = admin(province)
    member = data(await call(client, callers, dost, MEMBER, a=mine_gid), "addSteeringMember")
    assert member["agencyId"] == mine_gid
    data(await call(client, callers, dost, MEETING), "recordSteeringMeeting")
    committee = data(await call(client, callers, leader(b), COMMITTEE), "steeringCommittee")
    assert committee["members"][0]["committeeRole"] == "Trưởng ban"
    assert committee["meetings"][0]["decisions"] == ["Kiểm tra 20 cơ quan"]
    assert code(await call(client, callers, leader(b), MEETING)) == "FORBIDDEN"
    other = await _province(resources, ["UBND xã Ngoài"])
    # another province's administrator: neither reads nor writes this committee
    assert code(await call(client, callers, admin(other), COMMITTEE, p=province.gid)) == "NOT_FOUND"
    assert code(await call(client, callers, admin(other), MEETING, p=province.gid)) == "NOT_FOUND"
    # nor names an agency of this province as a member of its own committee
    assert code(await call(client, callers, admin(other), MEMBER, a=mine_gid)) == "NOT_FOUND"
    theirs = data(await call(client, callers, admin(other), COMMITTEE), "steeringCommittee")
    assert theirs == {"members": [], "meetings": []}


async def test_the_cli_plans_schedules_and_lists(database, resources, tmp_path):
    province = await _province(resources, ["UBND xã Dòng Lệnh " + unique_code()])
    (a,) = province.agencies
    env = _env(database)
    where = ("--province", province.code, "--year", str(YEAR))
    out = eiso("qms", "inspections", "schedule", *where, "--agency", a.code, "--on", DAY, env=env)
    assert out.returncode == 1 and "no inspection plan" in out.stderr
    out = eiso("qms", "inspections", "plan", *where, "--title", "Kế hoạch kiểm tra", env=env)
    assert out.returncode == 0, out.stderr
    out = eiso("qms", "inspections", "schedule", *where, "--agency", a.code, "--on", DAY, env=env)
    assert out.returncode == 0, out.stderr
    again = eiso("qms", "inspections", "schedule", *where, "--agency", a.code, "--on", DAY, env=env)
    assert again.returncode == 1 and a.code in again.stderr
    out = eiso("qms", "inspections", "list", *where, env=env)
    assert out.returncode == 0 and json.loads(out.stdout)[0]["agency"] == a.code
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [{"code": "A", "clause": "7.2"}]}', encoding="utf-8")
    out = eiso(
        "qms", "inspections", "checklist", "--province", province.code, "--set", str(bad), env=env
    )
    assert out.returncode == 1 and "items.0.requirement" in out.stderr
    out = eiso("qms", "inspections", "checklist", "--province", province.code, env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["items"][0]["code"] == "KT-01"
    async with resources.session(TenantScope.nation()) as session:
        (row,) = await inspections.inspections(session, province.id, YEAR)
        assert row.agency_id == a.id
